// The profitability rule (specialize/profitability.h): work is counted by ir_ops.def's Work column, an operation in
// a loop many times over, and code whose generic work outweighs its native work is declined with its refusal.
#include <catch2/catch.hpp>

#include "deopt/refusals.h"
#include "profile/entry_trial.h"
#include "specialize/profitability.h"
#include "test_support.h"

using namespace pypaccel;
using namespace pypaccel::testing;

TEST_CASE("work is weighed by loop depth", "[specialize][profitability]") {
  auto flat = tryBuild("def f(a, b):\n    return a[b] + b\n", "oo");
  REQUIRE(flat->fn);
  specialize::WorkCount w = specialize::countWork(*flat->fn);
  CHECK(w.native == 0);
  CHECK(w.generic == 2);  // GetItem, ObjBin
  auto loop = tryBuild("def f(a, n):\n    t = 0\n    for i in range(n):\n        t = t + a[t]\n    return t\n", "oi");
  REQUIRE(loop->fn);
  specialize::WorkCount l = specialize::countWork(*loop->fn);
  CHECK(l.generic >= 16);  // GetItem and ObjBin in the loop: 8 each
  auto nested = tryBuild("def f(n):\n    t = 0\n    for i in range(n):\n        for j in range(n):\n"
                         "            t = t + i * j\n    return t\n",
                         "i");
  REQUIRE(nested->fn);
  specialize::WorkCount n = specialize::countWork(*nested->fn);
  CHECK(n.generic == 0);
  CHECK(n.native >= 64 * 2);  // the inner body's multiply and add, 64 each
}

TEST_CASE("generic code is declined with a named refusal, numeric code is not", "[specialize][profitability]") {
  auto generic = tryBuild("def f(p, n):\n    t = 0\n    while p is not None:\n        t = p.step(t)\n"
                          "        p = p.next\n    return t\n",
                          "oi");
  REQUIRE(generic->fn);
  std::string why = specialize::whyUnprofitable(*generic->fn);
  CHECK(deopt::refusalOf(why) == deopt::Refusal::Unprofitable);
  CHECK(why.find("GetAttr") != std::string::npos);
  auto numeric = tryBuild("def f(n):\n    s = 0.0\n    for i in range(n):\n        s += i * 0.5\n    return str(s)\n",
                          "i");
  REQUIRE(numeric->fn);
  CHECK(specialize::whyUnprofitable(*numeric->fn) == "");
}

TEST_CASE("a loop-free function must save more than entering native code costs", "[specialize][profitability]") {
  // Two float operations save less than the hook's entry into native code; six save more; a loop pays at once.
  auto small = tryBuild("def f(a, b):\n    return a * b + 1.0\n", "ff");
  REQUIRE(small->fn);
  std::string why = specialize::whyUnprofitable(*small->fn);
  CHECK(deopt::refusalOf(why) == deopt::Refusal::Unprofitable);
  CHECK(why.find("entering native code") != std::string::npos);
  auto larger = tryBuild("def f(a, b):\n    return (a * b + 1.0) * (a - b) / (b + 2.0) - a\n", "ff");
  REQUIRE(larger->fn);
  CHECK(specialize::whyUnprofitable(*larger->fn) == "");
  auto loop = tryBuild("def f(a, n):\n    for i in range(n):\n        a = a + 1.0\n    return a\n", "fi");
  REQUIRE(loop->fn);
  CHECK(specialize::whyUnprofitable(*loop->fn) == "");
  CHECK(specialize::countWork(*small->fn).calls == 0);
}

// The measured rule for frame entries of code without loops (profile/entry_trial.h).
namespace {

// Runs a trial to its end with calls that take `native` or `interpreted` ticks; returns the verdict and counts
// the calls it took.
std::string trialWith(int64_t native, int64_t interpreted, int* calls) {
  profile::EntryTrial t(nullptr);
  *calls = 0;
  while (!t.done() && *calls < 10000) {
    bool n = t.nextNative();
    t.record(n, n ? native : interpreted);
    ++*calls;
  }
  return t.verdict();
}

}  // namespace

TEST_CASE("a frame entry stays when it is not slower than the interpreter", "[profitability][trial]") {
  int calls = 0;
  CHECK(trialWith(50, 100, &calls) == "");
  CHECK(trialWith(100, 100, &calls) == "");
  std::string why = trialWith(101, 100, &calls);
  CHECK(deopt::refusalOf(why) == deopt::Refusal::MeasuredSlower);
  CHECK(why.find("measured slower than the interpreter") == 0);
  // The interpreter's warm-up, then both modes until each has its samples (and native code its warm-up).
  CHECK(calls >= profile::EntryTrial::kInterpretedWarmup + 2 * profile::EntryTrial::kSamples +
                     profile::EntryTrial::kNativeWarmup);
  CHECK(calls < 1000);
}

TEST_CASE("a trial warms the interpreter up first and times neither mode's first calls", "[profitability][trial]") {
  profile::EntryTrial t(nullptr);
  for (int i = 0; i < profile::EntryTrial::kInterpretedWarmup; i++) {
    REQUIRE_FALSE(t.nextNative());
    t.record(false, 1000000);  // slow warm-up calls: not counted
  }
  int native = 0;
  while (!t.done()) {
    bool n = t.nextNative();
    // The native side's first calls are slow too (its pages and slots are cold): not counted either.
    t.record(n, n ? (native++ < profile::EntryTrial::kNativeWarmup ? 1000000 : 90) : 100);
  }
  CHECK(t.verdict() == "");
}

TEST_CASE("a trial's choices are not a fixed alternation", "[profitability][trial]") {
  // A program that alternates a cheap and a dear call must not land all cheap ones on one side: native calls fall
  // on even and odd calls alike.
  profile::EntryTrial t(nullptr);
  int calls = 0, nativeByParity[2] = {0, 0}, interpretedByParity[2] = {0, 0};
  while (!t.done()) {
    bool n = t.nextNative();
    if (calls >= profile::EntryTrial::kInterpretedWarmup) (n ? nativeByParity : interpretedByParity)[calls % 2]++;
    t.record(n, 100);
    calls++;
  }
  CHECK(nativeByParity[0] >= 8);
  CHECK(nativeByParity[1] >= 8);
  CHECK(interpretedByParity[0] >= 8);
  CHECK(interpretedByParity[1] >= 8);
}
