/* The interpreter's eval breaker, as seen from native loops: where it lives and how to service it without the
 * interpreter loop (GIL hand-off, signals, pending calls). */
#include "cpython/cpy.h"
#include "internal/pycore_interp.h"
#include "internal/pycore_pystate.h"
#include "internal/pycore_runtime.h"

const int *pypa_cpy_eval_breaker_addr(PyThreadState *ts) {
    return (const int *)&ts->interp->ceval.eval_breaker._value;
}

int pypa_cpy_handle_eval_breaker(PyThreadState *ts) {
    struct _ceval_state *ceval = &ts->interp->ceval;
    if (_Py_atomic_load_relaxed(&ceval->gil_drop_request)) {
        /* Dropping the GIL with a drop request pending resets the request and lets the waiting thread run. */
        PyThreadState *saved = PyEval_SaveThread();
        PyEval_RestoreThread(saved);
    }
    if (Py_MakePendingCalls() < 0) {
        return -1;
    }
    if (ts->async_exc != NULL) {
        return 1; /* only the interpreter raises asynchronous exceptions */
    }
    /* Anything else still flagged (e.g. the signal belongs to the main thread while we are not it): let the
     * interpreter look at it. */
    return _Py_atomic_load_relaxed(&ceval->eval_breaker) ? 1 : 0;
}
