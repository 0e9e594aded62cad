// Attributes, subscripts and lists on boxed objects, through CPython's own protocols (PyObject_GetAttr,
// PyObject_GetItem, ...): no type knowledge needed, and an exception leaves through a Raise exit at the instruction.
#include "cpython/cpy.h"
#include "deopt/specialization.h"
#include "specialize/emitter.h"
#include "specialize/ops/math_calls.h"

namespace pypaccel::specialize {

using deopt::Reason;
using ir::ExitKind;

namespace {

bool hasValue(Type t) { return ir::isNumeric(t) || t == Type::Obj; }

// A new inline cache of kind `head` (AttrCache for GetAttrCached/SetAttrCached, MethodCache for LoadMethodCached,
// slot_kinds.def) for co_names[name]: the immediate of its op (the first slot | the name's index << 32).
int64_t cacheSite(Emitter& e, ir::SlotKind head, int name) {
  int slot = int(e.fn.slots.size());
  PyObject* n = PyTuple_GET_ITEM(e.info.names.get(), name);
  e.fn.slots.push_back(ir::Slot{head, 0, PyUnicode_Check(n) ? PyUnicode_AsUTF8(n) : ""});
  for (int k = 0; k < ir::slotGroupWords(head); k++) e.fn.slots.push_back(ir::Slot{ir::slotWordKind(head), 0, ""});
  return int64_t(slot) | (int64_t(name) << 32);
}

int64_t attrSite(Emitter& e, int name) { return cacheSite(e, ir::SlotKind::AttrCache, name); }

// `local.name` (and `local.name = v`): the attribute op borrows the local's object instead of consuming the reference
// LOAD_FAST took, which is dropped (no reference count update at all: CPython's LOAD_FAST + LOAD_ATTR make two).
// The frame or the entry holds the local throughout: nothing the lookup runs can rebind it.
int64_t ownerFlag(Emitter& e, int obj) { return e.dropLocalLoadReference(obj) ? ir::kAttrOwnerBorrowed : 0; }
int64_t methodSite(Emitter& e, int name) { return cacheSite(e, ir::SlotKind::MethodCache, name); }

// `C.name` of a class (known, or predicted from the example) whose metaclass is type: a constant of the class, a
// function, a staticmethod's callable, read from a cache by C's version tag (LoadClassAttr); or `obj.name` of an
// instance (predicted) where it is a class attribute that is no descriptor and no instance attribute shadows it
// (LoadClassValue). Either exits where that no longer holds, and widened (it kept exiting) takes the generic path.
// LOAD_METHOD leaves [NULL, value], the function's call then direct where it can be. False: not such an attribute.
bool loadClassAttribute(Emitter& e, const Instruction& in, bool method) {
  StackEntry owner = e.stack.back();
  PyObject* cls = owner.known ? owner.known : e.sampleOf(owner);
  PyObject* name = PyTuple_GET_ITEM(e.info.names.get(), in.arg);
  if (owner.type != Type::Obj || !cls || e.opts.widen.count(in.unit)) return false;
  uint32_t version;
  PyObject* value = nullptr;
  ir::Op op;
  int64_t site;
  if (PyType_Check(cls)) {
    int64_t word;
    if (!pypa_class_attr(reinterpret_cast<PyTypeObject*>(cls), name, &version, &word)) return false;
    value = reinterpret_cast<PyObject*>(word & ~int64_t(1));
    if (word & 1) value = *reinterpret_cast<PyObject**>(reinterpret_cast<char*>(value) + pypa_staticmethod_callable_offset());
    op = Op::LoadClassAttr;
    site = int64_t(e.fn.slots.size()) | int64_t(in.arg) << 32;
    e.fn.slots.push_back(ir::Slot{ir::SlotKind::TypeMethodCache, 0, PyUnicode_AsUTF8(name)});
    for (int k = 0; k < ir::slotGroupWords(ir::SlotKind::TypeMethodCache); k++)
      e.fn.slots.push_back(ir::Slot{ir::slotWordKind(ir::SlotKind::TypeMethodCache), 0, ""});
  } else {
    void* keys;
    int64_t nentries;
    if (method || !pypa_method_cache(cls, name, 1, &version, &value, &keys, &nentries)) return false;
    op = Op::LoadClassValue;
    site = methodSite(e, in.arg);
  }
  int ex = e.makeExit(ExitKind::Reexec, Reason::Predicted, method ? "LOAD_METHOD" : "LOAD_ATTR");
  int obj = e.box(e.pop());
  int v = e.emit(op, Type::Obj, {obj}, site, ex);
  e.emitVoid(Op::IncRef, {v});
  e.emitVoid(Op::DecRef, {obj});
  if (method) e.push(Type::Null, -1);
  StackEntry r;
  r.type = Type::Obj;
  r.v[0] = v;
  r.hint = value;  // a function: the direct call's callee, which its site guards
  if (e.opts.samples) r.sample = e.opts.samples->keep(value);
  e.push(r);
  return true;
}

}  // namespace

bool handle_LOAD_ATTR(Emitter& e, const Instruction& in) {
  if (!hasValue(e.stack.back().type)) return e.exitNow(Reason::Unsupported, "LOAD_ATTR on a virtual value");
  if (loadModuleFunction(e, in)) return true;
  PyObject* sample = e.sampleOf(e.stack.back());
  if (loadClassAttribute(e, in, false)) return true;
  if (e.opts.direct) {
    // No frame: in place or an exit (the interpreter runs whatever code the lookup may run).
    int ex = e.makeExit(ExitKind::Reexec, Reason::Predicted, "LOAD_ATTR");
    int obj = e.box(e.pop());
    e.push(Type::Obj, e.emit(Op::GetAttrInPlace, Type::Obj, {obj}, attrSite(e, in.arg) | ownerFlag(e, obj), ex));
  } else {
    int obj = e.box(e.pop());
    int ex = e.makeExit(ExitKind::Raise, Reason::Raised, "LOAD_ATTR");
    e.push(Type::Obj, e.emit(Op::GetAttrCached, Type::Obj, {obj}, attrSite(e, in.arg) | ownerFlag(e, obj), ex));
  }
  if (e.opts.samples) e.stack.back().sample = e.opts.samples->attribute(sample, PyTuple_GET_ITEM(e.info.names.get(), in.arg));
  return true;
}

// A method of a user class, predicted from the example object (the call compiled had one there): the interpreter's
// method form [function, self], no bound method made, and the function from a method cache
// (LOAD_METHOD_WITH_VALUES). Another type, or an attribute that shadows the method, exits here; where that kept
// happening (widened), the generic form below.
static bool loadMethodCached(Emitter& e, const Instruction& in) {
  StackEntry self = e.stack.back();
  PyObject* sample = e.sampleOf(self);
  if (self.type != Type::Obj || !sample || e.opts.widen.count(in.unit)) return false;
  uint32_t version;
  PyObject* func;
  void* keys;
  int64_t nentries;
  if (!pypa_method_cache(sample, PyTuple_GET_ITEM(e.info.names.get(), in.arg), 0, &version, &func, &keys, &nentries))
    return false;
  int ex = e.makeExit(ExitKind::Reexec, Reason::Predicted, "LOAD_METHOD");
  int fn = e.emit(Op::LoadMethodCached, Type::Obj, {self.v[0]}, methodSite(e, in.arg), ex);
  e.emitVoid(Op::IncRef, {fn});
  e.pop();
  StackEntry method;
  method.type = Type::Obj;
  method.v[0] = fn;
  method.hint = func;  // what the example's class has: the direct call's callee, which its site guards
  e.push(method);
  e.push(self);
  return true;
}

// LOAD_METHOD as LOAD_ATTR plus a NULL: the bound method is called like any callable. The interpreter's own
// unbound-method shortcut saves creating it; the stack shape (NULL, callable) is one the interpreter's CALL
// accepts too, so an exit between here and the call resumes correctly.
namespace {

// `s.split(...)`, `xs.append(...)`, `d.get(...)` on what is predicted an exact str, list, tuple or dict: the method
// descriptor and the object itself, as LOAD_METHOD leaves them (no bound method), so the CALL calls the descriptor
// with the object first (what 3.11's PRECALL_NO_KW_METHOD_DESCRIPTOR_* call). One GuardType (Reexec: the
// interpreter loads the method); a builtin type's methods cannot be replaced.
bool loadBuiltinMethod(Emitter& e, const Instruction& in) {
  const StackEntry& owner = e.stack.back();
  PyObject* sample = e.sampleOf(owner);
  const char* type = sample && owner.type == Type::Obj ? deopt::builtinTypeName(sample) : nullptr;
  const char* name = type ? PyUnicode_AsUTF8(PyTuple_GET_ITEM(e.info.names.get(), in.arg)) : nullptr;
  if (!name || e.opts.widen.count(in.unit)) {
    PyErr_Clear();
    return false;
  }
  ir::TypeTag tag;
  PyObject* m = deopt::builtinMethod(type, name, &tag);
  if (!m) return false;
  int ex = e.makeExit(ExitKind::Reexec, Reason::Predicted, "LOAD_METHOD");
  e.emitVoid(Op::GuardType, {owner.v[0]}, int64_t(tag), ex);
  int slot = int(e.fn.slots.size());
  e.fn.slots.push_back(ir::Slot{ir::SlotKind::BuiltinMethod, 0, std::string(type) + "." + name});
  StackEntry self = e.pop();
  e.pushSlotObj(slot, m, m);  // (the hint: what the call knows it calls, runsNoPythonCode)
  e.push(self);
  return true;
}

}  // namespace

bool handle_LOAD_METHOD(Emitter& e, const Instruction& in) {
  if (loadModuleFunction(e, in)) return true;
  if (!hasValue(e.stack.back().type)) return e.exitNow(Reason::Unsupported, "LOAD_METHOD on a virtual value");
  if (loadBuiltinMethod(e, in)) return true;
  if (loadMethodCached(e, in)) return true;
  if (loadClassAttribute(e, in, true)) return true;
  int obj = e.box(e.pop());
  int ex = e.makeExit(ExitKind::Raise, Reason::Raised, "LOAD_METHOD");
  int attr = e.emit(Op::GetAttr, Type::Obj, {obj}, in.arg, ex);
  e.push(Type::Null, -1);
  e.push(Type::Obj, attr);
  return true;
}

bool handle_STORE_ATTR(Emitter& e, const Instruction& in) {
  // TOS is the object, TOS1 the value.
  if (!hasValue(e.stack.back().type) || !hasValue(e.stack[e.stack.size() - 2].type))
    return e.exitNow(Reason::Unsupported, "STORE_ATTR on a virtual value");
  if (e.opts.samples)
    e.opts.samples->noteStore(e.sampleOf(e.stack.back()), PyTuple_GET_ITEM(e.info.names.get(), in.arg),
                              e.exampleOf(e.stack[e.stack.size() - 2]));
  if (e.opts.direct) {
    int ex = e.makeExit(ExitKind::Reexec, Reason::Predicted, "STORE_ATTR");
    int obj = e.box(e.pop());
    int value = e.box(e.pop());
    e.emitVoid(Op::SetAttrInPlace, {obj, value}, attrSite(e, in.arg) | ownerFlag(e, obj), ex);
    return true;
  }
  int obj = e.box(e.pop());
  int value = e.box(e.pop());
  int ex = e.makeExit(ExitKind::Raise, Reason::Raised, "STORE_ATTR");
  e.emitVoid(Op::SetAttrCached, {obj, value}, attrSite(e, in.arg) | ownerFlag(e, obj), ex);
  return true;
}

// `item in container` (oparg 1: `not in`): PySequence_Contains(container, item) on any objects, as CPython does.
bool handle_CONTAINS_OP(Emitter& e, const Instruction& in) {
  if (!e.callApiOnStack(runtime::Helper::PySequence_Contains, {1, 0}, Type::Bool, "CONTAINS_OP")) return false;
  if (in.arg) e.push(Type::Bool, e.emit(Op::BoolNot, Type::Bool, {e.pop().v[0]}));
  return true;
}

bool handle_BUILD_LIST(Emitter& e, const Instruction& in) {
  return e.buildFromStack(Op::BuildList, size_t(in.arg), "BUILD_LIST");
}

bool handle_LIST_APPEND(Emitter& e, const Instruction& in) {
  // list.append(TOS) for the list at STACK[-(arg + 1)] after the pop (comprehensions).
  size_t n = e.stack.size();
  if (size_t(in.arg) + 1 > n || !hasValue(e.stack.back().type) || e.stack[n - 1 - in.arg].type != Type::Obj)
    return e.exitNow(Reason::Unsupported, "LIST_APPEND");
  int list = e.stack[n - 1 - in.arg].v[0];
  int value = e.box(e.pop());
  int ex = e.makeExit(ExitKind::Raise, Reason::Raised, "LIST_APPEND");
  e.emitVoid(Op::ListAppend, {list, value}, 0, ex);
  return true;
}

bool handle_LIST_EXTEND(Emitter& e, const Instruction& in) {
  // Natively only for a tuple or list constant ([1, 2, 3] is BUILD_LIST 0, LOAD_CONST (1, 2, 3), LIST_EXTEND 1):
  // other iterables need the interpreter's own error message ("Value after * must be an iterable...").
  size_t n = e.stack.size();
  const StackEntry& it = e.stack.back();
  if (size_t(in.arg) + 1 > n || it.type != Type::Obj || !it.known ||
      !(PyTuple_CheckExact(it.known) || PyList_CheckExact(it.known)) || e.stack[n - 1 - in.arg].type != Type::Obj)
    return e.exitNow(Reason::Unsupported, "LIST_EXTEND of an iterable that is not a known tuple");
  int list = e.stack[n - 1 - in.arg].v[0];
  int iterable = e.box(e.pop());
  int ex = e.makeExit(ExitKind::Raise, Reason::Raised, "LIST_EXTEND");
  e.emitVoid(Op::ListExtend, {list, iterable}, 0, ex);
  return true;
}

bool handle_BUILD_MAP(Emitter& e, const Instruction& in) {
  size_t n = 2 * size_t(in.arg);
  for (size_t i = e.stack.size() - n; i < e.stack.size(); i++)
    if (!hasValue(e.stack[i].type)) return e.exitNow(Reason::Unsupported, "BUILD_MAP of a virtual value");
  std::vector<int> items;
  for (size_t i = e.stack.size() - n; i < e.stack.size(); i++) items.push_back(e.box(e.stack[i]));
  e.stack.resize(e.stack.size() - n);
  int ex = e.makeExit(ExitKind::Raise, Reason::Raised, "BUILD_MAP");
  e.push(Type::Obj, e.emit(Op::BuildMap, Type::Obj, items, 0, ex));
  return true;
}

bool handle_BUILD_CONST_KEY_MAP(Emitter& e, const Instruction& in) {
  // TOS is the tuple of keys (a constant), below it the values.
  size_t n = size_t(in.arg);
  const StackEntry& keys = e.stack.back();
  if (keys.type != Type::Obj || !keys.known || !PyTuple_CheckExact(keys.known) ||
      PyTuple_GET_SIZE(keys.known) != Py_ssize_t(n))
    return e.exitNow(Reason::Unsupported, "BUILD_CONST_KEY_MAP without a known key tuple");
  for (size_t i = e.stack.size() - n - 1; i < e.stack.size() - 1; i++)
    if (!hasValue(e.stack[i].type)) return e.exitNow(Reason::Unsupported, "BUILD_CONST_KEY_MAP of a virtual value");
  std::vector<int> items{e.box(e.stack.back())};
  for (size_t i = e.stack.size() - n - 1; i < e.stack.size() - 1; i++) items.push_back(e.box(e.stack[i]));
  e.stack.resize(e.stack.size() - n - 1);
  int ex = e.makeExit(ExitKind::Raise, Reason::Raised, "BUILD_CONST_KEY_MAP");
  e.push(Type::Obj, e.emit(Op::BuildConstKeyMap, Type::Obj, items, 0, ex));
  return true;
}

bool handle_MAKE_FUNCTION(Emitter& e, const Instruction& in) {
  // TOS is the code object; below it, for each flag, in this order: closure, annotations, kwdefaults, defaults.
  int flags = in.arg & 0x0f;
  size_t n = 1 + __builtin_popcount(unsigned(flags));
  if (e.stack.size() < n) return e.fail(deopt::Refusal::ShortStack, {"MAKE_FUNCTION"});
  for (size_t i = e.stack.size() - n; i < e.stack.size(); i++)
    if (!hasValue(e.stack[i].type)) return e.exitNow(Reason::Unsupported, "MAKE_FUNCTION of a virtual value");
  std::vector<int> items;
  for (size_t k = 0; k < n; k++) items.push_back(e.box(e.stack[e.stack.size() - 1 - k]));  // code first
  e.stack.resize(e.stack.size() - n);
  int ex = e.makeExit(ExitKind::Raise, Reason::Raised, "MAKE_FUNCTION");
  e.push(Type::Obj, e.emit(Op::MakeFunction, Type::Obj, items, flags, ex));
  return true;
}

}  // namespace pypaccel::specialize
