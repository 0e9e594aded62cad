/* Frame, code and hook access for CPython 3.11 (_PyInterpreterFrame layout, PEP 523). */
#include "cpython/cpy.h"
#include "internal/pycore_frame.h"
#include "internal/pycore_code.h"
#include "internal/pycore_interp.h"
#include "internal/pycore_pystate.h"

_Static_assert(PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030C0000, "csrc/cpython is the 3.11 door");

PypaEvalFunc pypa_cpy_get_eval_frame(void) {
    return (PypaEvalFunc)_PyInterpreterState_GetEvalFrameFunc(PyInterpreterState_Get());
}

void pypa_cpy_set_eval_frame(PypaEvalFunc f) {
    _PyInterpreterState_SetEvalFrameFunc(PyInterpreterState_Get(), (_PyFrameEvalFunction)f);
}

int pypa_cpy_is_default_eval(PypaEvalFunc f) { return f == _PyEval_EvalFrameDefault; }

void pypa_cpy_reset_eval_frame(void) {
    _PyInterpreterState_SetEvalFrameFunc(PyInterpreterState_Get(), _PyEval_EvalFrameDefault);
}

PyObject *pypa_cpy_eval_default(PyThreadState *ts, PypaFrame *f, int throwflag) {
    return _PyEval_EvalFrameDefault(ts, f, throwflag);
}

PyObject *pypa_cpy_eval_raise(PyThreadState *ts, PypaFrame *f) {
    /* throwflag=1 is generator.throw()'s way in: with a trace function set, the interpreter first reports a 'call'
       event for the frame (TRACE_FUNCTION_THROW_ENTRY), as if it were starting. This frame started long ago, natively;
       CPython would report only the 'exception' event here. So enter with tracing off in the new cframe (it copies
       the flag from ts->cframe): the error label reports 'exception' whenever a trace function is set, whatever the
       flag, and leaving that trace call turns the flag back on for the rest of the frame (line, return events). */
    if (!ts->cframe->use_tracing || ts->c_tracefunc == NULL) {
        /* Profiling alone: no 'exception' event would turn the flag back on, so keep the interpreter's entry. */
        return _PyEval_EvalFrameDefault(ts, f, 1);
    }
    ts->cframe->use_tracing = 0;
    PyObject *r = _PyEval_EvalFrameDefault(ts, f, 1);
    _PyThreadState_UpdateTracingState(ts);  /* what the interpreter's return propagates, recomputed for safety */
    return r;
}

unsigned long pypa_cpy_version_hex(void) { return Py_Version; }

const char* pypa_cpy_abi_flags(void) {
#if defined(Py_DEBUG)
  return "d";
#else
  return "";
#endif
}

int pypa_cpy_tracing(PyThreadState *ts) { return ts->cframe->use_tracing != 0; }

PyCodeObject *pypa_frame_code(PypaFrame *f) { return f->f_code; }
PyObject *pypa_frame_func(PypaFrame *f) { return (PyObject *)f->f_func; }
PyObject *pypa_frame_globals(PypaFrame *f) { return f->f_globals; }
PyObject *pypa_frame_builtins(PypaFrame *f) { return f->f_builtins; }
PyObject **pypa_frame_localsplus(PypaFrame *f) { return f->localsplus; }
int pypa_frame_is_thread_owned(PypaFrame *f) { return f->owner == FRAME_OWNED_BY_THREAD; }
void *pypa_frame_prev_instr_addr(PypaFrame *f) { return &f->prev_instr; }
void *pypa_code_first_instr(PyCodeObject *co) { return _PyCode_CODE(co); }

void pypa_frame_set_prev_unit(PypaFrame *f, int unit) { f->prev_instr = _PyCode_CODE(f->f_code) + unit; }

void pypa_frame_set_stack_depth(PypaFrame *f, int depth) { f->stacktop = f->f_code->co_nlocalsplus + depth; }

int pypa_frame_stack_depth(PypaFrame *f) { return f->stacktop < 0 ? -1 : f->stacktop - f->f_code->co_nlocalsplus; }

void pypa_frame_link(PyThreadState *ts, PypaFrame *f) {
    f->previous = ts->cframe->current_frame;
    ts->cframe->current_frame = f;
}

void pypa_frame_unlink(PyThreadState *ts, PypaFrame *f) {
    /* f->previous stays, as the interpreter leaves it on return: if a frame object of f outlives the call
       (sys._getframe()), clearing f links its f_back through it. */
    ts->cframe->current_frame = f->previous;
}

int pypa_code_firsttraceable(PyCodeObject *co) { return co->_co_firsttraceable; }
int pypa_code_nlocalsplus(PyCodeObject *co) { return co->co_nlocalsplus; }
PyObject *pypa_code_consts(PyCodeObject *co) { return co->co_consts; }
int pypa_code_ncells_free(PyCodeObject *co) { return co->co_ncellvars + co->co_nfreevars; }
