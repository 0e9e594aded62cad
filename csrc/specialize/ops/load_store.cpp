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

// Cells and free variables. The prologue before RESUME makes them: MAKE_CELL for each cell of the function's own,
// COPY_FREE_VARS for the closure's cells. A cell that is no argument, and every free variable, lives in the frame
// slots past the locals (CPython's layout), which the IR does not track, so exits leave them where they are. An
// argument's cell replaces the argument in its own slot: from MAKE_CELL on, that local is the cell (an Obj in the
// frame, as STORE_FAST leaves one), and no LOAD_FAST or STORE_FAST of it follows (the bytecode compiler uses the
// DEREF forms for every access). Only frame entries hold MakeCell, CopyFreeVars and LoadArg (ir_ops.def: Frame).
bool handle_MAKE_CELL(Emitter& e, const Instruction& in) {
  int ex = e.makeExit(ExitKind::Raise, Reason::Raised, "MAKE_CELL");
  int cell = e.emit(Op::MakeCell, Type::Obj, {}, in.arg, ex);
  if (in.arg >= e.info.nlocals) return true;
  e.emitVoid(Op::StoreVar, {cell}, e.varFor(in.arg, Type::Obj));
  if (e.locals[in.arg].def != Def::Yes) e.emitVoid(Op::StoreVar, {e.constBool(true)}, e.flagVar(in.arg));
  e.locals[in.arg] = LocalState{Type::Obj, Def::Yes, Org::None, false};
  return true;
}

bool handle_COPY_FREE_VARS(Emitter& e, const Instruction& in) {
  e.emitVoid(Op::CopyFreeVars, {}, in.arg);
  return true;
}

// The cell at localsplus index `index` (borrowed: the frame holds it), or -1 after an exit when it is not one.
static int cellAt(Emitter& e, int index, const char* what) {
  if (index >= e.info.nlocals) return e.emit(Op::LoadArg, Type::Obj, {}, index);
  if (e.locals[index].type != Type::Obj || e.locals[index].def != Def::Yes) {
    e.exitNow(Reason::Unsupported, std::string(what) + " of an argument before its MAKE_CELL");
    return -1;
  }
  return e.loadLocal(index).v[0];
}

bool handle_LOAD_DEREF(Emitter& e, const Instruction& in) {
  int cell = cellAt(e, in.arg, "LOAD_DEREF");
  if (cell < 0) return false;
  int ex = e.makeExit(ExitKind::Reexec, Reason::UnboundLocal, "LOAD_DEREF");
  e.push(Type::Obj, e.emit(Op::LoadCell, Type::Obj, {cell}, 0, ex));
  return true;
}

bool handle_STORE_DEREF(Emitter& e, const Instruction& in) {
  if (!ir::isNumeric(e.stack.back().type) && e.stack.back().type != Type::Obj)
    return e.exitNow(Reason::Unsupported, "STORE_DEREF of a virtual value");
  int cell = cellAt(e, in.arg, "STORE_DEREF");
  if (cell < 0) return false;
  e.emitVoid(Op::StoreCell, {cell, e.box(e.pop())});
  return true;
}

bool handle_DELETE_DEREF(Emitter& e, const Instruction& in) {
  int cell = cellAt(e, in.arg, "DELETE_DEREF");
  if (cell < 0) return false;
  e.emitVoid(Op::DeleteCell, {cell}, 0, e.makeExit(ExitKind::Reexec, Reason::UnboundLocal, "DELETE_DEREF"));
  return true;
}

// The cell itself (passed on to a function made here: MAKE_FUNCTION's closure tuple).
bool handle_LOAD_CLOSURE(Emitter& e, const Instruction& in) {
  int cell = cellAt(e, in.arg, "LOAD_CLOSURE");
  if (cell < 0) return false;
  e.emitVoid(Op::IncRef, {cell});
  e.push(Type::Obj, cell);
  return true;
}

}  // namespace pypaccel::specialize
