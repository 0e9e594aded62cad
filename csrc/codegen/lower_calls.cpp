// Lowering of a direct entry's own side of a direct call: its parameters, its prologue and its unboxed return (the
// caller's side is lower_direct_call.cpp). See runtime/native_ctx.h (DirectResult, SpecHeader) and
// docs/architecture.md.
#include <llvm/IR/Intrinsics.h>

#include "codegen/codegen.h"
#include "codegen/lowerer.h"
#include "runtime/native_ctx.h"

namespace pypaccel::codegen {

using ir::Op;
using ir::Type;
using namespace runtime;

int directResultTag(Type t) {
  switch (t) {
    case Type::Int: return 1;
    case Type::Float: return 2;
    case Type::Bool: return 3;
    default: return 0;
  }
}

template <>
void Lowerer::lower<Op::Param>(const ir::Instr& in) {
  def(in.id, func->getArg(4 + unsigned(in.imm)));
}

template <>
void Lowerer::lower<Op::EnterDirect>(const ir::Instr& in) {
  // What the interpreter checks when it starts a frame: the recursion limit (the depth is counted in a
  // register: the budget the caller had) and a pending eval-breaker event; plus the C stack native recursion
  // uses. Any of them: leave through the start exit, and the interpreter does exactly what it would (raise
  // RecursionError, run a signal handler). Not tracing: only native code ran since the frame entry at the
  // bottom of the chain checked it (it does at its start and after every call out), and only Python code can
  // switch it on. The one way Python code runs under a direct call is an exit, whose result comes back boxed:
  // the caller checks tracing on that path (CallDirect).
  recursion_ = b.CreateSub(func->getArg(3), b.getInt32(1));
  llvm::Value* fail = b.CreateICmpSLT(recursion_, b.getInt32(0));
  // The stack pointer itself: llvm.frameaddress would make the entry keep a frame pointer, one register less
  // for values live across its calls.
  llvm::Metadata* rsp = llvm::MDString::get(ctx, "rsp");
  llvm::Value* sp = b.CreateCall(llvm::Intrinsic::getDeclaration(&mod, llvm::Intrinsic::read_register, {i64}),
                                 {llvm::MetadataAsValue::get(ctx, llvm::MDNode::get(ctx, {rsp}))});
  // Both are needed only on a path that goes on to use stack or run for long, so the frame-free front drops
  // them (markFrontSkippable); the recursion limit stays on every path: RecursionError is exact.
  llvm::Value* low = ctxField(kCtxStackLow);
  llvm::Value* deep = markFrontSkippable(b.CreateICmpULT(sp, b.CreatePtrToInt(low, i64)));
  llvm::Value* breaker = b.CreateLoad(i32, ctxField(kCtxEvalBreaker));
  llvm::Value* pending = markFrontSkippable(b.CreateICmpNE(breaker, b.getInt32(0)));
  fail = b.CreateOr(fail, b.CreateOr(deep, pending));
  llvm::Value* entries = b.CreateConstInBoundsGEP1_64(i64, argHdr, kHdrEntries);
  b.CreateStore(b.CreateAdd(b.CreateLoad(i64, entries), b.getInt64(1)), entries);
  guard(fail, in.exit);
}

template <>
void Lowerer::lower<Op::ReturnNative>(const ir::Instr& in) {
  llvm::Value* v = val(in.args[0]);
  Type t = Type(in.imm);
  llvm::Value* bits = b.getInt64(0);
  llvm::Value* obj;
  if (t == Type::Obj) {
    obj = v;
  } else {
    if (t == Type::Int) bits = v;
    else if (t == Type::Float) bits = b.CreateBitCast(v, i64);
    else bits = b.CreateZExt(v, i64);
    obj = b.CreateIntToPtr(b.getInt64(directResultTag(t)), ptr);
  }
  llvm::Value* r = llvm::UndefValue::get(directResultTy);
  r = b.CreateInsertValue(r, bits, 0);
  // A float also in its own register (xmm0): a caller expecting one takes it from there, without the move
  // through a general register on its dependency chain (bits has it too, for the other paths).
  if (t == Type::Float) r = b.CreateInsertValue(r, v, 2);
  b.CreateRet(b.CreateInsertValue(r, obj, 1));
}

}  // namespace pypaccel::codegen
