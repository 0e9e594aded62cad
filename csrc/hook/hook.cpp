// The PEP 523 hook. Per call: pass through what must stay interpreted (generators, module bodies, tracing,
// re-entry from the compiler itself), count, compile when hot, and run the matching specialization natively.
#include "hook/hook.h"

#include <pthread.h>

#include "cpython/cpy.h"
#include "hook/compile.h"
#include "profile/code_state.h"
#include "spec/builder.h"

namespace pypaccel::hook {

namespace {

Config* gConfig = new Config();
PypaEvalFunc gPrevious = nullptr;  // what was installed before us (usually _PyEval_EvalFrameDefault)
bool gInstalled = false;
PyObject* evalFrame(PyThreadState* ts, PypaFrame* f, int throwflag);
bool gWholeProgram = false;
thread_local int tInCompiler = 0;  // Python code run by the compiler itself is never hooked

// -- C stack ------------------------------------------------------------------------------------------------------
// With a PEP 523 hook installed, 3.11 no longer inlines Python-to-Python calls: every call is C recursion, and a
// raised recursion limit can overflow the C stack where plain CPython would not. When the stack runs low, the hook
// steps aside for that frame: the interpreter then runs it and everything it calls with its own inlined calls.
constexpr size_t kLowStackBytes = 256 * 1024;
thread_local char* tStackLow = nullptr;

bool cStackLow() {
  char here;
  if (!tStackLow) {
    pthread_attr_t attr;
    void* addr = nullptr;
    size_t size = 0;
    if (pthread_getattr_np(pthread_self(), &attr) != 0) return false;
    pthread_attr_getstack(&attr, &addr, &size);
    pthread_attr_destroy(&attr);
    tStackLow = static_cast<char*>(addr) + kLowStackBytes;
  }
  return &here < tStackLow;
}

PyObject* runWithoutHook(PyThreadState* ts, PypaFrame* f, int throwflag) {
  pypa_cpy_reset_eval_frame();
  PyObject* r = pypa_cpy_eval_default(ts, f, throwflag);
  if (gInstalled) pypa_cpy_set_eval_frame(evalFrame);
  return r;
}

PyObject* passThrough(PyThreadState* ts, PypaFrame* f, int throwflag) {
  return gPrevious ? gPrevious(ts, f, throwflag) : pypa_cpy_eval_default(ts, f, throwflag);
}

// Arguments' type letters. Ints whose digit count proves they fit skip the exact conversion.
bool signatureOf(PypaFrame* f, int nargs, std::string* sig) {
  PyObject** locals = pypa_frame_localsplus(f);
  sig->resize(nargs);
  for (int i = 0; i < nargs; i++) {
    PyObject* v = locals[i];
    if (!v) return false;
    PyTypeObject* t = Py_TYPE(v);
    if (t == &PyFloat_Type) (*sig)[i] = 'f';
    else if (t == &PyLong_Type && Py_SIZE(v) >= -2 && Py_SIZE(v) <= 2) (*sig)[i] = 'i';
    else (*sig)[i] = spec::argTypeLetter(v);
  }
  return true;
}

void classify(profile::CodeState& st, PyObject* code) {
  st.classified = true;
  auto info = spec::readCodeInfo(code);
  if (!info) {
    st.never = "cannot read code object";
    llvm::consumeError(info.takeError());
    return;
  }
  st.never = spec::ineligibleReason(*info);
  if (st.never.empty() && !gConfig->excludeKeys.empty() &&
      gConfig->excludeKeys.count(st.filename + ":" + std::to_string(st.firstlineno) + ":" + st.qualname)) {
    st.never = profile::kExcludedByListReason;
    return;
  }
  // Loops: any backward jump in the bytecode.
  const std::string& b = info->bytes;
  for (size_t i = 0; i + 1 < b.size(); i += 2) {
    int op = pypa_opcode_base(uint8_t(b[i]));
    if (spec::isBackwardJump(op)) st.hasLoops = true;
  }
}

PyObject* runNative(PyThreadState* ts, PypaFrame* f, profile::CodeState& st, deopt::Specialization* s) {
  if (Py_EnterRecursiveCall("")) return nullptr;
  PyCodeObject* co = pypa_frame_code(f);
  runtime::NativeCtx ctx{};
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
  // The frame is complete (past RESUME) and current while native code runs: tracebacks and sys._getframe work.
  pypa_frame_set_prev_unit(f, pypa_code_firsttraceable(co));
  pypa_frame_link(ts, f);
  s->entries++;
  PyObject* r = s->entry(pypa_frame_localsplus(f), &ctx);
  if (!ctx.exited) {
    pypa_frame_unlink(ts, f);
    Py_LeaveRecursiveCall();
  } else if (!s->meta.stressExits && s->entries >= 20 && s->exits * 2 > s->entries) {
    // Native code that exits on most entries costs more than it saves: recompile it with generic operations
    // where that helps (an int that outgrew 64 bits), else stop entering it.
    if (!retireForWidening(st, *s)) {
      s->disabled = true;
      s->disabledReason = "exits on " + std::to_string(s->exits * 100 / s->entries) + "% of entries";
    }
  }
  return r;
}

PyObject* evalFrame(PyThreadState* ts, PypaFrame* f, int throwflag) {
  if (!gPrevious && cStackLow()) return runWithoutHook(ts, f, throwflag);
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
  if (!st->classified) {
    tInCompiler++;
    classify(*st, code);
    tInCompiler--;
  }
  st->calls++;
  if (!st->never.empty()) return passThrough(ts, f, throwflag);
  if (!st->profileRead) {
    tInCompiler++;
    learnFromEarlierRuns(*st);
    tInCompiler--;
    if (PyErr_Occurred()) PyErr_Clear();
  }
  std::string sig;
  if (!signatureOf(f, st->nargs, &sig)) return passThrough(ts, f, throwflag);
  deopt::Specialization* s = st->find(sig);
  if (!s) {
    if (st->failedSignatures.count(sig)) return passThrough(ts, f, throwflag);
    int threshold = st->forceCompile ? 0 : gConfig->threshold;
    CompileWhy why;
    bool deferred = st->deferred.count(sig) > 0;
    if (threshold == 0 || st->calls >= uint64_t(threshold) || st->warm.count(sig))
      why = st->forceCompile ? CompileWhy::Forced : CompileWhy::Threshold;
    else if (st->hasLoops && !deferred) why = CompileWhy::Loops;
    else return passThrough(ts, f, throwflag);
    tInCompiler++;
    s = obtainSpecialization(*st, sig, f, why);
    tInCompiler--;
    if (PyErr_Occurred()) PyErr_Clear();  // nothing the compiler did may leak into the program
    if (!s) return passThrough(ts, f, throwflag);
  }
  // Other globals than at link time (a code object shared by exec) are fine: their versions differ, so every
  // global guard re-checks its binding in them.
  if (s->disabled) return passThrough(ts, f, throwflag);
  return runNative(ts, f, *st, s);
}

void install() {
  if (gInstalled) return;
  PypaEvalFunc cur = pypa_cpy_get_eval_frame();
  // Remember another PEP 523 user to chain to; the interpreter itself is not one.
  gPrevious = (cur == evalFrame || pypa_cpy_is_default_eval(cur)) ? nullptr : cur;
  pypa_cpy_set_eval_frame(evalFrame);
  gInstalled = true;
}

void uninstall() {
  if (!gInstalled) return;
  if (gPrevious) pypa_cpy_set_eval_frame(gPrevious);
  else pypa_cpy_reset_eval_frame();
  gInstalled = false;
}

}  // namespace

void configure(const Config& c) { *gConfig = c; }
const Config& config() { return *gConfig; }

void enable() {
  gWholeProgram = true;
  install();
}

void disable() {
  gWholeProgram = false;
  uninstall();
}

bool isEnabled() { return gWholeProgram; }

bool installForCall() {
  if (gInstalled) return false;
  install();
  return true;
}

void uninstallForCall() {
  if (!gWholeProgram) uninstall();
}

void pauseThread() { tInCompiler++; }
void resumeThread() { tInCompiler--; }

}  // namespace pypaccel::hook
