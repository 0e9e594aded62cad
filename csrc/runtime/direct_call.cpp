// Run-time side of direct calls between compiled functions: the conversion of a callee's result the call site did
// not expect, and the call of a callee the site cannot call directly. (Resolving a call site may compile the callee: that lives with the compiler, hook/direct_calls.cpp.)
#include "runtime/helpers.h"

using pypaccel::runtime::kTagBool;
using pypaccel::runtime::kTagFloat;
using pypaccel::runtime::kTagInt;

extern "C" {

PyObject* pypa_rt_direct_generic(pypaccel::runtime::NativeCtx* ctx, PyObject** items, int32_t n, int32_t unit) {
  pypaccel::runtime::atInstruction(ctx, unit);
  PyObject* callable = items[0];
  PyObject* r = PyObject_Vectorcall(callable, items + 1, size_t(n) | PY_VECTORCALL_ARGUMENTS_OFFSET, nullptr);
  items[0] = callable;  // a callee may have borrowed the slot
  return r;
}

int32_t pypa_rt_direct_convert(PyObject** objp, int64_t bits, int32_t want, int64_t* out) {
  using pypaccel::ir::Type;
  PyObject* o = *objp;
  if (pypaccel::runtime::isResultTag(o)) {
    // An unboxed result of another kind than the site expects: box it, then see whether it converts.
    double d;
    __builtin_memcpy(&d, &bits, sizeof(d));
    o = o == kTagInt ? PyLong_FromLongLong(bits) : o == kTagFloat ? PyFloat_FromDouble(d) : PyBool_FromLong(bits & 1);
    if (!o) return -1;
    *objp = o;
  }
  switch (Type(want)) {
    case Type::Obj: *out = reinterpret_cast<int64_t>(o); return 0;  // the reference goes with it
    case Type::Int: {
      if (!PyLong_CheckExact(o)) return 1;
      int overflow = 0;
      long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
      if (overflow) return 1;
      *out = v;
      break;
    }
    case Type::Float: {
      if (!PyFloat_CheckExact(o)) return 1;
      double v = PyFloat_AS_DOUBLE(o);
      __builtin_memcpy(out, &v, sizeof(v));
      break;
    }
    case Type::Bool:
      if (o != Py_True && o != Py_False) return 1;
      *out = o == Py_True;
      break;
    default: return 1;
  }
  Py_DECREF(o);
  return 0;
}

}  // extern "C"
