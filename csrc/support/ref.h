// Ref<>: an owned PyObject reference (the C++ side's only way to hold one).
#pragma once
#include <Python.h>
#include <utility>

namespace pypaccel::support {

class Ref {
 public:
  Ref() = default;
  static Ref steal(PyObject* o) { return Ref(o); }
  static Ref borrow(PyObject* o) {
    Py_XINCREF(o);
    return Ref(o);
  }
  Ref(const Ref& o) : obj_(o.obj_) { Py_XINCREF(obj_); }
  Ref(Ref&& o) noexcept : obj_(std::exchange(o.obj_, nullptr)) {}
  Ref& operator=(Ref o) noexcept {
    std::swap(obj_, o.obj_);
    return *this;
  }
  ~Ref() { Py_XDECREF(obj_); }
  PyObject* get() const { return obj_; }
  PyObject* release() { return std::exchange(obj_, nullptr); }
  explicit operator bool() const { return obj_ != nullptr; }

 private:
  explicit Ref(PyObject* o) : obj_(o) {}
  PyObject* obj_ = nullptr;
};

}  // namespace pypaccel::support
