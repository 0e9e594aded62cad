// Generic operations on boxed objects, through CPython's own protocols. Each consumes its operands and returns
// NULL with the exception set on error; native code then leaves through a Raise exit at the same instruction.
#include "runtime/helpers.h"

#include "cpython/cpy.h"
#include "cpython/layout.h"

using pypaccel::runtime::NativeCtx;
using pypaccel::runtime::atInstruction;

namespace {

using BinFn = PyObject* (*)(PyObject*, PyObject*);

PyObject* powNoMod(PyObject* a, PyObject* b) { return PyNumber_Power(a, b, Py_None); }
PyObject* ipowNoMod(PyObject* a, PyObject* b) { return PyNumber_InPlacePower(a, b, Py_None); }

// Indexed by BINARY_OP's oparg (NB_* order).
const BinFn kBinary[26] = {
    PyNumber_Add,          PyNumber_And,           PyNumber_FloorDivide,   PyNumber_Lshift,
    PyNumber_MatrixMultiply, PyNumber_Multiply,    PyNumber_Remainder,     PyNumber_Or,
    powNoMod,              PyNumber_Rshift,        PyNumber_Subtract,      PyNumber_TrueDivide,
    PyNumber_Xor,          PyNumber_InPlaceAdd,    PyNumber_InPlaceAnd,    PyNumber_InPlaceFloorDivide,
    PyNumber_InPlaceLshift, PyNumber_InPlaceMatrixMultiply, PyNumber_InPlaceMultiply, PyNumber_InPlaceRemainder,
    PyNumber_InPlaceOr,    ipowNoMod,              PyNumber_InPlaceRshift, PyNumber_InPlaceSubtract,
    PyNumber_InPlaceTrueDivide, PyNumber_InPlaceXor,
};

}  // namespace

extern "C" PyObject* pypa_rt_binop(NativeCtx* ctx, int32_t nb, PyObject* a, PyObject* b, int32_t unit) {
  PyObject* r = nullptr;
  if (a && b && nb >= 0 && nb < 26) {
    atInstruction(ctx, unit);
    r = kBinary[nb](a, b);
  }
  Py_XDECREF(a);
  Py_XDECREF(b);
  return r;
}

extern "C" PyObject* pypa_rt_str_append_local(NativeCtx* ctx, int32_t nb, PyObject* left, PyObject* right,
                                              int32_t local, int32_t unit) {
  if (left && right && ctx->frame && PyUnicode_CheckExact(left) && PyUnicode_CheckExact(right)) {
    PyObject** slot = pypa_frame_localsplus(static_cast<PypaFrame*>(ctx->frame)) + local;
    if (*slot == left) {
      atInstruction(ctx, unit);
      // The operand's reference goes first: with only the local's left, PyUnicode_Append may resize in place.
      Py_DECREF(left);
      PyUnicode_Append(slot, right);  // on failure the local is left unbound, as in CPython
      Py_DECREF(right);
      Py_XINCREF(*slot);
      return *slot;
    }
  }
  return pypa_rt_binop(ctx, nb, left, right, unit);
}

extern "C" PyObject* pypa_rt_unary(NativeCtx* ctx, int32_t kind, PyObject* a, int32_t unit) {
  PyObject* r = nullptr;
  if (a) {
    atInstruction(ctx, unit);
    switch (kind) {
      case 0: r = PyNumber_Negative(a); break;
      case 1: r = PyNumber_Positive(a); break;
      case 2: r = PyNumber_Invert(a); break;
      default: PyErr_SetString(PyExc_SystemError, "pypaccel: bad unary kind");
    }
  }
  Py_XDECREF(a);
  return r;
}

extern "C" int64_t pypa_rt_len(NativeCtx* ctx, PyObject* a, int32_t unit) {
  // The builtin len() itself: sq_length or mp_length, and __len__'s own checks (negative, not an int, too big).
  atInstruction(ctx, unit);
  Py_ssize_t n = PyObject_Size(a);
  Py_DECREF(a);
  return n;
}

extern "C" int32_t pypa_rt_isinstance(NativeCtx* ctx, PyObject* obj, PyObject* cls, int32_t unit) {
  // PyObject_IsInstance's own first answers, which run no Python code: the exact type, and for a class whose
  // metaclass is type itself (no __instancecheck__ of its own) a subclass found in the MRO. Else the whole protocol
  // (__instancecheck__, a tuple of classes, obj.__class__).
  int r;
  if (Py_TYPE(obj) == reinterpret_cast<PyTypeObject*>(cls) ||
      (PyType_CheckExact(cls) && PyType_IsSubtype(Py_TYPE(obj), reinterpret_cast<PyTypeObject*>(cls)))) {
    r = 1;
  } else {
    atInstruction(ctx, unit);
    r = PyObject_IsInstance(obj, cls);
  }
  Py_DECREF(obj);
  Py_DECREF(cls);
  return r;
}

