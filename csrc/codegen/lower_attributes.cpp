// Lowering of attribute inline caches: a load or store in place when the object's type still has the version tag
// the cache was filled for (what CPython 3.11's LOAD_ATTR_INSTANCE_VALUE, LOAD_ATTR_SLOT and
// STORE_ATTR_INSTANCE_VALUE check), else the generic call, which refills the cache (runtime/object_ops.cpp).
// The cache words: [0] the version tag (0: empty), [1] where (cpython/attr_cache.c: index << 1 for an inline value,
// offset << 1 | 1 for a __slots__ member).
#include "codegen/lowerer.h"
#include "cpython/layout.h"

namespace pypaccel::codegen {

using ir::Op;
using runtime::Helper;

namespace {

struct AttrSite {
  llvm::Value* cache;  // the two words
  int32_t name;
};

AttrSite siteOf(Lowerer& l, const ir::Instr& in) {
  return {l.slotAddr(in.imm & 0xffffffff), int32_t(in.imm >> 32)};
}

// Branches to `hit` with the cache word when obj's type has the cached version, else to `miss`.
llvm::Value* checkVersion(Lowerer& l, llvm::Value* obj, llvm::Value* cache, llvm::BasicBlock* hit,
                          llvm::BasicBlock* miss) {
  auto& b = l.b;
  llvm::Value* type = b.CreateLoad(l.ptr, b.CreateConstInBoundsGEP1_64(l.i8, obj, PYPA_OBJECT_TYPE_OFFSET));
  llvm::Value* version =
      b.CreateZExt(b.CreateLoad(l.i32, b.CreateConstInBoundsGEP1_64(l.i8, type, PYPA_TYPE_VERSION_OFFSET)), l.i64);
  llvm::Value* cached = b.CreateLoad(l.i64, cache);
  llvm::Value* ok = b.CreateAnd(b.CreateICmpEQ(version, cached), b.CreateICmpNE(cached, b.getInt64(0)));
  b.CreateCondBr(ok, hit, miss);
  b.SetInsertPoint(hit);
  return b.CreateLoad(l.i64, b.CreateConstInBoundsGEP1_64(l.i64, cache, 1));
}

// The address of the attribute's pointer in obj, per the cache word; branches to `miss` when it has no inline
// values (a dict took them over). A __slots__ member's address is always there.
llvm::Value* fieldAddress(Lowerer& l, llvm::Value* obj, llvm::Value* word, llvm::BasicBlock* miss) {
  auto& b = l.b;
  llvm::Function* f = l.func;
  llvm::Value* pos = b.CreateAShr(word, b.getInt64(1));
  llvm::BasicBlock* slotBB = llvm::BasicBlock::Create(l.ctx, "attr_slot", f);
  llvm::BasicBlock* valuesBB = llvm::BasicBlock::Create(l.ctx, "attr_values", f);
  llvm::BasicBlock* haveBB = llvm::BasicBlock::Create(l.ctx, "attr_values_ok", f);
  llvm::BasicBlock* join = llvm::BasicBlock::Create(l.ctx, "attr_addr", f);
  b.CreateCondBr(b.CreateTrunc(word, l.i1), slotBB, valuesBB);
  b.SetInsertPoint(slotBB);
  llvm::Value* slotAddr = b.CreateInBoundsGEP(l.i8, obj, pos);
  b.CreateBr(join);
  b.SetInsertPoint(valuesBB);
  llvm::Value* values = b.CreateLoad(l.ptr, b.CreateConstGEP1_64(l.i8, obj, PYPA_OBJECT_VALUES_OFFSET));
  b.CreateCondBr(b.CreateIsNull(values), miss, haveBB);
  b.SetInsertPoint(haveBB);
  llvm::Value* valueAddr = b.CreateInBoundsGEP(l.ptr, values, pos);
  b.CreateBr(join);
  b.SetInsertPoint(join);
  llvm::PHINode* addr = b.CreatePHI(l.ptr, 2);
  addr->addIncoming(slotAddr, slotBB);
  addr->addIncoming(valueAddr, haveBB);
  return addr;
}

}  // namespace

template <>
void Lowerer::lower<Op::GetAttrCached>(const ir::Instr& in) {
  AttrSite site = siteOf(*this, in);
  llvm::Value* obj = val(in.args[0]);
  llvm::BasicBlock* hit = llvm::BasicBlock::Create(ctx, "getattr_hit", func);
  llvm::BasicBlock* miss = llvm::BasicBlock::Create(ctx, "getattr_miss", func);
  llvm::BasicBlock* found = llvm::BasicBlock::Create(ctx, "getattr_found", func);
  llvm::BasicBlock* join = llvm::BasicBlock::Create(ctx, "getattr", func);
  llvm::Value* word = checkVersion(*this, obj, site.cache, hit, miss);
  llvm::Value* item = b.CreateLoad(ptr, fieldAddress(*this, obj, word, miss));
  // Not set (deleted, or never set on this instance): the generic path raises or finds the class attribute.
  b.CreateCondBr(b.CreateIsNull(item), miss, found);
  b.SetInsertPoint(found);
  incref(item);
  decref(obj);
  llvm::BasicBlock* foundEnd = b.GetInsertBlock();
  b.CreateBr(join);
  b.SetInsertPoint(miss);
  llvm::Value* r = callChecked(Helper::pypa_rt_getattr_cached,
                               {ctxArg(), obj, b.getInt32(site.name), b.getInt32(exitUnit(in.exit)), site.cache},
                               in.exit);
  llvm::BasicBlock* missEnd = b.GetInsertBlock();
  b.CreateBr(join);
  b.SetInsertPoint(join);
  llvm::PHINode* phi = b.CreatePHI(ptr, 2);
  phi->addIncoming(item, foundEnd);
  phi->addIncoming(r, missEnd);
  def(in.id, phi);
}

template <>
void Lowerer::lower<Op::SetAttrCached>(const ir::Instr& in) {
  AttrSite site = siteOf(*this, in);
  llvm::Value* obj = val(in.args[0]);
  llvm::Value* value = val(in.args[1]);
  llvm::BasicBlock* hit = llvm::BasicBlock::Create(ctx, "setattr_hit", func);
  llvm::BasicBlock* miss = llvm::BasicBlock::Create(ctx, "setattr_miss", func);
  llvm::BasicBlock* store = llvm::BasicBlock::Create(ctx, "setattr_store", func);
  llvm::BasicBlock* join = llvm::BasicBlock::Create(ctx, "setattr", func);
  llvm::Value* word = checkVersion(*this, obj, site.cache, hit, miss);
  llvm::Value* addr = fieldAddress(*this, obj, word, miss);
  llvm::Value* old = b.CreateLoad(ptr, addr);
  // An inline value not set yet also enters the values' insertion order: the generic path does that. A
  // __slots__ member may be empty (it is set as member_set sets it).
  b.CreateCondBr(b.CreateAnd(b.CreateIsNull(old), b.CreateNot(b.CreateTrunc(word, i1))), miss, store);
  b.SetInsertPoint(store);
  b.CreateStore(value, addr);
  llvm::BasicBlock* release = llvm::BasicBlock::Create(ctx, "setattr_release", func);
  llvm::BasicBlock* released = llvm::BasicBlock::Create(ctx, "setattr_released", func);
  b.CreateCondBr(b.CreateIsNull(old), released, release);
  b.SetInsertPoint(release);
  decref(old);  // after the store, as the interpreter: a finalizer sees the new value
  b.CreateBr(released);
  b.SetInsertPoint(released);
  decref(obj);
  b.CreateBr(join);
  b.SetInsertPoint(miss);
  callChecked(Helper::pypa_rt_setattr_cached,
              {ctxArg(), obj, value, b.getInt32(site.name), b.getInt32(exitUnit(in.exit)), site.cache}, in.exit);
  b.CreateBr(join);
  b.SetInsertPoint(join);
}

}  // namespace pypaccel::codegen
