// Lowering of the generic operations on objects: each is a call of its pypa_rt_* helper (runtime/object_ops.cpp),
// which does what the interpreter's instruction does, and whose failure leaves through the op's Raise exit.
#include "codegen/lowerer.h"

namespace pypaccel::codegen {

using ir::Op;
using runtime::Helper;

// ObjBin and ObjCompare: a binary operation or a comparison (imm: its NB_* or COMPARE_OP oparg) of two objects.
template <>
void Lowerer::lower<Op::ObjBin>(const ir::Instr& in) {
  Helper h = in.op == Op::ObjBin ? Helper::pypa_rt_binop : Helper::pypa_rt_compare;
  llvm::Value* unit = b.getInt32(exitUnit(in.exit));
  def(in.id, callChecked(h, {ctxArg(), b.getInt32(in.imm), val(in.args[0]), val(in.args[1]), unit}, in.exit));
}

template <>
void Lowerer::lower<Op::StrAppendLocal>(const ir::Instr& in) {
  llvm::Value* unit = b.getInt32(exitUnit(in.exit));
  def(in.id, callChecked(Helper::pypa_rt_str_append_local,
                         {ctxArg(), b.getInt32(in.imm % 64), val(in.args[0]), val(in.args[1]),
                          b.getInt32(int32_t(in.imm / 64)), unit},
                         in.exit));
}

template <>
void Lowerer::lower<Op::ObjUnary>(const ir::Instr& in) {
  llvm::Value* unit = b.getInt32(exitUnit(in.exit));
  def(in.id, callChecked(Helper::pypa_rt_unary, {ctxArg(), b.getInt32(in.imm), val(in.args[0]), unit}, in.exit));
}

template <>
void Lowerer::lower<Op::ObjTruthy>(const ir::Instr& in) {
  // True, False and None inline (what a test of a list of flags or an `is None`-less check meets most), anything
  // else through PyObject_IsTrue.
  llvm::Value* obj = val(in.args[0]);
  llvm::Value* isTrue = b.CreateICmpEQ(obj, pySymbol("_Py_TrueStruct"));
  llvm::Value* known = b.CreateOr(isTrue, b.CreateOr(b.CreateICmpEQ(obj, pySymbol("_Py_FalseStruct")),
                                                     b.CreateICmpEQ(obj, pySymbol("_Py_NoneStruct"))));
  llvm::BasicBlock* fast = llvm::BasicBlock::Create(ctx, "truth_known", func);
  llvm::BasicBlock* slow = llvm::BasicBlock::Create(ctx, "truth_call", func);
  llvm::BasicBlock* join = llvm::BasicBlock::Create(ctx, "truth", func);
  b.CreateCondBr(known, fast, slow);
  b.SetInsertPoint(fast);
  decref(obj);
  llvm::BasicBlock* fastEnd = b.GetInsertBlock();
  b.CreateBr(join);
  b.SetInsertPoint(slow);
  llvm::Value* r = callChecked(Helper::pypa_rt_truthy, {ctxArg(), obj, b.getInt32(exitUnit(in.exit))}, in.exit);
  llvm::Value* slowTruth = b.CreateICmpSGT(r, b.getInt32(0));
  llvm::BasicBlock* slowEnd = b.GetInsertBlock();
  b.CreateBr(join);
  b.SetInsertPoint(join);
  llvm::PHINode* phi = b.CreatePHI(i1, 2);
  phi->addIncoming(isTrue, fastEnd);
  phi->addIncoming(slowTruth, slowEnd);
  def(in.id, phi);
}

template <>
void Lowerer::lower<Op::ObjLen>(const ir::Instr& in) {
  def(in.id, callChecked(Helper::pypa_rt_len, {ctxArg(), val(in.args[0]), b.getInt32(exitUnit(in.exit))}, in.exit));
}

template <>
void Lowerer::lower<Op::IsInstance>(const ir::Instr& in) {
  llvm::Value* r = callChecked(Helper::pypa_rt_isinstance,
                               {ctxArg(), val(in.args[0]), val(in.args[1]), b.getInt32(exitUnit(in.exit))}, in.exit);
  def(in.id, b.CreateICmpNE(r, b.getInt32(0)));
}

template <>
void Lowerer::lower<Op::BuildTuple>(const ir::Instr& in) {
  def(in.id, callChecked(Helper::pypa_rt_build_tuple,
                         {ctxArg(), valueArray(argValues(in)), b.getInt32(int32_t(in.args.size()))}, in.exit));
}

// BuildList, BuildSlice and BuildString: their helpers take the items alike.
template <>
void Lowerer::lower<Op::BuildList>(const ir::Instr& in) {
  Helper h = in.op == Op::BuildList    ? Helper::pypa_rt_build_list
             : in.op == Op::BuildSlice ? Helper::pypa_rt_build_slice
                                       : Helper::pypa_rt_build_string;
  def(in.id, callChecked(h, {ctxArg(), valueArray(argValues(in)), b.getInt32(int32_t(in.args.size()))}, in.exit));
}

template <>
void Lowerer::lower<Op::BuildMap>(const ir::Instr& in) {
  def(in.id, callChecked(Helper::pypa_rt_build_map,
                         {ctxArg(), valueArray(argValues(in)), b.getInt32(int32_t(in.args.size() / 2)),
                          b.getInt32(exitUnit(in.exit))}, in.exit));
}

template <>
void Lowerer::lower<Op::BuildConstKeyMap>(const ir::Instr& in) {
  // (keys tuple, values...)
  def(in.id, callChecked(Helper::pypa_rt_build_const_key_map,
                         {ctxArg(), val(in.args[0]), valueArray(argValues(in, 1)),
                          b.getInt32(int32_t(in.args.size() - 1)), b.getInt32(exitUnit(in.exit))}, in.exit));
}

template <>
void Lowerer::lower<Op::MakeFunction>(const ir::Instr& in) {
  llvm::Value* flags = b.getInt32(int32_t(in.imm));
  def(in.id, callChecked(Helper::pypa_rt_make_function, {ctxArg(), valueArray(argValues(in)), flags}, in.exit));
}

template <>
void Lowerer::lower<Op::CallObj>(const ir::Instr& in) {
  // items = callable, then the arguments (the kwnames tuple, when there is one, is args[1] and not an item).
  std::vector<llvm::Value*> items = argValues(in, in.imm ? 2 : 1);
  items.insert(items.begin(), val(in.args[0]));
  llvm::Value* kw = in.imm ? val(in.args[1]) : llvm::ConstantPointerNull::get(llvm::PointerType::get(ctx, 0));
  def(in.id, callChecked(Helper::pypa_rt_call,
                         {ctxArg(), valueArray(items), b.getInt32(int32_t(items.size() - 1)), kw,
                          b.getInt32(exitUnit(in.exit))}, in.exit));
}

template <>
void Lowerer::lower<Op::GetAttr>(const ir::Instr& in) {
  def(in.id, callChecked(Helper::pypa_rt_getattr,
                         {ctxArg(), val(in.args[0]), b.getInt32(in.imm), b.getInt32(exitUnit(in.exit))}, in.exit));
}

template <>
void Lowerer::lower<Op::GetItem>(const ir::Instr& in) {
  def(in.id, callChecked(Helper::pypa_rt_getitem,
                         {ctxArg(), val(in.args[0]), val(in.args[1]), b.getInt32(exitUnit(in.exit))}, in.exit));
}

template <>
void Lowerer::lower<Op::GetItemInPlace>(const ir::Instr& in) {
  // Stress mode forces the Reexec exit before the helper runs: after it, the operands its snapshot lists are
  // consumed (the subscript done), and an exit then would hand released objects to the interpreter.
  if (fn.stressExits) guard(b.getFalse(), in.exit);
  llvm::Value* rc;
  llvm::Value* out = nullptr;
  if (in.op == Op::GetItemInPlace) {
    out = entryAlloca(ptr);
    rc = call(Helper::pypa_rt_getitem_in_place, {val(in.args[0]), val(in.args[1]), out});
  } else if (in.op == Op::BinaryInPlace) {
    out = entryAlloca(ptr);
    rc = call(Helper::pypa_rt_binop_in_place, {val(in.args[0]), val(in.args[1]), b.getInt32(int32_t(in.imm)), out});
  } else {
    rc = call(Helper::pypa_rt_setitem_in_place, {val(in.args[0]), val(in.args[1]), val(in.args[2])});
  }
  // rc 0: nothing consumed, the interpreter does it (no stress forcing here, see above).
  llvm::BasicBlock* done = llvm::BasicBlock::Create(ctx, "item_in_place", func);
  b.CreateCondBr(b.CreateICmpEQ(rc, b.getInt32(0)), exitBlock(in.exit), done);
  b.SetInsertPoint(done);
  guard(b.CreateICmpSLT(rc, b.getInt32(0)), in.exit2);
  if (out) def(in.id, b.CreateLoad(ptr, out));
}

template <>
void Lowerer::lower<Op::LenInPlace>(const ir::Instr& in) {
  // As GetItemInPlace: a forced exit before the helper, else its Reexec exit only where it consumed nothing.
  if (fn.stressExits) guard(b.getFalse(), in.exit);
  llvm::BasicBlock* done = llvm::BasicBlock::Create(ctx, "done_in_place", func);
  if (in.op == Op::LenInPlace) {
    llvm::Value* out = entryAlloca(i64);
    llvm::Value* rc = call(Helper::pypa_rt_len_in_place, {val(in.args[0]), out});
    b.CreateCondBr(b.CreateICmpEQ(rc, b.getInt32(0)), exitBlock(in.exit), done);
    b.SetInsertPoint(done);
    def(in.id, b.CreateLoad(i64, out));
  } else {
    llvm::Value* rc =
        call(Helper::pypa_rt_compare_in_place, {val(in.args[0]), val(in.args[1]), b.getInt32(int32_t(in.imm))});
    b.CreateCondBr(b.CreateICmpSLT(rc, b.getInt32(0)), exitBlock(in.exit), done);
    b.SetInsertPoint(done);
    def(in.id, b.CreateTrunc(rc, i1));
  }
}

template <>
void Lowerer::lower<Op::SetItem>(const ir::Instr& in) {
  callChecked(Helper::pypa_rt_setitem,
              {ctxArg(), val(in.args[0]), val(in.args[1]), val(in.args[2]), b.getInt32(exitUnit(in.exit))}, in.exit);
}

template <>
void Lowerer::lower<Op::GetIter>(const ir::Instr& in) {
  llvm::Value* unit = b.getInt32(exitUnit(in.exit));
  def(in.id, callChecked(Helper::pypa_rt_get_iter, {ctxArg(), val(in.args[0]), unit}, in.exit));
}

template <>
void Lowerer::lower<Op::IterNext>(const ir::Instr& in) {
  // Null is "exhausted" here: an error is PYPA_ITER_ERROR.
  llvm::Value* r = call(Helper::pypa_rt_iter_next, {ctxArg(), val(in.args[0]), b.getInt32(exitUnit(in.exit))});
  guard(b.CreateICmpEQ(r, b.CreateIntToPtr(b.getInt64(1), r->getType())), in.exit);
  def(in.id, r);
}

template <>
void Lowerer::lower<Op::ListAppend>(const ir::Instr& in) {
  callChecked(Helper::pypa_rt_list_append, {val(in.args[0]), val(in.args[1])}, in.exit);
}

template <>
void Lowerer::lower<Op::ListExtend>(const ir::Instr& in) {
  callChecked(Helper::pypa_rt_list_extend,
              {ctxArg(), val(in.args[0]), val(in.args[1]), b.getInt32(exitUnit(in.exit))}, in.exit);
}

template <>
void Lowerer::lower<Op::CallApi>(const ir::Instr& in) {
  auto h = Helper(in.imm);
  showInstruction(exitUnit(in.exit));
  llvm::CallInst* r = call(h, argValues(in));
  for (int a : in.args) decref(val(a));
  guard(callFailed(h, r), in.exit);
  switch (in.type) {
    case ir::Type::Void: break;
    case ir::Type::Bool: def(in.id, b.CreateICmpNE(r, llvm::ConstantInt::get(r->getType(), 0))); break;
    case ir::Type::Int: def(in.id, b.CreateSExt(r, i64)); break;
    default: def(in.id, r); break;
  }
}

}  // namespace pypaccel::codegen

namespace pypaccel::codegen {

template <>
void Lowerer::lower<Op::FormatValue>(const ir::Instr& in) {
  llvm::Value* spec = in.args.size() > 1 ? val(in.args[1]) : llvm::ConstantPointerNull::get(llvm::PointerType::get(ctx, 0));
  def(in.id, callChecked(Helper::pypa_rt_format_value,
                         {ctxArg(), val(in.args[0]), spec, b.getInt32(int32_t(in.imm)), b.getInt32(exitUnit(in.exit))},
                         in.exit));
}

}  // namespace pypaccel::codegen
