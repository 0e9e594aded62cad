// Native exception handlers of frame entries: the exception a handler receives, and the handled-exception state
// PUSH_EXC_INFO / POP_EXCEPT keep (the thread's, shared with the interpreter, so an exit inside a handler leaves
// it exactly as CPython would have it).
#include "cpython/cpy.h"
#include "runtime/helpers.h"

using pypaccel::runtime::NativeCtx;

extern "C" PyObject* pypa_rt_catch(NativeCtx* ctx, int32_t unit) {
  // Tracing switched on by a callee that then raised: the tracer sees this frame's 'exception' event and its
  // handler's lines only if the interpreter unwinds. Leave the exception pending for the exit.
  if (pypa_cpy_tracing(ctx->tstate)) return nullptr;
  // The traceback entry names the raising instruction's line, as CPython's does.
  pypaccel::runtime::atInstruction(ctx, unit);
  return pypa_cpy_catch(ctx->tstate, static_cast<PypaFrame*>(ctx->frame));
}

extern "C" PyObject* pypa_rt_push_exc_info(NativeCtx* ctx, PyObject* exc) {
  return pypa_cpy_push_exc_info(ctx->tstate, exc);
}

extern "C" void pypa_rt_pop_except(NativeCtx* ctx, PyObject* previous) { pypa_cpy_pop_except(ctx->tstate, previous); }

extern "C" int32_t pypa_rt_check_exc_match(NativeCtx* ctx, PyObject* exc, PyObject* type, int32_t unit) {
  pypaccel::runtime::atInstruction(ctx, unit);
  int r = pypa_cpy_check_exc_match(ctx->tstate, exc, type);
  Py_DECREF(type);
  return r;
}
