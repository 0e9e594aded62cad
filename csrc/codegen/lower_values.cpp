// Lowering of values between native and object form: arguments, slots, unboxing and boxing (with origins),
// reference counts, the frame's local slots, and identity tests.

#include "codegen/lowerer.h"

#include <llvm/IR/MDBuilder.h>

#include "runtime/native_ctx.h"

namespace pypaccel::codegen {

using ir::Op;
using runtime::Helper;

template <>
void Lowerer::lower<Op::LoadArg>(const ir::Instr& in) {
  def(in.id, b.CreateLoad(ptr, b.CreateConstInBoundsGEP1_64(ptr, argLocals, in.imm)));
}

// Free variables: the cells live in the frame's last slots from CopyFreeVars on (the frame releases them); as
// CPython's COPY_FREE_VARS, they are the last co_nfreevars of localsplus.
template <>
void Lowerer::lower<Op::CopyFreeVars>(const ir::Instr& in) {
  call(runtime::Helper::pypa_rt_copy_free_vars, {ctxField(runtime::kCtxFunc), argLocals,
                                                 b.getInt32(int32_t(fn.nlocalsplus - in.imm)),
                                                 b.getInt32(int32_t(in.imm))});
}

// Cells of the function's own: the frame slot holds the cell from MAKE_CELL on (the frame releases it).
template <>
void Lowerer::lower<Op::MakeCell>(const ir::Instr& in) {
  llvm::Value* cell = call(runtime::Helper::pypa_rt_make_cell, {b.CreateConstInBoundsGEP1_64(ptr, argLocals, in.imm)});
  guard(b.CreateIsNull(cell), in.exit);
  def(in.id, cell);
}

template <>
void Lowerer::lower<Op::LoadCell>(const ir::Instr& in) {
  llvm::Value* v = b.CreateLoad(ptr, b.CreateConstInBoundsGEP1_64(i8, val(in.args[0]), PYPA_CELL_REF_OFFSET));
  guard(b.CreateIsNull(v), in.exit);
  incref(v);
  def(in.id, v);
}

template <>
void Lowerer::lower<Op::StoreCell>(const ir::Instr& in) {
  replaceReference(b.CreateConstInBoundsGEP1_64(i8, val(in.args[0]), PYPA_CELL_REF_OFFSET), val(in.args[1]));
}

template <>
void Lowerer::lower<Op::DeleteCell>(const ir::Instr& in) {
  llvm::Value* slot = b.CreateConstInBoundsGEP1_64(i8, val(in.args[0]), PYPA_CELL_REF_OFFSET);
  llvm::Value* old = b.CreateLoad(ptr, slot);
  guard(b.CreateIsNull(old), in.exit);
  b.CreateStore(llvm::ConstantPointerNull::get(llvm::PointerType::get(ctx, 0)), slot);
  decref(old);
}

template <>
void Lowerer::lower<Op::StoreGlobal>(const ir::Instr& in) {
  callChecked(runtime::Helper::pypa_rt_store_global,
              {ctxArg(), b.getInt32(int32_t(in.imm)), val(in.args[0]), b.getInt32(exitUnit(in.exit))}, in.exit);
}

template <>
void Lowerer::lower<Op::UnboxInt>(const ir::Instr& in) {
  // An int of at most two digits (every SmallInt guard's, most arguments') is read inline: ob_size is -2..2, the
  // digits' count with the sign. Zero has ob_size 0 (its digit is not read: 0 * anything). Larger ones (up to the 64
  // bits the IR's ints hold) go through the helper.
  llvm::Value* obj = val(in.args[0]);
  llvm::Value* size = b.CreateLoad(i64, b.CreateConstInBoundsGEP1_64(i8, obj, PYPA_VAR_SIZE_OFFSET));
  auto digit = [&](int k) {
    llvm::Value* at = b.CreateConstInBoundsGEP1_64(i8, obj, PYPA_LONG_DIGITS_OFFSET + 4 * k);
    return b.CreateZExt(b.CreateLoad(b.getInt32Ty(), at), i64);
  };
  llvm::BasicBlock* one = llvm::BasicBlock::Create(ctx, "int.one", func);
  llvm::BasicBlock* notOne = llvm::BasicBlock::Create(ctx, "int.notone", func);
  llvm::BasicBlock* two = llvm::BasicBlock::Create(ctx, "int.two", func);
  llvm::BasicBlock* slow = llvm::BasicBlock::Create(ctx, "int.slow", func);
  llvm::BasicBlock* done = llvm::BasicBlock::Create(ctx, "int.done", func);
  b.CreateCondBr(b.CreateICmpULE(b.CreateAdd(size, b.getInt64(1)), b.getInt64(2)), one, notOne);
  b.SetInsertPoint(one);
  llvm::Value* v1 = b.CreateMul(size, digit(0));
  b.CreateBr(done);
  b.SetInsertPoint(notOne);
  b.CreateCondBr(b.CreateICmpULE(b.CreateAdd(size, b.getInt64(2)), b.getInt64(4)), two, slow,
                 llvm::MDBuilder(ctx).createBranchWeights(1000, 1));
  b.SetInsertPoint(two);
  llvm::Value* mag = b.CreateOr(digit(0), b.CreateShl(digit(1), b.getInt64(PYPA_LONG_SHIFT)));
  llvm::Value* v2 = b.CreateMul(b.CreateAShr(size, b.getInt64(1)), mag);  // size is -2 or 2 here
  b.CreateBr(done);
  b.SetInsertPoint(slow);
  llvm::Value* v3 = call(runtime::Helper::pypa_rt_unbox_int, {obj});
  llvm::BasicBlock* slowEnd = b.GetInsertBlock();
  b.CreateBr(done);
  b.SetInsertPoint(done);
  llvm::PHINode* v = b.CreatePHI(i64, 3);
  v->addIncoming(v1, one);
  v->addIncoming(v2, two);
  v->addIncoming(v3, slowEnd);
  def(in.id, v);
}

template <>
void Lowerer::lower<Op::UnboxFloat>(const ir::Instr& in) {
  def(in.id, b.CreateLoad(f64, b.CreateConstInBoundsGEP1_64(i8, val(in.args[0]), PYPA_FLOAT_VALUE_OFFSET)));
}

template <>
void Lowerer::lower<Op::UnboxBool>(const ir::Instr& in) {
  def(in.id, b.CreateICmpEQ(val(in.args[0]), pySymbol("_Py_TrueStruct")));
}

template <>
void Lowerer::lower<Op::LoadSlotObj>(const ir::Instr& in) {
  def(in.id, b.CreateLoad(ptr, slotAddr(in.imm)));
}

template <>
void Lowerer::lower<Op::LoadSlotInt>(const ir::Instr& in) {
  def(in.id, b.CreateLoad(i64, slotAddr(in.imm)));
}

template <>
void Lowerer::lower<Op::LoadSlotFloat>(const ir::Instr& in) {
  def(in.id, b.CreateLoad(f64, slotAddr(in.imm)));
}

template <>
void Lowerer::lower<Op::LoadSlotBool>(const ir::Instr& in) {
  def(in.id, b.CreateICmpNE(b.CreateLoad(i64, slotAddr(in.imm)), b.getInt64(0)));
}

template <>
void Lowerer::lower<Op::IncRef>(const ir::Instr& in) {
  incref(val(in.args[0]));
}

template <>
void Lowerer::lower<Op::DecRef>(const ir::Instr& in) {
  decref(val(in.args[0]));
}

template <>
void Lowerer::lower<Op::DecRefIf>(const ir::Instr& in) {
  llvm::BasicBlock* yes = llvm::BasicBlock::Create(ctx, "bound", func);
  llvm::BasicBlock* cont = llvm::BasicBlock::Create(ctx, "cont", func);
  b.CreateCondBr(val(in.args[0]), yes, cont);
  b.SetInsertPoint(yes);
  decref(val(in.args[1]));
  b.CreateBr(cont);
  b.SetInsertPoint(cont);
}

template <>
void Lowerer::lower<Op::BoxInt>(const ir::Instr& in) {
  def(in.id, call(runtime::Helper::PyLong_FromLongLong, {val(in.args[0])}));
}

template <>
void Lowerer::lower<Op::BoxRange>(const ir::Instr& in) {
  def(in.id, call(runtime::Helper::pypa_rt_box_range, {val(in.args[0]), val(in.args[1]), val(in.args[2])}));
}

template <>
void Lowerer::lower<Op::BoxRangeIter>(const ir::Instr& in) {
  def(in.id, call(runtime::Helper::pypa_rt_box_range_iter, {val(in.args[0]), val(in.args[1]), val(in.args[2])}));
}

template <>
void Lowerer::lower<Op::BoxFloat>(const ir::Instr& in) {
  def(in.id, call(runtime::Helper::PyFloat_FromDouble, {val(in.args[0])}));
}

template <>
void Lowerer::lower<Op::BoxBool>(const ir::Instr& in) {
  def(in.id, ownedBox(val(in.args[0])));
}

template <>
void Lowerer::lower<Op::NullObj>(const ir::Instr& in) {
  def(in.id, llvm::ConstantPointerNull::get(llvm::PointerType::get(ctx, 0)));
}

template <>
void Lowerer::lower<Op::BoxOrigin>(const ir::Instr& in) {
  def(in.id, boxWithOrigin(val(in.args[0]), val(in.args[1])));
}

template <>
void Lowerer::lower<Op::BoxIfBound>(const ir::Instr& in) {
  llvm::BasicBlock* from = b.GetInsertBlock();
  llvm::BasicBlock* bound = llvm::BasicBlock::Create(ctx, "box_bound", func);
  llvm::BasicBlock* done = llvm::BasicBlock::Create(ctx, "box_if_bound", func);
  b.CreateCondBr(val(in.args[0]), bound, done);
  b.SetInsertPoint(bound);
  llvm::Value* boxed = ownedBox(val(in.args[1]), in.args.size() > 2 ? val(in.args[2]) : nullptr);
  llvm::BasicBlock* boundEnd = b.GetInsertBlock();
  b.CreateBr(done);
  b.SetInsertPoint(done);
  llvm::PHINode* phi = b.CreatePHI(ptr, 2);
  phi->addIncoming(llvm::ConstantPointerNull::get(llvm::PointerType::getUnqual(ctx)), from);
  phi->addIncoming(boxed, boundEnd);
  def(in.id, phi);
}

template <>
void Lowerer::lower<Op::SetFrameLocal>(const ir::Instr& in) {
  replaceFrameLocal(in.imm, val(in.args[0]));
}

template <>
void Lowerer::lower<Op::SyncLocal>(const ir::Instr& in) {
  // Boxed like an exit would box it; a failed box leaves NULL (the local then reads as unbound). With a second
  // argument (the local's bound flag), only when it is set.
  llvm::BasicBlock* after = nullptr;
  if (in.args.size() > 1 && !llvm::isa<llvm::Constant>(val(in.args[1]))) {
    llvm::BasicBlock* bound = llvm::BasicBlock::Create(ctx, "sync_bound", func);
    after = llvm::BasicBlock::Create(ctx, "sync_done", func);
    b.CreateCondBr(val(in.args[1]), bound, after);
    b.SetInsertPoint(bound);
  }
  // The object the number is, if it has one here, with a third argument.
  llvm::Value* boxed = ownedBox(val(in.args[0]), in.args.size() > 2 ? val(in.args[2]) : nullptr);
  replaceFrameLocal(in.imm, boxed);
  if (after) {
    b.CreateBr(after);
    b.SetInsertPoint(after);
  }
}

template <>
void Lowerer::lower<Op::ObjIs>(const ir::Instr& in) {
  def(in.id, b.CreateICmpEQ(val(in.args[0]), val(in.args[1])));
}

template <>
void Lowerer::lower<Op::IsNone>(const ir::Instr& in) {
  def(in.id, b.CreateICmpEQ(val(in.args[0]), pySymbol("_Py_NoneStruct")));
}

template <>
void Lowerer::lower<Op::NotNull>(const ir::Instr& in) {
  def(in.id, b.CreateIsNotNull(val(in.args[0])));
}

}  // namespace pypaccel::codegen
