// Generic operations on boxed objects, through CPython's own protocols. Each consumes its operands and returns
// NULL with the exception set on error; native code then leaves through a Raise exit at the same instruction.
#include "runtime/helpers.h"

using pypaccel::runtime::NativeCtx;

namespace {

void atInstruction(NativeCtx* ctx, int32_t unit) {
  // Callees (and anything they inspect: tracebacks, sys._getframe) see the frame at this instruction.
  *ctx->prevInstrAddr = ctx->firstInstr + 2 * unit;
}

using BinFn = PyObject* (*)(PyObject*, PyObject*);

PyObject* powNoMod(PyObject* a, PyObject* b) { return PyNumber_Power(a, b, Py_None); }
PyObject* ipowNoMod(PyObject* a, PyObject* b) { return PyNumber_InPlacePower(a, b, Py_None); }

// Indexed by BINARY_OP's oparg (NB_* order).
const BinFn kBinary[26] = {
    PyNumber_Add,          PyNumber_And,           PyNumber_FloorDivide,   PyNumber_Lshift,
    PyNumber_MatrixMultiply, PyNumber_Multiply,    PyNumber_Remainder,     PyNumber_Or,
    powNoMod,              PyNumber_Rshift,        PyNumber_Subtract,      PyNumber_TrueDivide,
    PyNumber_Xor,          PyNumber_InPlaceAdd,    PyNumber_InPlaceAnd,    PyNumber_InPlaceFloorDivide,
    PyNumber_InPlaceLshift, PyNumber_InPlaceMatrixMultiply, PyNumber_InPlaceMultiply, PyNumber_InPlaceRemainder,
    PyNumber_InPlaceOr,    ipowNoMod,              PyNumber_InPlaceRshift, PyNumber_InPlaceSubtract,
    PyNumber_InPlaceTrueDivide, PyNumber_InPlaceXor,
};

}  // namespace

extern "C" PyObject* pypa_rt_binop(NativeCtx* ctx, int32_t nb, PyObject* a, PyObject* b, int32_t unit) {
  PyObject* r = nullptr;
  if (a && b && nb >= 0 && nb < 26) {
    atInstruction(ctx, unit);
    r = kBinary[nb](a, b);
  }
  Py_XDECREF(a);
  Py_XDECREF(b);
  return r;
}

extern "C" PyObject* pypa_rt_unary(NativeCtx* ctx, int32_t kind, PyObject* a, int32_t unit) {
  PyObject* r = nullptr;
  if (a) {
    atInstruction(ctx, unit);
    switch (kind) {
      case 0: r = PyNumber_Negative(a); break;
      case 1: r = PyNumber_Positive(a); break;
      case 2: r = PyNumber_Invert(a); break;
      default: PyErr_SetString(PyExc_SystemError, "pypaccel: bad unary kind");
    }
  }
  Py_XDECREF(a);
  return r;
}

extern "C" PyObject* pypa_rt_compare(NativeCtx* ctx, int32_t op, PyObject* a, PyObject* b, int32_t unit) {
  PyObject* r = nullptr;
  if (a && b) {
    atInstruction(ctx, unit);
    r = PyObject_RichCompare(a, b, op);
  }
  Py_XDECREF(a);
  Py_XDECREF(b);
  return r;
}

extern "C" int32_t pypa_rt_truthy(NativeCtx* ctx, PyObject* a, int32_t unit) {
  if (!a) return -1;
  atInstruction(ctx, unit);
  int r = PyObject_IsTrue(a);
  Py_DECREF(a);
  return r;
}

extern "C" PyObject* pypa_rt_build_tuple(NativeCtx* ctx, PyObject** items, int32_t n) {
  bool ok = true;
  for (int32_t i = 0; i < n; i++) ok = ok && items[i];
  PyObject* t = ok ? PyTuple_New(n) : nullptr;
  if (!t) {
    for (int32_t i = 0; i < n; i++) Py_XDECREF(items[i]);
    return nullptr;
  }
  for (int32_t i = 0; i < n; i++) PyTuple_SET_ITEM(t, i, items[i]);
  return t;
}
