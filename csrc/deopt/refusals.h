// Compile refusals (refusals.def): why code runs in the interpreter without ever entering native code, by name.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "support/bail.h"

namespace pypaccel::deopt {

enum class Refusal : int {
#define REFUSAL(id, name, text) id,
#define EXIT_REFUSAL(id, name, reason) id,
#include "deopt/refusals.def"
#undef EXIT_REFUSAL
#undef REFUSAL
};

const char* refusalName(Refusal r);  // "too-many-locals"
// The message: the row's template with each {hole} replaced by the next of `args` (missing ones stay empty). An
// EXIT_REFUSAL's message is made by stats from its exit, not here.
std::string refusalText(Refusal r, const std::vector<std::string>& args = {});
// A bail (support/bail.h) with that message: the compiler declines the code.
inline llvm::Error refuse(Refusal r, const std::vector<std::string>& args = {}) {
  return support::bail(refusalText(r, args));
}
// The refusal whose template matches `message`; for a wrapper, the wrapped message's refusal when it has one.
std::optional<Refusal> refusalOf(const std::string& message);
// The refusal an exit of `reason` (deopt_reasons.def) counts as: an instruction compiled as an exit it always takes.
// None for a guard exit (native code that runs until a guard fails).
std::optional<Refusal> refusalAtExit(int reason);

}  // namespace pypaccel::deopt
