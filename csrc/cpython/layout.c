/* The widths native code loads and stores layout.h's fields with (codegen/ emits i32, i8, i64, double, ptr loads at
 * these offsets): a layout where one differs fails the build here, not at run time. */
#include "cpython/layout.h"

#define FIELD_SIZE(type, field) sizeof(((type *)0)->field)

_Static_assert(FIELD_SIZE(PyThreadState, recursion_remaining) == 4, "native code loads and stores it as i32");
_Static_assert(FIELD_SIZE(PyThreadState, cframe) == sizeof(void *), "native code loads it as a pointer");
_Static_assert(FIELD_SIZE(_PyCFrame, use_tracing) == 1, "native code loads it as i8");
_Static_assert(FIELD_SIZE(PyFunctionObject, func_code) == sizeof(void *), "native code loads it as a pointer");
_Static_assert(FIELD_SIZE(PyFunctionObject, func_globals) == sizeof(void *), "native code loads it as a pointer");
_Static_assert(FIELD_SIZE(PyFunctionObject, func_builtins) == sizeof(void *), "native code loads it as a pointer");
_Static_assert(FIELD_SIZE(PyFloatObject, ob_fval) == sizeof(double), "native code loads it as a double");
_Static_assert(FIELD_SIZE(PyDictObject, ma_version_tag) == 8, "native code loads it as i64");
_Static_assert(FIELD_SIZE(PyVarObject, ob_size) == 8, "native code loads it as i64");
_Static_assert(sizeof(digit) == 4, "native code loads an int's digits as i32");
_Static_assert(FIELD_SIZE(PyListObject, ob_item) == sizeof(void *), "native code loads it as a pointer");
_Static_assert(sizeof(((PyTupleObject *)0)->ob_item[0]) == sizeof(void *), "native code indexes it as pointers");
_Static_assert(FIELD_SIZE(PyTypeObject, tp_version_tag) == 4, "native code loads it as i32");
