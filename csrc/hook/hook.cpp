// The PEP 523 hook. Per call: pass through what must stay interpreted (generators, module bodies, tracing,
// re-entry from the compiler itself), count, compile when hot, and run the matching specialization natively.
#include "hook/hook.h"

#include <pthread.h>
#include <stdexcept>

#include "cache/learning.h"
#include "cache/registry.h"
#include "cpython/cpy.h"
#include "cpython/layout.h"
#include "hook/compile.h"
#include "profile/code_state.h"
#include "specialize/builder.h"

namespace pypaccel::hook {

namespace {

Config* gConfig = new Config();
PypaEvalFunc gPrevious = nullptr;  // what was installed before us (usually _PyEval_EvalFrameDefault)
bool gInstalled = false;
PyObject* evalFrame(PyThreadState* ts, PypaFrame* f, int throwflag);
bool gWholeProgram = false;
bool gProgramEnding = false;  // see programEnding()
thread_local int tInCompiler = 0;  // Python code run by the compiler itself is never hooked
// The thread inside the compiler, if any. The compiler runs Python code (cache path lookups, warnings), which may
// let another thread run in the middle of a compile; that thread must not enter the compiler too (the code states
// a compile fills are one thread's at a time): its frames run in the interpreter meanwhile, its call sites find no
// new entry.
PyThreadState* gCompilerThread = nullptr;

void enterCompiler() {
  if (tInCompiler++ == 0) gCompilerThread = PyThreadState_Get();
}
void leaveCompiler() {
  if (--tInCompiler == 0) gCompilerThread = nullptr;
}

// -- C stack ------------------------------------------------------------------------------------------------------
// With a PEP 523 hook installed, 3.11 no longer inlines Python-to-Python calls: every call is C recursion, and a
// raised recursion limit can overflow the C stack where plain CPython would not. When the stack runs low, the hook
// steps aside for that frame: the interpreter then runs it and everything it calls with its own inlined calls.
constexpr size_t kLowStackBytes = 256 * 1024;
thread_local char* tStackLow = nullptr;

char* threadStackLow() {
  if (!tStackLow) {
    size_t size = 0;
    char* base = pypa_thread_stack_base(&size);
    if (!base) return nullptr;
    tStackLow = base + kLowStackBytes;
    pypa_hook_entry_set_stack_low(tStackLow);  // the entry's gate takes frames only above it
  }
  return tStackLow;
}

bool cStackLow() {
  char here;
  char* low = threadStackLow();
  return low && &here < low;
}

PyObject* runWithoutHook(PyThreadState* ts, PypaFrame* f, int throwflag) {
  pypa_cpy_reset_eval_frame();
  PyObject* r = pypa_cpy_eval_default(ts, f, throwflag);
  if (gInstalled) pypa_cpy_set_eval_frame(pypa_hook_entry);
  return r;
}

PyObject* passThrough(PyThreadState* ts, PypaFrame* f, int throwflag) {
  return gPrevious ? gPrevious(ts, f, throwflag) : pypa_cpy_eval_default(ts, f, throwflag);
}

// Arguments' type letters. Ints whose digit count proves they fit skip the exact conversion.
// An argument's signature letter: specialize::argTypeLetter's, without its conversion for the common cases.
inline char argLetter(PyObject* v) {
  PyTypeObject* t = Py_TYPE(v);
  if (t == &PyFloat_Type) return 'f';
  if (t == &PyLong_Type) return Py_SIZE(v) >= -2 && Py_SIZE(v) <= 2 ? 'i' : specialize::argTypeLetter(v);
  if (t == &PyBool_Type) return 'b';
  return 'o';
}

bool signatureOf(PypaFrame* f, int nargs, std::string* sig) {
  PyObject** locals = pypa_frame_localsplus(f);
  sig->resize(nargs);
  for (int i = 0; i < nargs; i++) {
    if (!locals[i]) return false;
    (*sig)[i] = argLetter(locals[i]);
  }
  return true;
}

// Whether the frame's arguments have the signature `sig` (signatureOf's, compared as it goes: no string made).
bool argsMatch(PypaFrame* f, const std::string& sig) {
  PyObject** locals = pypa_frame_localsplus(f);
  for (size_t i = 0; i < sig.size(); i++)
    if (!locals[i] || argLetter(locals[i]) != sig[i]) return false;
  return true;
}

}  // namespace

void classify(profile::CodeState& st, PyObject* code) {
  st.classified = true;
  auto info = specialize::readCodeInfo(code);
  if (!info) {
    st.never = "cannot read code object";
    llvm::consumeError(info.takeError());
    return;
  }
  st.never = specialize::ineligibleReason(*info);
  if (st.never.empty() && !gConfig->excludeKeys.empty() &&
      gConfig->excludeKeys.count(st.filename + ":" + std::to_string(st.firstlineno) + ":" + st.qualname)) {
    st.never = profile::kExcludedByListReason;
    return;
  }
  // Loops: any backward jump in the bytecode.
  const std::string& b = info->bytes;
  for (size_t i = 0; i + 1 < b.size(); i += 2) {
    int op = pypa_opcode_base(uint8_t(b[i]));
    if (specialize::isBackwardJump(op)) st.hasLoops = true;
  }
}

namespace {

// Native code that exits on most of its (first 20 or more) entries costs more than it saves. `entries`: the frame
// entry's count or the direct entry's (SpecHeader).
bool exitsOnMostEntries(const deopt::Specialization& s, uint64_t entries) {
  return !s.meta.stressExits && entries >= 20 && s.exits * 2 > entries;
}

std::string exitShare(const deopt::Specialization& s, uint64_t entries) {
  return "exits on " + std::to_string(s.exits * 100 / entries) + "% of entries";
}

// An exit costs far more than an entry saves (a frame is made and the rest of the call runs in the interpreter:
// microseconds, against tens of nanoseconds): past one exit in eight entries (of 20 or more), code whose exits a
// generic operation would have handled (an int where a float was predicted) is compiled again with those
// operations generic (cache::retireForWidening). Exits of other kinds keep it until they are most entries. Code
// with a loop at its first such exit: the rest of that call ran in the interpreter, loop and all.
bool exitsTooOftenToKeep(const profile::CodeState& st, const deopt::Specialization& s, uint64_t entries) {
  return !s.meta.stressExits && (st.hasLoops || (entries >= 20 && s.exits * 8 > entries));
}

// After an exit of `s`: replaced by a wider specialization, or no longer entered, when it exits too often. True
// when it will not be entered again.
bool retireAfterExit(profile::CodeState& st, deopt::Specialization& s, uint64_t entries) {
  if (exitsTooOftenToKeep(st, s, entries) && cache::retireForWidening(st, s)) return true;
  if (!exitsOnMostEntries(s, entries)) return false;
  s.disabled = true;
  s.disabledReason = exitShare(s, entries);
  return true;
}

// `resume`: null to enter at the start, else the resume buffer of an entry at the resume header.
PyObject* runNative(PyThreadState* ts, PypaFrame* f, profile::CodeState& st, deopt::Specialization* s,
                    uint64_t* resume = nullptr) {
  if (Py_EnterRecursiveCall("")) return nullptr;
  PyCodeObject* co = pypa_frame_code(f);
  // Every field is set here, none value-initialized: GCC zeroes the whole struct with `rep stos`, whose start-up
  // was 7% of a call of a small function entered from the interpreter.
  runtime::NativeCtx ctx;
  ctx.exited = 0;
  ctx.lazyPrevInstr = nullptr;
  ctx.recursion = 0;
  ctx.tstate = ts;
  ctx.frame = f;
  ctx.slots = s->slotWords.data();
  ctx.evalBreaker = pypa_cpy_eval_breaker_addr(ts);
  ctx.stress = s->stressFlags.data();
  ctx.globals = pypa_frame_globals(f);
  ctx.builtins = pypa_frame_builtins(f);
  ctx.spec = s;
  ctx.prevInstrAddr = static_cast<void**>(pypa_frame_prev_instr_addr(f));
  ctx.firstInstr = static_cast<char*>(pypa_code_first_instr(co));
  ctx.func = pypa_frame_func(f);
  ctx.resume = resume;
  // Direct callees keep 64 KiB more than the hook does: their exits re-enter through it.
  char* low = threadStackLow();
  ctx.stackLow = low ? low + 64 * 1024 : nullptr;
  // The frame is complete (past RESUME) and current while native code runs: tracebacks and sys._getframe work.
  pypa_frame_set_prev_unit(f, pypa_code_firsttraceable(co));
  pypa_frame_link(ts, f);
  s->entries++;
  PyObject* r = s->entry(pypa_frame_localsplus(f), &ctx);
  if (!ctx.exited) {
    pypa_frame_unlink(ts, f);
    Py_LeaveRecursiveCall();
  } else {
    retireAfterExit(st, *s, s->entries);
  }
  return r;
}

// -- Measured entries -----------------------------------------------------------------------------------------------
// Code without loops pays the hook's entry into native code on every call from the interpreter, and whether its
// native form saves more than that depends on which branches run and on what 3.11's specialized instructions make
// of the same code: its new frame entry is timed against the interpreter first (profile/entry_trial.h) and kept only
// if it is not slower. Not for @specialize (the user asked for native code), nor where every function is compiled
// on purpose (threshold 0, PYPACCEL_COMPILE_ALL, stress exits: the test passes' reach).
bool wantsTrial(const profile::CodeState& st, const deopt::Specialization& s) {
  return !st.hasLoops && !st.forceCompile && !gConfig->compileAll && gConfig->threshold > 0 && !s.meta.stressExits;
}

PyObject* runMeasured(PyThreadState* ts, PypaFrame* f, profile::CodeState& st, deopt::Specialization* s) {
  if (!st.trial) {
    if (!wantsTrial(st, *s)) {
      s->measured = true;
      return runNative(ts, f, st, s);
    }
    // An entry a warm run loaded at the first call (its profile said native) runs natively until the code is as
    // hot as the threshold makes code that compiles: a short run loses nothing, a long one still finds out.
    if (st.callCount() < uint64_t(gConfig->threshold)) return runNative(ts, f, st, s);
    st.trial = std::make_unique<profile::EntryTrial>(s);
  }
  profile::EntryTrial& t = *st.trial;
  // A recursive call (see EntryTrial::recursive) runs natively; another thread's call, or another signature's
  // while this one's trial lasts, is not timed.
  if (t.depth && t.owner == ts) {
    t.recursive = true;
    return runNative(ts, f, st, s);
  }
  if (t.spec != s || t.depth) return runNative(ts, f, st, s);
  bool native = t.nextNative();
  t.owner = ts;
  t.native = native;
  t.depth++;
  int64_t start = profile::EntryTrial::now();
  PyObject* r = native ? runNative(ts, f, st, s) : passThrough(ts, f, 0);
  int64_t end = profile::EntryTrial::now();
  t.depth--;
  if (t.recursive) {
    s->measured = true;
    st.trial.reset();
    return r;
  }
  t.record(native, end - start);
  if (t.done()) {
    s->measured = true;
    std::string slower = t.verdict();
    if (!slower.empty() && !s->disabled) {
      s->disabled = true;
      s->disabledReason = slower;
    }
    st.trial.reset();
  }
  return r;
}

// -- Exits of direct callees ----------------------------------------------------------------------------------------
// A direct callee runs without a frame. At an exit it calls its own function through CPython with placeholder
// arguments: CPython makes the frame (and will clear and pop it), and the hook, seeing the pending exit for that
// code, hands the frame to the exit instead of running the function. Nothing runs between the two.
struct PendingExit {
  runtime::NativeCtx* ctx;
  int32_t exitId;
  uint64_t* values;
  PyObject* code;
  PyObject *type = nullptr, *value = nullptr, *tb = nullptr;  // the exception of a Raise exit
  bool taken = false;
};
thread_local PendingExit* tPendingExit = nullptr;

PyObject* continuePendingExit(PyThreadState* ts, PypaFrame* f, PendingExit* p) {
  p->taken = true;
  tPendingExit = nullptr;
  p->ctx->frame = f;
  p->ctx->prevInstrAddr = static_cast<void**>(pypa_frame_prev_instr_addr(f));
  pypa_frame_link(ts, f);  // as runNative leaves it: the exit unlinks it before the interpreter links it again
  if (p->type) PyErr_Restore(p->type, p->value, p->tb);
  return deopt::exitInFrame(p->ctx, p->exitId, p->values);
}

// CPython 3.11's RESUME tests the eval breaker before a call's first instruction: a signal still pending when the
// call starts has its handler run there, and the handler's exception comes out of this frame with its `def` line.
// The hook does the same before anything of its own: the compiler runs Python code (pypaccel._paths, warnings), whose
// RESUME would otherwise run the handler and the compiler discard its exception, and native code starts without
// the test. False: go on; true: `*result` is the call's result (the exception raised at RESUME, or the interpreter's
// run of the whole call where only the interpreter can serve the event: an asynchronous exception).
bool serveEvalBreakerAtStart(PyThreadState* ts, PypaFrame* f, PyObject** result) {
  if (__atomic_load_n(pypa_cpy_eval_breaker_addr(ts), __ATOMIC_RELAXED) == 0) return false;
  int r = pypa_cpy_handle_eval_breaker(ts);
  if (r < 0) {
    pypa_frame_set_prev_unit(f, pypa_code_firsttraceable(pypa_frame_code(f)));
    *result = pypa_cpy_eval_raise(ts, f);
    return true;
  }
  // The handler may have switched tracing on: the interpreter reports this call's events then.
  if (r > 0 || pypa_cpy_tracing(ts)) {
    *result = passThrough(ts, f, 0);
    return true;
  }
  return false;
}

// Calls a gate lets through when nothing but the count can change the decision (a code that is never compiled).
constexpr int64_t kPassForever = INT64_MAX;

// The C++ side of the hook (pypa_hook_entry sends every frame here whose gate holds no pass).
PyObject* evalFrame(PyThreadState* ts, PypaFrame* f, int throwflag) {
  if (tPendingExit && !throwflag && reinterpret_cast<PyObject*>(pypa_frame_code(f)) == tPendingExit->code)
    return continuePendingExit(ts, f, tPendingExit);
  if (cStackLow() && !gPrevious) return runWithoutHook(ts, f, throwflag);
  if (throwflag || tInCompiler || !pypa_frame_is_thread_owned(f) || pypa_cpy_tracing(ts))
    return passThrough(ts, f, throwflag);
  PyObject* code = reinterpret_cast<PyObject*>(pypa_frame_code(f));
  profile::CodeState* st = profile::existingState(code);
  if (!st) {
    if (!gWholeProgram) return passThrough(ts, f, throwflag);
    st = profile::stateFor(code);
    if (!st) return passThrough(ts, f, throwflag);
  }
  if (!gWholeProgram && !st->forceCompile) return passThrough(ts, f, throwflag);
  // What is native already runs while another thread is inside the compiler; what would need the compiler waits.
  bool compilerBusy = otherThreadCompiling(ts);
  if (!st->classified) {
    if (compilerBusy) return passThrough(ts, f, throwflag);
    enterCompiler();
    classify(*st, code);
    leaveCompiler();
  }
  st->settle();
  st->calls++;
  // From here on, each `arm` says which later calls would come to the same decision without looking.
  if (!st->never.empty() || (gProgramEnding && st->specs.empty())) {
    st->arm(kPassForever);
    return passThrough(ts, f, throwflag);
  }
  if (PyObject* r; serveEvalBreakerAtStart(ts, f, &r)) return r;
  if (!st->profileRead) {
    if (compilerBusy) return passThrough(ts, f, throwflag);
    enterCompiler();
    cache::learnFromEarlierRuns(*st, buildIdentity, gConfig->compileAll);
    leaveCompiler();
    if (PyErr_Occurred()) PyErr_Clear();
  }
  // Most calls run the entry the previous call ran: checked first, letter by letter.
  deopt::Specialization* s = st->last;
  if (s && (s->retired || !argsMatch(f, s->meta.signature))) s = nullptr;
  std::string sig;
  if (!s && !signatureOf(f, st->nargs, &sig)) return passThrough(ts, f, throwflag);
  if (!s) s = st->last = st->find(sig);
  if (!s) {
    int threshold = st->forceCompile ? 0 : gConfig->threshold;
    // Only while nothing of this code is native (an exit must reach this hook), no stored profile asks for a
    // signature at its first call, and the code has no loop (a new signature of a function with a loop is compiled
    // at its first call; such calls are few and long, so looking at each costs little).
    bool armable = st->specs.empty() && st->warm.empty() && threshold > 0 && !st->hasLoops;
    if (st->failedSignatures.count(sig)) {
      if (armable) st->arm(threshold);  // a new signature waits at most the threshold, as a new function does
      return passThrough(ts, f, throwflag);
    }
    if (compilerBusy) return passThrough(ts, f, throwflag);
    CompileWhy why;
    bool deferred = st->deferred.count(sig) > 0;
    if (threshold == 0 || st->calls >= uint64_t(threshold) || st->warm.count(sig))
      why = st->forceCompile ? CompileWhy::Forced : CompileWhy::Threshold;
    else if (st->hasLoops && !deferred) why = CompileWhy::Loops;
    else {
      if (armable) st->arm(int64_t(threshold) - int64_t(st->calls) - 1);
      return passThrough(ts, f, throwflag);
    }
    enterCompiler();
    s = st->last = obtainSpecialization(*st, sig, f, why);
    leaveCompiler();
    if (PyErr_Occurred()) PyErr_Clear();  // nothing the compiler did may leak into the program
    if (!s) return passThrough(ts, f, throwflag);
  }
  // Other globals than at link time (a code object shared by exec) are fine: their versions differ, so every
  // global guard re-checks its binding in them.
  if (s->disabled) return passThrough(ts, f, throwflag);
  if (!s->measured) return runMeasured(ts, f, *st, s);
  return runNative(ts, f, *st, s);
}

}  // namespace

PyObject* exitThroughNewFrame(runtime::NativeCtx* ctx, int32_t exitId, uint64_t* values) {
  auto* func = reinterpret_cast<PyFunctionObject*>(ctx->func);
  // The frame must reach the hook, not pass its code's gate (armed when interpreted callers were not yet hot).
  if (profile::CodeState* st = profile::existingState(PyFunction_GET_CODE(func))) st->disarm();
  PendingExit p{ctx, exitId, values, PyFunction_GET_CODE(func)};
  if (PyErr_Occurred()) PyErr_Fetch(&p.type, &p.value, &p.tb);
  PendingExit* outer = tPendingExit;
  tPendingExit = &p;
  // The frame must come to this hook even if pypaccel was disabled meanwhile (by a signal handler, say).
  PypaEvalFunc installed = pypa_cpy_get_eval_frame();
  if (installed != pypa_hook_entry) pypa_cpy_set_eval_frame(pypa_hook_entry);
  int nargs = pypa_code_argcount(reinterpret_cast<PyCodeObject*>(PyFunction_GET_CODE(func)));
  PyObject* args[256];
  PyObject* r = nullptr;
  if (nargs <= 255) {
    for (int i = 0; i < nargs; i++) args[i + 1] = Py_None;
    r = PyObject_Vectorcall(ctx->func, args + 1, size_t(nargs) | PY_VECTORCALL_ARGUMENTS_OFFSET, nullptr);
  }
  if (installed != pypa_hook_entry) pypa_cpy_set_eval_frame(installed);
  tPendingExit = outer;
  if (!p.taken) {
    // Never expected (the hook always sees the frame): fail loudly rather than run the function from its start.
    Py_XDECREF(r);
    Py_XDECREF(p.type);
    Py_XDECREF(p.value);
    Py_XDECREF(p.tb);
    PyErr_SetString(PyExc_SystemError, "pypaccel: a direct call's exit found no frame");
    return nullptr;
  }
  ctx->exited = 1;
  auto* spec = static_cast<deopt::Specialization*>(ctx->spec);
  profile::CodeState* st = profile::existingState(PyFunction_GET_CODE(func));
  if (spec->header.directEntry && st && retireAfterExit(*st, *spec, spec->header.entries)) {
    // As runNative does for frame entries. Call sites resolve a replaced entry again (the wider one is compiled
    // then, with that call's arguments as examples); one no longer entered leaves them to the interpreter, which
    // calls the function the usual way.
    spec->header.directEntry = nullptr;
    if (spec->retired) {
      spec->header.replaced = 1;
    } else if (!st->find(spec->meta.signature)) {
      // The frame entry of the same signature would exit the same way: the calls now go through the interpreter.
      st->failedSignatures[spec->meta.signature] =
          profile::Interpreted{spec->disabledReason + " (called directly)", "disabled",
                               spec->disabledReason + " (called directly)"};
    }
  }
  return r;
}

bool reenterAfterProbe(runtime::NativeCtx* ctx, int32_t exitId, PyObject** result) {
  auto* probe = static_cast<deopt::Specialization*>(ctx->spec);
  auto* f = static_cast<PypaFrame*>(ctx->frame);
  PyThreadState* ts = ctx->tstate;
  profile::CodeState* st = profile::existingState(reinterpret_cast<PyObject*>(pypa_frame_code(f)));
  if (!st) return false;
  // A probe leaves once: from here on the signature's calls get the new code, or the interpreter.
  probe->retired = true;
  if (st->last == probe) st->last = nullptr;
  if (tInCompiler || otherThreadCompiling(ts) || pypa_cpy_tracing(ts)) return false;
  int unit = probe->meta.exits[size_t(exitId)].resumeUnit;
  enterCompiler();
  deopt::Specialization* s = obtainResumable(*st, *probe, f, unit);
  leaveCompiler();
  if (PyErr_Occurred()) PyErr_Clear();  // nothing the compiler did may leak into the program
  if (!s || s->disabled) return false;
  s->measured = true;  // code with a loop is never timed against the interpreter (wantsTrial)
  std::vector<uint64_t> buf;
  std::string why = deopt::fillResumeBuffer(f, *s, &buf);
  if (!why.empty()) {
    st->fallback("not entered at its loop header after the probe: " + why);
    return false;
  }
  st->resumed++;
  *result = runNative(ts, f, *st, s, buf.data());
  return true;
}

char* stackLow() { return threadStackLow(); }

namespace {

void install() {
  // A child forked while another thread was inside the compiler has only the forking thread, which is not in it.
  static bool atFork = pthread_atfork(nullptr, nullptr, [] { gCompilerThread = nullptr; }) == 0;
  (void)atFork;
  if (gInstalled) return;
  PypaEvalFunc cur = pypa_cpy_get_eval_frame();
  // Remember another PEP 523 user to chain to; the interpreter itself is not one.
  gPrevious = (cur == pypa_hook_entry || pypa_cpy_is_default_eval(cur)) ? nullptr : cur;
  pypa_hook_entry_configure(profile::gateIndex(), evalFrame, gPrevious);
  pypa_cpy_set_eval_frame(pypa_hook_entry);
  gInstalled = true;
}

void uninstall() {
  if (!gInstalled) return;
  if (gPrevious) pypa_cpy_set_eval_frame(gPrevious);
  else pypa_cpy_reset_eval_frame();
  gInstalled = false;
}

}  // namespace

void configure(const Config& c) {
  *gConfig = c;
  // The cache's part: where a file's database is, and how trouble with one is warned about.
  cache::configureStores({c.dbPathFor, c.cacheWarning, c.cacheJournal});
  // Gates were armed for the old threshold.
  for (profile::CodeState* st : profile::allStates()) st->disarm();
}
const Config& config() { return *gConfig; }

namespace {
std::vector<std::string>* gNotes = new std::vector<std::string>();
}  // namespace

void note(const std::string& text, PyObject* category) {
  for (const std::string& n : *gNotes)
    if (n == text) return;
  gNotes->push_back(text);
  if (!category) return;  // already warned about (by Python code, which can point at the user's call)
  // Whatever exception is being handled stays as it was; a warning turned into an error is dropped.
  PyObject *t, *v, *tb;
  PyErr_Fetch(&t, &v, &tb);
  if (PyErr_WarnEx(category, ("pypaccel: " + text).c_str(), 1) < 0) PyErr_Clear();
  PyErr_Restore(t, v, tb);
}

const std::vector<std::string>& notes() { return *gNotes; }

void enable() {
  gWholeProgram = true;
  install();
}

void disable() {
  gWholeProgram = false;
  uninstall();
}

bool isEnabled() { return gWholeProgram; }

void passthroughHook(bool on) {
  PypaEvalFunc cur = pypa_cpy_get_eval_frame();
  if (on && !pypa_cpy_is_default_eval(cur) && cur != pypa_hook_passthrough)
    throw std::runtime_error("another PEP 523 hook is installed");
  if (!on && cur != pypa_hook_passthrough) throw std::runtime_error("the pass-through hook is not installed");
  if (on) pypa_cpy_set_eval_frame(pypa_hook_passthrough);
  else pypa_cpy_reset_eval_frame();
}

void programEnding() { gProgramEnding = true; }

bool installForCall() {
  if (gInstalled) return false;
  install();
  return true;
}

void uninstallForCall() {
  if (!gWholeProgram) uninstall();
}

void pauseThread() { enterCompiler(); }
void resumeThread() { leaveCompiler(); }
bool otherThreadCompiling(PyThreadState* ts) { return gCompilerThread && gCompilerThread != ts; }

}  // namespace pypaccel::hook