extern "C" PyObject* pypa_rt_compare(NativeCtx* ctx, int32_t op, PyObject* a, PyObject* b, int32_t unit) {
  PyObject* r = nullptr;
  if (a && b) {
    atInstruction(ctx, unit);
    r = PyObject_RichCompare(a, b, op);
  }
  Py_XDECREF(a);
  Py_XDECREF(b);
  return r;
}

extern "C" int32_t pypa_rt_truthy(NativeCtx* ctx, PyObject* a, int32_t unit) {
  if (!a) return -1;
  atInstruction(ctx, unit);
  int r = PyObject_IsTrue(a);
  Py_DECREF(a);
  return r;
}

extern "C" PyObject* pypa_rt_format_value(NativeCtx* ctx, PyObject* value, PyObject* spec, int32_t oparg,
                                          int32_t unit) {
  if (!value) {
    Py_XDECREF(spec);
    return nullptr;
  }
  atInstruction(ctx, unit);
  PyObject* (*conv)(PyObject*) = nullptr;
  switch (oparg & 3) {
    case 1: conv = PyObject_Str; break;
    case 2: conv = PyObject_Repr; break;
    case 3: conv = PyObject_ASCII; break;
    default: break;
  }
  if (conv) {
    PyObject* converted = conv(value);
    Py_DECREF(value);
    if (!converted) {
      Py_XDECREF(spec);
      return nullptr;
    }
    value = converted;
  }
  if (PyUnicode_CheckExact(value) && !spec) return value;  // format(s) of a str is s itself
  PyObject* r = PyObject_Format(value, spec);
  Py_DECREF(value);
  Py_XDECREF(spec);
  return r;
}

extern "C" PyObject* pypa_rt_build_string(NativeCtx*, PyObject** items, int32_t n) {
  bool ok = true;
  for (int32_t i = 0; i < n; i++) ok = ok && items[i];
  PyObject* empty = ok ? PyUnicode_New(0, 0) : nullptr;
  PyObject* r = empty ? _PyUnicode_JoinArray(empty, items, n) : nullptr;
  Py_XDECREF(empty);
  for (int32_t i = 0; i < n; i++) Py_XDECREF(items[i]);
  return r;
}

extern "C" PyObject* pypa_rt_box_range(int64_t start, int64_t stop, int64_t step) {
  return PyObject_CallFunction(reinterpret_cast<PyObject*>(&PyRange_Type), "LLL", (long long)start, (long long)stop,
                               (long long)step);
}

extern "C" int32_t pypa_rt_list_pop(PyObject* list, int64_t i, PyObject** out) {
  // list_pop_impl's: the item leaves the list by a slice deletion (the last one by shrinking the list).
  Py_ssize_t n = PyList_GET_SIZE(list);
  if (i < 0) i += n;
  if (n == 0 || i < 0 || i >= n) return 1;
  PyObject* item = Py_NewRef(PyList_GET_ITEM(list, i));
  if (PyList_SetSlice(list, Py_ssize_t(i), Py_ssize_t(i) + 1, nullptr) < 0) {
    Py_DECREF(item);
    return -1;
  }
  *out = item;
  return 0;
}

extern "C" int32_t pypa_rt_list_insert(PyObject* list, int64_t i, PyObject* value) {
  // PyList_Insert is list.insert's ins1 (which clamps the index as list.insert does).
  Py_ssize_t where = i < PY_SSIZE_T_MIN ? PY_SSIZE_T_MIN : i > PY_SSIZE_T_MAX ? PY_SSIZE_T_MAX : Py_ssize_t(i);
  return PyList_Insert(list, where, value);
}

extern "C" PyObject** pypa_rt_attr_dict_slot(PyObject* obj, int64_t word) { return pypa_attr_dict_slot(obj, word); }

extern "C" void pypa_rt_list_reverse_prefix(PyObject* list, int64_t k) {
  Py_ssize_t n = PyList_GET_SIZE(list);
  PyObject** items = &PyList_GET_ITEM(list, 0);  // (not read when the list is empty)
  for (Py_ssize_t lo = 0, hi = (k < n ? Py_ssize_t(k) : n - 1); lo < hi; lo++, hi--) std::swap(items[lo], items[hi]);
}

extern "C" PyObject* pypa_rt_str_char(PyObject* s, int64_t i) {
  // unicode_getitem's: the character as a str (latin-1 ones are cached singletons).
  return PyUnicode_FromOrdinal(int(PyUnicode_READ_CHAR(s, Py_ssize_t(i))));
}

extern "C" int64_t pypa_rt_str_ord(PyObject* s) {
  return PyUnicode_GET_LENGTH(s) == 1 ? int64_t(PyUnicode_READ_CHAR(s, 0)) : -1;
}

extern "C" PyObject* pypa_rt_box_range_iter(int64_t cur, int64_t stop, int64_t step) {
  PyObject* r = pypa_rt_box_range(cur, stop, step);
  if (!r) return nullptr;
  PyObject* it = PyObject_GetIter(r);
  Py_DECREF(r);
  return it;
}

