// Jumps: unconditional, conditional (pop and jump on truth/None), and JUMP_IF_*_OR_POP. Backward jumps poll
// the eval breaker so signals, Ctrl-C and GIL hand-offs reach long native loops.
#include "specialize/emitter.h"

namespace pypaccel::specialize {

using deopt::Reason;
using ir::ExitKind;

int truthOf(Emitter& e, const StackEntry& a);  // arith.cpp

static void poll(Emitter& e) {
  int reexec = e.makeExit(ExitKind::Reexec, Reason::EvalBreaker, "eval breaker");
  int raise = e.makeExit(ExitKind::Raise, Reason::Raised, "signal handler");
  e.emitVoid(Op::Poll, {}, 0, reexec);
  e.cur->instrs.back().exit2 = raise;
}

bool handle_JUMP_FORWARD(Emitter& e, const Instruction& in) { return e.jumpTo(in.target); }

bool handle_JUMP_BACKWARD(Emitter& e, const Instruction& in) {
  poll(e);
  return e.jumpTo(in.target);
}

bool handle_JUMP_BACKWARD_NO_INTERRUPT(Emitter& e, const Instruction& in) { return e.jumpTo(in.target); }

// Pops the condition; returns its truth as a Bool value, or -1 after ending the block.
static int popCondition(Emitter& e, const char* what) {
  StackEntry c = e.stack.back();
  if (ir::isNumeric(c.type)) {
    int t = truthOf(e, c);
    e.pop();
    return t;
  }
  if (c.type == Type::Obj && e.predictsTruth(c)) {
    // A predicted bool, None or number: one guard, then its truth in registers (a direct entry can do this).
    int t = e.truthPredicted(c, e.makeExit(ExitKind::Reexec, Reason::Predicted, what));
    e.pop();
    e.emitVoid(Op::DecRef, {c.v[0]});
    return t;
  }
  if (c.type == Type::Obj) {
    e.pop();
    int ex = e.makeExit(ExitKind::Raise, Reason::Raised, what);
    return e.emit(Op::ObjTruthy, Type::Bool, {c.v[0]}, 0, ex);
  }
  e.exitNow(Reason::Unsupported, std::string(what) + " on a virtual value");
  return -1;
}

static bool popJumpIf(Emitter& e, const Instruction& in, bool jumpWhen, bool backward, const char* what) {
  if (backward) poll(e);
  int t = popCondition(e, what);
  if (t < 0) return false;
  return jumpWhen ? e.branch(t, in.target, in.next) : e.branch(t, in.next, in.target);
}

bool handle_POP_JUMP_FORWARD_IF_FALSE(Emitter& e, const Instruction& in) {
  return popJumpIf(e, in, false, false, "POP_JUMP_FORWARD_IF_FALSE");
}
bool handle_POP_JUMP_FORWARD_IF_TRUE(Emitter& e, const Instruction& in) {
  return popJumpIf(e, in, true, false, "POP_JUMP_FORWARD_IF_TRUE");
}
bool handle_POP_JUMP_BACKWARD_IF_FALSE(Emitter& e, const Instruction& in) {
  return popJumpIf(e, in, false, true, "POP_JUMP_BACKWARD_IF_FALSE");
}
bool handle_POP_JUMP_BACKWARD_IF_TRUE(Emitter& e, const Instruction& in) {
  return popJumpIf(e, in, true, true, "POP_JUMP_BACKWARD_IF_TRUE");
}

static bool popJumpIfNone(Emitter& e, const Instruction& in, bool jumpIfNone, bool backward) {
  StackEntry c = e.stack.back();
  if (ir::isNumeric(c.type)) {  // a number is never None
    e.pop();
    if (jumpIfNone) return true;
    if (backward) poll(e);
    return e.jumpTo(in.target);
  }
  if (c.type != Type::Obj) return e.exitNow(Reason::Unsupported, "POP_JUMP_IF_NONE on a virtual value");
  if (backward) poll(e);
  int isNone = e.emit(Op::IsNone, Type::Bool, {c.v[0]});
  e.pop();
  e.discard(c);
  return jumpIfNone ? e.branch(isNone, in.target, in.next) : e.branch(isNone, in.next, in.target);
}

bool handle_POP_JUMP_FORWARD_IF_NONE(Emitter& e, const Instruction& in) { return popJumpIfNone(e, in, true, false); }
bool handle_POP_JUMP_FORWARD_IF_NOT_NONE(Emitter& e, const Instruction& in) {
  return popJumpIfNone(e, in, false, false);
}
bool handle_POP_JUMP_BACKWARD_IF_NONE(Emitter& e, const Instruction& in) { return popJumpIfNone(e, in, true, true); }
bool handle_POP_JUMP_BACKWARD_IF_NOT_NONE(Emitter& e, const Instruction& in) {
  return popJumpIfNone(e, in, false, true);
}

// JUMP_IF_X_OR_POP: jump keeping the value when its truth is X, else pop it and fall through.
static bool jumpIfOrPop(Emitter& e, const Instruction& in, bool jumpWhen) {
  StackEntry c = e.stack.back();
  int t;
  if (ir::isNumeric(c.type)) {
    t = truthOf(e, c);
  } else if (c.type == Type::Obj && e.predictsTruth(c)) {
    t = e.truthPredicted(c, e.makeExit(ExitKind::Reexec, Reason::Predicted, "JUMP_IF_OR_POP"));
  } else if (c.type == Type::Obj) {
    e.emitVoid(Op::IncRef, {c.v[0]});  // ObjTruthy consumes; the value itself stays on the stack
    int ex = e.makeExit(ExitKind::Raise, Reason::Raised, "JUMP_IF_OR_POP");
    t = e.emit(Op::ObjTruthy, Type::Bool, {c.v[0]}, 0, ex);
  } else {
    return e.exitNow(Reason::Unsupported, "JUMP_IF_OR_POP on a virtual value");
  }
  std::vector<StackEntry> kept = e.stack;
  std::vector<StackEntry> popped(e.stack.begin(), e.stack.end() - 1);
  std::vector<StackEntry> drop = {c};
  if (jumpWhen) return e.branch(t, in.target, in.next, &kept, &popped, {}, drop);
  return e.branch(t, in.next, in.target, &popped, &kept, drop, {});
}

bool handle_JUMP_IF_FALSE_OR_POP(Emitter& e, const Instruction& in) { return jumpIfOrPop(e, in, false); }
bool handle_JUMP_IF_TRUE_OR_POP(Emitter& e, const Instruction& in) { return jumpIfOrPop(e, in, true); }

}  // namespace pypaccel::specialize
