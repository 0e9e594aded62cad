// Lowering of probes and resume entries (docs/architecture.md, "Probes and resume entries"): a probe's countdown at
// its loop headers, and the start of a specialization entered at its resume header with the frame's state in a
// buffer the hook filled and checked (deopt::fillResumeBuffer).
#include "codegen/lowerer.h"
#include "runtime/native_ctx.h"

namespace pypaccel::codegen {

using ir::Op;

template <>
void Lowerer::lower<Op::ProbeLoop>(const ir::Instr& in) {
  // Not guard(): stress mode fails guards once each, and a probe's exit is no guess that can be wrong.
  llvm::Value* addr = slotAddr(in.imm);
  llvm::Value* left = b.CreateSub(b.CreateLoad(i64, addr), b.getInt64(1));
  b.CreateStore(left, addr);
  llvm::BasicBlock* cont = llvm::BasicBlock::Create(ctx, "probed", func);
  b.CreateCondBr(b.CreateICmpSLE(left, b.getInt64(0)), exitBlock(in.exit), cont);
  b.SetInsertPoint(cont);
}

template <>
void Lowerer::lower<Op::IsResuming>(const ir::Instr& in) {
  def(in.id, b.CreateIsNotNull(ctxField(runtime::kCtxResume)));
}

template <>
void Lowerer::lower<Op::ResumeWord>(const ir::Instr& in) {
  llvm::Value* word = b.CreateLoad(i64, b.CreateConstInBoundsGEP1_64(i64, ctxField(runtime::kCtxResume), in.imm));
  llvm::Value* v;
  switch (in.type) {
    case ir::Type::Float: v = b.CreateBitCast(word, f64); break;
    case ir::Type::Bool: v = b.CreateTrunc(word, i1); break;
    case ir::Type::Obj: v = b.CreateIntToPtr(word, ptr); break;
    default: v = word; break;
  }
  def(in.id, v);
}

}  // namespace pypaccel::codegen
