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

// The specialization of `probe`'s signature compiled again from `frame`, stopped at loop header `unit` by that
// probe: every local there an example, with a resume entry at `unit` (deopt::fillResumeBuffer); built from the
// arguments alone, as the probe was, where that predicts more. nullptr when it stays interpreted (the reason is
// recorded in the state).
deopt::Specialization* obtainResumable(profile::CodeState& st, const deopt::Specialization& probe, PypaFrame* frame,
                                       int unit);

// The direct entry of `func`'s code for `sig` (called from native code with unboxed arguments), compiled or
// loaded on first use; nullptr when that code cannot be called directly (the reason is in the state's fallbacks).
deopt::Specialization* obtainDirect(profile::CodeState& st, const std::string& sig, PyObject* func);

// The result type a direct call of `func` with `sig` is compiled to expect, or Void when `func` cannot be called
// directly (hook/direct_calls.cpp). The compiler's SpecOptions::directReturn.
// `args` are examples of the arguments (null where none): the direct entry predicts from them when this call makes
// it (they are kept until it is compiled).
ir::Type directReturnType(PyObject* func, const std::string& sig, const std::vector<PyObject*>& args);
// After directReturnType accepted it: an example of what that direct entry returns (borrowed), or null.
PyObject* directResultExample(PyObject* func, const std::string& sig);
// Once the direct entry for `sig` is compiled or loaded: drops the examples it was inferred with (they hold the
// program's objects), keeping a stand-in of its return example (Samples::standIn) for callers compiled later.
void forgetDirectExamples(profile::CodeState& st, const std::string& sig);
// After directReturnType accepted it: the IR of that direct entry when it is small and calls nothing (then its
// callers compile in a copy of it, see ir::Function::inlined), else null.
std::shared_ptr<const ir::Function> directInlineIR(PyObject* func, const std::string& sig);

// Why a direct entry's IR may not run without a frame (it could run code that looks at frames), or "".
std::string whyNotDirect(const ir::Function& fn);

// The build identity of this process's engine (part of every cache key), creating the engine at the first ask;
// "" when the JIT is unavailable.
std::string buildIdentity();
// The same without creating the engine: "" when none was created.
std::string currentBuildIdentity();

// Time spent compiling and linking (seconds), for stats.
double compileSeconds();

}  // namespace pypaccel::hook