extern "C" PyObject* pypa_rt_build_tuple(NativeCtx* ctx, PyObject** items, int32_t n) {
  bool ok = true;
  for (int32_t i = 0; i < n; i++) ok = ok && items[i];
  PyObject* t = ok ? PyTuple_New(n) : nullptr;
  if (!t) {
    for (int32_t i = 0; i < n; i++) Py_XDECREF(items[i]);
    return nullptr;
  }
  for (int32_t i = 0; i < n; i++) PyTuple_SET_ITEM(t, i, items[i]);
  return t;
}

namespace {

// The co_names entry `i` of the running code (borrowed).
PyObject* nameOf(NativeCtx* ctx, int32_t i) {
  // A direct entry has no frame: its function's code (an inlined copy runs with its own callee's context).
  PyCodeObject* code = ctx->frame ? pypa_frame_code(static_cast<PypaFrame*>(ctx->frame))
                                  : reinterpret_cast<PyCodeObject*>(PyFunction_GET_CODE(ctx->func));
  PyObject* names = pypa_code_names(code);
  return PyTuple_GET_ITEM(names, i);
}

}  // namespace

// A call through the vectorcall protocol, as CALL does: items[0] is the callable, items[1..n] the arguments, the
// last PyTuple_GET_SIZE(kwnames) of them by keyword. Every item is consumed (items[0]'s slot is also the
// PY_VECTORCALL_ARGUMENTS_OFFSET scratch slot callees may use).
extern "C" PyObject* pypa_rt_call(NativeCtx* ctx, PyObject** items, int32_t n, PyObject* kwnames, int32_t unit) {
  bool ok = true;
  for (int32_t i = 0; i <= n; i++) ok = ok && items[i];
  PyObject* r = nullptr;
  if (ok) {
    atInstruction(ctx, unit);
    PyObject* callable = items[0];
    Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
    r = PyObject_Vectorcall(callable, items + 1, size_t(n - nkw) | PY_VECTORCALL_ARGUMENTS_OFFSET, kwnames);
    items[0] = callable;  // a callee may have borrowed the slot
  }
  for (int32_t i = 0; i <= n; i++) Py_XDECREF(items[i]);
  return r;
}

extern "C" PyObject* pypa_rt_getattr(NativeCtx* ctx, PyObject* obj, int32_t name, int32_t unit) {
  PyObject* r = nullptr;
  if (obj) {
    atInstruction(ctx, unit);
    r = PyObject_GetAttr(obj, nameOf(ctx, name));
  }
  Py_XDECREF(obj);
  return r;
}

namespace {

// The entry of a 4-entry inline cache (AttrCache, MethodCache, TypeMethodCache: `words` words each, the version
// tag first) to fill for `version`: the one holding it already, else an empty one, else the one its low bits pick.
// Native code tries all four (codegen/lower_attributes.cpp findEntry).
int64_t* cacheEntryFor(int64_t* cache, uint32_t version, int words) {
  for (int k = 0; k < 4; k++)
    if (cache[k * words] == int64_t(version)) return cache + k * words;
  for (int k = 0; k < 4; k++)
    if (cache[k * words] == 0) return cache + k * words;
  return cache + words * (version & 3);
}

void refillAttrCache(PyObject* obj, PyObject* name, bool store, int64_t* cache) {
  uint32_t version = 0;
  int64_t word = 0;
  if (pypa_attr_cache_word(obj, name, store, &version, &word)) {
    int64_t* entry = cacheEntryFor(cache, version, 2);
    entry[0] = int64_t(version);
    entry[1] = word;
  }
}

}  // namespace

extern "C" PyObject* pypa_rt_getattr_cached(NativeCtx* ctx, PyObject* obj, int32_t name, int32_t unit,
                                            int64_t* cache) {
  if (!obj) return nullptr;
  atInstruction(ctx, unit);
  PyObject* n = nameOf(ctx, name);
  PyObject* r = PyObject_GetAttr(obj, n);
  if (r) refillAttrCache(obj, n, false, cache);
  Py_DECREF(obj);
  return r;
}

extern "C" int32_t pypa_rt_setattr_cached(NativeCtx* ctx, PyObject* obj, PyObject* value, int32_t name, int32_t unit,
                                          int64_t* cache) {
  int32_t r = -1;
  if (obj && value) {
    atInstruction(ctx, unit);
    PyObject* n = nameOf(ctx, name);
    r = PyObject_SetAttr(obj, n, value);
    if (r == 0) refillAttrCache(obj, n, true, cache);
  }
  Py_XDECREF(obj);
  Py_XDECREF(value);
  return r;
}

extern "C" int32_t pypa_rt_store_global(NativeCtx* ctx, int32_t name, PyObject* value, int32_t unit) {
  atInstruction(ctx, unit);
  int32_t r = PyDict_SetItem(ctx->globals, nameOf(ctx, name), value);
  Py_DECREF(value);
  return r;
}

