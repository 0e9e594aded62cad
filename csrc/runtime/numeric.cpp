// Exact numeric helpers: int power with overflow detection, and float floor division, modulo and power computed
// the way CPython's floatobject.c defines them (sign of zero, sign of the remainder, correction of the quotient).
#include <cmath>
#include <cstdint>

#include "runtime/helpers.h"

extern "C" {

int64_t pypa_rt_unbox_int(PyObject* o) { return PyLong_AsLongLong(o); }

void pypa_rt_raise_arith_error(int32_t which) {
  using pypaccel::ir::ArithError;
  const char* message = "division by zero";
  switch (ArithError(which)) {
    case ArithError::IntFloorDiv: message = "integer division or modulo by zero"; break;
    case ArithError::IntModulo: message = "integer modulo by zero"; break;
    case ArithError::FloatDivide: message = "float division by zero"; break;
    case ArithError::FloatFloorDiv: message = "float floor division by zero"; break;
    case ArithError::FloatModulo: message = "float modulo"; break;
    default: break;
  }
  PyErr_SetString(PyExc_ZeroDivisionError, message);
}

// 0: ok; 1: negative exponent (CPython returns a float); 2: does not fit in 64 bits.
int32_t pypa_rt_ipow(int64_t base, int64_t exp, int64_t* out) {
  if (exp < 0) return 1;
  int64_t result = 1;
  int64_t b = base;
  while (exp > 0) {
    if (exp & 1) {
      if (__builtin_mul_overflow(result, b, &result)) return 2;
    }
    exp >>= 1;
    if (exp > 0 && __builtin_mul_overflow(b, b, &b)) return 2;
  }
  *out = result;
  return 0;
}

// Called with b != 0.
double pypa_rt_float_mod(double a, double b) {
  double mod = std::fmod(a, b);
  if (mod != 0.0) {
    if ((b < 0) != (mod < 0)) mod += b;
  } else {
    mod = std::copysign(0.0, b);
  }
  return mod;
}

// Called with b != 0.
double pypa_rt_float_floordiv(double a, double b) {
  double mod = std::fmod(a, b);
  double div = (a - mod) / b;
  if (mod != 0.0) {
    if ((b < 0) != (mod < 0)) div -= 1.0;
  }
  double floordiv;
  if (div != 0.0) {
    floordiv = std::floor(div);
    if (div - floordiv > 0.5) floordiv += 1.0;
  } else {
    floordiv = std::copysign(0.0, a / b);
  }
  return floordiv;
}

// 1 with *out set when the result is exactly what float.__pow__ gives without an error; 0 to let the interpreter
// decide (zero bases, negative bases with a fractional exponent, non-finite operands, overflow).
int32_t pypa_rt_float_pow(double a, double b, double* out) {
  if (b == 0.0) {
    *out = 1.0;
    return 1;
  }
  if (!std::isfinite(a) || !std::isfinite(b) || a == 0.0) return 0;
  // A negative base with an integral exponent: float_pow takes pow of its absolute value and negates the result
  // for an odd exponent (a fractional one makes a complex: the interpreter's).
  bool negate = false;
  if (a < 0.0) {
    if (b != std::floor(b)) return 0;
    a = -a;
    negate = std::fmod(std::fabs(b), 2.0) == 1.0;
  }
  double r = a == 1.0 ? 1.0 : std::pow(a, b);
  // Overflow raises; a subnormal result may come with ERANGE, which CPython also turns into OverflowError.
  if (!std::isfinite(r) || (r != 0.0 && std::fabs(r) < 2.2250738585072014e-308)) return 0;
  *out = negate ? -r : r;
  return 1;
}

}  // extern "C"
