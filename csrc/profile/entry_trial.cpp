// The measured entry rule (entry_trial.h).
#include "profile/entry_trial.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "deopt/refusals.h"

namespace pypaccel::profile {

namespace {

// The mean of the middle half: as robust to a call the GC or another thread lengthened as the median, and finer
// than the clock's steps (about 10 ns on this project's machine, as long as a small function's call).
double middleMean(std::vector<int64_t> v) {
  std::sort(v.begin(), v.end());
  size_t from = v.size() / 4, to = v.size() - v.size() / 4;
  double sum = 0;
  for (size_t i = from; i < to; i++) sum += double(v[i]);
  return sum / double(to - from);
}

int64_t steadyNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

EntryTrial::EntryTrial(const deopt::Specialization* spec) : spec(spec), startTicks_(now()), startNs_(steadyNs()) {}

int64_t EntryTrial::now() {
#if defined(__x86_64__) || defined(__i386__)
  return int64_t(__builtin_ia32_rdtsc());
#else
  return steadyNs();
#endif
}

bool EntryTrial::nextNative() {
  if (calls_++ < kInterpretedWarmup) return false;
  bool wantNative = int(native_.size()) < kSamples, wantInterpreted = int(interpreted_.size()) < kSamples;
  if (wantNative != wantInterpreted) return wantNative;
  random_ ^= random_ << 13;  // xorshift64
  random_ ^= random_ >> 7;
  random_ ^= random_ << 17;
  return random_ >> 63;
}

void EntryTrial::record(bool native, int64_t ns) {
  if (native) {
    if (seenNative_++ >= kNativeWarmup && int(native_.size()) < kSamples) native_.push_back(ns);
  } else if (calls_ > kInterpretedWarmup && int(interpreted_.size()) < kSamples) {
    interpreted_.push_back(ns);
  }
}

bool EntryTrial::done() const { return int(native_.size()) >= kSamples && int(interpreted_.size()) >= kSamples; }

std::string EntryTrial::verdict() const {
  double n = middleMean(native_), i = middleMean(interpreted_);
  if (n <= i) return "";
  double nsPerTick = double(steadyNs() - startNs_) / double(std::max<int64_t>(1, now() - startTicks_));
  auto ns = [&](double ticks) { return std::to_string(std::llround(ticks * nsPerTick)); };
  return deopt::refusalText(deopt::Refusal::MeasuredSlower, {ns(n), ns(i), std::to_string(kSamples)});
}

}  // namespace pypaccel::profile
