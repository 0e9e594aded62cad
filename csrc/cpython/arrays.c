/* The array module's array type, recognized without importing anything: its subscripts run no Python code for an
 * int or slice key (and, stored to, for an int, float or bool value), so direct entries may take them in place. */
#include <string.h>

#include "cpython/cpy.h"

int pypa_array_check_exact(PyObject *o) {
    static PyObject *array_type = NULL; /* a strong reference, once found */
    PyTypeObject *tp = Py_TYPE(o);
    if (array_type != NULL) return (PyObject *)tp == array_type;
    /* A cheap filter first: only the array module's own type has this name and object as its base (a subclass,
       whatever its name, has array as its base). */
    if (strcmp(tp->tp_name, "array.array") != 0 || tp->tp_base != &PyBaseObject_Type) return 0;
    PyObject *name = PyUnicode_FromString("array");
    if (name == NULL) {
        PyErr_Clear();
        return 0;
    }
    PyObject *module = PyImport_GetModule(name); /* sys.modules only: never imports */
    Py_DECREF(name);
    if (module == NULL) {
        PyErr_Clear();
        return 0;
    }
    PyObject *dict = PyModule_Check(module) ? PyModule_GetDict(module) : NULL;
    PyObject *type = dict ? PyDict_GetItemString(dict, "array") : NULL; /* borrowed; runs no code */
    int same = type == (PyObject *)tp;
    if (same) {
        Py_INCREF(type);
        array_type = type;
    }
    Py_DECREF(module);
    return same;
}