extern "C" int32_t pypa_rt_attr_refill(NativeCtx* ctx, PyObject* obj, int32_t name, int32_t store, int64_t* cache) {
  uint32_t version = 0;
  int64_t word = 0;
  if (!pypa_attr_cache_word(obj, nameOf(ctx, name), store != 0, &version, &word)) return 0;
  int64_t* entry = cacheEntryFor(cache, version, 2);
  entry[0] = int64_t(version);
  entry[1] = word;
  return 1;
}

namespace {

PyObject* classLookup(NativeCtx* ctx, PyObject* obj, int32_t name, int values, int64_t* cache) {
  uint32_t version = 0;
  PyObject* func = nullptr;
  void* keys = nullptr;
  int64_t nentries = 0;
  if (!pypa_method_cache(obj, nameOf(ctx, name), values, &version, &func, &keys, &nentries)) return nullptr;
  int64_t* entry = cacheEntryFor(cache, version, 4);
  entry[0] = int64_t(version);
  entry[1] = reinterpret_cast<int64_t>(func);
  entry[2] = reinterpret_cast<int64_t>(keys);
  entry[3] = nentries;
  return func;
}

}  // namespace

extern "C" PyObject* pypa_rt_method_lookup(NativeCtx* ctx, PyObject* obj, int32_t name, int64_t* cache) {
  return classLookup(ctx, obj, name, 0, cache);
}

extern "C" PyObject* pypa_rt_class_value_lookup(NativeCtx* ctx, PyObject* obj, int32_t name, int64_t* cache) {
  return classLookup(ctx, obj, name, 1, cache);
}

extern "C" int32_t pypa_rt_instance_dict_lacks(NativeCtx* ctx, PyObject* obj, int32_t name) {
  return pypa_instance_dict_lacks(obj, nameOf(ctx, name));
}

extern "C" int32_t pypa_rt_instance_dict_store(NativeCtx* ctx, PyObject* obj, int32_t name, PyObject* value) {
  return pypa_instance_dict_store(obj, nameOf(ctx, name), value);
}

extern "C" void pypa_rt_copy_free_vars(PyObject* func, PyObject** localsplus, int32_t offset, int32_t n) {
  // As COPY_FREE_VARS: the frame's function's closure, a tuple of n cells.
  PyObject* closure = PyFunction_GET_CLOSURE(func);
  for (int32_t i = 0; i < n; i++) {
    PyObject* cell = PyTuple_GET_ITEM(closure, i);
    Py_INCREF(cell);
    localsplus[offset + i] = cell;
  }
}

extern "C" PyObject* pypa_rt_make_cell(PyObject** slot) {
  // As MAKE_CELL: the cell takes the slot's reference.
  PyObject* cell = PyCell_New(*slot);
  if (!cell) return nullptr;
  Py_XDECREF(*slot);
  *slot = cell;
  return cell;
}

extern "C" PyObject* pypa_rt_class_attr(NativeCtx* ctx, PyObject* type, int32_t name, int64_t* cache) {
  uint32_t version = 0;
  int64_t word = 0;
  if (!pypa_class_attr(reinterpret_cast<PyTypeObject*>(type), nameOf(ctx, name), &version, &word)) return nullptr;
  int64_t* entry = cacheEntryFor(cache, version, 2);
  entry[0] = int64_t(version);
  entry[1] = word;
  if (!(word & 1)) return reinterpret_cast<PyObject*>(word);
  return *reinterpret_cast<PyObject**>(reinterpret_cast<char*>(word & ~int64_t(1)) + pypa_staticmethod_callable_offset());
}

extern "C" PyObject* pypa_rt_type_method(PyObject* type, int32_t which, int64_t* cache) {
  uint32_t version = 0;
  PyObject* func = nullptr;
  if (!pypa_type_method(reinterpret_cast<PyTypeObject*>(type), which, &version, &func)) return nullptr;
  int64_t* entry = cacheEntryFor(cache, version, 2);
  entry[0] = int64_t(version);
  entry[1] = reinterpret_cast<int64_t>(func);
  return func;
}

extern "C" PyObject* pypa_rt_new_instance(PyObject* type) {
  return pypa_new_instance(reinterpret_cast<PyTypeObject*>(type));
}

extern "C" PyObject* pypa_rt_init_returned(PyObject* instance, PyObject* result, int64_t bits) {
  // A direct entry's unboxed result is boxed only for its type's name.
  if (pypaccel::runtime::isResultTag(result)) {
    double d;
    __builtin_memcpy(&d, &bits, sizeof(d));
    result = result == pypaccel::runtime::kTagInt     ? PyLong_FromLongLong(bits)
             : result == pypaccel::runtime::kTagFloat ? PyFloat_FromDouble(d)
                                                      : PyBool_FromLong(bits & 1);
  }
  if (result)
    PyErr_Format(PyExc_TypeError, "__init__() should return None, not '%.200s'", Py_TYPE(result)->tp_name);
  Py_XDECREF(result);
  Py_DECREF(instance);
  return nullptr;
}

