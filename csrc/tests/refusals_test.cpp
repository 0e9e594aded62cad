// Compile refusals (deopt/refusals.def): every message finds its own row again, names are stable identifiers, and
// the messages made outside the table (hook/, codegen/, jit/) still find theirs.
#include <catch2/catch.hpp>

#include <cctype>
#include <set>
#include <string>
#include <vector>

#include "deopt/reasons.h"
#include "deopt/refusals.h"
#include "profile/code_state.h"

using namespace pypaccel;
using deopt::Refusal;

namespace {

struct Row {
  Refusal id;
  std::string name;
  const char* text;  // nullptr for an EXIT_REFUSAL
};

const std::vector<Row>& rows() {
  static const std::vector<Row> kRows = {
#define REFUSAL(id, name, text) {Refusal::id, name, text},
#define EXIT_REFUSAL(id, name, reason) {Refusal::id, name, nullptr},
#include "deopt/refusals.def"
#undef EXIT_REFUSAL
#undef REFUSAL
  };
  return kRows;
}

int holes(const std::string& text) {
  int n = 0;
  for (char c : text) n += c == '{';
  return n;
}

}  // namespace

TEST_CASE("refusal names are unique kebab-case identifiers", "[deopt]") {
  std::set<std::string> seen;
  for (const Row& r : rows()) {
    INFO(r.name);
    CHECK(seen.insert(r.name).second);
    CHECK(std::string(deopt::refusalName(r.id)) == r.name);
    CHECK(!r.name.empty());
    for (char c : r.name) CHECK((std::islower(static_cast<unsigned char>(c)) || std::isdigit(c) || c == '-'));
  }
}

TEST_CASE("every refusal message finds its own row", "[deopt]") {
  for (const Row& r : rows()) {
    if (!r.text) continue;
    INFO(r.name << ": " << r.text);
    REQUIRE(r.text[0] != '{');  // a leading hole would match other rows' messages
    // Arguments no row's template matches, so a wrapper ({reason}) is named by itself.
    std::string text = deopt::refusalText(r.id, std::vector<std::string>(size_t(holes(r.text)), "@7"));
    CHECK(text.find('{') == std::string::npos);
    auto found = deopt::refusalOf(text);
    REQUIRE(found);
    CHECK(deopt::refusalName(*found) == r.name);
  }
  CHECK_FALSE(deopt::refusalOf("something no row says"));
}

TEST_CASE("a wrapped refusal is named by what it wraps", "[deopt]") {
  std::string inner = deopt::refusalText(Refusal::TooManyLocals, {"500", "400"});
  CHECK(inner == "too many local variables (500 > 400)");
  CHECK(deopt::refusalOf("not compiled: " + inner) == Refusal::TooManyLocals);
  CHECK(deopt::refusalOf("not called directly: " + inner) == Refusal::TooManyLocals);
  CHECK(deopt::refusalOf("the compiler declined it in an earlier run (" + inner + ")") == Refusal::TooManyLocals);
  CHECK(deopt::refusalOf("the compiler declined it in an earlier run (a reason of an older pypaccel)") ==
        Refusal::DeclinedEarlier);
  CHECK(deopt::refusalOf("not compiled: x") == Refusal::NotCompiled);
}

TEST_CASE("messages made outside the table find their rows", "[deopt]") {
  // Literal texts of hook/compile.cpp, hook/hook.cpp, codegen/ and jit/ (see refusals.def): until they are made
  // by refusalText, a changed text there must change here too.
  CHECK(deopt::refusalOf(profile::kExcludedReason) == Refusal::Excluded);
  CHECK(deopt::refusalOf(profile::kExcludedByListReason) == Refusal::Excluded);
  CHECK(deopt::refusalOf("cannot read code object") == Refusal::UnreadableCode);
  CHECK(deopt::refusalOf("JIT unavailable: unknown CPU 'x' (PYPACCEL_CPU)") == Refusal::JitUnavailable);
  CHECK(deopt::refusalOf("no loop reachable in native code; waiting for the call threshold") ==
        Refusal::LoopUnreachable);
  CHECK(deopt::refusalOf("too large to compile (its exits spill 70000 words)") == Refusal::TooLarge);
  CHECK(deopt::refusalOf("link failed: symbol not found") == Refusal::LinkFailed);
  CHECK(deopt::refusalOf("internal: no lowering for IR op FloatMath") == Refusal::Internal);
  CHECK(deopt::refusalOf("internal: LLVM verifier: bad") == Refusal::Internal);
  CHECK(deopt::refusalOf("exits on 95% of entries") == Refusal::ExitsOnMostEntries);
  CHECK(deopt::refusalOf("exits on 95% of entries (called directly)") == Refusal::ExitsOnMostEntries);
  CHECK(deopt::refusalOf("native code exited on most entries in an earlier run (exits on 95% of entries)") ==
        Refusal::ExitsOnMostEntries);
  CHECK(deopt::refusalOf("re-specialized: generic arithmetic where the fast path kept exiting (at offsets 12,40)") ==
        Refusal::Respecialized);
  CHECK(deopt::refusalOf("an instruction it cannot compile (LOAD_ATTR on a virtual value) would run without its "
                         "caller's frames") == Refusal::DirectUnsupported);
  CHECK(deopt::refusalOf("its native code may run other Python code (CallObj)") == Refusal::DirectRunsPython);
  CHECK(deopt::refusalOf("its native code uses its frame (SyncLocal)") == Refusal::DirectNeedsFrame);
  // Texts the documentation quotes.
  CHECK(deopt::refusalText(Refusal::TooManySignatures, {"8", "ff"}) ==
        "too many specializations (8 argument signatures); not compiled for signature 'ff'");
}

TEST_CASE("instructions compiled as exits are refusals by their exit reason", "[deopt]") {
  CHECK(deopt::refusalAtExit(int(deopt::Reason::Unsupported)) == Refusal::UnsupportedOpcode);
  CHECK(deopt::refusalAtExit(int(deopt::Reason::NotCallable)) == Refusal::UnknownCallee);
  CHECK(deopt::refusalAtExit(int(deopt::Reason::NotIterable)) == Refusal::NotIterable);
  CHECK(deopt::refusalAtExit(int(deopt::Reason::TypeError)) == Refusal::TypeErrorExit);
  CHECK_FALSE(deopt::refusalAtExit(int(deopt::Reason::IntOverflow)));
  CHECK_FALSE(deopt::refusalAtExit(int(deopt::Reason::GlobalChanged)));
  CHECK(std::string(deopt::refusalName(Refusal::UnsupportedOpcode)) == "unsupported-opcode");
}
