// Bail: why a function (or one instruction of it) stays in the interpreter. Failure is data, not an exception:
// every reason is a row of deopt/deopt_reasons.def (native code exits) or deopt/refusals.def (the compiler declines).
#pragma once
#include <llvm/Support/Error.h>
#include <string>

namespace pypaccel::support {

// An llvm::Error payload for "the compiler declines this code", distinct from internal errors.
class BailError : public llvm::ErrorInfo<BailError> {
 public:
  static char ID;
  explicit BailError(std::string reason) : reason_(std::move(reason)) {}
  void log(llvm::raw_ostream& os) const override { os << reason_; }
  std::error_code convertToErrorCode() const override { return llvm::inconvertibleErrorCode(); }
  const std::string& reason() const { return reason_; }

 private:
  std::string reason_;
};

inline llvm::Error bail(std::string reason) { return llvm::make_error<BailError>(std::move(reason)); }

// Flatten any error into a one-line reason for stats.
std::string errorReason(llvm::Error err);

}  // namespace pypaccel::support
