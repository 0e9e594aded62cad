// Lowering of native exception handlers (frame entries): catching at a raise inside a try, the handled-exception
// state, `except` matching, DELETE_FAST's frame slot; `raise`, and the lookups and __exit__ call of `with`. The
// helpers are in runtime/exceptions.cpp.
#include "codegen/lowerer.h"

namespace pypaccel::codegen {

using ir::Op;

bool Lowerer::lowerExceptions(const ir::Instr& in) {
  auto exitUnit = [&](int exitId) { return exitId >= 0 ? fn.exits[exitId].unit : 0; };
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
      llvm::Value* r = b.CreateCall(helper("pypa_rt_check_exc_match", i32, {ptr, ptr, ptr, i32}),
                                    {ctxArg(), val(in.args[0]), val(in.args[1]), b.getInt32(exitUnit(in.exit))});
      guard(b.CreateICmpSLT(r, b.getInt32(0)), in.exit);
      def(in.id, b.CreateICmpSGT(r, b.getInt32(0)));
      return true;
    }
    case Op::RaiseObj: {
      llvm::Value* cause =
          in.args.size() > 1 ? val(in.args[1]) : llvm::ConstantPointerNull::get(llvm::PointerType::get(ctx, 0));
      b.CreateCall(helper("pypa_rt_raise", b.getVoidTy(), {ptr, ptr, ptr, i32}),
                   {ctxArg(), val(in.args[0]), cause, b.getInt32(exitUnit(in.exit))});
      return true;
    }
    case Op::WithMethod: {
      llvm::Value* m =
          b.CreateCall(helper("pypa_rt_with_method", ptr, {ptr, ptr, i32, i32}),
                       {ctxArg(), val(in.args[0]), b.getInt32(int32_t(in.imm)), b.getInt32(exitUnit(in.exit))});
      guard(b.CreateIsNull(m), in.exit);
      def(in.id, m);
      return true;
    }
    case Op::WithExit: {
      llvm::Value* r = b.CreateCall(helper("pypa_rt_with_exit", ptr, {ptr, ptr, ptr, i32}),
                                    {ctxArg(), val(in.args[0]), val(in.args[1]), b.getInt32(exitUnit(in.exit))});
      guard(b.CreateIsNull(r), in.exit);
      def(in.id, r);
      return true;
    }
    case Op::LoadAssertionError: def(in.id, b.CreateLoad(ptr, pySymbol("PyExc_AssertionError"))); return true;
    case Op::ClearFrameLocal:
      replaceFrameLocal(in.imm, llvm::ConstantPointerNull::get(llvm::PointerType::get(ctx, 0)));
      return true;
    default: return false;
  }
}

}  // namespace pypaccel::codegen
