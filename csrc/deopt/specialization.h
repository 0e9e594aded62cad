// A specialization: one function compiled for one argument signature, with the metadata that lets it exit
// (deopt) and be stored and relinked in another process, plus its per-process counters.
#pragma once
#include <Python.h>

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "cpython/cpy.h"
#include "ir/ir.h"
#include "runtime/native_ctx.h"
#include "support/ref.h"

namespace pypaccel::deopt {

// Everything about a specialization besides its object code; stored next to it in the cache.
struct SpecMeta {
  std::string symbol;
  std::string signature;
  int nlocals = 0;
  int nargs = 0;
  bool stressExits = false;
  bool direct = false;  // compiled as a direct entry (runtime::DirectEntry), see ir::Function::direct
  uint64_t variant = 0;  // direct entry: irVariant of its IR (SpecHeader::variant)
  std::vector<ir::ExitPoint> exits;  // SSA ids are not kept: the exit buffer layout follows from the types
  std::vector<ir::Slot> slots;
  std::vector<ir::GlobalGuard> globals;
};

SpecMeta metaFromIR(const ir::Function& fn);
// A fingerprint of everything in `fn` that its native code follows from, except its symbol: two direct entries
// with the same variant behave the same on the same header (slots, exits and stress flags line up), so a caller
// may run its own compiled copy of one in place of the other (ir::Function::inlined). Never 0.
uint64_t irVariant(const ir::Function& fn);
std::string encodeMeta(const SpecMeta& m);
bool decodeMeta(const std::string& blob, SpecMeta* out);
// Why the metadata of a stored cache entry cannot be used, or "" (then *out holds it): it decodes, and it is the
// specialization its row names (the row key's symbol, cache::keySymbol, possibly with a "_<n>" suffix, and the
// row's signature). The loader (hook/compile.cpp) and `cache verify` (_pypaccel._stored_meta_problem) both ask
// this, so they cannot disagree about an entry.
std::string storedMetaProblem(const std::string& blob, const std::string& keySymbol, const std::string& signature,
                              SpecMeta* out);

// Words an exit passes in its buffer: per bound local [flag if maybe] + components, then stack components.
int exitBufferWords(const ir::ExitPoint& x);

struct Specialization {
  // First, at a fixed layout: what direct call sites read (filled by linkSlots; directEntry by the hook).
  runtime::SpecHeader header{};
  SpecMeta meta;
  runtime::NativeEntry entry = nullptr;
  std::shared_ptr<void> codeOwner;  // keeps the linked machine code alive (frees it when released)
  std::vector<int64_t> slotWords;
  std::vector<uint8_t> stressFlags;
  std::vector<uint64_t> exitCounts;
  // Per argument: never stored to or deleted by the code, so the frame still holds the object it came in as
  // (exits keep it instead of boxing the unboxed copy: identity survives). Filled by linkSlots.
  std::vector<uint8_t> stableArgs;
  // Per global guard: its name as an interned str (linkSlots), so a guard's slow path looks it up by its cached hash
  // instead of making the str again: after a STORE_GLOBAL every guard of that module takes the slow path once.
  std::vector<support::Ref> globalNames;
  // A probe (hook/compile.cpp): compiled at the first call before the run showed what the code works on, it leaves
  // at a loop header after kProbeBackEdges back edges to be compiled again.
  bool probe = false;
  std::string probeUnprofitable;  // a probe's refusal as a plain compile (whyUnprofitable), "" if it had none
  // A resume entry: the exit (in meta.exits, never taken) whose buffer layout is the state at the loop header
  // the code may be entered at (ir::Function::resumeExit), and per origin word of that layout whether it must
  // hold an object. -1: none. Kept for this process only: a stored specialization is entered at its start.
  int resumeExit = -1;
  std::vector<uint8_t> resumeOriginRequired;
  std::string noResume;  // ir::Function::noResume
  uint64_t entries = 0;
  uint64_t exits = 0;
  bool disabled = false;
  bool fromCache = false;
  bool retired = false;       // replaced by a specialization with wider operations (never entered again)
  bool measured = false;      // a frame entry timed against the interpreter, or one that need not be (hook.cpp)
  std::string disabledReason;
  std::string cacheKey;       // the key it is (or would be) stored under
  std::set<int> widened;      // bytecode units compiled with generic operations (part of the key)

  Specialization() = default;
  Specialization(const Specialization&) = delete;
  Specialization& operator=(const Specialization&) = delete;
  ~Specialization();  // releases what its direct call sites hold (link_slots.cpp)
};

// Back edges a probe takes before it leaves to be compiled again: enough for the callees of its loop to reach the
// call threshold and be compiled, and for its locals to hold what they hold in the loop.
constexpr int64_t kProbeBackEdges = 500;

// Fills slotWords for this process from the code's constants and the current globals. Returns false with `why`
// when something the code was compiled against no longer holds (then the specialization must not be used).
bool linkSlots(Specialization& s, PyObject* code, PyObject* globals, PyObject* builtins, std::string* why);

// Whether a global's value fits what the code was compiled for ('i' int in 64 bits, 'f', 'b', 'r' the range type,
// 'k' the original builtin of that name, 'M' the math module's own function of that name, 'o' anything); `word`
// gets the unboxed value.
bool valueMatches(char expect, const std::string& name, PyObject* v, int64_t* word);

// The builtin `name` as the builtins module had it when pypaccel first asked (borrowed; nullptr if none). Native
// code specialized on a builtin (abs, min, ...) guards on that identity: expect 'k'.
PyObject* originalBuiltin(const std::string& name);
// `module.attr` when the compiler has native code for it (the math functions of specialize/ops/math_calls.cpp) and it is
// that module's own builtin function, else nullptr (borrowed).
PyObject* nativeModuleFunction(PyObject* module, const std::string& attr);
// The method descriptor `name` of the builtin type `type` ("str", "list", "tuple" or "dict"), as LOAD_METHOD finds it
// on an exact instance, or nullptr (borrowed). `*tag` gets the TypeTag of that type.
PyObject* builtinMethod(const std::string& type, const std::string& name, ir::TypeTag* tag = nullptr);
// The type name builtinMethod takes for an exact instance `o` ("str"...), or nullptr.
const char* builtinTypeName(PyObject* o);
// The name of a function nativeModuleFunction accepts ("sqrt"), or nullptr.
const char* nativeModuleFunctionName(PyObject* fn);

// The exit `exitId` of the native code running with `ctx`, in its (existing) frame: rebuild the frame's state from
// the exit buffer and let the interpreter finish the call; returns the call's result (resume.cpp).
PyObject* exitInFrame(runtime::NativeCtx* ctx, int32_t exitId, uint64_t* values);

// The inverse of an exit, for `s`'s resume entry: the state of `frame` (stopped at the resume header) as the words
// of the resume exit's buffer, each checked against the type the code was compiled for (an int that fits 64 bits,
// an exact float, the bound locals bound, a range iterator's state...). On success the frame's value stack is
// handed over to the native code (its depth set to 0; the references it held are the buffer's, or released where
// the code holds the value unboxed) and "" is returned; else why not, with nothing changed.
std::string fillResumeBuffer(PypaFrame* frame, const Specialization& s, std::vector<uint64_t>* buf);

}  // namespace pypaccel::deopt
