/* Where CPython 3.11 keeps the struct fields pypaccel uses outside the interpreter: the offsets native code loads
 * and stores at (LLVM IR built in codegen/), and tiny accessors for the C++ stages. Only public headers are needed,
 * so this header is included from C++ too; a 3.12 port states its own layout in its sibling folder. Outside
 * csrc/cpython/, tests/api/test_layout.py fails on an offsetof of a CPython type or a CPython struct's field. */
#ifndef PYPACCEL_CPYTHON_LAYOUT_H
#define PYPACCEL_CPYTHON_LAYOUT_H

#include <Python.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Objects/listobject.c's list iterator (listiterobject: in no header of 3.11), what FOR_ITER_LIST reads. */
typedef struct {
    PyObject_HEAD
    Py_ssize_t it_index;
    PyListObject *it_seq; /* NULL once exhausted */
} PypaListIter;

/* -- Offsets native code reads at ----------------------------------------------------------------------------- */
/* Compile-time constants (an enum: a constant expression in C and C++ alike). The widths native code uses for them
   are checked in layout.c. Stored code holds them as immediates: Py_Version is in every cache key. */
enum PypaLayoutOffset {
    PYPA_TSTATE_RECURSION_REMAINING_OFFSET = offsetof(PyThreadState, recursion_remaining), /* int */
    PYPA_TSTATE_CFRAME_OFFSET = offsetof(PyThreadState, cframe),                           /* _PyCFrame* */
    PYPA_CFRAME_USE_TRACING_OFFSET = offsetof(_PyCFrame, use_tracing),                     /* uint8_t */
    PYPA_FUNC_CODE_OFFSET = offsetof(PyFunctionObject, func_code),
    PYPA_FUNC_GLOBALS_OFFSET = offsetof(PyFunctionObject, func_globals),
    PYPA_FUNC_BUILTINS_OFFSET = offsetof(PyFunctionObject, func_builtins),
    PYPA_OBJECT_TYPE_OFFSET = offsetof(PyObject, ob_type),
    /* A code object's first code unit (_PyCode_CODE): what SpecHeader::firstInstr holds for the code it was made
       for, so the code object is that address minus this offset. */
    PYPA_CODE_FIRST_INSTR_OFFSET = offsetof(PyCodeObject, co_code_adaptive),
    PYPA_FLOAT_VALUE_OFFSET = offsetof(PyFloatObject, ob_fval),       /* double */
    /* An int's digits (uint32_t, PyLong_SHIFT bits each, least significant first; ob_size is their count, negative
       for a negative int): what UnboxInt reads inline for an int of at most two digits. */
    PYPA_LONG_DIGITS_OFFSET = offsetof(PyLongObject, ob_digit),
    PYPA_LONG_SHIFT = PyLong_SHIFT,
    PYPA_VAR_SIZE_OFFSET = offsetof(PyVarObject, ob_size),            /* Py_ssize_t: items of a list or tuple */
    PYPA_UNICODE_LENGTH_OFFSET = offsetof(PyASCIIObject, length),     /* Py_ssize_t: code points of a str */
    PYPA_LIST_ITEMS_OFFSET = offsetof(PyListObject, ob_item),         /* PyObject**: a list's item array */
    PYPA_TUPLE_ITEMS_OFFSET = offsetof(PyTupleObject, ob_item),       /* PyObject*[]: a tuple's items, inline */
    PYPA_TYPE_VERSION_OFFSET = offsetof(PyTypeObject, tp_version_tag), /* uint32_t: what attribute caches hold */
    /* An instance's inline values (PyDictValues*, NULL once it has a dict), before the object header as
       _PyObject_ValuesPointer finds it: negative, from the object's address. */
    PYPA_OBJECT_VALUES_OFFSET = -4 * (int)sizeof(PyObject *),
    /* And the dict they became (PyDictObject*, NULL while there are values), as _PyObject_ManagedDictPointer. */
    PYPA_OBJECT_DICT_OFFSET = -3 * (int)sizeof(PyObject *),
    PYPA_DICT_KEYS_OFFSET = offsetof(PyDictObject, ma_keys),     /* PyDictKeysObject* */
    PYPA_DICT_VALUES_OFFSET = offsetof(PyDictObject, ma_values), /* PyDictValues*: NULL for a combined table */
    PYPA_DICT_VERSION_OFFSET = offsetof(PyDictObject, ma_version_tag), /* uint64_t */
    PYPA_LISTITER_INDEX_OFFSET = offsetof(PypaListIter, it_index),      /* Py_ssize_t */
    PYPA_LISTITER_SEQ_OFFSET = offsetof(PypaListIter, it_seq),          /* PyListObject* */
    PYPA_CELL_REF_OFFSET = offsetof(PyCellObject, ob_ref)               /* PyObject*: a cell's value, NULL when empty */
};

