/* Range iterators read where native code takes over a running `for` loop (deopt::fillResumeBuffer). */
#include "cpython/cpy.h"

/* Objects/rangeobject.c's rangeiterobject of 3.11, private there: the value yielded after `index` steps is
   start + index * step, and the iterator is done after `len` of them. (3.12 drops `index`.) */
typedef struct {
    PyObject_HEAD
    long index;
    long start;
    long step;
    long len;
} PypaRangeIter;

int pypa_range_iter_state(PyObject *it, long long *cur, long long *stop, long long *step) {
    if (Py_TYPE(it) != &PyRangeIter_Type || Py_TYPE(it)->tp_basicsize != (Py_ssize_t)sizeof(PypaRangeIter)) return 0;
    const PypaRangeIter *r = (const PypaRangeIter *)it;
    long long end;
    /* Native code steps `cur` until it reaches `stop`: the first value past the last one yielded. */
    if (__builtin_mul_overflow((long long)r->len, (long long)r->step, &end) ||
        __builtin_add_overflow(end, (long long)r->start, &end))
        return 0;
    *cur = (long long)r->start + (long long)r->index * (long long)r->step;
    *stop = end;
    *step = r->step;
    return 1;
}
