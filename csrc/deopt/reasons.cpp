// Deopt reason texts.
#include "deopt/reasons.h"

namespace pypaccel::deopt {

const char* reasonText(Reason r) {
  static const char* const kText[] = {
#define DEOPT_REASON(name, text) text,
#include "deopt/deopt_reasons.def"
#undef DEOPT_REASON
  };
  int i = static_cast<int>(r);
  if (i < 0 || i >= int(sizeof(kText) / sizeof(kText[0]))) return "unknown";
  return kText[i];
}

std::string exitText(int reason, const std::string& detail) {
  std::string t = reasonText(reason);
  if (!detail.empty()) t += " " + detail;
  return t;
}

}  // namespace pypaccel::deopt