extern "C" PyObject* pypa_rt_binop_result(PyObject* result, PyObject* a, PyObject* btype, int32_t oparg) {
  if (result != Py_NotImplemented) return result;
  Py_DECREF(result);
  pypa_binop_type_error(oparg, Py_TYPE(a), reinterpret_cast<PyTypeObject*>(btype));
  return nullptr;
}

namespace {

bool plainIndex(PyObject* x) { return x == Py_None || PyLong_CheckExact(x); }

// A key whose use as an index or slice of an exact list, tuple or str calls no Python code (__index__).
bool plainKey(PyObject* key) {
  if (PyLong_CheckExact(key)) return true;
  if (!PySlice_Check(key)) return false;
  auto* s = reinterpret_cast<PySliceObject*>(key);
  return plainIndex(s->start) && plainIndex(s->stop) && plainIndex(s->step);
}

}  // namespace

extern "C" int32_t pypa_rt_len_in_place(PyObject* obj, int64_t* out) {
  // Their lengths are C functions of their own, reading a size field.
  if (!(PyList_CheckExact(obj) || PyTuple_CheckExact(obj) || PyUnicode_CheckExact(obj) || PyBytes_CheckExact(obj) ||
        PyDict_CheckExact(obj) || PyAnySet_CheckExact(obj) || pypa_array_check_exact(obj)))
    return 0;
  *out = int64_t(PyObject_Length(obj));
  Py_DECREF(obj);
  return 1;
}

// Types whose rich comparison is C code that calls nothing else, whatever the other side of this list it meets.
static bool comparesInC(PyObject* o) {
  return PyUnicode_CheckExact(o) || PyLong_CheckExact(o) || PyFloat_CheckExact(o) || PyBytes_CheckExact(o) ||
         PyBool_Check(o) || o == Py_None;
}

extern "C" int32_t pypa_rt_compare_in_place(PyObject* a, PyObject* b, int32_t op) {
  if (!comparesInC(a) || !comparesInC(b)) return -1;
  // bytes against str warns under `python -b` (BytesWarning), and a warning may run Python code.
  if ((PyBytes_CheckExact(a) && PyUnicode_CheckExact(b)) || (PyUnicode_CheckExact(a) && PyBytes_CheckExact(b))) return -1;
  PyObject* r = PyObject_RichCompare(a, b, op);  // (not ...Bool: `nan == nan` is False, identity or not)
  if (!r || !PyBool_Check(r)) {
    // `"a" < 1`: a TypeError the interpreter raises itself when it does it again (no code ran here).
    if (!r) PyErr_Clear();
    Py_XDECREF(r);
    return -1;
  }
  int32_t yes = r == Py_True;
  Py_DECREF(r);
  Py_DECREF(a);
  Py_DECREF(b);
  return yes;
}

// Types whose number slots are C code that calls nothing else, whatever number of these it meets.
static bool computesInC(PyObject* o) { return PyLong_CheckExact(o) || PyFloat_CheckExact(o) || PyBool_Check(o); }

extern "C" int32_t pypa_rt_binop_in_place(PyObject* a, PyObject* b, int32_t nb, PyObject** out) {
  if (!computesInC(a) || !computesInC(b) || nb < 0 || nb >= 26) return 0;
  *out = kBinary[nb](a, b);
  Py_DECREF(a);
  Py_DECREF(b);
  return *out ? 1 : -1;
}

extern "C" int32_t pypa_rt_getitem_in_place(PyObject* container, PyObject* key, PyObject** out) {
  // (array.array's subscript makes an int or float, or a new array for a slice: no Python code.)
  bool seq = PyList_CheckExact(container) || PyTuple_CheckExact(container) || PyUnicode_CheckExact(container) ||
             pypa_array_check_exact(container);
  if (seq ? !plainKey(key) : !pypa_dict_plain_for(container, key)) return 0;
  *out = PyObject_GetItem(container, key);
  Py_DECREF(container);
  Py_DECREF(key);
  return *out ? 1 : -1;
}

extern "C" int32_t pypa_rt_setitem_in_place(PyObject* container, PyObject* key, PyObject* value) {
  if (PyDict_CheckExact(container)) {
    if (!pypa_dict_plain_for(container, key)) return 0;
    // The replaced value is released only after the new version is noted: its finalizer may change the dict.
    PyObject* old = PyDict_GetItemWithError(container, key);
    Py_XINCREF(old);
    int r = PyDict_SetItem(container, key, value);
    if (r == 0) pypa_dict_still_plain(container, key);
    Py_XDECREF(old);
    Py_DECREF(container);
    Py_DECREF(key);
    Py_DECREF(value);
    return r < 0 ? -1 : 1;
  }
  // An array converts an int, float or bool value in C (PyArg_Parse: a wrong one raises its TypeError, nothing
  // runs); any other value could have an __index__ or __float__.
  if (pypa_array_check_exact(container) && plainKey(key) &&
      (PyLong_CheckExact(value) || PyFloat_CheckExact(value) || PyBool_Check(value))) {
    int r = PyObject_SetItem(container, key, value);
    Py_DECREF(container);
    Py_DECREF(key);
    Py_DECREF(value);
    return r < 0 ? -1 : 1;
  }
  if (!PyList_CheckExact(container) || !plainKey(key)) return 0;
  // A slice takes its items from a list or tuple as they are (PySequence_Fast); anything else is iterated.
  if (PySlice_Check(key) && !(PyList_CheckExact(value) || PyTuple_CheckExact(value))) return 0;
  int r = PyObject_SetItem(container, key, value);
  Py_DECREF(container);
  Py_DECREF(key);
  Py_DECREF(value);
  return r < 0 ? -1 : 1;
}

