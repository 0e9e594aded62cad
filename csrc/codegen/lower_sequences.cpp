// Lowering of predictions and of lists and tuples read in place: the type guard a predicted value gets, and
// subscripts and unpacking of exact lists and tuples, as CPython 3.11's BINARY_SUBSCR_LIST_INT,
// STORE_SUBSCR_LIST_INT and UNPACK_SEQUENCE_{TUPLE,LIST} do them: loads of the item array, no call.
#include "codegen/lowerer.h"
#include "cpython/layout.h"

namespace pypaccel::codegen {

using ir::Op;
using ir::TypeTag;
using runtime::Helper;

namespace {

llvm::Value* typeOf(Lowerer& l, llvm::Value* obj) {
  return l.b.CreateLoad(l.ptr, l.b.CreateConstInBoundsGEP1_64(l.i8, obj, PYPA_OBJECT_TYPE_OFFSET));
}

llvm::Value* sizeOf(Lowerer& l, llvm::Value* obj) {
  return l.b.CreateLoad(l.i64, l.b.CreateConstInBoundsGEP1_64(l.i8, obj, PYPA_VAR_SIZE_OFFSET));
}

// len() of an exact list, tuple or str (tag): its size field.
llvm::Value* lengthOf(Lowerer& l, llvm::Value* obj, TypeTag tag) {
  if (tag != TypeTag::Str) return sizeOf(l, obj);
  return l.b.CreateLoad(l.i64, l.b.CreateConstInBoundsGEP1_64(l.i8, obj, PYPA_UNICODE_LENGTH_OFFSET));
}

// The address of a list's or tuple's item array: inline in a tuple, behind a pointer in a list. ListOrTuple
// chooses by the type (the guard before made sure it is one of them).
llvm::Value* itemsOf(Lowerer& l, llvm::Value* seq, TypeTag tag) {
  auto list = [&] { return l.b.CreateLoad(l.ptr, l.b.CreateConstInBoundsGEP1_64(l.i8, seq, PYPA_LIST_ITEMS_OFFSET)); };
  auto tuple = [&] { return l.b.CreateConstInBoundsGEP1_64(l.i8, seq, PYPA_TUPLE_ITEMS_OFFSET); };
  if (tag == TypeTag::List) return list();
  if (tag == TypeTag::Tuple) return tuple();
  llvm::Value* isTuple = l.b.CreateICmpEQ(typeOf(l, seq), l.pySymbol("PyTuple_Type"));
  // Both loads are safe to compute: a tuple's first item slot is readable too (the select keeps only one).
  return l.b.CreateSelect(isTuple, tuple(), list());
}

}  // namespace

template <>
void Lowerer::lower<Op::GuardType>(const ir::Instr& in) {
  llvm::Value* obj = val(in.args[0]);
  llvm::Value* type = typeOf(*this, obj);
  llvm::Value* ok = b.getFalse();  // every tag is a case below; an unknown one always exits
  switch (TypeTag(in.imm)) {
    case TypeTag::Float: ok = b.CreateICmpEQ(type, pySymbol("PyFloat_Type")); break;
    case TypeTag::SmallInt: {
      // ob_size in [-2, 2]: at most 60 bits, what pypa_rt_unbox_int reads.
      llvm::Value* size = sizeOf(*this, obj);
      llvm::Value* small = b.CreateICmpULE(b.CreateAdd(size, b.getInt64(2)), b.getInt64(4));
      ok = b.CreateAnd(b.CreateICmpEQ(type, pySymbol("PyLong_Type")), small);
      break;
    }
    case TypeTag::Bool:
      ok = b.CreateOr(b.CreateICmpEQ(obj, pySymbol("_Py_TrueStruct")), b.CreateICmpEQ(obj, pySymbol("_Py_FalseStruct")));
      break;
    case TypeTag::List: ok = b.CreateICmpEQ(type, pySymbol("PyList_Type")); break;
    case TypeTag::Tuple: ok = b.CreateICmpEQ(type, pySymbol("PyTuple_Type")); break;
    case TypeTag::ListOrTuple:
      ok = b.CreateOr(b.CreateICmpEQ(type, pySymbol("PyList_Type")), b.CreateICmpEQ(type, pySymbol("PyTuple_Type")));
      break;
    case TypeTag::None: ok = b.CreateICmpEQ(obj, pySymbol("_Py_NoneStruct")); break;
    case TypeTag::Str: ok = b.CreateICmpEQ(type, pySymbol("PyUnicode_Type")); break;
    case TypeTag::Dict: ok = b.CreateICmpEQ(type, pySymbol("PyDict_Type")); break;
  }
  guard(b.CreateNot(ok), in.exit);
}

template <>
void Lowerer::lower<Op::TypeOf>(const ir::Instr& in) {
  llvm::Value* type = typeOf(*this, val(in.args[0]));
  incref(type);
  def(in.id, type);
}

template <>
void Lowerer::lower<Op::GuardLen>(const ir::Instr& in) {
  guard(b.CreateICmpNE(sizeOf(*this, val(in.args[0])), b.getInt64(in.imm)), in.exit);
}

template <>
void Lowerer::lower<Op::SeqIndex>(const ir::Instr& in) {
  llvm::Value* size = lengthOf(*this, val(in.args[0]), TypeTag(in.imm));
  llvm::Value* i = val(in.args[1]);
  llvm::Value* idx = b.CreateSelect(b.CreateICmpSLT(i, b.getInt64(0)), b.CreateAdd(i, size), i);
  // One unsigned compare covers both ends (a negative index still negative after adding the size).
  guard(b.CreateICmpUGE(idx, size), in.exit);
  def(in.id, idx);
}

template <>
void Lowerer::lower<Op::SeqLen>(const ir::Instr& in) {
  def(in.id, lengthOf(*this, val(in.args[0]), TypeTag(in.imm)));
}

template <>
void Lowerer::lower<Op::StrChar>(const ir::Instr& in) {
  def(in.id, callChecked(Helper::pypa_rt_str_char, {val(in.args[0]), val(in.args[1])}, in.exit));
}

template <>
void Lowerer::lower<Op::StrOrd>(const ir::Instr& in) {
  llvm::Value* c = call(Helper::pypa_rt_str_ord, {val(in.args[0])});
  guard(b.CreateICmpSLT(c, b.getInt64(0)), in.exit);
  def(in.id, c);
}

template <>
void Lowerer::lower<Op::NoneObj>(const ir::Instr& in) {
  def(in.id, pySymbol("_Py_NoneStruct"));
}

template <>
void Lowerer::lower<Op::ListPop>(const ir::Instr& in) {
  // The Reexec exit (an empty list, an index out of range) is decided here, before anything changes: stress mode
  // takes it once whatever the test says, and the interpreter then pops (a test after the helper's pop made it
  // pop twice).
  llvm::Value* list = val(in.args[0]);
  llvm::Value* i = val(in.args[1]);
  llvm::Value* n = lengthOf(*this, list, TypeTag::List);
  llvm::Value* at = b.CreateSelect(b.CreateICmpSLT(i, b.getInt64(0)), b.CreateAdd(i, n), i);
  guard(b.CreateOr(b.CreateICmpSLT(at, b.getInt64(0)), b.CreateICmpSGE(at, n)), in.exit);
  llvm::Value* out = entryAlloca(ptr);
  llvm::Value* st = call(Helper::pypa_rt_list_pop, {list, i, out});
  guard(b.CreateICmpNE(st, b.getInt32(0)), in.exit2);
  def(in.id, b.CreateLoad(ptr, out));
}

template <>
void Lowerer::lower<Op::ListInsert>(const ir::Instr& in) {
  callChecked(Helper::pypa_rt_list_insert, {val(in.args[0]), val(in.args[1]), val(in.args[2])}, in.exit);
}

template <>
void Lowerer::lower<Op::SeqItem>(const ir::Instr& in) {
  llvm::Value* items = itemsOf(*this, val(in.args[0]), TypeTag(in.imm));
  def(in.id, b.CreateLoad(ptr, b.CreateInBoundsGEP(ptr, items, val(in.args[1]))));
}

template <>
void Lowerer::lower<Op::ListStore>(const ir::Instr& in) {
  llvm::Value* slot = b.CreateInBoundsGEP(ptr, itemsOf(*this, val(in.args[0]), TypeTag::List), val(in.args[1]));
  llvm::Value* old = b.CreateLoad(ptr, slot);
  b.CreateStore(val(in.args[2]), slot);
  decref(old);  // after the store, as list_ass_item: a finalizer sees the list already changed
}

template <>
void Lowerer::lower<Op::ListStoreFloat>(const ir::Instr& in) {
  llvm::Value* slot = b.CreateInBoundsGEP(ptr, itemsOf(*this, val(in.args[0]), TypeTag::List), val(in.args[1]));
  llvm::Value* value = val(in.args[2]);
  llvm::Value* old = b.CreateLoad(ptr, slot);
  llvm::BasicBlock* checkCount = llvm::BasicBlock::Create(ctx, "float_store_count", func);
  llvm::BasicBlock* inPlace = llvm::BasicBlock::Create(ctx, "float_store_in_place", func);
  llvm::BasicBlock* boxed = llvm::BasicBlock::Create(ctx, "float_store_boxed", func);
  llvm::BasicBlock* done = llvm::BasicBlock::Create(ctx, "float_stored", func);
  b.CreateCondBr(b.CreateICmpEQ(typeOf(*this, old), pySymbol("PyFloat_Type")), checkCount, boxed);
  b.SetInsertPoint(checkCount);
  b.CreateCondBr(b.CreateICmpEQ(b.CreateLoad(i64, old), b.getInt64(1)), inPlace, boxed);
  b.SetInsertPoint(inPlace);
  b.CreateStore(value, b.CreateConstInBoundsGEP1_64(i8, old, PYPA_FLOAT_VALUE_OFFSET));
  b.CreateBr(done);
  b.SetInsertPoint(boxed);
  b.CreateStore(call(Helper::PyFloat_FromDouble, {value}), slot);
  decref(old);  // after the store, as list_ass_item
  b.CreateBr(done);
  b.SetInsertPoint(done);
}

template <>
void Lowerer::lower<Op::SeqSlice>(const ir::Instr& in) {
  def(in.id, callChecked(Helper::pypa_rt_seq_slice,
                         {val(in.args[0]), val(in.args[1]), val(in.args[2]), val(in.args[3]), b.getInt32(int32_t(in.imm))},
                         in.exit));
}

template <>
void Lowerer::lower<Op::ListAssignSlice>(const ir::Instr& in) {
  callChecked(Helper::pypa_rt_list_assign_slice,
              {val(in.args[0]), val(in.args[1]), val(in.args[2]), val(in.args[3]), b.getInt32(int32_t(in.imm))},
              in.exit);
}

template <>
void Lowerer::lower<Op::ListReversePrefix>(const ir::Instr& in) {
  llvm::Value* k = val(in.args[1]);
  guard(b.CreateICmpSLT(k, b.getInt64(0)), in.exit);
  call(Helper::pypa_rt_list_reverse_prefix, {val(in.args[0]), k});
}

template <>
void Lowerer::lower<Op::UnpackIterable>(const ir::Instr& in) {
  if (in.op == Op::UnpackStarred) {
    def(in.id, callChecked(Helper::pypa_rt_unpack_ex,
                           {ctxArg(), val(in.args[0]), b.getInt32(int32_t(in.imm & 0xFF)),
                            b.getInt32(int32_t(in.imm >> 8)), b.getInt32(exitUnit(in.exit))},
                           in.exit));
    return;
  }
  def(in.id, callChecked(Helper::pypa_rt_unpack,
                         {ctxArg(), val(in.args[0]), b.getInt32(int32_t(in.imm)), b.getInt32(exitUnit(in.exit))},
                         in.exit));
}

template <>
void Lowerer::lower<Op::GetListIter>(const ir::Instr& in) {
  llvm::Value* list = val(in.args[0]);
  llvm::Value* it = call(Helper::PyObject_GetIter, {list});
  decref(list);
  guard(b.CreateIsNull(it), in.exit);
  def(in.id, it);
}

template <>
void Lowerer::lower<Op::ListIterNext>(const ir::Instr& in) {
  llvm::Value* it = val(in.args[0]);
  guard(b.CreateICmpNE(typeOf(*this, it), pySymbol("PyListIter_Type")), in.exit);
  llvm::Value* null = llvm::Constant::getNullValue(ptr);
  llvm::Value* seqAddr = b.CreateConstInBoundsGEP1_64(i8, it, PYPA_LISTITER_SEQ_OFFSET);
  llvm::Value* indexAddr = b.CreateConstInBoundsGEP1_64(i8, it, PYPA_LISTITER_INDEX_OFFSET);
  llvm::BasicBlock* live = llvm::BasicBlock::Create(ctx, "listiter_live", func);
  llvm::BasicBlock* item = llvm::BasicBlock::Create(ctx, "listiter_item", func);
  llvm::BasicBlock* ended = llvm::BasicBlock::Create(ctx, "listiter_ended", func);
  llvm::BasicBlock* done = llvm::BasicBlock::Create(ctx, "listiter_next", func);
  llvm::BasicBlock* start = b.GetInsertBlock();
  llvm::Value* seq = b.CreateLoad(ptr, seqAddr);
  b.CreateCondBr(b.CreateIsNull(seq), done, live);
  b.SetInsertPoint(live);
  llvm::Value* index = b.CreateLoad(i64, indexAddr);
  b.CreateCondBr(b.CreateICmpSLT(index, sizeOf(*this, seq)), item, ended);
  b.SetInsertPoint(item);
  llvm::Value* next = b.CreateLoad(ptr, b.CreateInBoundsGEP(ptr, itemsOf(*this, seq, TypeTag::List), index));
  b.CreateStore(b.CreateAdd(index, b.getInt64(1)), indexAddr);
  incref(next);
  llvm::BasicBlock* itemEnd = b.GetInsertBlock();
  b.CreateBr(done);
  b.SetInsertPoint(ended);
  b.CreateStore(null, seqAddr);
  decref(seq);
  llvm::BasicBlock* endedEnd = b.GetInsertBlock();
  b.CreateBr(done);
  b.SetInsertPoint(done);
  llvm::PHINode* phi = b.CreatePHI(ptr, 3);
  phi->addIncoming(null, start);
  phi->addIncoming(next, itemEnd);
  phi->addIncoming(null, endedEnd);
  def(in.id, phi);
}

}  // namespace pypaccel::codegen
