/* Native exception handlers: what the interpreter's `error:`/`exception_unwind:` path and the handler opcodes
 * (PUSH_EXC_INFO, CHECK_EXC_MATCH, POP_EXCEPT) do to a frame and to the thread's handled-exception state. */
#include "cpython/cpy.h"
#include "internal/pycore_frame.h"
#include "internal/pycore_pyerrors.h"
#include "internal/pycore_pystate.h"

PyObject *pypa_cpy_catch(PyThreadState *ts, PypaFrame *f) {
    /* The frame's traceback entry at prev_instr (the raising instruction), as the error label adds it; then the
       exception normalized, with its traceback attached, as the handler finds it on the stack. */
    if (!_PyErr_Occurred(ts))
        _PyErr_SetString(ts, PyExc_SystemError, "error return without exception set");
    /* Its frame object through the public door (the maker behind _PyFrame_GetFrameObject is not exported): the
       frame is the thread's current one while native code runs it, made so here for certain. */
    _PyInterpreterFrame *current = ts->cframe->current_frame;
    ts->cframe->current_frame = f;
    PyFrameObject *fo = PyEval_GetFrame();
    ts->cframe->current_frame = current;
    if (fo != NULL)
        PyTraceBack_Here(fo);
    PyObject *type, *value, *tb;
    _PyErr_Fetch(ts, &type, &value, &tb);
    _PyErr_NormalizeException(ts, &type, &value, &tb);
    PyException_SetTraceback(value, tb != NULL ? tb : Py_None);
    Py_XDECREF(tb);
    Py_XDECREF(type);
    return value;
}

PyObject *pypa_cpy_push_exc_info(PyThreadState *ts, PyObject *value) {
    /* The handled exception so far moves to the stack (None for none); `value` becomes the handled one. */
    _PyErr_StackItem *info = ts->exc_info;
    PyObject *prev = info->exc_value != NULL ? info->exc_value : Py_NewRef(Py_None);
    info->exc_value = Py_NewRef(value);
    return prev;
}

void pypa_cpy_pop_except(PyThreadState *ts, PyObject *prev) {
    _PyErr_StackItem *info = ts->exc_info;
    PyObject *handled = info->exc_value;
    info->exc_value = prev;
    Py_XDECREF(handled);
}

static int catchable(PyObject *type) { return PyExceptionClass_Check(type); }

int pypa_cpy_check_exc_match(PyThreadState *ts, PyObject *exc, PyObject *type) {
    /* `except type:` accepts an exception class or a tuple of them; anything else is a TypeError at the match. */
    int ok = 1;
    if (PyTuple_Check(type)) {
        for (Py_ssize_t i = 0; ok && i < PyTuple_GET_SIZE(type); i++)
            ok = catchable(PyTuple_GET_ITEM(type, i));
    } else {
        ok = catchable(type);
    }
    if (!ok) {
        _PyErr_SetString(ts, PyExc_TypeError,
                         "catching classes that do not inherit from BaseException is not allowed");
        return -1;
    }
    return PyErr_GivenExceptionMatches(exc, type);
}
