// Reading a code object into CodeInfo.
#include "specialize/code_info.h"

#include <algorithm>

#include "cpython/cpy.h"
#include "deopt/refusals.h"
#include "support/bail.h"

namespace pypaccel::specialize {

using support::Ref;

static llvm::Error pyError(const char* what) {
  std::string msg = what;
  if (PyErr_Occurred()) {
    PyObject *t, *v, *tb;
    PyErr_Fetch(&t, &v, &tb);
    if (v) {
      Ref s = Ref::steal(PyObject_Str(v));
      if (s) msg += std::string(": ") + PyUnicode_AsUTF8(s.get());
    }
    Py_XDECREF(t);
    Py_XDECREF(v);
    Py_XDECREF(tb);
    PyErr_Clear();
  }
  return deopt::refuse(deopt::Refusal::UnreadableCode, {" (" + msg + ")"});
}

static bool getInt(PyObject* code, const char* attr, int* out) {
  Ref v = Ref::steal(PyObject_GetAttrString(code, attr));
  if (!v) return false;
  *out = int(PyLong_AsLong(v.get()));
  return !PyErr_Occurred();
}

llvm::Expected<CodeInfo> readCodeInfo(PyObject* code) {
  if (!PyCode_Check(code)) return deopt::refuse(deopt::Refusal::NotCode);
  CodeInfo info;
  info.code = Ref::borrow(code);
  Ref co_code = Ref::steal(PyObject_GetAttrString(code, "co_code"));
  if (!co_code || !PyBytes_Check(co_code.get())) return pyError("co_code");
  info.bytes.assign(PyBytes_AS_STRING(co_code.get()), PyBytes_GET_SIZE(co_code.get()));
  info.consts = Ref::steal(PyObject_GetAttrString(code, "co_consts"));
  info.names = Ref::steal(PyObject_GetAttrString(code, "co_names"));
  if (!info.consts || !info.names) return pyError("co_consts/co_names");
  Ref varnames = Ref::steal(PyObject_GetAttrString(code, "co_varnames"));
  if (!varnames) return pyError("co_varnames");
  for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(varnames.get()); i++)
    info.localNames.emplace_back(PyUnicode_AsUTF8(PyTuple_GET_ITEM(varnames.get(), i)));
  for (auto [attr, names] : {std::pair{"co_cellvars", &info.cellNames}, std::pair{"co_freevars", &info.freeNames}}) {
    Ref t = Ref::steal(PyObject_GetAttrString(code, attr));
    if (!t || !PyTuple_Check(t.get())) return pyError(attr);
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(t.get()); i++)
      if (const char* n = PyUnicode_AsUTF8(PyTuple_GET_ITEM(t.get(), i))) names->emplace_back(n);
    if (PyErr_Occurred()) return pyError(attr);
  }
  Ref qual = Ref::steal(PyObject_GetAttrString(code, "co_qualname"));
  Ref file = Ref::steal(PyObject_GetAttrString(code, "co_filename"));
  if (!qual || !file) return pyError("co_qualname/co_filename");
  info.qualname = PyUnicode_AsUTF8(qual.get());
  info.filename = PyUnicode_AsUTF8(file.get());
  if (!getInt(code, "co_firstlineno", &info.firstlineno) || !getInt(code, "co_argcount", &info.argcount) ||
      !getInt(code, "co_kwonlyargcount", &info.kwonlyargcount) || !getInt(code, "co_nlocals", &info.nlocals) ||
      !getInt(code, "co_flags", &info.flags))
    return pyError("code attributes");
  auto* co = reinterpret_cast<PyCodeObject*>(code);
  info.nlocalsplus = pypa_code_nlocalsplus(co);
  info.ncellsFree = pypa_code_ncells_free(co);
  info.firsttraceable = pypa_code_firsttraceable(co);

  // co_lines() yields (start_byte, end_byte, line) ranges.
  info.lines.assign(info.bytes.size() / 2, 0);
  Ref it = Ref::steal(PyObject_CallMethod(code, "co_lines", nullptr));
  if (!it) return pyError("co_lines");
  Ref iter = Ref::steal(PyObject_GetIter(it.get()));
  if (!iter) return pyError("co_lines iter");
  while (Ref item = Ref::steal(PyIter_Next(iter.get()))) {
    long start = PyLong_AsLong(PyTuple_GET_ITEM(item.get(), 0));
    long end = PyLong_AsLong(PyTuple_GET_ITEM(item.get(), 1));
    PyObject* line = PyTuple_GET_ITEM(item.get(), 2);
    int ln = line == Py_None ? 0 : int(PyLong_AsLong(line));
    for (long b = start; b < end && b / 2 < long(info.lines.size()); b += 2) info.lines[b / 2] = ln;
  }
  if (PyErr_Occurred()) return pyError("co_lines");

  Ref table = Ref::steal(PyObject_GetAttrString(code, "co_exceptiontable"));
  if (!table || !PyBytes_Check(table.get())) return pyError("co_exceptiontable");
  auto handlers = decodeExceptionTable(std::string(PyBytes_AS_STRING(table.get()), PyBytes_GET_SIZE(table.get())));
  if (!handlers) return handlers.takeError();
  info.handlers = std::move(*handlers);
  return info;
}

std::string ineligibleReason(const CodeInfo& info) {
  using deopt::Refusal;
  using deopt::refusalText;
  if (info.flags & (CO_GENERATOR | CO_COROUTINE | CO_ASYNC_GENERATOR | CO_ITERABLE_COROUTINE))
    return refusalText(Refusal::Generator);
  if (!(info.flags & CO_OPTIMIZED)) return refusalText(Refusal::NotFunctionBody);
  // CPython's layout, which the cell and free variable ops rely on (ops/load_store.cpp): the locals (arguments that
  // are cells among them), then the other cells, then the free variables.
  int cellsPastLocals = 0;
  for (const auto& name : info.cellNames)
    if (std::find(info.localNames.begin(), info.localNames.end(), name) == info.localNames.end()) cellsPastLocals++;
  if (info.nlocalsplus != info.nlocals + cellsPastLocals + int(info.freeNames.size()))
    return refusalText(Refusal::LocalsLayout);
  // Every exit spills every live local: compile time and memory grow with locals x exits (a namedtuple of 5000
  // fields has a __new__ with 5000 arguments). Such functions are rarely hot loops.
  if (info.nlocals > kMaxLocals)
    return refusalText(Refusal::TooManyLocals, {std::to_string(info.nlocals), std::to_string(kMaxLocals)});
  return "";
}

}  // namespace pypaccel::specialize
