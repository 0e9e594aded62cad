// Test helpers: run Python snippets in fresh globals, fetch code objects, ask `dis` about them, and push a function
// through the first pipeline stages (CodeInfo -> Bytecode -> IR). Failures end the current test via Catch2.
#pragma once
#include <Python.h>

#include <catch2/catch.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ir/ir.h"
#include "specialize/builder.h"
#include "specialize/bytecode.h"
#include "specialize/code_info.h"
#include "support/bail.h"
#include "support/ref.h"

namespace pypaccel::testing {

using support::Ref;

// The pending Python exception as text (cleared), or "" when there is none.
inline std::string pyErrorText() {
  if (!PyErr_Occurred()) return "";
  PyObject *t, *v, *tb;
  PyErr_Fetch(&t, &v, &tb);
  PyErr_NormalizeException(&t, &v, &tb);
  std::string out = t ? reinterpret_cast<PyTypeObject*>(t)->tp_name : "?";
  if (v) {
    Ref s = Ref::steal(PyObject_Str(v));
    if (s) out += std::string(": ") + PyUnicode_AsUTF8(s.get());
  }
  Py_XDECREF(t);
  Py_XDECREF(v);
  Py_XDECREF(tb);
  PyErr_Clear();
  return out;
}

// A value of an llvm::Expected, or a test failure naming `what` and the error.
template <class T>
T must(llvm::Expected<T> v, const std::string& what) {
  if (!v) {
    std::string why = support::errorReason(v.takeError());
    FAIL(what << ": " << why);
  }
  return std::move(*v);
}

inline Ref builtinsDict() {
  Ref mod = Ref::steal(PyImport_ImportModule("builtins"));
  REQUIRE(mod);
  return Ref::borrow(PyModule_GetDict(mod.get()));
}

// Runs `src` as a module body in a fresh globals dict and returns that dict.
inline Ref execSource(const std::string& src, const char* filename = "<test>") {
  Ref code = Ref::steal(Py_CompileString(src.c_str(), filename, Py_file_input));
  if (!code) FAIL("compile failed: " << pyErrorText() << "\n" << src);
  Ref globals = Ref::steal(PyDict_New());
  PyDict_SetItemString(globals.get(), "__builtins__", PyEval_GetBuiltins());
  Ref r = Ref::steal(PyEval_EvalCode(code.get(), globals.get(), globals.get()));
  if (!r) FAIL("exec failed: " << pyErrorText() << "\n" << src);
  return globals;
}

// The module-level code object of `src` (not run).
inline Ref moduleCode(const std::string& src) {
  Ref code = Ref::steal(Py_CompileString(src.c_str(), "<test>", Py_file_input));
  if (!code) FAIL("compile failed: " << pyErrorText());
  return code;
}

// The code object of the function `name` that `src` defines; its globals go to *globalsOut.
inline Ref functionCode(const std::string& src, const std::string& name = "f", Ref* globalsOut = nullptr) {
  Ref globals = execSource(src);
  PyObject* fn = PyDict_GetItemString(globals.get(), name.c_str());
  if (!fn || !PyFunction_Check(fn)) FAIL("snippet defines no function " << name);
  if (globalsOut) *globalsOut = globals;
  return Ref::borrow(PyFunction_GetCode(fn));
}

// Calls Python function `fname`, defined by `defs`, with `args` (a tuple). New reference, or a test failure.
inline Ref callPy(const std::string& defs, const char* fname, PyObject* args) {
  Ref globals = execSource(defs, "<helper>");
  PyObject* fn = PyDict_GetItemString(globals.get(), fname);
  REQUIRE(fn);
  Ref r = Ref::steal(PyObject_Call(fn, args, nullptr));
  if (!r) FAIL("python helper " << fname << " failed: " << pyErrorText());
  return r;
}

// One instruction as `dis` (3.11, adaptive=False, caches hidden) reports it; EXTENDED_ARG rows are dropped.
struct DisRow {
  int offset = 0;     // bytes
  std::string opname;
  int arg = -1;       // -1 when dis says None
  int target = -1;    // byte offset of the jump target, for dis.hasjrel opcodes
  int line = 0;       // positions.lineno, 0 when None
};

inline std::vector<DisRow> disRows(PyObject* code) {
  static const char* kDefs =
      "import dis\n"
      "def rows(co):\n"
      "    out = []\n"
      "    for i in dis.get_instructions(co):\n"
      "        if i.opname == 'EXTENDED_ARG': continue\n"
      "        tgt = i.argval if i.opcode in dis.hasjrel else -1\n"
      "        out.append((i.offset, i.opname, -1 if i.arg is None else i.arg, tgt, i.positions.lineno or 0))\n"
      "    return out\n";
  Ref args = Ref::steal(PyTuple_Pack(1, code));
  Ref rows = callPy(kDefs, "rows", args.get());
  std::vector<DisRow> out;
  for (Py_ssize_t i = 0; i < PyList_GET_SIZE(rows.get()); i++) {
    PyObject* t = PyList_GET_ITEM(rows.get(), i);
    DisRow r;
    r.offset = int(PyLong_AsLong(PyTuple_GET_ITEM(t, 0)));
    r.opname = PyUnicode_AsUTF8(PyTuple_GET_ITEM(t, 1));
    r.arg = int(PyLong_AsLong(PyTuple_GET_ITEM(t, 2)));
    r.target = int(PyLong_AsLong(PyTuple_GET_ITEM(t, 3)));
    r.line = int(PyLong_AsLong(PyTuple_GET_ITEM(t, 4)));
    out.push_back(r);
  }
  return out;
}

// The first dis row with this opname (a test failure when there is none).
inline DisRow firstDis(PyObject* code, const std::string& opname) {
  for (const DisRow& r : disRows(code))
    if (r.opname == opname) return r;
  FAIL("no " << opname << " in the code");
  return {};
}

inline specialize::CodeInfo readInfo(PyObject* code) { return must(specialize::readCodeInfo(code), "readCodeInfo"); }

inline specialize::Bytecode decodeInfo(const specialize::CodeInfo& info) {
  return must(specialize::decode(reinterpret_cast<const uint8_t*>(info.bytes.data()), info.bytes.size(), info.lines),
              "decode");
}

// A function pushed through readCodeInfo, decode and buildFunction.
struct Built {
  Ref globals;
  Ref code;
  specialize::CodeInfo info;
  specialize::Bytecode bc;
  std::optional<ir::Function> fn;  // empty when buildFunction declined; then `error` says why
  std::string error;
};

// `src` must define `name`; the IR's symbol is `symbol`. `opts` as the hook would pass them (a direct entry,
// the calls to compile as direct calls).
inline std::unique_ptr<Built> tryBuildWith(const std::string& src, const std::string& sig,
                                           const specialize::SpecOptions& opts, const std::string& name = "f",
                                           const std::string& symbol = "f") {
  auto b = std::make_unique<Built>();
  b->code = functionCode(src, name, &b->globals);
  b->info = readInfo(b->code.get());
  b->bc = decodeInfo(b->info);
  auto fn = specialize::buildFunction(b->info, b->bc, sig, b->globals.get(), builtinsDict().get(), opts, symbol);
  if (fn) b->fn = std::move(*fn);
  else b->error = support::errorReason(fn.takeError());
  return b;
}

inline std::unique_ptr<Built> tryBuild(const std::string& src, const std::string& sig, const std::string& name = "f",
                                       const std::string& symbol = "f", bool stressExits = false) {
  specialize::SpecOptions opts;
  opts.stressExits = stressExits;
  return tryBuildWith(src, sig, opts, name, symbol);
}

inline ir::Function buildIR(const std::string& src, const std::string& sig, const std::string& name = "f",
                            const std::string& symbol = "f") {
  auto b = tryBuild(src, sig, name, symbol);
  if (!b->fn) FAIL("buildFunction(" << sig << "): " << b->error);
  return std::move(*b->fn);
}

}  // namespace pypaccel::testing
