// The math-module functions compiled natively (math_fns.def): MathFn, FloatMath's immediate, and what a call of
// each needs to know.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

namespace pypaccel::ir {

// math-module functions on a float computed by FloatMath; the libm ones are called by their C name (mathFnName).
enum class MathFn : uint8_t {
#define MATH_FN(Name, py, arity, result, lowering, onError) Name,
#define MATH_OTHER(py, arity, op)
#include "ir/math_fns.def"
#undef MATH_OTHER
#undef MATH_FN
};

struct MathFnRow {
  const char* name;  // the math module's, and libm's
  int arity;
  bool intResult;    // result Int: FloatToInt of the float (math.floor, math.ceil)
  bool domainExit;   // onError DomainExit: exit where CPython's math_1 raises
};

const MathFnRow& mathFnRow(MathFn f);
inline const char* mathFnName(MathFn f) { return mathFnRow(f).name; }
// The FloatMath function of math.<name> called with `arity` arguments; none when another op (or none) computes it.
std::optional<MathFn> mathFnCalled(const std::string& name, int arity);
// math.<name> is compiled natively (a MATH_FN or MATH_OTHER row): a call of it may be specialized.
bool isNativeMathName(const std::string& name);

}  // namespace pypaccel::ir
