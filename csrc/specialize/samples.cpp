#include "specialize/samples.h"

#include <algorithm>
#include <string>

#include "cpython/cpy.h"

namespace pypaccel::specialize {

namespace {

// The attribute examples of blank instances (Samples::blankInstance), shared by every Samples that holds one; an
// entry goes with the last of them. (Compiles run under the GIL.)
struct BlankAttributes {
  int holders = 0;
  std::map<std::string, PyObject*> attrs;  // new references
};

std::map<PyObject*, BlankAttributes>& blanks() {
  static auto* m = new std::map<PyObject*, BlankAttributes>();
  return *m;
}

// One holder of `o` less (a Samples, or a blank instance whose attribute example it is); the last one releases its
// attribute examples.
void dropBlankHold(PyObject* o) {
  auto it = blanks().find(o);
  if (it == blanks().end() || --it->second.holders > 0) return;
  std::map<std::string, PyObject*> attrs = std::move(it->second.attrs);
  blanks().erase(it);
  for (auto& [name, v] : attrs) {
    dropBlankHold(v);
    Py_DECREF(v);
  }
}

// `v` as the attribute example `name` of blank `b` (a new reference; a blank instance there is held by it).
void setBlankAttribute(BlankAttributes& b, const char* name, PyObject* v) {
  if (auto it = blanks().find(v); it != blanks().end()) it->second.holders++;
  b.attrs[name] = Py_NewRef(v);
}

}  // namespace

Samples::~Samples() {
  for (PyObject* o : held_) {
    dropBlankHold(o);
    Py_DECREF(o);
  }
}

PyObject* Samples::hold(PyObject* o) {
  if (!o) return nullptr;
  Py_INCREF(o);
  held_.push_back(o);
  if (auto it = blanks().find(o); it != blanks().end()) it->second.holders++;
  return o;
}

PyObject* Samples::instanceOf(PyTypeObject* tp) const {
  for (PyObject* o : held_)
    if (Py_TYPE(o) == tp) return o;
  return nullptr;
}

PyObject* Samples::blank(PyTypeObject* tp) {
  if (tp->tp_finalize || tp->tp_del || tp->tp_new != PyBaseObject_Type.tp_new) return nullptr;
  PyObject* o = pypa_new_instance(tp);
  if (!o) {
    PyErr_Clear();
    return nullptr;
  }
  // Not one of the program's objects: no reference cycle can go through it (its values stay empty), and
  // gc.get_objects() must not list it.
  if (PyObject_GC_IsTracked(o)) PyObject_GC_UnTrack(o);
  blanks()[o].holders = 1;
  held_.push_back(o);  // the new reference is the one held
  return o;
}

PyObject* Samples::blankInstance(PyTypeObject* tp, PyObject* init, const std::vector<PyObject*>& args) {
  PyObject* o = blank(tp);
  if (!o) return nullptr;
  BlankAttributes& b = blanks()[o];
  // `self.NAME = PARAM` in __init__, the first store of each name.
  int params[32];
  PyObject* names[32];
  int n = pypa_param_stores(init, params, names, 32);
  for (int i = 0; i < n; i++) {
    size_t param = size_t(params[i]);
    if (param > args.size() || !args[param - 1] || !PyUnicode_Check(names[i])) continue;
    const char* name = PyUnicode_AsUTF8(names[i]);
    if (!name || b.attrs.count(name)) continue;
    setBlankAttribute(b, name, args[param - 1]);
  }
  return o;
}

void Samples::noteStore(PyObject* obj, PyObject* name, PyObject* value) {
  if (!obj || !value || !PyUnicode_CheckExact(name)) return;
  auto it = blanks().find(obj);
  const char* n = PyUnicode_AsUTF8(name);
  if (it == blanks().end() || !n || it->second.attrs.count(n)) return;
  setBlankAttribute(it->second, n, value);
}

PyObject* Samples::standIn(PyObject* o, int depth) {
  if (!o) return nullptr;
  PyObject* made = nullptr;
  if (o == Py_None || PyBool_Check(o)) return hold(o);
  if (PyFloat_CheckExact(o)) {
    made = PyFloat_FromDouble(PyFloat_AS_DOUBLE(o));
  } else if (PyLong_CheckExact(o)) {
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
    if (!overflow) made = PyLong_FromLongLong(v);
  } else if (PyUnicode_CheckExact(o)) {
    // The characters matter only as a dict key's example; a long text is not kept.
    Py_ssize_t n = PyUnicode_GET_LENGTH(o);
    made = n <= 64 ? PyUnicode_FromKindAndData(PyUnicode_KIND(o), PyUnicode_DATA(o), n) : PyUnicode_New(0, 127);
  } else if ((PyTuple_CheckExact(o) || PyList_CheckExact(o)) && depth > 0 && Py_SIZE(o) <= 8) {
    std::vector<PyObject*> items;
    for (Py_ssize_t i = 0; i < Py_SIZE(o); i++)
      items.push_back(standIn(PyTuple_CheckExact(o) ? PyTuple_GET_ITEM(o, i) : PyList_GET_ITEM(o, i), depth - 1));
    return sequence(PyTuple_CheckExact(o), items);
  } else if (depth > 0 && !PyType_Check(o)) {
    // A blank instance's attribute examples, else the instance's own values.
    std::vector<std::pair<std::string, PyObject*>> attrs;
    if (auto it = blanks().find(o); it != blanks().end()) {
      for (auto& [name, v] : it->second.attrs) attrs.emplace_back(name, v);
    } else {
      PyObject* names[32];
      PyObject* values[32];
      int n = pypa_instance_values(o, names, values, 32);
      for (int i = 0; i < n; i++)
        if (const char* name = PyUnicode_AsUTF8(names[i])) attrs.emplace_back(name, values[i]);
    }
    PyObject* b = attrs.empty() ? nullptr : blank(Py_TYPE(o));
    for (size_t i = 0; b && i < attrs.size(); i++)
      if (PyObject* v = standIn(attrs[i].second, depth - 1)) setBlankAttribute(blanks()[b], attrs[i].first.c_str(), v);
    if (PyErr_Occurred()) PyErr_Clear();
    return b;
  }
  if (!made) {
    PyErr_Clear();
    return nullptr;
  }
  held_.push_back(made);  // the new reference is the one held
  return made;
}

PyObject* Samples::local(int l) const {
  auto it = locals_.find(l);
  return it == locals_.end() ? nullptr : it->second;
}

void Samples::setLocal(int l, PyObject* o) {
  auto it = locals_.find(l);
  if (o && (it == locals_.end() || (it->second == Py_None && o != Py_None))) locals_[l] = hold(o);
}

PyObject* Samples::stackAt(int unit, int depth) const {
  auto it = stack_.find({unit, depth});
  return it == stack_.end() ? nullptr : it->second;
}

void Samples::setStackAt(int unit, int depth, PyObject* o) {
  auto it = stack_.find({unit, depth});
  if (o && (it == stack_.end() || (it->second == Py_None && o != Py_None))) stack_[{unit, depth}] = hold(o);
}

PyObject* Samples::item(PyObject* seq, int64_t index) {
  if (seq && pypa_array_check_exact(seq) && Py_SIZE(seq) > 0) {
    // An array's items are made when read (an int or a float by its type code): any one gives their type.
    Py_ssize_t n = Py_SIZE(seq);
    PyObject* made = PySequence_GetItem(seq, index >= 0 && index < n ? Py_ssize_t(index) : 0);
    if (!made) {
      PyErr_Clear();
      return nullptr;
    }
    PyObject* kept = hold(made);
    Py_DECREF(made);
    return kept;
  }
  if (!seq || !(PyList_CheckExact(seq) || PyTuple_CheckExact(seq))) return nullptr;
  Py_ssize_t n = Py_SIZE(seq);
  if (index < 0) index += n;
  if (index < 0 || index >= n) return nullptr;
  return hold(PyList_CheckExact(seq) ? PyList_GET_ITEM(seq, index) : PyTuple_GET_ITEM(seq, index));
}

PyObject* Samples::value(PyObject* dict, PyObject* key) {
  if (!dict || !PyDict_CheckExact(dict)) return nullptr;
  Py_ssize_t pos = 0;
  PyObject *k, *v, *first = nullptr;
  bool comparable = key && (PyUnicode_CheckExact(key) || PyLong_CheckExact(key));
  while (PyDict_Next(dict, &pos, &k, &v)) {
    if (!first) first = v;
    if (!comparable) break;
    // Only these comparisons: a key of any other type could run Python code in its __eq__.
    if (k == key) return hold(v);
    if (Py_TYPE(k) == Py_TYPE(key)) {
      int same = PyObject_RichCompareBool(k, key, Py_EQ);  // (exact int or str: only a memory error can fail)
      if (same < 0) {
        PyErr_Clear();
        break;
      }
      if (same) return hold(v);
    }
  }
  return first ? hold(first) : nullptr;
}

PyObject* Samples::firstYield(PyObject* iterable) {
  if (!iterable) return nullptr;
  if (auto it = yields_.find(iterable); it != yields_.end()) return it->second;
  if (PyDict_CheckExact(iterable)) {
    Py_ssize_t pos = 0;
    PyObject *k, *v;
    return PyDict_Next(iterable, &pos, &k, &v) ? hold(k) : nullptr;
  }
  return item(iterable, 0);
}

PyObject* Samples::zipped(bool enumerate, const std::vector<PyObject*>& iterables) {
  if (iterables.empty() || (enumerate && iterables.size() != 1)) return nullptr;
  std::vector<PyObject*> firsts;
  for (PyObject* x : iterables) {
    if (!x || !(PyList_CheckExact(x) || PyTuple_CheckExact(x)) || Py_SIZE(x) == 0) return nullptr;
    firsts.push_back(PyList_CheckExact(x) ? PyList_GET_ITEM(x, 0) : PyTuple_GET_ITEM(x, 0));
  }
  // Made from iterators of the held examples (list and tuple iterators run no Python code), never iterated.
  PyObject* args = PyTuple_New(Py_ssize_t(iterables.size()));
  PyObject* first = PyTuple_New(enumerate ? 2 : Py_ssize_t(firsts.size()));
  if (!args || !first) {
    Py_XDECREF(args);
    Py_XDECREF(first);
    PyErr_Clear();
    return nullptr;
  }
  for (size_t i = 0; i < iterables.size(); i++) PyTuple_SET_ITEM(args, Py_ssize_t(i), PyObject_GetIter(iterables[i]));
  if (enumerate) {
    PyTuple_SET_ITEM(first, 0, PyLong_FromLong(0));
    PyTuple_SET_ITEM(first, 1, Py_NewRef(firsts[0]));
  } else {
    for (size_t i = 0; i < firsts.size(); i++) PyTuple_SET_ITEM(first, Py_ssize_t(i), Py_NewRef(firsts[i]));
  }
  PyObject* maker = reinterpret_cast<PyObject*>(enumerate ? &PyEnum_Type : &PyZip_Type);
  PyObject* z = PyErr_Occurred() ? nullptr : PyObject_CallObject(maker, args);
  Py_DECREF(args);
  if (!z) {
    PyErr_Clear();
    Py_DECREF(first);
    return nullptr;
  }
  held_.push_back(z);      // the new references are the ones held
  held_.push_back(first);
  yields_[z] = first;
  return z;
}

PyObject* Samples::slice() {
  PyObject* s = PySlice_New(nullptr, nullptr, nullptr);
  if (!s) {
    PyErr_Clear();
    return nullptr;
  }
  held_.push_back(s);  // the new reference is the one held
  return s;
}

PyObject* Samples::attribute(PyObject* obj, PyObject* name) {
  if (!obj || !PyUnicode_CheckExact(name)) return nullptr;
  if (auto it = blanks().find(obj); it != blanks().end()) {
    auto a = it->second.attrs.find(PyUnicode_AsUTF8(name));
    return a == it->second.attrs.end() ? nullptr : hold(a->second);
  }
  PyTypeObject* tp = Py_TYPE(obj);
  // Only the generic lookup, and only where it runs no Python code: no __getattr__/__getattribute__ of the class,
  // and a class attribute of that name (if any) that is no descriptor, or a __slots__ member (a C getter). A
  // property, a method or any other descriptor is left alone.
  if (tp->tp_getattro != PyObject_GenericGetAttr) return nullptr;
  PyObject* descr = _PyType_Lookup(tp, name);
  if (descr && Py_TYPE(descr)->tp_descr_get && !Py_IS_TYPE(descr, &PyMemberDescr_Type)) return nullptr;
  PyObject* r = PyObject_GenericGetAttr(obj, name);
  if (!r) {
    PyErr_Clear();
    return nullptr;
  }
  hold(r);
  Py_DECREF(r);
  return r;
}

PyObject* Samples::sequence(bool tuple, const std::vector<PyObject*>& items) {
  PyObject* seq = tuple ? PyTuple_New(Py_ssize_t(items.size())) : PyList_New(Py_ssize_t(items.size()));
  if (!seq) {
    PyErr_Clear();
    return nullptr;
  }
  for (size_t i = 0; i < items.size(); i++) {
    PyObject* o = items[i] ? items[i] : Py_None;
    Py_INCREF(o);
    if (tuple) PyTuple_SET_ITEM(seq, Py_ssize_t(i), o);
    else PyList_SET_ITEM(seq, Py_ssize_t(i), o);
  }
  held_.push_back(seq);  // the new reference is the one held
  if (!tuple) madeLists_.push_back(seq);
  return seq;
}

void Samples::noteAppend(PyObject* list, PyObject* item) {
  if (!list || !item || !PyList_CheckExact(list) || PyList_GET_SIZE(list) != 0) return;
  // Only an example of our own: a list of the program's is never changed.
  if (std::find(madeLists_.begin(), madeLists_.end(), list) == madeLists_.end()) return;
  if (PyList_Append(list, item) < 0) PyErr_Clear();
}

PyObject* Samples::binaryResult(int nb, PyObject* a, PyObject* b) {
  // NB_ADD 0, NB_MULTIPLY 5, NB_INPLACE_ADD 13, NB_INPLACE_MULTIPLY 18 (Include/opcode.h).
  auto seq = [](PyObject* o) { return o && (PyList_CheckExact(o) || PyTuple_CheckExact(o)); };
  auto integer = [](PyObject* o) { return o && PyLong_CheckExact(o); };
  if (nb == 5 || nb == 18) {
    if (seq(a) && integer(b)) return a;
    if (integer(a) && seq(b)) return b;
  }
  if ((nb == 0 || nb == 13) && seq(a) && b && Py_TYPE(a) == Py_TYPE(b)) return a;
  return nullptr;
}

PyObject* Samples::ofType(ir::Type t) {
  PyObject* o = t == ir::Type::Int ? PyLong_FromLong(0) : t == ir::Type::Float ? PyFloat_FromDouble(0.0) : nullptr;
  if (!o) {
    PyErr_Clear();
    return nullptr;
  }
  held_.push_back(o);  // the new reference is the one held
  return o;
}

bool numberTag(PyObject* sample, ir::TypeTag* tag) {
  if (!sample) return false;
  if (PyFloat_CheckExact(sample)) {
    *tag = ir::TypeTag::Float;
    return true;
  }
  if (PyLong_CheckExact(sample)) {
    Py_ssize_t size = Py_SIZE(sample);
    if (size < -2 || size > 2) return false;
    *tag = ir::TypeTag::SmallInt;
    return true;
  }
  return false;
}

}  // namespace pypaccel::specialize
