// Lowering of the checks native code makes to stay valid: global bindings and module attributes (dict versions),
// tracing, bound flags, virtual ranges, and the eval-breaker poll.

#include <llvm/IR/MDBuilder.h>
#include "codegen/lowerer.h"
#include "runtime/native_ctx.h"

namespace pypaccel::codegen {

using ir::Op;
using runtime::Helper;

template <>
void Lowerer::lower<Op::GuardGlobal>(const ir::Instr& in) {
  // Fast path: neither dict changed since the last check. Slow path: re-check the binding's identity.
  const ir::GlobalGuard& g = fn.globals[in.imm];
  auto version = [&](unsigned field) {
    return b.CreateLoad(i64, b.CreateConstInBoundsGEP1_64(i8, ctxField(field), PYPA_DICT_VERSION_OFFSET));
  };
  llvm::Value* changed = b.CreateICmpNE(version(runtime::kCtxGlobals), b.CreateLoad(i64, slotAddr(g.globalsVerSlot)));
  if (g.builtinsVerSlot >= 0)
    changed = b.CreateOr(changed, b.CreateICmpNE(version(runtime::kCtxBuiltins),
                                                 b.CreateLoad(i64, slotAddr(g.builtinsVerSlot))));
  llvm::BasicBlock* slow = llvm::BasicBlock::Create(ctx, "global_recheck", func);
  llvm::BasicBlock* done = llvm::BasicBlock::Create(ctx, "global_ok", func);
  b.CreateCondBr(changed, slow, done);
  b.SetInsertPoint(slow);
  llvm::Value* ok = coldCall(runtime::Helper::pypa_rt_global_check, {ctxArg(true), b.getInt32(in.imm)});
  guard(b.CreateICmpEQ(ok, b.getInt32(0)), in.exit);
  b.CreateBr(done);
  b.SetInsertPoint(done);
  if (fn.stressExits) guard(b.getFalse(), in.exit);
}

template <>
void Lowerer::lower<Op::GuardModuleAttr>(const ir::Instr& in) {
  // Slots: [module, its dict, the dict's version when linked, the function]. The dict is the module's for good
  // (a module's __dict__ cannot be replaced), so its version moving is the only way the function could have.
  llvm::Value* module = b.CreateLoad(i64, slotAddr(in.imm));
  llvm::Value* dict = b.CreateLoad(ptr, slotAddr(in.imm + 1));
  llvm::Value* version = b.CreateLoad(i64, b.CreateConstInBoundsGEP1_64(i8, dict, PYPA_DICT_VERSION_OFFSET));
  llvm::Value* fail = b.CreateOr(b.CreateICmpNE(b.CreatePtrToInt(val(in.args[0]), i64), module),
                                 b.CreateICmpNE(version, b.CreateLoad(i64, slotAddr(in.imm + 2))));
  guard(fail, in.exit);
}

template <>
void Lowerer::lower<Op::GuardNotTracing>(const ir::Instr& in) {
  guard(b.CreateICmpNE(tracingFlag(), b.getInt8(0)), in.exit);
}

// tstate->cframe->use_tracing: the flag the interpreter ORs into every opcode (0, or 255 while a trace or profile
// function is set). sys.settrace() sets it on the innermost running cframe and the interpreter carries it to the
// caller's on return, so after a call it is the current value for this frame too.
llvm::Value* Lowerer::tracingFlag() {
  llvm::Value* cframe =
      b.CreateLoad(ptr, b.CreateConstInBoundsGEP1_64(i8, ctxField(runtime::kCtxTstate), PYPA_TSTATE_CFRAME_OFFSET));
  return b.CreateLoad(i8, b.CreateConstInBoundsGEP1_64(i8, cframe, PYPA_CFRAME_USE_TRACING_OFFSET));
}

template <>
void Lowerer::lower<Op::CheckFlag>(const ir::Instr& in) {
  guard(b.CreateNot(val(in.args[0])), in.exit);
}

template <>
void Lowerer::lower<Op::RangeCheck>(const ir::Instr& in) {
  guard(b.CreateICmpEQ(val(in.args[0]), b.getInt64(0)), in.exit);
}

template <>
void Lowerer::lower<Op::RangeHasNext>(const ir::Instr& in) {
  llvm::Value *cur = val(in.args[0]), *stop = val(in.args[1]), *step = val(in.args[2]);
  def(in.id, b.CreateSelect(b.CreateICmpSGT(step, b.getInt64(0)), b.CreateICmpSLT(cur, stop),
                            b.CreateICmpSGT(cur, stop)));
}

template <>
void Lowerer::lower<Op::RangeAdvance>(const ir::Instr& in) {
  // Past INT64 the range is necessarily exhausted: park the cursor on `stop`.
  llvm::Value* r = b.CreateBinaryIntrinsic(llvm::Intrinsic::sadd_with_overflow, val(in.args[0]), val(in.args[2]));
  def(in.id, b.CreateSelect(b.CreateExtractValue(r, 1), val(in.args[1]), b.CreateExtractValue(r, 0)));
}

template <>
void Lowerer::lower<Op::Poll>(const ir::Instr& in) {
  auto* flag = b.CreateLoad(i32, ctxField(runtime::kCtxEvalBreaker));
  flag->setAtomic(llvm::AtomicOrdering::Monotonic);
  flag->setAlignment(llvm::Align(4));
  llvm::BasicBlock* slow = llvm::BasicBlock::Create(ctx, "breaker", func);
  llvm::BasicBlock* cont = llvm::BasicBlock::Create(ctx, "no_breaker", func);
  b.CreateCondBr(b.CreateICmpNE(flag, b.getInt32(0)), slow, cont, llvm::MDBuilder(ctx).createBranchWeights(1, 1000));
  b.SetInsertPoint(slow);
  llvm::Value* r = coldCall(runtime::Helper::pypa_rt_poll, {ctxArg(true)});
  // The raise first: in stress mode the Reexec exit is taken on any result, and it must not be taken with the
  // handler's exception set.
  guard(b.CreateICmpSLT(r, b.getInt32(0)), in.exit2);
  guard(b.CreateICmpSGT(r, b.getInt32(0)), in.exit);
  b.CreateBr(cont);
  b.SetInsertPoint(cont);
}

}  // namespace pypaccel::codegen
