// Lowering of native exception handlers (frame entries): catching at a raise inside a try, the handled-exception
// state, `except` matching, and DELETE_FAST's frame slot. The helpers are in runtime/exceptions.cpp.
#include "codegen/lowerer.h"

namespace pypaccel::codegen {

using ir::Op;

bool Lowerer::lowerExceptions(const ir::Instr& in) {
  switch (in.op) {
    case Op::CatchException: {
      // Null: tracing came on in a callee; the interpreter unwinds instead (it reports the 'exception' event and
      // traces the handler), through the Raise exit this landing replaced.
      llvm::Value* exc =
          b.CreateCall(helper("pypa_rt_catch", ptr, {ptr, i32}), {ctxArg(), b.getInt32(int32_t(in.imm))});
      llvm::BasicBlock* caught = llvm::BasicBlock::Create(ctx, "caught", func);
      b.CreateCondBr(b.CreateIsNull(exc), realExitBlock(in.exit), caught);
      b.SetInsertPoint(caught);
      def(in.id, exc);
      return true;
    }
    case Op::PushExcInfo:
      def(in.id, b.CreateCall(helper("pypa_rt_push_exc_info", ptr, {ptr, ptr}), {ctxArg(), val(in.args[0])}));
      return true;
    case Op::PopExcept:
      b.CreateCall(helper("pypa_rt_pop_except", b.getVoidTy(), {ptr, ptr}), {ctxArg(), val(in.args[0])});
      return true;
    case Op::CheckExcMatch: {
      int32_t unit = in.exit >= 0 ? fn.exits[in.exit].unit : 0;
      llvm::Value* r = b.CreateCall(helper("pypa_rt_check_exc_match", i32, {ptr, ptr, ptr, i32}),
                                    {ctxArg(), val(in.args[0]), val(in.args[1]), b.getInt32(unit)});
      guard(b.CreateICmpSLT(r, b.getInt32(0)), in.exit);
      def(in.id, b.CreateICmpSGT(r, b.getInt32(0)));
      return true;
    }
    case Op::ClearFrameLocal:
      replaceFrameLocal(in.imm, llvm::ConstantPointerNull::get(llvm::PointerType::get(ctx, 0)));
      return true;
    default: return false;
  }
}

}  // namespace pypaccel::codegen
