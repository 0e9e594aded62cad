// Exception handlers run natively in frame entries: PUSH_EXC_INFO, CHECK_EXC_MATCH, POP_EXCEPT, and DELETE_FAST
// (`except E as e` deletes `e` at the end of the handler). A handler is entered from the landing block
// Emitter::catchNatively makes at each raise inside its try; RERAISE stays an exit (the interpreter re-raises
// without a new traceback entry, as CPython does).
#include "spec/emitter.h"

namespace pypaccel::spec {

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
  e.releaseLocal(in.arg);
  e.emitVoid(Op::StoreVar, {e.constBool(false)}, e.flagVar(in.arg));
  // The frame's slot too: a callee looking at this frame (f_locals) no longer sees the local.
  e.emitVoid(Op::ClearFrameLocal, {}, in.arg);
  e.locals[in.arg] = LocalState{};
  return true;
}

}  // namespace pypaccel::spec
