/* The PEP 523 entry point. A frame whose code is known to stay interpreted for its next calls (its gate holds
 * passes) goes straight to the interpreter after a few loads: with a hook installed 3.11 no longer inlines
 * Python-to-Python calls, so every call of every function comes here, and code pypaccel does not compile must
 * not pay more than that. Anything else goes to the C++ hook (hook/hook.cpp), which decides and arms gates. */
#include "cpython/cpy.h" /* first: Python.h defines _GNU_SOURCE, which pthread_getattr_np needs */

#include <pthread.h>
#include <stdint.h>

#include "internal/pycore_code.h"
#include "internal/pycore_frame.h"

/* co_extra's layout: 3.11 defines it in Objects/codeobject.c only (_PyCodeObjectExtra), so it is mirrored here;
 * pypa_hook_entry_check_layout() compares a read through it with _PyCode_GetExtra before any gate is trusted. */
typedef struct {
    Py_ssize_t ce_size;
    void *ce_extras[1];
} CodeExtra;

static Py_ssize_t gExtraIndex = PY_SSIZE_T_MAX;  /* co_extra slot holding a PypaGate*, set before the entry is installed */
static PypaEvalFunc gDecide = NULL;  /* the C++ hook */
static PypaEvalFunc gNext = NULL;    /* what an interpreted frame runs in: the interpreter, or a chained hook */

/* Lowest C stack address at which this thread's frames may still take the gate; the highest address until the C++
 * hook has looked this thread's stack up, so that no frame passes before. Initial-exec TLS: one load off %fs, where
 * the general model would call __tls_get_addr on every frame. */
static __thread char *tGateStackLow __attribute__((tls_model("initial-exec"))) = (char *)UINTPTR_MAX;

/* Sets a sentinel through CPython's API on a scratch code object and reads it back through the mirror. */
static int layoutMatches(Py_ssize_t index) {
    static PypaGate sentinel = {0, NULL};
    PyCodeObject *code = PyCode_NewEmpty("pypaccel", "gate_layout_check", 0);
    if (!code) {
        PyErr_Clear();
        return 0;
    }
    int ok = 0;
    if (_PyCode_SetExtra((PyObject *)code, index, &sentinel) == 0) {
        CodeExtra *extra = (CodeExtra *)code->co_extra;
        ok = extra && index < extra->ce_size && extra->ce_extras[index] == &sentinel;
        _PyCode_SetExtra((PyObject *)code, index, NULL);  /* the free function sees the sentinel: state NULL */
    }
    PyErr_Clear();
    Py_DECREF(code);
    return ok;
}

void pypa_hook_entry_configure(Py_ssize_t extra_index, PypaEvalFunc decide, PypaEvalFunc next) {
    /* No slot, or a layout that is not the mirrored one: no gate is ever read (every frame is decided). */
    gExtraIndex = (extra_index >= 0 && layoutMatches(extra_index)) ? extra_index : PY_SSIZE_T_MAX;
    gDecide = decide;
    gNext = next ? next : _PyEval_EvalFrameDefault;
}

PyObject *pypa_hook_entry(PyThreadState *ts, PypaFrame *f, int throwflag) {
    CodeExtra *extra = (CodeExtra *)f->f_code->co_extra;
    if (extra && gExtraIndex < extra->ce_size) {
        PypaGate *gate = (PypaGate *)extra->ce_extras[gExtraIndex];
        /* Below the stack mark the C++ hook steps aside for the whole call tree instead (hook.cpp, C stack). The
           stack pointer itself: __builtin_frame_address would make this function set up a frame. A throwflag
           frame passes too: the C++ hook would hand it to the same place. */
        char *sp;
        __asm__("mov %%rsp, %0" : "=r"(sp));
        if (gate && gate->passes > 0 && sp > tGateStackLow) {
            gate->passes--;
            return gNext(ts, f, throwflag);
        }
    }
    return gDecide(ts, f, throwflag);
}

PyObject *pypa_hook_passthrough(PyThreadState *ts, PypaFrame *f, int throwflag) {
    return _PyEval_EvalFrameDefault(ts, f, throwflag);
}

char *pypa_thread_stack_base(size_t *size) {
    pthread_attr_t attr;
    void *addr = NULL;
    *size = 0;
    if (pthread_getattr_np(pthread_self(), &attr) != 0) return NULL;
    pthread_attr_getstack(&attr, &addr, size);
    pthread_attr_destroy(&attr);
    return (char *)addr;
}

void pypa_hook_entry_set_stack_low(char *low) { tGateStackLow = low; }
