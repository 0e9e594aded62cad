// What earlier runs and exits teach about a function: which signatures to compile at the first call, which to
// leave interpreted, and which instructions to compile generically (widen) because their fast path kept exiting.
// Read from the file's profiles at the first call, written back with the run records (docs/cache-format.md).
#pragma once
#include <set>
#include <string>
#include <vector>

#include <llvm/ADT/STLFunctionalExtras.h>

#include "cache/store.h"
#include "profile/code_state.h"

namespace pypaccel::cache {

// Reads what earlier runs learned about this code from its file's database (once per code object; one query per
// file): signatures to compile at the first call, to widen, or to leave interpreted. `build` gives this process's
// build identity ("" without a JIT); it is asked only when the file has a database. `compileAll`: code judged not
// worth compiling is compiled anyway (PYPACCEL_COMPILE_ALL), so such decisions are not learned (nor for @specialize).
void learnFromEarlierRuns(profile::CodeState& st, llvm::function_ref<std::string()> build, bool compileAll = false);

// The signature a specialization's profile row (and its widened units, CodeState::widen) is kept under: a direct
// entry's is its own ("|d"), so what it learns does not keep the frame entry of the signature interpreted.
std::string profileSignature(const std::string& sig, bool direct);
std::string profileSignature(const deopt::Specialization& s);

// Native code that exits too often at instructions a generic operation would handle: retire it (the next call
// recompiles with those instructions widened). False when widening would not help.
bool retireForWidening(profile::CodeState& st, deopt::Specialization& s);

// What widened units add to a key's signature ("|w24,40,"; "" for none): widened and plain code are different
// entries.
std::string widenSuffix(const std::set<int>& units);

// What this run teaches the next about `st`, built by `build`: one profile row per argument signature that ran
// natively, exited on most entries, or could not be compiled.
std::vector<Profile> profilesForNextRun(const profile::CodeState& st, const std::string& build);

}  // namespace pypaccel::cache