/* -- Fields the C++ stages read and write ---------------------------------------------------------------------- */
/* The thread's recursion budget as the interpreter counts it; direct calls count in a register and write it back
   before anything that enters the interpreter or runs Python code. */
static inline void pypa_tstate_set_recursion_remaining(PyThreadState *ts, int remaining) {
    ts->recursion_remaining = remaining;
}

/* A dict's version tag (PEP 509), what global guards compare: it moves whenever the dict changes. */
static inline uint64_t pypa_dict_version(PyObject *dict) { return ((PyDictObject *)dict)->ma_version_tag; }

/* A function's builtins (borrowed). Its code and globals have public macros (PyFunction_GET_CODE/GET_GLOBALS);
   3.11 has none for builtins. */
static inline PyObject *pypa_function_builtins(PyObject *func) { return ((PyFunctionObject *)func)->func_builtins; }

/* One of MAKE_FUNCTION's attributes of a function it just made (the field is still NULL), stored as the opcode
   stores it: `flag` is the opcode's bit (0x08 closure, 0x04 annotations, 0x02 keyword defaults, 0x01 defaults), and
   the function takes `value`'s reference. */
static inline void pypa_function_set_made_attr(PyObject *func, int flag, PyObject *value) {
    PyFunctionObject *f = (PyFunctionObject *)func;
    switch (flag) {
        case 0x08: f->func_closure = value; break;
        case 0x04: f->func_annotations = value; break;
        case 0x02: f->func_kwdefaults = value; break;
        default: f->func_defaults = value; break;
    }
}

/* A builtin function's self (the module, for a module's function) and its C name (NULL without a PyMethodDef). */
static inline PyObject *pypa_cfunction_self(PyObject *fn) { return ((PyCFunctionObject *)fn)->m_self; }
static inline const char *pypa_cfunction_name(PyObject *fn) {
    PyMethodDef *ml = ((PyCFunctionObject *)fn)->m_ml;
    return ml ? ml->ml_name : NULL;
}

/* Plain fields of a code object (names borrowed). cpy.h has the ones only frames need (nlocalsplus, cells). */
static inline int pypa_code_argcount(PyCodeObject *co) { return co->co_argcount; } /* positional parameters */
static inline int pypa_code_kwonlyargcount(PyCodeObject *co) { return co->co_kwonlyargcount; }
static inline int pypa_code_flags(PyCodeObject *co) { return co->co_flags; }
static inline int pypa_code_firstlineno(PyCodeObject *co) { return co->co_firstlineno; }
static inline PyObject *pypa_code_filename(PyCodeObject *co) { return co->co_filename; }
static inline PyObject *pypa_code_qualname(PyCodeObject *co) { return co->co_qualname; }
/* The names LOAD_GLOBAL, LOAD_ATTR and the like index. */
static inline PyObject *pypa_code_names(PyCodeObject *co) { return co->co_names; }

#ifdef __cplusplus
}
#endif
#endif