extern "C" PyObject* pypa_rt_getitem(NativeCtx* ctx, PyObject* container, PyObject* key, int32_t unit) {
  PyObject* r = nullptr;
  if (container && key) {
    atInstruction(ctx, unit);
    r = PyObject_GetItem(container, key);
  }
  Py_XDECREF(container);
  Py_XDECREF(key);
  return r;
}

namespace {

// ceval.c's unpack_iterable: the same calls in the same order, so a generator, an iterator whose __next__ raises,
// or a sequence with the wrong length behaves and fails as there. `after` < 0: no starred target (UNPACK_SEQUENCE);
// else UNPACK_EX's, whose middle items become a list. Returns a new tuple of the targets in order (seq consumed).
PyObject* unpackIterable(PyObject* seq, int before, int after) {
  PyObject* it = PyObject_GetIter(seq);
  if (!it) {
    if (PyErr_ExceptionMatches(PyExc_TypeError) && Py_TYPE(seq)->tp_iter == nullptr && !PySequence_Check(seq)) {
      PyErr_Clear();
      PyErr_Format(PyExc_TypeError, "cannot unpack non-iterable %.200s object", Py_TYPE(seq)->tp_name);
    }
    Py_DECREF(seq);
    return nullptr;
  }
  Py_DECREF(seq);
  PyObject* out = PyTuple_New(after < 0 ? before : before + 1 + after);
  if (!out) {
    Py_DECREF(it);
    return nullptr;
  }
  auto fail = [&]() -> PyObject* {
    Py_DECREF(it);
    Py_DECREF(out);
    return nullptr;
  };
  for (int i = 0; i < before; i++) {
    PyObject* w = PyIter_Next(it);
    if (!w) {
      if (!PyErr_Occurred()) {
        if (after < 0)
          PyErr_Format(PyExc_ValueError, "not enough values to unpack (expected %d, got %d)", before, i);
        else
          PyErr_Format(PyExc_ValueError, "not enough values to unpack (expected at least %d, got %d)",
                       before + after, i);
      }
      return fail();
    }
    PyTuple_SET_ITEM(out, i, w);
  }
  if (after < 0) {
    PyObject* w = PyIter_Next(it);
    if (w) {
      Py_DECREF(w);
      PyErr_Format(PyExc_ValueError, "too many values to unpack (expected %d)", before);
    }
    if (PyErr_Occurred()) return fail();
    Py_DECREF(it);
    return out;
  }
  PyObject* rest = PySequence_List(it);
  if (!rest) return fail();
  Py_ssize_t n = PyList_GET_SIZE(rest);
  if (n < after) {
    PyErr_Format(PyExc_ValueError, "not enough values to unpack (expected at least %d, got %zd)", before + after,
                 before + n);
    Py_DECREF(rest);
    return fail();
  }
  // The last `after` items leave the list as ceval takes them (the list shrinks; their references move).
  for (int j = 0; j < after; j++) PyTuple_SET_ITEM(out, before + 1 + j, PyList_GET_ITEM(rest, n - after + j));
  Py_SET_SIZE(rest, n - after);
  PyTuple_SET_ITEM(out, before, rest);
  Py_DECREF(it);
  return out;
}

}  // namespace

extern "C" PyObject* pypa_rt_unpack(NativeCtx* ctx, PyObject* seq, int32_t n, int32_t unit) {
  if (!seq) return nullptr;
  atInstruction(ctx, unit);
  return unpackIterable(seq, n, -1);
}

extern "C" PyObject* pypa_rt_unpack_ex(NativeCtx* ctx, PyObject* seq, int32_t before, int32_t after, int32_t unit) {
  if (!seq) return nullptr;
  atInstruction(ctx, unit);
  return unpackIterable(seq, before, after);
}

extern "C" int32_t pypa_rt_setitem(NativeCtx* ctx, PyObject* container, PyObject* key, PyObject* value,
                                   int32_t unit) {
  int32_t r = -1;
  if (container && key && value) {
    atInstruction(ctx, unit);
    r = PyObject_SetItem(container, key, value);
  }
  Py_XDECREF(container);
  Py_XDECREF(key);
  Py_XDECREF(value);
  return r;
}

extern "C" PyObject* pypa_rt_build_slice(NativeCtx*, PyObject** items, int32_t n) {
  bool ok = true;  // a failed box (no memory) is a null item: PySlice_New would read it as None
  for (int32_t i = 0; i < n; i++) ok = ok && items[i];
  PyObject* s = ok ? PySlice_New(items[0], items[1], n == 3 ? items[2] : nullptr) : nullptr;
  for (int32_t i = 0; i < n; i++) Py_XDECREF(items[i]);
  return s;
}

