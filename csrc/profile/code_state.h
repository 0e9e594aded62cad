// CodeState: everything pypaccel knows about one code object, kept in its co_extra slot: call counts, whether
// and why it cannot be compiled, its specializations (one per argument signature) and what happened to them.
#pragma once
#include <Python.h>

#include <map>
#include <set>
#include <memory>
#include <string>
#include <vector>

#include "cpython/cpy.h"
#include "deopt/specialization.h"
#include "profile/entry_trial.h"

namespace pypaccel::specialize {
class Samples;
}

namespace pypaccel::profile {

// CodeState::never of a function the user asked to keep interpreted (stats show it as state "excluded").
inline constexpr const char* kExcludedReason = "excluded (pypaccel.exclude)";
inline constexpr const char* kExcludedByListReason = "excluded (PYPACCEL_EXCLUDE)";

// Why one argument signature stays interpreted, and what the next run learns from it (its profile row).
struct Interpreted {
  std::string why;     // as stats show it
  // The profile's state: "disabled" (native code exited on most entries) or "failed" (the compiler declined); ""
  // when it is not the signature's doing (nothing is stored).
  std::string state;
  std::string reason;  // the profile's reason: learned from an earlier run, stored again as it was read
};

struct CodeState {
  // What the code object's co_extra slot points to (cpython/hook_entry.c reads it on every call): calls that may
  // skip the hook entirely. armed is what it held when last armed; the passes taken since are calls too.
  PypaGate gate{0, this};
  int64_t armed = 0;
  PyObject* code = nullptr;  // borrowed: the state lives in the code object's co_extra
  std::string filename, qualname;
  int firstlineno = 0;
  int nargs = 0;
  bool classified = false;  // eligibility and loops have been looked at
  bool hasLoops = false;
  std::string never;         // non-empty: never compiled, and why (kExcludedReason for pypaccel.exclude)
  bool forceCompile = false; // @specialize
  uint64_t calls = 0;  // up to the last settle(); callCount() has them all
  uint64_t compiled = 0, loaded = 0;
  // Probes compiled (deopt::Specialization::probe), and calls that went on in the code compiled after a probe at
  // its loop header (hook::reenterAfterProbe).
  uint64_t probes = 0, resumed = 0;
  std::set<std::string> probed;  // signatures a probe was compiled for in this run (one each)
  double compileSeconds = 0;  // looking up, compiling and linking its specializations (stats: compile time)
  std::string codeHash;      // empty until computed (or when the code cannot be keyed)
  bool hashTried = false;
  std::vector<std::unique_ptr<deopt::Specialization>> specs;
  deopt::Specialization* last = nullptr;  // the frame entry found for the latest call (the hook's first guess)
  std::unique_ptr<EntryTrial> trial;  // the frame entry being timed against the interpreter (one at a time)
  std::map<std::string, Interpreted> failedSignatures;  // signature -> why it is interpreted
  std::map<std::string, bool> deferred;  // signatures not worth compiling at the first call; wait for the threshold
  std::map<std::string, uint64_t> fallbacks;            // reason -> times (stats count each reason once per run)
  // Learned, in this run or an earlier one (the cache's profiles): per signature, the bytecode units compiled
  // with generic operations because their fast path kept exiting, and the signatures an earlier run had native.
  std::map<std::string, std::set<int>> widen;
  std::set<std::string> warm;
  bool profileRead = false;  // the cache's profiles of this code were looked at

  // Direct entries (called from native code): per signature, why there is none, and the result type call sites
  // expect (Void: not callable directly). While a signature's type is being inferred, directAssumed holds the
  // type its own recursive calls are assumed to return.
  std::map<std::string, std::string> directFailed;
  std::map<std::string, ir::Type> directReturn;
  std::map<std::string, ir::Type> directAssumed;
  bool directAssumptionUsed = false;
  // The inferred IR of a direct entry small enough to be compiled into its callers (ir::Function::inlined).
  std::map<std::string, std::shared_ptr<const ir::Function>> directInline;
  // The examples a direct entry was inferred with, until it is compiled (then dropped: they hold objects).
  std::map<std::string, std::shared_ptr<specialize::Samples>> directSamples;
  // After that: a stand-in of what the entry returns (Samples::standIn, made of new objects only), the example a
  // caller compiled later gives the call's result.
  std::map<std::string, std::shared_ptr<specialize::Samples>> directReturned;
  // The IR inferred for a direct entry, until it is compiled: what its callers were built against is what is
  // compiled. (Built again later, it could differ: an example it had, the return example of a callee compiled
  // since, is gone by then.)
  std::map<std::string, std::shared_ptr<const ir::Function>> directIR;
  // The widened instructions that IR was inferred with (what was known of earlier runs then): the entry compiles
  // it only under the same ones, which its cache key names.
  std::map<std::string, std::set<int>> directIRWiden;

  // The live specialization for `sig` (a retired one was replaced by a recompile with wider operations).
  deopt::Specialization* find(const std::string& sig) {
    for (auto& s : specs)
      if (!s->retired && !s->meta.direct && s->meta.signature == sig) return s.get();
    return nullptr;
  }
  deopt::Specialization* findDirect(const std::string& sig) {
    for (auto& s : specs)
      if (!s->retired && s->meta.direct && s->meta.signature == sig) return s.get();
    return nullptr;
  }
  // The next n calls go straight to the interpreter (see PypaGate). Only for what holds for any frame and
  // arguments of this code: it must not have live native code (an exit of a direct call re-enters through a call).
  void arm(int64_t n) {
    settle();
    gate.passes = armed = n;
  }
  void disarm() {
    settle();
    gate.passes = armed = 0;
  }
  // Counts the passes taken since arming as calls.
  void settle() {
    calls += uint64_t(armed - gate.passes);
    armed = gate.passes;
  }
  uint64_t callCount() const { return calls + uint64_t(armed - gate.passes); }
  ~CodeState();
  void fallback(const std::string& reason) { fallbacks[reason]++; }
};

// The CodeState of `code`, created on first use; nullptr if co_extra is unavailable.
CodeState* stateFor(PyObject* code);
// The CodeState of `code` if it has one.
CodeState* existingState(PyObject* code);
// Every live CodeState (for stats and flushing run records).
const std::vector<CodeState*>& allStates();
// The co_extra index whose slot holds each code's &CodeState::gate (-1 if CPython had none left).
Py_ssize_t gateIndex();

}  // namespace pypaccel::profile
