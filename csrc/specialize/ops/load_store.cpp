// Locals, constants and stack shuffles: LOAD_FAST, STORE_FAST, LOAD_CONST, POP_TOP, SWAP, COPY, PUSH_NULL, NOP,
// RESUME, RETURN_VALUE, BUILD_TUPLE.
#include "specialize/emitter.h"

namespace pypaccel::specialize {

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
  // A number keeps the constant object as its origin: boxed, it is that object (`x = 0.0; x is 0.0`).
  auto pushConst = [&](Type t, int v) {
    StackEntry s;
    s.type = t;
    s.v[0] = v;
    s.origin = e.emit(Op::LoadSlotObj, Type::Obj, {}, e.constSlot(in.arg));
    s.originConst = true;
    e.push(s);
    return true;
  };
  if (PyLong_CheckExact(c)) {
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(c, &overflow);
    if (!overflow && !(v == -1 && PyErr_Occurred())) return pushConst(Type::Int, e.constInt(v));
    PyErr_Clear();
  }
  if (PyFloat_CheckExact(c)) return pushConst(Type::Float, e.constFloat(PyFloat_AS_DOUBLE(c)));
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
  StackEntry s = e.loadLocal(in.arg);
  if (l.type == Type::Obj) e.emitVoid(Op::IncRef, {s.v[0]});
  if (l.type == Type::Obj && e.opts.samples) s.sample = e.opts.samples->local(in.arg);
  e.push(s);
  return true;
}

bool handle_STORE_FAST(Emitter& e, const Instruction& in) {
  if (!hasValue(e.stack.back().type)) return e.exitNow(Reason::Unsupported, "STORE_FAST of a virtual value");
  StackEntry v = e.pop();
  const LocalState old = e.locals[in.arg];
  if (v.type == Type::Obj && e.opts.samples) e.opts.samples->setLocal(in.arg, e.sampleOf(v));
  if (!e.localsInFrame()) {
    e.releaseLocal(in.arg);
  } else if (v.type == Type::Obj) {
    // CPython's STORE_FAST: the frame slot gets the value, the old one is released now (__del__, weakref
    // callbacks, a file's close happen here, not at the return).
    e.emitVoid(Op::SetFrameLocal, {v.v[0]}, in.arg);
  } else if (old.type == Type::Obj && old.def != Def::No) {
    e.emitVoid(Op::ClearFrameLocal, {}, in.arg);  // a number now: the old object goes
  }
  e.emitVoid(Op::StoreVar, {v.v[0]}, e.varFor(in.arg, v.type));
  if (old.def != Def::Yes) e.emitVoid(Op::StoreVar, {e.constBool(true)}, e.flagVar(in.arg));
  // A number that is an existing object unchanged (b = a, x = 0.0) stays that object.
  LocalState now{v.type, Def::Yes, Org::None, false};
  if (hasOrigin(v.type) && v.origin >= 0) {
    e.emitVoid(Op::StoreVar, {v.origin}, e.originVar(in.arg));
    now.org = v.originMaybeNull ? Org::Maybe : Org::Yes;
    now.orgConst = v.originConst;
  }
  e.locals[in.arg] = now;
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
  if (e.opts.samples) e.opts.samples->setReturned(e.exampleOf(v));
  return e.returnValue(v);
}

bool handle_BUILD_TUPLE(Emitter& e, const Instruction& in) {
  return e.buildFromStack(Op::BuildTuple, size_t(in.arg), "BUILD_TUPLE");
}

}  // namespace pypaccel::specialize

namespace pypaccel::specialize {

// Free variables of a function with a closure (and no cells of its own, code_info.cpp): their cells are in the
// frame's last slots (CopyFreeVars, the prologue before RESUME), never among the locals the IR tracks, so exits
// leave them where they are. Only frame entries hold these ops (ir_ops.def: Frame).
bool handle_COPY_FREE_VARS(Emitter& e, const Instruction& in) {
  e.emitVoid(Op::CopyFreeVars, {}, in.arg);
  return true;
}

bool handle_LOAD_DEREF(Emitter& e, const Instruction& in) {
  if (in.arg < e.info.nlocals) return e.exitNow(Reason::Unsupported, "LOAD_DEREF of a cell");
  int ex = e.makeExit(ExitKind::Reexec, Reason::UnboundLocal, "LOAD_DEREF");
  e.push(Type::Obj, e.emit(Op::LoadFree, Type::Obj, {}, in.arg, ex));
  return true;
}

bool handle_STORE_DEREF(Emitter& e, const Instruction& in) {
  if (in.arg < e.info.nlocals) return e.exitNow(Reason::Unsupported, "STORE_DEREF of a cell");
  if (!ir::isNumeric(e.stack.back().type) && e.stack.back().type != Type::Obj)
    return e.exitNow(Reason::Unsupported, "STORE_DEREF of a virtual value");
  e.emitVoid(Op::StoreFree, {e.box(e.pop())}, in.arg);
  return true;
}

// The cell itself (a free variable passed on to a function made here: MAKE_FUNCTION's closure tuple).
bool handle_LOAD_CLOSURE(Emitter& e, const Instruction& in) {
  if (in.arg < e.info.nlocals) return e.exitNow(Reason::Unsupported, "LOAD_CLOSURE of a cell");
  int cell = e.emit(Op::LoadArg, Type::Obj, {}, in.arg);
  e.emitVoid(Op::IncRef, {cell});
  e.push(Type::Obj, cell);
  return true;
}

}  // namespace pypaccel::specialize
