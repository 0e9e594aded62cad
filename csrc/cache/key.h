// Cache keys: a SHA-256 of the code object's content (never mtimes), and of that with the guard signature and
// the build identity.
#pragma once
#include <Python.h>

#include <string>

#include <llvm/Support/Error.h>

namespace pypaccel::profile {
struct CodeState;
}

namespace pypaccel::cache {

// Hash of bytecode, constants (recursively, nested code included), names, flags, argument counts, qualname and
// first line. Raw 32 bytes.
llvm::Expected<std::string> codeContentHash(PyObject* code);
// The content hash of st.code in st.codeHash, computed at the first ask; false when the code cannot be keyed.
bool ensureCodeHash(profile::CodeState& st);
std::string specializationKey(const std::string& codeHash, const std::string& signature, const std::string& build);
std::string hexOf(const std::string& raw, size_t maxBytes = 32);
// The symbol of the entry point compiled for `key` ("pypa_" and 12 bytes of it in hex): stored metadata names it.
std::string keySymbol(const std::string& key);

}  // namespace pypaccel::cache
