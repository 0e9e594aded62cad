// Native exception handlers of frame entries: the exception a handler receives, and the handled-exception state
// PUSH_EXC_INFO / POP_EXCEPT keep (the thread's, shared with the interpreter, so an exit inside a handler leaves
// it exactly as CPython would have it). Also `raise` and the calls a `with` statement makes.
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

extern "C" void pypa_rt_raise(NativeCtx* ctx, PyObject* exc, PyObject* cause, int32_t unit) {
  // RAISE_VARARGS 1 and 2, as CPython 3.11's do_raise: a class is called for its instance (which must be an
  // exception); a cause may be a class (called, its result taken as it is), an exception or None.
  pypaccel::runtime::atInstruction(ctx, unit);
  PyObject* value = nullptr;
  PyObject* type = nullptr;
  if (PyExceptionClass_Check(exc)) {
    type = exc;
    value = PyObject_CallNoArgs(exc);
    if (value && !PyExceptionInstance_Check(value)) {
      PyErr_Format(PyExc_TypeError, "calling %R should have returned an instance of BaseException, not %R", type,
                   Py_TYPE(value));
      Py_CLEAR(value);
    }
  } else if (PyExceptionInstance_Check(exc)) {
    value = exc;
    type = Py_NewRef(PyExceptionInstance_Class(exc));
  } else {
    Py_DECREF(exc);
    PyErr_SetString(PyExc_TypeError, "exceptions must derive from BaseException");
  }
  if (value && cause) {
    PyObject* fixed = nullptr;
    if (PyExceptionClass_Check(cause)) {
      fixed = PyObject_CallNoArgs(cause);
      Py_CLEAR(cause);
      if (!fixed) Py_CLEAR(value);
    } else if (PyExceptionInstance_Check(cause)) {
      fixed = cause;
      cause = nullptr;
    } else if (cause == Py_None) {
      Py_CLEAR(cause);
    } else {
      PyErr_SetString(PyExc_TypeError, "exception causes must derive from BaseException");
      Py_CLEAR(value);
    }
    if (value) PyException_SetCause(value, fixed);  // steals `fixed`; also sets __suppress_context__
  }
  Py_XDECREF(cause);
  if (value) PyErr_SetObject(type, value);  // chains the handled exception as __context__
  Py_XDECREF(value);
  Py_XDECREF(type);
}

extern "C" PyObject* pypa_rt_with_method(NativeCtx* ctx, PyObject* mgr, int32_t which, int32_t unit) {
  pypaccel::runtime::atInstruction(ctx, unit);
  return pypa_cpy_with_method(ctx->tstate, mgr, which);
}

extern "C" PyObject* pypa_rt_with_exit(NativeCtx* ctx, PyObject* exitFunc, PyObject* exc, int32_t unit) {
  // WITH_EXCEPT_START: __exit__(type, value, traceback) of the exception a `with` body raised.
  pypaccel::runtime::atInstruction(ctx, unit);
  PyObject* tb = PyException_GetTraceback(exc);
  PyObject* args[4] = {nullptr, reinterpret_cast<PyObject*>(Py_TYPE(exc)), exc, tb ? tb : Py_None};
  PyObject* r = PyObject_Vectorcall(exitFunc, args + 1, 3 | PY_VECTORCALL_ARGUMENTS_OFFSET, nullptr);
  Py_XDECREF(tb);
  return r;
}
