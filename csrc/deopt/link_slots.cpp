// Linking a specialization into this process: fill its slot words from the code's constants and the current
// globals, checking every assumption the code was compiled under.
#include "cpython/cpy.h"
#include "cpython/layout.h"
#include "deopt/refusals.h"
#include "deopt/specialization.h"

#include <cstring>

namespace pypaccel::deopt {

using support::Ref;

static bool lookupGlobal(PyObject* globals, PyObject* builtins, PyObject* name, PyObject** value, bool* fromBuiltins) {
  PyObject* v = PyDict_GetItemWithError(globals, name);
  *fromBuiltins = false;
  if (!v && !PyErr_Occurred() && PyDict_Check(builtins)) {
    v = PyDict_GetItemWithError(builtins, name);
    *fromBuiltins = true;
  }
  if (!v) PyErr_Clear();
  *value = v;
  return v != nullptr;
}

PyObject* originalBuiltin(const std::string& name) {
  // A private copy of the builtins module's dict, taken once: rebinding builtins.abs later must not move it.
  static PyObject* snapshot = [] {
    PyObject* mod = PyImport_ImportModule("builtins");
    PyObject* copy = mod ? PyDict_Copy(PyModule_GetDict(mod)) : nullptr;
    Py_XDECREF(mod);
    if (!copy) PyErr_Clear();
    return copy;
  }();
  if (!snapshot) return nullptr;
  PyObject* v = PyDict_GetItemString(snapshot, name.c_str());
  return v;
}

namespace {

bool isModuleBuiltin(PyObject* fn, PyObject* module, const char* attr) {
  if (!fn || !PyCFunction_Check(fn)) return false;
  const char* name = pypa_cfunction_name(fn);
  return pypa_cfunction_self(fn) == module && name && std::strcmp(name, attr) == 0;
}

}  // namespace

namespace {

struct BuiltinType {
  const char* name;
  PyTypeObject* type;
  ir::TypeTag tag;
};
const BuiltinType kBuiltinTypes[] = {{"str", &PyUnicode_Type, ir::TypeTag::Str},
                                     {"list", &PyList_Type, ir::TypeTag::List},
                                     {"tuple", &PyTuple_Type, ir::TypeTag::Tuple},
                                     {"dict", &PyDict_Type, ir::TypeTag::Dict}};

}  // namespace

const char* builtinTypeName(PyObject* o) {
  for (const BuiltinType& t : kBuiltinTypes)
    if (Py_IS_TYPE(o, t.type)) return t.name;
  return nullptr;
}

PyObject* builtinMethod(const std::string& type, const std::string& name, ir::TypeTag* tag) {
  for (const BuiltinType& t : kBuiltinTypes) {
    if (type != t.name) continue;
    Ref key = Ref::steal(PyUnicode_InternFromString(name.c_str()));
    if (!key) {
      PyErr_Clear();
      return nullptr;
    }
    // What _PyObject_GetMethod finds for an exact instance, which has no __dict__: the type's own attribute.
    PyObject* m = _PyType_Lookup(t.type, key.get());
    if (!m || !Py_IS_TYPE(m, &PyMethodDescr_Type)) return nullptr;
    if (tag) *tag = t.tag;
    return m;
  }
  return nullptr;
}

PyObject* nativeModuleFunction(PyObject* module, const std::string& attr) {
  if (!module || !PyModule_CheckExact(module) || !ir::isNativeMathName(attr)) return nullptr;
  const char* name = PyModule_GetName(module);
  if (!name) {
    PyErr_Clear();
    return nullptr;
  }
  if (std::strcmp(name, "math") != 0) return nullptr;
  PyObject* fn = PyDict_GetItemString(PyModule_GetDict(module), attr.c_str());
  return isModuleBuiltin(fn, module, attr.c_str()) ? fn : nullptr;
}

const char* nativeModuleFunctionName(PyObject* fn) {
  if (!fn || !PyCFunction_Check(fn)) return nullptr;
  const char* name = pypa_cfunction_name(fn);
  if (!name || nativeModuleFunction(pypa_cfunction_self(fn), name) != fn) return nullptr;
  return name;
}

bool valueMatches(char expect, const std::string& name, PyObject* v, int64_t* word) {
  switch (expect) {
    case 'i': {
      if (!PyLong_CheckExact(v)) return false;
      int overflow = 0;
      long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
      if (overflow || (x == -1 && PyErr_Occurred())) {
        PyErr_Clear();
        return false;
      }
      *word = x;
      return true;
    }
    case 'f': {
      if (!PyFloat_CheckExact(v)) return false;
      double d = PyFloat_AS_DOUBLE(v);
      static_assert(sizeof(d) == sizeof(*word));
      __builtin_memcpy(word, &d, sizeof(d));
      return true;
    }
    case 'b':
      if (!PyBool_Check(v)) return false;
      *word = v == Py_True;
      return true;
    case 'r': return v == reinterpret_cast<PyObject*>(&PyRange_Type);
    case 'k': return v != nullptr && v == originalBuiltin(name);
    case 'M': {
      const char* fn = nativeModuleFunctionName(v);
      return fn != nullptr && name == fn;
    }
    default: return true;
  }
}

namespace {

// Arguments no STORE_FAST / DELETE_FAST of the code touches (co_code is the de-specialized bytecode).
std::vector<uint8_t> stableArguments(PyObject* code, int nargs) {
  std::vector<uint8_t> stable(size_t(nargs > 0 ? nargs : 0), 1);
  Ref bytes = Ref::steal(PyObject_GetAttrString(code, "co_code"));
  if (!bytes || !PyBytes_Check(bytes.get())) {
    PyErr_Clear();
    return std::vector<uint8_t>(stable.size(), 0);
  }
  const auto* b = reinterpret_cast<const uint8_t*>(PyBytes_AS_STRING(bytes.get()));
  Py_ssize_t n = PyBytes_GET_SIZE(bytes.get());
  constexpr int kStoreFast = 125, kDeleteFast = 126, kExtendedArg = 144;
  uint32_t ext = 0;
  for (Py_ssize_t i = 0; i + 1 < n; i += 2) {
    if (b[i] == kExtendedArg) {
      ext = (ext | b[i + 1]) << 8;
      continue;
    }
    uint32_t arg = ext | b[i + 1];
    ext = 0;
    if ((b[i] == kStoreFast || b[i] == kDeleteFast) && arg < stable.size()) stable[arg] = 0;
  }
  return stable;
}

}  // namespace

Specialization::~Specialization() {
  for (size_t i = 0; i + 2 < meta.slots.size() && i + 2 < slotWords.size(); i++) {
    if (meta.slots[i].kind == ir::SlotKind::ModuleAttr) {
      Py_XDECREF(reinterpret_cast<PyObject*>(slotWords[i]));
      slotWords[i] = 0;
      continue;
    }
    // A direct call site holds each entry's function and code.
    for (int k = 0; k < ir::callSiteEntries(meta.slots[i].kind) && i + 3 * k + 2 < slotWords.size(); k++) {
      Py_XDECREF(reinterpret_cast<PyObject*>(slotWords[i + 3 * k]));
      Py_XDECREF(reinterpret_cast<PyObject*>(slotWords[i + 3 * k + 2]));
      slotWords[i + 3 * k] = slotWords[i + 3 * k + 2] = 0;
    }
  }
}

bool linkSlots(Specialization& s, PyObject* code, PyObject* globals, PyObject* builtins, std::string* why) {
  const SpecMeta& m = s.meta;
  s.stableArgs = stableArguments(code, m.nargs);
  s.slotWords.assign(m.slots.size(), 0);
  if (!PyDict_CheckExact(globals) || !PyDict_CheckExact(builtins)) {
    *why = refusalText(Refusal::LinkMismatch, {"globals or builtins is not a dict"});
    return false;
  }
  Ref consts = Ref::steal(PyObject_GetAttrString(code, "co_consts"));
  if (!consts) {
    PyErr_Clear();
    *why = refusalText(Refusal::LinkMismatch, {"no co_consts"});
    return false;
  }
  for (size_t i = 0; i < m.slots.size(); i++) {
    const ir::Slot& sl = m.slots[i];
    if (sl.kind == ir::SlotKind::ConstObj) {
      if (sl.index < 0 || sl.index >= PyTuple_GET_SIZE(consts.get())) {
        *why = refusalText(Refusal::LinkMismatch, {"constant index out of range"});
        return false;
      }
      s.slotWords[i] = reinterpret_cast<int64_t>(PyTuple_GET_ITEM(consts.get(), sl.index));
    } else if (sl.kind == ir::SlotKind::BuiltinMethod) {
      size_t dot = sl.name.find('.');
      PyObject* m = dot == std::string::npos ? nullptr : builtinMethod(sl.name.substr(0, dot), sl.name.substr(dot + 1));
      if (!m) {
        *why = refusalText(Refusal::LinkMismatch, {"no builtin method " + sl.name});
        return false;
      }
      s.slotWords[i] = reinterpret_cast<int64_t>(m);
    } else if (sl.kind == ir::SlotKind::LoopProbe) {
      s.slotWords[i] = kProbeBackEdges;
    } else if (sl.kind == ir::SlotKind::ModuleAttr) {
      // The module as this process has it (imported already: the code's own import ran before the call).
      size_t dot = sl.name.find('.');
      if (dot == std::string::npos || i + ir::slotGroupWords(sl.kind) >= m.slots.size()) {
        *why = refusalText(Refusal::LinkMismatch, {"bad module function slot"});
        return false;
      }
      Ref modname = Ref::steal(PyUnicode_FromString(sl.name.substr(0, dot).c_str()));
      Ref module = modname ? Ref::steal(PyImport_GetModule(modname.get())) : Ref();
      PyObject* fn = module ? nativeModuleFunction(module.get(), sl.name.substr(dot + 1)) : nullptr;
      if (!fn) {
        PyErr_Clear();
        *why = refusalText(Refusal::ModuleFunction, {sl.name});
        return false;
      }
      PyObject* dict = PyModule_GetDict(module.get());
      s.slotWords[i] = reinterpret_cast<int64_t>(module.release());
      s.slotWords[i + 1] = reinterpret_cast<int64_t>(dict);
      s.slotWords[i + 2] = int64_t(pypa_dict_version(dict));
      s.slotWords[i + 3] = reinterpret_cast<int64_t>(fn);
    }
  }
  s.globalNames.clear();
  for (const ir::GlobalGuard& g : m.globals) {
    Ref name = Ref::steal(PyUnicode_InternFromString(g.name.c_str()));
    if (!name) {
      PyErr_Clear();
      *why = refusalText(Refusal::LinkMismatch, {"bad global name"});
      return false;
    }
    PyObject* v;
    bool fromBuiltins;
    if (!lookupGlobal(globals, builtins, name.get(), &v, &fromBuiltins) || fromBuiltins != g.fromBuiltins) {
      *why = refusalText(Refusal::GlobalUnbound, {g.name});
      return false;
    }
    int64_t word = 0;
    if (!valueMatches(g.expect, g.name, v, &word)) {
      *why = refusalText(Refusal::GlobalType, {g.name});
      return false;
    }
    if (g.valueSlot >= 0) s.slotWords[g.valueSlot] = word;
    // Borrowed: holding globals' values would make a cycle the GC cannot see (module dict -> function -> code ->
    // specialization -> value -> ...). The guard re-checks the binding whenever a dict's version moves, and
    // native code only dereferences this after a check.
    s.slotWords[g.objSlot] = reinterpret_cast<int64_t>(v);
    s.slotWords[g.globalsVerSlot] = int64_t(pypa_dict_version(globals));
    if (g.builtinsVerSlot >= 0)
      s.slotWords[g.builtinsVerSlot] = int64_t(pypa_dict_version(builtins));
    s.globalNames.push_back(std::move(name));
  }
  s.stressFlags.assign(m.exits.size(), 0);
  s.exitCounts.assign(m.exits.size(), 0);
  if (m.direct) s.stableArgs.assign(s.stableArgs.size(), 0);  // its arguments come unboxed: no objects to keep
  s.header.slots = s.slotWords.data();
  s.header.stress = s.stressFlags.data();
  s.header.firstInstr = static_cast<char*>(pypa_code_first_instr(reinterpret_cast<PyCodeObject*>(code)));
  s.header.spec = &s;
  return true;
}

}  // namespace pypaccel::deopt
