// Exception handlers run natively in frame entries: PUSH_EXC_INFO, CHECK_EXC_MATCH, POP_EXCEPT, and DELETE_FAST
// (`except E as e` deletes `e` at the end of the handler). A handler is entered from the landing block
// Emitter::catchNatively makes at each raise inside its try; RERAISE and a bare `raise` stay exits (the interpreter
// re-raises without a new traceback entry, as CPython does). Also `raise X [from Y]` and the `with` statement.
#include "specialize/emitter.h"
#include "specialize/ops/calls.h"

namespace pypaccel::specialize {

using deopt::Reason;
using ir::ExitKind;

bool handle_PUSH_EXC_INFO(Emitter& e, const Instruction&) {
  if (e.opts.direct || e.stack.empty() || e.stack.back().type != Type::Obj)
    return e.exitNow(Reason::Unsupported, "PUSH_EXC_INFO");
  StackEntry exc = e.pop();
  e.push(Type::Obj, e.emit(Op::PushExcInfo, Type::Obj, {exc.v[0]}));
  e.push(exc);
  return true;
}

bool handle_CHECK_EXC_MATCH(Emitter& e, const Instruction&) {
  size_t n = e.stack.size();
  if (e.opts.direct || n < 2 || e.stack[n - 1].type != Type::Obj || e.stack[n - 2].type != Type::Obj)
    return e.exitNow(Reason::Unsupported, "CHECK_EXC_MATCH");
  StackEntry type = e.pop();
  int ex = e.makeExit(ExitKind::Raise, Reason::Raised, "CHECK_EXC_MATCH");
  e.push(Type::Bool, e.emit(Op::CheckExcMatch, Type::Bool, {e.stack.back().v[0], type.v[0]}, 0, ex));
  return true;
}

bool handle_POP_EXCEPT(Emitter& e, const Instruction&) {
  if (e.opts.direct || e.stack.empty() || e.stack.back().type != Type::Obj)
    return e.exitNow(Reason::Unsupported, "POP_EXCEPT");
  StackEntry previous = e.pop();
  e.emitVoid(Op::PopExcept, {previous.v[0]});
  return true;
}

bool handle_DELETE_FAST(Emitter& e, const Instruction& in) {
  // Only a local bound on every path here: deleting an unbound one raises UnboundLocalError (the interpreter's).
  if (e.opts.direct || in.arg >= int(e.locals.size()) || e.locals[in.arg].def != Def::Yes)
    return e.exitNow(Reason::Unsupported, "DELETE_FAST of a local that may be unbound");
  e.emitVoid(Op::StoreVar, {e.constBool(false)}, e.flagVar(in.arg));
  // The frame's slot, where an Obj local lives (Emitter::localsInFrame): its object is released here, and a callee
  // looking at this frame (f_locals) no longer sees the local.
  e.emitVoid(Op::ClearFrameLocal, {}, in.arg);
  e.locals[in.arg] = LocalState{};
  return true;
}

// RERAISE (an exception no handler of this try matched, a `finally` on the exception path): the interpreter
// re-raises it from here, with the traceback it already has.
bool handle_RERAISE(Emitter& e, const Instruction&) { return e.exitNow(Reason::Reraise, "RERAISE"); }

// `assert`: the AssertionError class itself, never a global of that name.
bool handle_LOAD_ASSERTION_ERROR(Emitter& e, const Instruction&) {
  int cls = e.emit(Op::LoadAssertionError, Type::Obj);
  e.emitVoid(Op::IncRef, {cls});
  e.push(Type::Obj, cls);
  return true;
}

bool handle_RAISE_VARARGS(Emitter& e, const Instruction& in) {
  if (in.arg == 0) return e.exitNow(Reason::Reraise, "bare raise");
  for (size_t i = e.stack.size() - size_t(in.arg); i < e.stack.size(); i++)
    if (!ir::isNumeric(e.stack[i].type) && e.stack[i].type != Type::Obj)
      return e.exitNow(Reason::Unsupported, "raise of a virtual value");
  // A direct call (no frame; nothing it runs may run Python code, and making an exception may: a class's
  // __init__) leaves at the statement, and the interpreter raises in the frame the exit makes, traceback and all.
  // Raising is the uncommon path (`raise IndexError` in a bounds check), so the direct entry stays worth having.
  if (e.opts.direct) return e.exitNow(Reason::RaiseStatement, "raise");
  std::vector<int> args(size_t(in.arg));
  for (int i = in.arg - 1; i >= 0; i--) args[size_t(i)] = e.box(e.pop());
  int ex = e.makeExit(ExitKind::Raise, Reason::Raised, "raise");
  e.emitVoid(Op::RaiseObj, args, 0, ex);
  e.emitVoid(Op::Exit, {}, 0, ex);
  return false;
}

// BEFORE_WITH as the interpreter does it: __enter__ then __exit__ looked up on the manager's type (a failed lookup
// raises with the manager, and the __enter__ found, still on the stack), the manager replaced by the bound
// __exit__, then __enter__ called like any callable (a raise in it unwinds with __exit__ on the stack).
bool handle_BEFORE_WITH(Emitter& e, const Instruction&) {
  StackEntry top = e.stack.back();
  if (!ir::isNumeric(top.type) && top.type != Type::Obj)
    return e.exitNow(Reason::Unsupported, "with on a virtual value");
  e.pop();
  int mgr = e.box(top);
  e.push(Type::Obj, mgr);
  int enter = e.emit(Op::WithMethod, Type::Obj, {mgr}, 0, e.makeExit(ExitKind::Raise, Reason::Raised, "BEFORE_WITH"));
  e.push(Type::Obj, enter);
  int exit = e.emit(Op::WithMethod, Type::Obj, {mgr}, 1, e.makeExit(ExitKind::Raise, Reason::Raised, "BEFORE_WITH"));
  e.stack.resize(e.stack.size() - 2);
  e.emitVoid(Op::DecRef, {mgr});
  e.push(Type::Obj, exit);
  e.push(Type::Null, -1);
  e.push(Type::Obj, enter);
  return callGeneric(e, 0, AfterCall::Nothing);  // BEFORE_WITH does not test the eval breaker
}

// WITH_EXCEPT_START, in the handler a raise inside a `with` body reaches: the stack is (__exit__, lasti, the
// previously handled exception, the exception); __exit__(type, exception, traceback)'s result is pushed.
bool handle_WITH_EXCEPT_START(Emitter& e, const Instruction&) {
  size_t n = e.stack.size();
  if (e.opts.direct || n < 4 || e.stack[n - 1].type != Type::Obj || e.stack[n - 4].type != Type::Obj)
    return e.exitNow(Reason::Unsupported, "WITH_EXCEPT_START");
  syncFrameLocals(e);
  int ex = e.makeExit(ExitKind::Raise, Reason::Raised, "WITH_EXCEPT_START");
  e.push(Type::Obj, e.emit(Op::WithExit, Type::Obj, {e.stack[n - 4].v[0], e.stack[n - 1].v[0]}, 0, ex));
  exitIfTracingAfterCall(e);
  return true;
}

}  // namespace pypaccel::specialize
