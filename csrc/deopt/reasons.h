// Deopt reasons (deopt_reasons.def) as an enum with their stats text.
#pragma once
#include <string>

namespace pypaccel::deopt {

enum class Reason : int {
#define DEOPT_REASON(name, text) name,
#include "deopt/deopt_reasons.def"
#undef DEOPT_REASON
};

const char* reasonText(Reason r);
inline const char* reasonText(int r) { return reasonText(static_cast<Reason>(r)); }
// An exit as stats, run records and profiles name it: its reason's text, then its detail if any.
std::string exitText(int reason, const std::string& detail);

}  // namespace pypaccel::deopt
