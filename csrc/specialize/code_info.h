// CodeInfo: what the specializer needs from a code object, read once through the public C API, so the stages
// after it never touch the code object's layout.
#pragma once
#include <Python.h>

#include <string>
#include <vector>

#include <llvm/Support/Error.h>

#include "specialize/bytecode.h"
#include "support/ref.h"

namespace pypaccel::specialize {

struct CodeInfo {
  support::Ref code;    // the code object
  std::string bytes;    // co_code (base opcodes, zeroed caches)
  std::vector<int> lines;  // line per code unit
  std::vector<Handler> handlers;  // co_exceptiontable
  support::Ref consts;  // tuple
  support::Ref names;   // tuple
  std::vector<std::string> localNames;
  std::vector<std::string> cellNames, freeNames;  // co_cellvars, co_freevars: named in ineligibleReason
  std::string qualname, filename;
  int firstlineno = 0;
  int argcount = 0, kwonlyargcount = 0, nlocals = 0, nlocalsplus = 0, flags = 0;
  int ncellsFree = 0;
  int firsttraceable = 0;

  int totalArgs() const {
    return argcount + kwonlyargcount + ((flags & CO_VARARGS) ? 1 : 0) + ((flags & CO_VARKEYWORDS) ? 1 : 0);
  }
};

llvm::Expected<CodeInfo> readCodeInfo(PyObject* code);

// Functions with more locals than this are not compiled (see ineligibleReason).
constexpr int kMaxLocals = 400;

// Why this code can never be compiled (generator, cells, ...), or "" when it may be.
std::string ineligibleReason(const CodeInfo& info);

}  // namespace pypaccel::specialize