namespace {

// PySlice_Unpack of slice(start, stop, step) with the bounds `given` (bits 0-2) and the others None: false with its
// ValueError for a zero step.
bool unpackSlice(int64_t* start, int64_t* stop, int64_t* step, int32_t given) {
  *step = given & 4 ? *step : 1;
  if (*step == 0) {
    PyErr_SetString(PyExc_ValueError, "slice step cannot be zero");
    return false;
  }
  if (*step < -PY_SSIZE_T_MAX) *step = -PY_SSIZE_T_MAX;  // so that -step cannot overflow
  if (!(given & 1)) *start = *step < 0 ? PY_SSIZE_T_MAX : 0;
  if (!(given & 2)) *stop = *step < 0 ? PY_SSIZE_T_MIN : PY_SSIZE_T_MAX;
  return true;
}

// The items seq[start::step] (slicelength of them, a step other than 1) as a new list or tuple of the same kind.
PyObject* steppedItems(PyObject* seq, Py_ssize_t start, Py_ssize_t step, Py_ssize_t n) {
  PyObject* out = PyList_CheckExact(seq) ? PyList_New(n) : PyTuple_New(n);
  if (!out || n == 0) return out;
  PyObject** from = PySequence_Fast_ITEMS(seq);
  PyObject** to = PySequence_Fast_ITEMS(out);
  for (Py_ssize_t i = 0, cur = start; i < n; i++, cur += step) {
    to[i] = from[cur];
    Py_INCREF(to[i]);
  }
  return out;
}

// seq[slice(start, stop, step)] through a slice object, as BINARY_SUBSCR does it.
PyObject* viaSliceObject(PyObject* seq, int64_t start, int64_t stop, int64_t step, int32_t given) {
  PyObject* parts[3] = {given & 1 ? PyLong_FromLongLong(start) : Py_NewRef(Py_None),
                        given & 2 ? PyLong_FromLongLong(stop) : Py_NewRef(Py_None),
                        given & 4 ? PyLong_FromLongLong(step) : Py_NewRef(Py_None)};
  PyObject* r = nullptr;
  if (parts[0] && parts[1] && parts[2]) {
    PyObject* slice = PySlice_New(parts[0], parts[1], parts[2]);
    if (slice) {
      r = PyObject_GetItem(seq, slice);
      Py_DECREF(slice);
    }
  }
  for (PyObject* p : parts) Py_XDECREF(p);
  return r;
}

}  // namespace

extern "C" PyObject* pypa_rt_seq_slice(PyObject* seq, int64_t start, int64_t stop, int64_t step, int32_t given) {
  PyObject* r = nullptr;
  bool str = PyUnicode_CheckExact(seq);
  if (str && (given & 4)) {
    r = viaSliceObject(seq, start, stop, step, given);  // a stepped str slice: unicode_subscript's own loop
  } else if (unpackSlice(&start, &stop, &step, given)) {
    Py_ssize_t lo = start, hi = stop;
    Py_ssize_t n = PySlice_AdjustIndices(str ? PyUnicode_GET_LENGTH(seq) : Py_SIZE(seq), &lo, &hi, step);
    if (str) {
      r = PyUnicode_Substring(seq, lo, lo + n);  // (a full exact str is itself, as in unicode_subscript)
    } else if (step == 1) {
      r = PyList_CheckExact(seq) ? PyList_GetSlice(seq, lo, lo + n) : PyTuple_GetSlice(seq, lo, lo + n);
    } else {
      r = steppedItems(seq, lo, step, n);
    }
  }
  Py_DECREF(seq);
  return r;
}

extern "C" int32_t pypa_rt_list_assign_slice(PyObject* list, int64_t start, int64_t stop, PyObject* value,
                                             int32_t given) {
  int64_t step = 1;
  unpackSlice(&start, &stop, &step, given & 3);
  Py_ssize_t lo = start, hi = stop;
  PySlice_AdjustIndices(PyList_GET_SIZE(list), &lo, &hi, 1);
  if (PyList_CheckExact(value) && value != list && Py_REFCNT(value) == 1 && hi > lo &&
      PyList_GET_SIZE(value) == hi - lo) {
    // As many items from a list nothing else holds (a slice made for this store: fannkuch's
    // `a[:k + 1] = a[k::-1]`): the items change places, and releasing the value list releases the old ones, in
    // the order list_ass_slice releases them (last first), after the list has its new items. No buffer, no moves.
    pypa_list_swap_items(list, lo, value, hi - lo);
    Py_DECREF(list);
    Py_DECREF(value);
    return 0;
  }
  int r = PyList_SetSlice(list, lo, hi, value);  // list_ass_slice, as list_ass_subscript calls it for a step of 1
  Py_DECREF(list);
  Py_DECREF(value);
  return r;
}

