// The rows of math_fns.def as data.
#include "ir/math_fns.h"

namespace pypaccel::ir {

namespace {

#define MATH_RESULT_Float false
#define MATH_RESULT_Int true
#define MATH_ON_ERROR_DomainExit true
#define MATH_ON_ERROR_Never false
const MathFnRow kRows[] = {
#define MATH_FN(Name, py, arity, result, lowering, onError) {#py, arity, MATH_RESULT_##result, MATH_ON_ERROR_##onError},
#define MATH_OTHER(py, arity, op)
#include "ir/math_fns.def"
#undef MATH_OTHER
#undef MATH_FN
};
#undef MATH_RESULT_Float
#undef MATH_RESULT_Int
#undef MATH_ON_ERROR_DomainExit
#undef MATH_ON_ERROR_Never

const char* const kOtherNames[] = {
#define MATH_FN(Name, py, arity, result, lowering, onError)
#define MATH_OTHER(py, arity, op) #py,
#include "ir/math_fns.def"
#undef MATH_OTHER
#undef MATH_FN
};

}  // namespace

const MathFnRow& mathFnRow(MathFn f) { return kRows[unsigned(f)]; }

std::optional<MathFn> mathFnCalled(const std::string& name, int arity) {
  for (unsigned i = 0; i < sizeof(kRows) / sizeof(kRows[0]); i++)
    if (kRows[i].arity == arity && name == kRows[i].name) return MathFn(i);
  return std::nullopt;
}

bool isNativeMathName(const std::string& name) {
  for (const MathFnRow& r : kRows)
    if (name == r.name) return true;
  for (const char* n : kOtherNames)
    if (name == n) return true;
  return false;
}

}  // namespace pypaccel::ir
