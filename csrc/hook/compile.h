// Getting a specialization for a code object and signature: from the cache if a stored one is intact and still
// valid here, else by compiling (bytecode -> IR -> LLVM -> object) and storing the result.
#pragma once
#include <Python.h>

#include <set>
#include <string>

#include "cpython/cpy.h"
#include "profile/code_state.h"

namespace pypaccel::hook {

enum class CompileWhy { Threshold, Loops, Forced };

// nullptr when the code stays interpreted for this signature (the reason is recorded in the state).
deopt::Specialization* obtainSpecialization(profile::CodeState& st, const std::string& sig, PypaFrame* frame,
                                            CompileWhy why);

// The direct entry of `func`'s code for `sig` (called from native code with unboxed arguments), compiled or
// loaded on first use; nullptr when that code cannot be called directly (the reason is in the state's fallbacks).
deopt::Specialization* obtainDirect(profile::CodeState& st, const std::string& sig, PyObject* func);

// The result type a direct call of `func` with `sig` is compiled to expect, or Void when `func` cannot be called
// directly (hook/direct_calls.cpp). The compiler's SpecOptions::directReturn.
ir::Type directReturnType(PyObject* func, const std::string& sig);
// After directReturnType accepted it: the IR of that direct entry when it is small and calls nothing (then its
// callers compile in a copy of it, see ir::Function::inlined), else null.
std::shared_ptr<const ir::Function> directInlineIR(PyObject* func, const std::string& sig);

// Why a direct entry's IR may not run without a frame (it could run code that looks at frames), or "".
std::string whyNotDirect(const ir::Function& fn);

// Reads what earlier runs learned about this code from its module's cache (once per code object): signatures
// to compile at the first call, to widen, or to leave interpreted.
void learnFromEarlierRuns(profile::CodeState& st);

// Native code that exits too often at instructions a generic operation would handle: retire it (the next call
// recompiles with those instructions widened). False when widening would not help.
bool retireForWidening(profile::CodeState& st, deopt::Specialization& s);

// The widened units the next run should start from: those already widened, plus widenable exits that fired on
// a tenth of the entries.
std::set<int> widenToLearn(const deopt::Specialization& s);

// The content hash of the code (computed once); false when it cannot be keyed.
bool ensureCodeHash(profile::CodeState& st);

// The build identity of this process's engine, or "" when none was created.
std::string currentBuildIdentity();

// The cache database for a source file, opened on first use (nullptr when there is none).
void* openStore(const std::string& filename);

// Process-wide: cache databases opened so far (for flushing run records).
void forEachStore(void (*fn)(const std::string& filename, void* store, void* arg), void* arg);

// Closes every database (at exit, after the run records are written), so SQLite checkpoints its WAL and removes
// the -wal/-shm files; later compiles in this process are not stored.
void closeStores();

// Time spent compiling and linking (seconds), for stats.
double compileSeconds();

}  // namespace pypaccel::hook
