// Compile refusals: their names and messages from refusals.def, and the row a message was made from.
#include "deopt/refusals.h"

#include <cstring>
#include <string_view>

#include "deopt/reasons.h"

namespace pypaccel::deopt {

namespace {

struct Row {
  const char* name;
  const char* text;  // nullptr for an EXIT_REFUSAL
  int exitReason;    // -1 for a REFUSAL
};

const Row kRows[] = {
#define REFUSAL(id, name, text) {name, text, -1},
#define EXIT_REFUSAL(id, name, reason) {name, nullptr, int(Reason::reason)},
#include "deopt/refusals.def"
#undef EXIT_REFUSAL
#undef REFUSAL
};
constexpr int kCount = int(sizeof(kRows) / sizeof(kRows[0]));

constexpr std::string_view kWrapped = "{reason}";

// Does `text` match `tpl` (each {hole} any text, possibly empty)? `wrapped` receives what the {reason} hole matched.
// Shortest holes first, backtracking: a hole ends where the rest of the template matches all the rest of the text.
bool match(std::string_view tpl, std::string_view text, std::string* wrapped) {
  size_t open = tpl.find('{');
  if (open == std::string_view::npos) return tpl == text;
  if (text.substr(0, open) != tpl.substr(0, open)) return false;
  size_t close = tpl.find('}', open);
  if (close == std::string_view::npos) return false;
  std::string_view hole = tpl.substr(open, close + 1 - open), rest = tpl.substr(close + 1);
  for (size_t n = open; n <= text.size(); n++) {
    if (!match(rest, text.substr(n), wrapped)) continue;
    if (hole == kWrapped && wrapped) *wrapped = std::string(text.substr(open, n - open));
    return true;
  }
  return false;
}

}  // namespace

const char* refusalName(Refusal r) {
  int i = int(r);
  return i >= 0 && i < kCount ? kRows[i].name : "unknown";
}

std::string refusalText(Refusal r, const std::vector<std::string>& args) {
  int i = int(r);
  if (i < 0 || i >= kCount || !kRows[i].text) return refusalName(r);
  std::string out;
  auto arg = args.begin();
  for (const char* p = kRows[i].text; *p;) {
    const char* close = *p == '{' ? std::strchr(p, '}') : nullptr;
    if (!close) {
      out += *p++;
      continue;
    }
    if (arg != args.end()) out += *arg++;
    p = close + 1;
  }
  return out;
}

std::optional<Refusal> refusalOf(const std::string& message) {
  for (int i = 0; i < kCount; i++) {
    std::string wrapped;
    if (!kRows[i].text || !match(kRows[i].text, message, &wrapped)) continue;
    if (!wrapped.empty())
      if (auto inner = refusalOf(wrapped)) return inner;
    return Refusal(i);
  }
  return std::nullopt;
}

std::optional<Refusal> refusalAtExit(int reason) {
  for (int i = 0; i < kCount; i++)
    if (kRows[i].exitReason >= 0 && kRows[i].exitReason == reason) return Refusal(i);
  return std::nullopt;
}

}  // namespace pypaccel::deopt
