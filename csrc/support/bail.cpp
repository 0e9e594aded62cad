// Bail error plumbing.
#include "support/bail.h"

namespace pypaccel::support {

char BailError::ID = 0;

std::string errorReason(llvm::Error err) {
  std::string out;
  llvm::handleAllErrors(std::move(err), [&](const llvm::ErrorInfoBase& e) {
    if (!out.empty()) out += "; ";
    out += e.message();
  });
  return out;
}

}  // namespace pypaccel::support