extern "C" PyObject* pypa_rt_build_list(NativeCtx*, PyObject** items, int32_t n) {
  bool ok = true;
  for (int32_t i = 0; i < n; i++) ok = ok && items[i];
  PyObject* l = ok ? PyList_New(n) : nullptr;
  if (!l) {
    for (int32_t i = 0; i < n; i++) Py_XDECREF(items[i]);
    return nullptr;
  }
  for (int32_t i = 0; i < n; i++) PyList_SET_ITEM(l, i, items[i]);
  return l;
}

extern "C" PyObject* pypa_rt_get_iter(NativeCtx* ctx, PyObject* obj, int32_t unit) {
  PyObject* r = nullptr;
  if (obj) {
    atInstruction(ctx, unit);
    r = PyObject_GetIter(obj);
  }
  Py_XDECREF(obj);
  return r;
}

// As FOR_ITER: StopIteration raised by the iterator ends the loop like exhaustion does.
extern "C" PyObject* pypa_rt_iter_next(NativeCtx* ctx, PyObject* it, int32_t unit) {
  atInstruction(ctx, unit);
  PyObject* r = (*Py_TYPE(it)->tp_iternext)(it);
  if (r) return r;
  if (PyErr_Occurred()) {
    if (!PyErr_ExceptionMatches(PyExc_StopIteration)) return PYPA_ITER_ERROR;
    PyErr_Clear();
  }
  return nullptr;
}

extern "C" int32_t pypa_rt_list_append(PyObject* list, PyObject* value) {
  if (!value) return -1;
  int r = PyList_Append(list, value);
  Py_DECREF(value);
  return r;
}

// Only for tuples and lists (the compiler emits it when it knows the iterable is one): other iterables need
// LIST_EXTEND's own error message, so they stay in the interpreter.
extern "C" int32_t pypa_rt_list_extend(NativeCtx* ctx, PyObject* list, PyObject* iterable, int32_t unit) {
  int32_t r = -1;
  if (iterable) {
    atInstruction(ctx, unit);
    PyObject* none = _PyList_Extend(reinterpret_cast<PyListObject*>(list), iterable);
    r = none ? 0 : -1;
    Py_XDECREF(none);
  }
  Py_XDECREF(iterable);
  return r;
}

namespace {

// What the interpreter's _PyDict_FromItems does (it is not exported): insert in order, later keys win.
PyObject* dictFrom(PyObject* const* keys, int keyStep, PyObject* const* values, int valueStep, int32_t n) {
  PyObject* d = _PyDict_NewPresized(n);
  if (!d) return nullptr;
  for (int32_t i = 0; i < n; i++) {
    if (PyDict_SetItem(d, keys[i * keyStep], values[i * valueStep]) < 0) {
      Py_DECREF(d);
      return nullptr;
    }
  }
  return d;
}

}  // namespace

extern "C" PyObject* pypa_rt_build_map(NativeCtx* ctx, PyObject** items, int32_t npairs, int32_t unit) {
  bool ok = true;
  for (int32_t i = 0; i < 2 * npairs; i++) ok = ok && items[i];
  PyObject* d = nullptr;
  if (ok) {
    atInstruction(ctx, unit);
    d = dictFrom(items, 2, items + 1, 2, npairs);
  }
  for (int32_t i = 0; i < 2 * npairs; i++) Py_XDECREF(items[i]);
  return d;
}

extern "C" PyObject* pypa_rt_build_const_key_map(NativeCtx* ctx, PyObject* keys, PyObject** values, int32_t n,
                                                 int32_t unit) {
  bool ok = keys != nullptr;
  for (int32_t i = 0; i < n; i++) ok = ok && values[i];
  PyObject* d = nullptr;
  if (ok) {
    atInstruction(ctx, unit);
    d = dictFrom(&PyTuple_GET_ITEM(keys, 0), 1, values, 1, n);
  }
  Py_XDECREF(keys);
  for (int32_t i = 0; i < n; i++) Py_XDECREF(values[i]);
  return d;
}

// As MAKE_FUNCTION: items[0] is the code object, then, for each flag set, in this order: closure (0x08),
// annotations (0x04), keyword defaults (0x02), defaults (0x01). All consumed.
extern "C" PyObject* pypa_rt_make_function(NativeCtx* ctx, PyObject** items, int32_t flags) {
  int n = 1 + ((flags & 8) != 0) + ((flags & 4) != 0) + ((flags & 2) != 0) + ((flags & 1) != 0);
  bool ok = true;
  for (int i = 0; i < n; i++) ok = ok && items[i];
  PyObject* func = ok ? PyFunction_New(items[0], ctx->globals) : nullptr;
  Py_XDECREF(items[0]);
  int i = 1;
  for (int bit = 0; bit < 4; bit++) {
    if (!(flags & (8 >> bit))) continue;
    if (!func) {
      Py_XDECREF(items[i++]);
      continue;
    }
    pypa_function_set_made_attr(func, 8 >> bit, items[i++]);  // takes the item's reference
  }
  return func;
}
