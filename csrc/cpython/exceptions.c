/* Native exception handlers and `with`: what the interpreter's `error:`/`exception_unwind:` path and the opcodes
 * PUSH_EXC_INFO, CHECK_EXC_MATCH, POP_EXCEPT and BEFORE_WITH do to a frame and to the thread's exception state. */
#include "cpython/cpy.h"
#include "internal/pycore_frame.h"
#include "internal/pycore_object.h"
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

PyObject *pypa_cpy_with_method(PyThreadState *ts, PyObject *mgr, int which) {
    /* Special-method lookup (on the type, never the instance dict), like the interpreter's BEFORE_WITH: 3.11 looks
       up __enter__ first, so an object with neither gets the message without "(missed __exit__ method)". */
    static PyObject *names[2]; /* interned once, kept for the process (the GIL guards the first fill) */
    if (names[which] == NULL && (names[which] = PyUnicode_InternFromString(which ? "__exit__" : "__enter__")) == NULL)
        return NULL;
    PyObject *m = _PyObject_LookupSpecial(mgr, names[which]);
    if (m == NULL && !_PyErr_Occurred(ts))
        _PyErr_Format(ts, PyExc_TypeError, which ? "'%.200s' object does not support the context manager protocol "
                                                   "(missed __exit__ method)"
                                                 : "'%.200s' object does not support the context manager protocol",
                      Py_TYPE(mgr)->tp_name);
    return m;
}
