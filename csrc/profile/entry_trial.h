// Whether a loop-free function's frame entry beats the interpreter, measured rather than guessed. The static rule
// (specialize/profitability.h) cannot see how often a branch runs or what the interpreter's own specialized
// instructions make of the same code; for code entered from the interpreter, where the hook's entry is paid on
// every call, that guess decides whether compiling made the program slower. So a new frame entry of code without
// loops first runs a trial: calls chosen at random run natively or in the interpreter, each timed whole, and the
// entry stays only if its typical call (the mean of the middle half) is not slower than the interpreter's.
#pragma once
#include <Python.h>

#include <cstdint>
#include <string>
#include <vector>

namespace pypaccel::deopt {
struct Specialization;
}

namespace pypaccel::profile {

class EntryTrial {
 public:
  // The first calls of each mode are not timed: the interpreter's own quickening of the code (8 calls, then 31
  // executions of each adaptive instruction in 3.11) and native code's first touches of its pages and slots.
  static constexpr int kInterpretedWarmup = 40;
  static constexpr int kNativeWarmup = 4;
  static constexpr int kSamples = 32;  // timed calls of each mode

  explicit EntryTrial(const deopt::Specialization* spec);

  // A cheap clock for timing one call: the time-stamp counter where there is one (a few cycles, where reading
  // the system clock costs about as much as the calls being compared), else nanoseconds.
  static int64_t now();

  // Whether the next call runs natively: the interpreter's warm-up first, then a random choice (a fixed sequence
  // would alias with a program that alternates two kinds of call).
  bool nextNative();
  // One call's wall time, in now()'s units.
  void record(bool native, int64_t ticks);
  bool done() const;
  // When done: "" if native code is at least as fast, else the refusal (deopt::Refusal::MeasuredSlower).
  std::string verdict() const;

  const deopt::Specialization* spec;  // the frame entry under trial
  // A timed call in flight (other threads' calls run natively, untimed, meanwhile).
  PyThreadState* owner = nullptr;
  int depth = 0;
  bool native = false;
  // A call of the same code came inside a timed one: the code recurses, so a call's time is its call tree's, and
  // an interpreted sample would keep the whole tree interpreted. The trial ends there, the entry kept.
  bool recursive = false;

 private:
  int calls_ = 0;
  int seenNative_ = 0;
  uint64_t random_ = 0x9e3779b97f4a7c15ULL;
  int64_t startTicks_, startNs_;  // now() and the system clock at the start, to tell now()'s units in ns
  std::vector<int64_t> native_, interpreted_;
};

}  // namespace pypaccel::profile
