/* List items changed in place, where list_ass_slice would copy them through a buffer of its own. */
#include "cpython/cpy.h"

void pypa_list_swap_items(PyObject *list, Py_ssize_t lo, PyObject *value, Py_ssize_t n) {
    PyObject **to = ((PyListObject *)list)->ob_item + lo;
    PyObject **from = ((PyListObject *)value)->ob_item;
    for (Py_ssize_t k = 0; k < n; k++) {
        PyObject *t = to[k];
        to[k] = from[k];
        from[k] = t;
    }
}
