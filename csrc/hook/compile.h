// Getting a specialization for a code object and signature: from the cache if a stored one is intact and still
// valid here, else by compiling (bytecode -> IR -> LLVM -> object) and storing the result.
#pragma once
#include <Python.h>

#include <string>

#include "cpython/cpy.h"
#include "profile/code_state.h"

namespace pypaccel::hook {

enum class CompileWhy { Threshold, Loops, Forced };

// nullptr when the code stays interpreted for this signature (the reason is recorded in the state).
deopt::Specialization* obtainSpecialization(profile::CodeState& st, const std::string& sig, PypaFrame* frame,
                                            CompileWhy why);

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
