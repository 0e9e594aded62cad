#include "specialize/samples.h"

namespace pypaccel::specialize {

Samples::~Samples() {
  for (PyObject* o : held_) Py_DECREF(o);
}

PyObject* Samples::hold(PyObject* o) {
  if (!o) return nullptr;
  Py_INCREF(o);
  held_.push_back(o);
  return o;
}

PyObject* Samples::instanceOf(PyTypeObject* tp) const {
  for (PyObject* o : held_)
    if (Py_TYPE(o) == tp) return o;
  return nullptr;
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
  if (!seq || !(PyList_CheckExact(seq) || PyTuple_CheckExact(seq))) return nullptr;
  Py_ssize_t n = Py_SIZE(seq);
  if (index < 0) index += n;
  if (index < 0 || index >= n) return nullptr;
  return hold(PyList_CheckExact(seq) ? PyList_GET_ITEM(seq, index) : PyTuple_GET_ITEM(seq, index));
}

PyObject* Samples::firstYield(PyObject* iterable) {
  if (!iterable) return nullptr;
  if (PyDict_CheckExact(iterable)) {
    Py_ssize_t pos = 0;
    PyObject *k, *v;
    return PyDict_Next(iterable, &pos, &k, &v) ? hold(k) : nullptr;
  }
  return item(iterable, 0);
}

PyObject* Samples::attribute(PyObject* obj, PyObject* name) {
  if (!obj || !PyUnicode_CheckExact(name)) return nullptr;
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
  return seq;
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
