// Locals, constants and stack shuffles: LOAD_FAST, STORE_FAST, LOAD_CONST, POP_TOP, SWAP, COPY, PUSH_NULL, NOP,
// RESUME, RETURN_VALUE, BUILD_TUPLE.
#include "spec/emitter.h"

namespace pypaccel::spec {

using deopt::Reason;
using ir::ExitKind;

static bool hasValue(Type t) { return ir::isNumeric(t) || t == Type::Obj; }

bool handle_NOP(Emitter&, const Instruction&) { return true; }
bool handle_RESUME(Emitter&, const Instruction&) { return true; }

bool handle_PUSH_NULL(Emitter& e, const Instruction&) {
  e.push(Type::Null, -1);
  return true;
}

bool handle_POP_TOP(Emitter& e, const Instruction&) {
  if (e.stack.back().type == Type::Range || e.stack.back().type == Type::RangeIter) {
    e.pop();  // virtual: nothing to release
    return true;
  }
  e.discard(e.pop());
  return true;
}

bool handle_LOAD_CONST(Emitter& e, const Instruction& in) {
  PyObject* c = PyTuple_GET_ITEM(e.info.consts.get(), in.arg);
  if (PyBool_Check(c)) {
    e.push(Type::Bool, e.constBool(c == Py_True));
    return true;
  }
  if (PyLong_CheckExact(c)) {
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(c, &overflow);
    if (!overflow && !(v == -1 && PyErr_Occurred())) {
      e.push(Type::Int, e.constInt(v));
      return true;
    }
    PyErr_Clear();
  }
  if (PyFloat_CheckExact(c)) {
    e.push(Type::Float, e.constFloat(PyFloat_AS_DOUBLE(c)));
    return true;
  }
  e.pushSlotObj(e.constSlot(in.arg), c);
  return true;
}

bool handle_LOAD_FAST(Emitter& e, const Instruction& in) {
  LocalState l = e.locals[in.arg];
  if (l.def == Def::No) return e.exitNow(Reason::UnboundLocal, e.info.localNames[in.arg]);
  if (l.def == Def::Maybe) {
    int flag = e.emit(Op::LoadVar, Type::Bool, {}, e.flagVar(in.arg));
    int x = e.makeExit(ExitKind::Reexec, Reason::UnboundLocal, e.info.localNames[in.arg]);
    e.emitVoid(Op::CheckFlag, {flag}, 0, x);
    // From here on the local is known to be bound on this path.
    e.locals[in.arg].def = Def::Yes;
  }
  int v = e.emit(Op::LoadVar, l.type, {}, e.varFor(in.arg, l.type));
  if (l.type == Type::Obj) e.emitVoid(Op::IncRef, {v});
  StackEntry s;
  s.type = l.type;
  s.v[0] = v;
  if (ir::isNumeric(l.type) && e.stableArg(in.arg)) s.arg = in.arg;
  else if (ir::isNumeric(l.type) && l.alias >= 0) s.arg = l.alias;
  e.push(s);
  return true;
}

bool handle_STORE_FAST(Emitter& e, const Instruction& in) {
  if (!hasValue(e.stack.back().type)) return e.exitNow(Reason::Unsupported, "STORE_FAST of a virtual value");
  StackEntry v = e.pop();
  e.releaseLocal(in.arg);
  e.emitVoid(Op::StoreVar, {v.v[0]}, e.varFor(in.arg, v.type));
  if (e.locals[in.arg].def != Def::Yes) e.emitVoid(Op::StoreVar, {e.constBool(true)}, e.flagVar(in.arg));
  // A copy of an argument the code never stores to is still that argument's object (b = a; b is a).
  e.locals[in.arg] = LocalState{v.type, Def::Yes, ir::isNumeric(v.type) && v.arg >= 0 ? v.arg : -1};
  return true;
}

bool handle_SWAP(Emitter& e, const Instruction& in) {
  std::swap(e.stack[e.stack.size() - 1], e.stack[e.stack.size() - in.arg]);
  return true;
}

bool handle_COPY(Emitter& e, const Instruction& in) {
  StackEntry s = e.stack[e.stack.size() - in.arg];
  // Copying a virtual object would split one object's identity in two when it is materialized.
  if (!hasValue(s.type) && s.type != Type::Null) return e.exitNow(Reason::Unsupported, "COPY of a virtual value");
  if (s.type == Type::Obj) e.emitVoid(Op::IncRef, {s.v[0]});
  e.push(s);
  return true;
}

bool handle_RETURN_VALUE(Emitter& e, const Instruction&) {
  if (!hasValue(e.stack.back().type)) return e.exitNow(Reason::Unsupported, "RETURN_VALUE of a virtual value");
  StackEntry v = e.pop();
  return e.returnValue(v);
}

bool handle_BUILD_TUPLE(Emitter& e, const Instruction& in) {
  return e.buildFromStack(Op::BuildTuple, size_t(in.arg), "BUILD_TUPLE");
}

}  // namespace pypaccel::spec
