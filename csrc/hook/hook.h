// The eval-frame hook (PEP 523): decides per call whether a frame runs natively, is compiled first, or goes to
// the interpreter, and owns the process-wide configuration.
#pragma once
#include <Python.h>

#include <set>
#include <string>
#include <vector>

#include "profile/code_state.h"
#include "runtime/native_ctx.h"
#include "support/ref.h"

namespace pypaccel::hook {

struct Config {
  int threshold = 200;     // calls before a loop-free function is compiled; 0 = at the first call
  bool stressExits = false;
  // PYPACCEL_COMPILE_ALL: compile what the compiler can even where it judges native code no faster than the
  // interpreter (specialize/profitability.h): for testing the compiler on everything, and for measuring.
  bool compileAll = false;
  int optLevel = 2;
  std::string cpu;
  support::Ref dbPathFor;  // callable filename -> (path, writable[, warning]) | None
  support::Ref cacheWarning;  // warning category of cache trouble (pypaccel.CacheWarning)
  std::string cacheJournal;   // PYPACCEL_CACHE_JOURNAL: "" (WAL unless on a network filesystem), "wal", "delete"
  // PYPACCEL_EXCLUDE: functions kept interpreted, as "FILE:FIRSTLINENO:QUALNAME" (what `pypaccel bisect` narrows)
  std::set<std::string> excludeKeys;
  // Why compiled code is not kept although caches exist (PYTHONDONTWRITEBYTECODE): noted at the first compile that
  // is lost, not before, since a run that only loads from the cache loses nothing.
  std::string readOnlyNote;
};

void configure(const Config& c);
const Config& config();

// Whole-program mode (enable/disable).
void enable();
void disable();
bool isEnabled();
// The program has ended (threading's shutdown has begun): what runs now runs once, so nothing new is compiled or
// loaded; specializations already made still run.
void programEnding();

// Installs the hook without whole-program mode, for @specialize calls; returns whether it installed it.
bool installForCall();
void uninstallForCall();

// For measuring (bench/hook_cost.py): installs a hook that only calls the interpreter, or removes it. Throws
// std::runtime_error while pypaccel's own hook or another one is installed.
void passthroughHook(bool on);

// While paused (nestable), frames of this thread pass through: for Python code the runtime itself runs.
void pauseThread();
void resumeThread();
// Whether a thread other than `ts` is inside the compiler (its Python code let this one run): this thread then
// neither compiles nor resolves call sites until it is out.
bool otherThreadCompiling(PyThreadState* ts);

// Something the user should know about this whole process (the JIT or the cache is off, and why): warned once
// with `category` (nullptr: the caller warned; never raised, even under -W error) and listed in stats()["notes"] and the run's records.
void note(const std::string& text, PyObject* category);
const std::vector<std::string>& notes();

// Decides once whether `code` may ever be compiled (st.never says why not) and whether it has loops.
void classify(profile::CodeState& st, PyObject* code);

// An exit of a direct callee, which has no frame: CPython calls the function (making the frame as for any call),
// the hook recognizes that frame as this exit's and continues the exit in it. Returns the call's result.
PyObject* exitThroughNewFrame(runtime::NativeCtx* ctx, int32_t exitId, uint64_t* values);

// A probe's Reprofile exit (`exitId`), its frame rebuilt at the loop header and handed back to the interpreter:
// compiles the function again with that frame's values as examples and, when the new code can take the frame
// there, runs the rest of the call in it. True with `*result` the call's result; false: the interpreter goes on
// (the new code, if any, serves the next call).
bool reenterAfterProbe(runtime::NativeCtx* ctx, int32_t exitId, PyObject** result);

// The lowest C stack address native code may recurse to on this thread (direct calls go through the interpreter
// below it).
char* stackLow();

}  // namespace pypaccel::hook
