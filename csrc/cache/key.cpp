// Content hashing of code objects.
#include "cache/key.h"

#include <cstring>

#include <llvm/Support/SHA256.h>

#include "profile/code_state.h"
#include "support/bail.h"
#include "support/ref.h"

namespace pypaccel::cache {

using support::Ref;

namespace {

// Feeds a canonical, type-tagged encoding of `o` into the hash. Returns false for constants we cannot encode
// (then the code is not cached).
bool feed(llvm::SHA256& h, PyObject* o, int depth);

void tag(llvm::SHA256& h, char t, const std::string& payload) {
  uint64_t n = payload.size();
  h.update(llvm::ArrayRef<uint8_t>(reinterpret_cast<const uint8_t*>(&t), 1));
  h.update(llvm::ArrayRef<uint8_t>(reinterpret_cast<const uint8_t*>(&n), sizeof(n)));
  h.update(llvm::StringRef(payload));
}

bool feedAttr(llvm::SHA256& h, PyObject* code, const char* attr, int depth) {
  Ref v = Ref::steal(PyObject_GetAttrString(code, attr));
  if (!v) {
    PyErr_Clear();
    return false;
  }
  tag(h, 'A', attr);
  return feed(h, v.get(), depth);
}

bool feed(llvm::SHA256& h, PyObject* o, int depth) {
  if (depth > 64) return false;
  if (o == Py_None) return tag(h, 'N', ""), true;
  if (o == Py_Ellipsis) return tag(h, '.', ""), true;
  if (PyBool_Check(o)) return tag(h, 'B', o == Py_True ? "1" : "0"), true;
  if (PyLong_CheckExact(o)) {
    Ref r = Ref::steal(PyObject_Repr(o));
    if (!r) return PyErr_Clear(), false;
    return tag(h, 'I', PyUnicode_AsUTF8(r.get())), true;
  }
  if (PyFloat_CheckExact(o)) {
    double d = PyFloat_AS_DOUBLE(o);
    std::string bits(reinterpret_cast<const char*>(&d), sizeof(d));  // -0.0 and 0.0 differ
    return tag(h, 'F', bits), true;
  }
  if (PyComplex_CheckExact(o)) {
    Py_complex c = PyComplex_AsCComplex(o);
    std::string bits(reinterpret_cast<const char*>(&c), sizeof(c));
    return tag(h, 'C', bits), true;
  }
  if (PyUnicode_CheckExact(o)) {
    Py_ssize_t n;
    const char* s = PyUnicode_AsUTF8AndSize(o, &n);
    if (!s) return PyErr_Clear(), false;
    return tag(h, 'S', std::string(s, n)), true;
  }
  if (PyBytes_CheckExact(o)) return tag(h, 'Y', std::string(PyBytes_AS_STRING(o), PyBytes_GET_SIZE(o))), true;
  if (PyTuple_CheckExact(o) || PyFrozenSet_CheckExact(o)) {
    Ref seq = Ref::borrow(o);
    if (PyFrozenSet_CheckExact(o)) {
      // Sets have no order: hash the sorted reprs of the elements.
      Ref list = Ref::steal(PySequence_List(o));
      if (!list || PyList_Sort(list.get()) < 0) return PyErr_Clear(), false;
      seq = Ref::steal(PyList_AsTuple(list.get()));
    }
    Py_ssize_t n = PyTuple_GET_SIZE(seq.get());
    tag(h, PyTuple_CheckExact(o) ? 'T' : 'Z', std::to_string(n));
    for (Py_ssize_t i = 0; i < n; i++)
      if (!feed(h, PyTuple_GET_ITEM(seq.get(), i), depth + 1)) return false;
    return true;
  }
  if (PyCode_Check(o)) {
    tag(h, 'K', "");
    static const char* const kAttrs[] = {"co_code", "co_consts", "co_names", "co_varnames", "co_freevars",
                                         "co_cellvars", "co_argcount", "co_posonlyargcount", "co_kwonlyargcount",
                                         "co_flags", "co_nlocals", "co_qualname", "co_firstlineno", "co_linetable",
                                         "co_exceptiontable"};
    for (const char* a : kAttrs)
      if (!feedAttr(h, o, a, depth + 1)) return false;
    return true;
  }
  return false;
}

}  // namespace

llvm::Expected<std::string> codeContentHash(PyObject* code) {
  llvm::SHA256 h;
  if (!feed(h, code, 0)) return support::bail("code has constants the cache cannot key");
  auto digest = h.final();
  return std::string(reinterpret_cast<const char*>(digest.data()), digest.size());
}

bool ensureCodeHash(profile::CodeState& st) {
  if (!st.hashTried) {
    st.hashTried = true;
    auto h = codeContentHash(st.code);
    if (h) st.codeHash = *h;
    else llvm::consumeError(h.takeError());
  }
  return !st.codeHash.empty();
}

std::string specializationKey(const std::string& codeHash, const std::string& signature, const std::string& build) {
  llvm::SHA256 h;
  tag(h, 'H', codeHash);
  tag(h, 'G', signature);
  tag(h, 'V', build);
  auto digest = h.final();
  return std::string(reinterpret_cast<const char*>(digest.data()), digest.size());
}

std::string hexOf(const std::string& raw, size_t maxBytes) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < raw.size() && i < maxBytes; i++) {
    out.push_back(kHex[uint8_t(raw[i]) >> 4]);
    out.push_back(kHex[uint8_t(raw[i]) & 15]);
  }
  return out;
}

std::string keySymbol(const std::string& key) { return "pypa_" + hexOf(key, 12); }

}  // namespace pypaccel::cache
