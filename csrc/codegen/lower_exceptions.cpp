// Lowering of native exception handlers (frame entries): catching at a raise inside a try, the handled-exception
// state, `except` matching, DELETE_FAST's frame slot; `raise`, and the lookups and __exit__ call of `with`. The
// helpers are in runtime/exceptions.cpp.
#include "codegen/lowerer.h"

namespace pypaccel::codegen {

using ir::Op;

template <>
void Lowerer::lower<Op::CatchException>(const ir::Instr& in) {
  // Null: tracing came on in a callee; the interpreter unwinds instead (it reports the 'exception' event and
  // traces the handler), through the Raise exit this landing replaced.
  llvm::Value* exc =
      call(runtime::Helper::pypa_rt_catch, {ctxArg(), b.getInt32(int32_t(in.imm))});
  llvm::BasicBlock* caught = llvm::BasicBlock::Create(ctx, "caught", func);
  b.CreateCondBr(b.CreateIsNull(exc), realExitBlock(in.exit), caught);
  b.SetInsertPoint(caught);
  def(in.id, exc);
}

template <>
void Lowerer::lower<Op::PushExcInfo>(const ir::Instr& in) {
  def(in.id, call(runtime::Helper::pypa_rt_push_exc_info, {ctxArg(), val(in.args[0])}));
}

template <>
void Lowerer::lower<Op::PopExcept>(const ir::Instr& in) {
  call(runtime::Helper::pypa_rt_pop_except, {ctxArg(), val(in.args[0])});
}

template <>
void Lowerer::lower<Op::CheckExcMatch>(const ir::Instr& in) {
  llvm::Value* unit = b.getInt32(exitUnit(in.exit));
  llvm::Value* r = callChecked(runtime::Helper::pypa_rt_check_exc_match,
                               {ctxArg(), val(in.args[0]), val(in.args[1]), unit}, in.exit);
  def(in.id, b.CreateICmpSGT(r, b.getInt32(0)));
}

template <>
void Lowerer::lower<Op::RaiseObj>(const ir::Instr& in) {
  llvm::Value* cause =
      in.args.size() > 1 ? val(in.args[1]) : llvm::ConstantPointerNull::get(llvm::PointerType::get(ctx, 0));
  call(runtime::Helper::pypa_rt_raise, {ctxArg(), val(in.args[0]), cause, b.getInt32(exitUnit(in.exit))});
}

template <>
void Lowerer::lower<Op::WithMethod>(const ir::Instr& in) {
  llvm::Value* unit = b.getInt32(exitUnit(in.exit));
  def(in.id, callChecked(runtime::Helper::pypa_rt_with_method,
                         {ctxArg(), val(in.args[0]), b.getInt32(int32_t(in.imm)), unit}, in.exit));
}

template <>
void Lowerer::lower<Op::WithExit>(const ir::Instr& in) {
  llvm::Value* unit = b.getInt32(exitUnit(in.exit));
  def(in.id,
      callChecked(runtime::Helper::pypa_rt_with_exit, {ctxArg(), val(in.args[0]), val(in.args[1]), unit}, in.exit));
}

template <>
void Lowerer::lower<Op::LoadAssertionError>(const ir::Instr& in) {
  def(in.id, b.CreateLoad(ptr, pySymbol("PyExc_AssertionError")));
}

template <>
void Lowerer::lower<Op::ClearFrameLocal>(const ir::Instr& in) {
  replaceFrameLocal(in.imm, llvm::ConstantPointerNull::get(llvm::PointerType::get(ctx, 0)));
}

}  // namespace pypaccel::codegen
