// Bytecode -> typed IR for one specialization (argument types in `signature`: i/f/b/o per argument).
#pragma once
#include <Python.h>

#include <string>

#include <llvm/Support/Error.h>

#include "ir/ir.h"
#include "specialize/bytecode.h"
#include "specialize/code_info.h"
#include "specialize/emitter.h"

namespace pypaccel::specialize {

llvm::Expected<ir::Function> buildFunction(const CodeInfo& info, const Bytecode& bc, const std::string& signature,
                                           PyObject* globals, PyObject* builtins, const SpecOptions& opts,
                                           const std::string& symbol);

// The type letter of one argument value ('i' int that fits in 64 bits, 'f' float, 'b' bool, 'o' anything else).
char argTypeLetter(PyObject* v);

}  // namespace pypaccel::specialize
