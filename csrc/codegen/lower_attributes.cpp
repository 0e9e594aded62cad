// Lowering of attribute inline caches: a load or store in place when the object's type still has the version tag
// the cache was filled for (what CPython 3.11's LOAD_ATTR_INSTANCE_VALUE, LOAD_ATTR_SLOT and
// STORE_ATTR_INSTANCE_VALUE check), else the generic call, which refills the cache (runtime/object_ops.cpp).
// The cache: 4 entries tried in turn, each [0] the version tag (0: empty), [1] where (cpython/cpy.h PypaAttrWord: an
// inline value, a __slots__ member, or, for reads, an entry of the dict an instance's values became).
#include <llvm/IR/MDBuilder.h>

#include <vector>

#include "codegen/lowerer.h"
#include "cpython/cpy.h"
#include "cpython/layout.h"

namespace pypaccel::codegen {

using ir::Op;
using runtime::Helper;

namespace {

struct AttrSite {
  llvm::Value* cache;  // the two words
  int32_t name;
};

// Branch weights: the in-place path is the one the code is laid out for; misses (another type, an unset
// attribute, a dict that took the values over) are the rare case, and a call out anyway.
llvm::MDNode* rarely(Lowerer& l) { return llvm::MDBuilder(l.ctx).createBranchWeights(1, 1000); }
llvm::MDNode* mostly(Lowerer& l) { return llvm::MDBuilder(l.ctx).createBranchWeights(1000, 1); }

AttrSite siteOf(Lowerer& l, const ir::Instr& in) {
  return {l.slotAddr(in.imm & 0xffffffff), int32_t((in.imm & ~ir::kAttrOwnerBorrowed) >> 32)};
}

// Whether the op only borrows its object (ir::kAttrOwnerBorrowed): then it is never released here, and a helper that
// consumes it is given a reference of its own.
bool ownerBorrowed(const ir::Instr& in) { return (in.imm & ir::kAttrOwnerBorrowed) != 0; }

// The entry of a cache of 4 entries of `words` words (slot_kinds.def) that holds this version tag (never 0: no
// valid tag), tried in turn, at the end of the current block's path; else a branch to `miss`. (Associative: a site
// that sees up to four classes keeps them all, whatever their tags; runtime/object_ops.cpp fills them.)
llvm::Value* findEntry(Lowerer& l, llvm::Value* cache, llvm::Value* version, int words, llvm::BasicBlock* miss) {
  auto& b = l.b;
  llvm::BasicBlock* found = llvm::BasicBlock::Create(l.ctx, "cache_found", l.func);
  llvm::BasicBlock* first = llvm::BasicBlock::Create(l.ctx, "cache_entry", l.func);
  b.CreateCondBr(b.CreateICmpEQ(version, b.getInt64(0)), miss, first, rarely(l));
  b.SetInsertPoint(first);
  std::vector<std::pair<llvm::Value*, llvm::BasicBlock*>> entries;
  for (int k = 0; k < 4; k++) {
    llvm::Value* entry = b.CreateConstInBoundsGEP1_64(l.i64, cache, k * words);
    llvm::BasicBlock* next = k < 3 ? llvm::BasicBlock::Create(l.ctx, "cache_next", l.func) : miss;
    entries.push_back({entry, b.GetInsertBlock()});
    b.CreateCondBr(b.CreateICmpEQ(b.CreateLoad(l.i64, entry), version), found, next, k == 0 ? mostly(l) : nullptr);
    b.SetInsertPoint(next);
  }
  b.SetInsertPoint(found);
  llvm::PHINode* phi = b.CreatePHI(l.ptr, 4);
  for (auto& [entry, from] : entries) phi->addIncoming(entry, from);
  return phi;
}

llvm::Value* typeVersion(Lowerer& l, llvm::Value* type) {
  return l.b.CreateZExt(l.b.CreateLoad(l.i32, l.b.CreateConstInBoundsGEP1_64(l.i8, type, PYPA_TYPE_VERSION_OFFSET)),
                        l.i64);
}

// Branches to `hit` with the cache word when obj's type has a cached version, else to `miss`.
llvm::Value* checkVersion(Lowerer& l, llvm::Value* obj, llvm::Value* cache, llvm::BasicBlock* hit,
                          llvm::BasicBlock* miss) {
  auto& b = l.b;
  llvm::Value* type = b.CreateLoad(l.ptr, b.CreateConstInBoundsGEP1_64(l.i8, obj, PYPA_OBJECT_TYPE_OFFSET));
  llvm::Value* entry = findEntry(l, cache, typeVersion(l, type), 2, miss);
  b.CreateBr(hit);
  b.SetInsertPoint(hit);
  return b.CreateLoad(l.i64, b.CreateConstInBoundsGEP1_64(l.i64, entry, 1));
}

// The address of the attribute's pointer in obj, per the cache word (cpy.h PypaAttrWord); branches to `miss` when
// it is not there: no inline values (a dict took them over), or, for an entry of the instance's dict (reads only,
// `dictToo`), no such dict, another layout, or another key at the entry the word names (LOAD_ATTR_WITH_HINT's
// checks). A __slots__ member's address is always there.
llvm::Value* fieldAddress(Lowerer& l, llvm::Value* obj, llvm::Value* word, llvm::BasicBlock* miss, bool dictToo) {
  auto& b = l.b;
  llvm::Function* f = l.func;
  llvm::Value* pos = b.CreateLShr(word, b.getInt64(2));
  llvm::BasicBlock* slotBB = llvm::BasicBlock::Create(l.ctx, "attr_slot", f);
  llvm::BasicBlock* valuesBB = llvm::BasicBlock::Create(l.ctx, "attr_values", f);
  llvm::BasicBlock* otherBB = llvm::BasicBlock::Create(l.ctx, "attr_not_values", f);
  llvm::BasicBlock* haveBB = llvm::BasicBlock::Create(l.ctx, "attr_values_ok", f);
  llvm::BasicBlock* dictBB = dictToo ? llvm::BasicBlock::Create(l.ctx, "attr_dict", f) : miss;
  llvm::BasicBlock* join = llvm::BasicBlock::Create(l.ctx, "attr_addr", f);
  // Two tests, inline values first (a switch here became a jump table: an indirect jump in every access), and the
  // dict an instance's values became read out of line: its checks inline were ten blocks per access, twice in
  // GetAttrInPlace (callgrind: 2% of the scheduler kernel's instructions).
  llvm::Value* kind = b.CreateAnd(word, b.getInt64(3));
  b.CreateCondBr(b.CreateICmpEQ(kind, b.getInt64(PYPA_ATTR_WORD_VALUES)), valuesBB, otherBB);
  b.SetInsertPoint(otherBB);
  b.CreateCondBr(b.CreateICmpEQ(kind, b.getInt64(PYPA_ATTR_WORD_SLOT)), slotBB, dictBB, mostly(l));
  b.SetInsertPoint(slotBB);
  llvm::Value* slotAddr = b.CreateInBoundsGEP(l.i8, obj, pos);
  b.CreateBr(join);
  b.SetInsertPoint(valuesBB);
  llvm::Value* values = b.CreateLoad(l.ptr, b.CreateConstGEP1_64(l.i8, obj, PYPA_OBJECT_VALUES_OFFSET));
  b.CreateCondBr(b.CreateIsNull(values), miss, haveBB, rarely(l));
  b.SetInsertPoint(haveBB);
  llvm::Value* valueAddr = b.CreateInBoundsGEP(l.ptr, values, pos);
  b.CreateBr(join);
  llvm::Value* entryValueAddr = nullptr;
  llvm::BasicBlock* dictEnd = nullptr;
  if (dictToo) {
    b.SetInsertPoint(dictBB);
    entryValueAddr = l.coldCall(Helper::pypa_rt_attr_dict_slot, {obj, word});
    dictEnd = llvm::BasicBlock::Create(l.ctx, "attr_dict_entry", f);
    b.CreateCondBr(b.CreateIsNull(entryValueAddr), miss, dictEnd, rarely(l));
    b.SetInsertPoint(dictEnd);
    b.CreateBr(join);
  }
  b.SetInsertPoint(join);
  llvm::PHINode* addr = b.CreatePHI(l.ptr, dictToo ? 3 : 2);
  addr->addIncoming(slotAddr, slotBB);
  addr->addIncoming(valueAddr, haveBB);
  if (dictToo) addr->addIncoming(entryValueAddr, dictEnd);
  return addr;
}

// The in-place read: the attribute (a new reference, obj released unless borrowed) at the end of the current block,
// or a branch to `miss` (obj untouched).
llvm::Value* loadInPlace(Lowerer& l, llvm::Value* obj, bool borrowed, llvm::Value* cache, llvm::BasicBlock* miss) {
  auto& b = l.b;
  llvm::BasicBlock* hit = llvm::BasicBlock::Create(l.ctx, "getattr_hit", l.func);
  llvm::BasicBlock* found = llvm::BasicBlock::Create(l.ctx, "getattr_found", l.func);
  llvm::Value* word = checkVersion(l, obj, cache, hit, miss);
  llvm::Value* item = b.CreateLoad(l.ptr, fieldAddress(l, obj, word, miss, true));
  // Not set (deleted, or never set on this instance): the generic path raises or finds the class attribute.
  b.CreateCondBr(b.CreateIsNull(item), miss, found, rarely(l));
  b.SetInsertPoint(found);
  l.incref(item);
  if (!borrowed) l.decref(obj);
  return item;
}

// The in-place write (value and obj consumed, obj unless borrowed) ending the current block's path, or a branch to
// `miss` (both untouched).
void storeInPlace(Lowerer& l, llvm::Value* obj, bool borrowed, llvm::Value* value, llvm::Value* cache,
                  llvm::BasicBlock* miss) {
  auto& b = l.b;
  llvm::BasicBlock* hit = llvm::BasicBlock::Create(l.ctx, "setattr_hit", l.func);
  llvm::Value* word = checkVersion(l, obj, cache, hit, miss);
  llvm::Value* addr = fieldAddress(l, obj, word, miss, false);
  llvm::Value* old = b.CreateLoad(l.ptr, addr);
  b.CreateStore(value, addr);
  llvm::BasicBlock* release = llvm::BasicBlock::Create(l.ctx, "setattr_release", l.func);
  llvm::BasicBlock* unset = llvm::BasicBlock::Create(l.ctx, "setattr_unset", l.func);
  llvm::BasicBlock* ordered = llvm::BasicBlock::Create(l.ctx, "setattr_ordered", l.func);
  llvm::BasicBlock* released = llvm::BasicBlock::Create(l.ctx, "setattr_released", l.func);
  b.CreateCondBr(b.CreateIsNull(old), unset, release);
  // An inline value not set before enters the values' insertion order, as STORE_ATTR_INSTANCE_VALUE does
  // (_PyDictValues_AddToInsertionOrder: the order's length is the byte 2 before the values, the indexes before it;
  // the values were made with room for every key their keys can hold). An empty __slots__ member has no order.
  b.SetInsertPoint(unset);
  b.CreateCondBr(b.CreateTrunc(word, l.i1), released, ordered);
  b.SetInsertPoint(ordered);
  llvm::Value* pos = b.CreateLShr(word, b.getInt64(2));
  llvm::Value* values = b.CreateGEP(l.ptr, addr, b.CreateNeg(pos));
  llvm::Value* sizePtr = b.CreateConstGEP1_64(l.i8, values, -2);
  llvm::Value* size = b.CreateAdd(b.CreateZExt(b.CreateLoad(l.i8, sizePtr), l.i64), b.getInt64(1));
  b.CreateStore(b.CreateTrunc(pos, l.i8), b.CreateGEP(l.i8, sizePtr, b.CreateNeg(size)));
  b.CreateStore(b.CreateTrunc(size, l.i8), sizePtr);
  b.CreateBr(released);
  b.SetInsertPoint(release);
  l.decref(old);  // after the store, as the interpreter: a finalizer sees the new value
  b.CreateBr(released);
  b.SetInsertPoint(released);
  if (!borrowed) l.decref(obj);
}

}  // namespace

template <>
void Lowerer::lower<Op::GetAttrCached>(const ir::Instr& in) {
  AttrSite site = siteOf(*this, in);
  llvm::Value* obj = val(in.args[0]);
  llvm::BasicBlock* miss = llvm::BasicBlock::Create(ctx, "getattr_miss", func);
  llvm::BasicBlock* join = llvm::BasicBlock::Create(ctx, "getattr", func);
  llvm::Value* item = loadInPlace(*this, obj, ownerBorrowed(in), site.cache, miss);
  llvm::BasicBlock* foundEnd = b.GetInsertBlock();
  b.CreateBr(join);
  b.SetInsertPoint(miss);
  if (ownerBorrowed(in)) incref(obj);  // the helper consumes it
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
  llvm::BasicBlock* miss = llvm::BasicBlock::Create(ctx, "setattr_miss", func);
  llvm::BasicBlock* join = llvm::BasicBlock::Create(ctx, "setattr", func);
  storeInPlace(*this, obj, ownerBorrowed(in), value, site.cache, miss);
  b.CreateBr(join);
  b.SetInsertPoint(miss);
  if (ownerBorrowed(in)) incref(obj);  // the helper consumes it
  callChecked(Helper::pypa_rt_setattr_cached,
              {ctxArg(), obj, value, b.getInt32(site.name), b.getInt32(exitUnit(in.exit)), site.cache}, in.exit);
  b.CreateBr(join);
  b.SetInsertPoint(join);
}

// In place, or the cache refilled and in place then, or the exit.
template <>
void Lowerer::lower<Op::GetAttrInPlace>(const ir::Instr& in) {
  AttrSite site = siteOf(*this, in);
  llvm::Value* obj = val(in.args[0]);
  llvm::BasicBlock* miss = llvm::BasicBlock::Create(ctx, "getattr_refill", func);
  llvm::BasicBlock* miss2 = llvm::BasicBlock::Create(ctx, "getattr_out", func);
  llvm::BasicBlock* join = llvm::BasicBlock::Create(ctx, "getattr", func);
  llvm::Value* first = loadInPlace(*this, obj, ownerBorrowed(in), site.cache, miss);
  llvm::BasicBlock* firstEnd = b.GetInsertBlock();
  b.CreateBr(join);
  b.SetInsertPoint(miss);
  coldCall(Helper::pypa_rt_attr_refill, {ctxArg(true), obj, b.getInt32(site.name), b.getInt32(0), site.cache});
  llvm::Value* second = loadInPlace(*this, obj, ownerBorrowed(in), site.cache, miss2);
  llvm::BasicBlock* secondEnd = b.GetInsertBlock();
  b.CreateBr(join);
  b.SetInsertPoint(miss2);
  guard(b.getTrue(), in.exit);
  b.CreateUnreachable();
  b.SetInsertPoint(join);
  llvm::PHINode* phi = b.CreatePHI(ptr, 2);
  phi->addIncoming(first, firstEnd);
  phi->addIncoming(second, secondEnd);
  def(in.id, phi);
}

template <>
void Lowerer::lower<Op::SetAttrInPlace>(const ir::Instr& in) {
  AttrSite site = siteOf(*this, in);
  llvm::Value* obj = val(in.args[0]);
  llvm::Value* value = val(in.args[1]);
  llvm::BasicBlock* miss = llvm::BasicBlock::Create(ctx, "setattr_refill", func);
  llvm::BasicBlock* miss2 = llvm::BasicBlock::Create(ctx, "setattr_out", func);
  llvm::BasicBlock* join = llvm::BasicBlock::Create(ctx, "setattr", func);
  storeInPlace(*this, obj, ownerBorrowed(in), value, site.cache, miss);
  b.CreateBr(join);
  b.SetInsertPoint(miss);
  coldCall(Helper::pypa_rt_attr_refill, {ctxArg(true), obj, b.getInt32(site.name), b.getInt32(1), site.cache});
  storeInPlace(*this, obj, ownerBorrowed(in), value, site.cache, miss2);
  b.CreateBr(join);
  // Into the dict the instance's values became (no code run), or the exit (both untouched).
  b.SetInsertPoint(miss2);
  llvm::Value* stored = coldCall(Helper::pypa_rt_instance_dict_store, {ctxArg(true), obj, b.getInt32(site.name), value});
  guard(b.CreateICmpEQ(stored, b.getInt32(0)), in.exit);
  decref(value);
  if (!ownerBorrowed(in)) decref(obj);
  b.CreateBr(join);
  b.SetInsertPoint(join);
}

}  // namespace pypaccel::codegen

namespace pypaccel::codegen {

// The method cache's entries (4, tried in turn): [0] version tag, [1] the function, [2] the
// shared keys (0: no instance dict at all), [3] their entry count when filled.
template <>
void Lowerer::lower<Op::LoadMethodCached>(const ir::Instr& in) {
  AttrSite site = siteOf(*this, in);
  llvm::Value* obj = val(in.args[0]);
  llvm::Value* entry = nullptr;  // this type's entry, once its version is loaded
  auto word = [&](int k) { return b.CreateLoad(k == 0 || k == 3 ? i64 : ptr, b.CreateConstInBoundsGEP1_64(i64, entry, k)); };
  llvm::BasicBlock* versionOk = llvm::BasicBlock::Create(ctx, "method_version_ok", func);
  llvm::BasicBlock* withDict = llvm::BasicBlock::Create(ctx, "method_values", func);
  llvm::BasicBlock* hasValues = llvm::BasicBlock::Create(ctx, "method_keys", func);
  llvm::BasicBlock* hasDict = llvm::BasicBlock::Create(ctx, "method_dict", func);
  llvm::BasicBlock* hit = llvm::BasicBlock::Create(ctx, "method_hit", func);
  llvm::BasicBlock* miss = llvm::BasicBlock::Create(ctx, "method_miss", func);
  llvm::BasicBlock* join = llvm::BasicBlock::Create(ctx, "method", func);
  llvm::Value* type = b.CreateLoad(ptr, b.CreateConstInBoundsGEP1_64(i8, obj, PYPA_OBJECT_TYPE_OFFSET));
  llvm::Value* version = typeVersion(*this, type);
  entry = findEntry(*this, site.cache, version, 4, miss);
  b.CreateBr(versionOk);
  // No instance of this type can shadow the name (no __dict__), or this one has inline values whose keys still
  // lack it.
  b.SetInsertPoint(versionOk);
  llvm::Value* keys = word(2);
  b.CreateCondBr(b.CreateIsNull(keys), hit, withDict);
  b.SetInsertPoint(withDict);
  llvm::Value* values = b.CreateLoad(ptr, b.CreateConstGEP1_64(i8, obj, PYPA_OBJECT_VALUES_OFFSET));
  b.CreateCondBr(b.CreateIsNull(values), hasDict, hasValues);
  // Its values became a dict: one lookup there (as LOAD_METHOD_WITH_DICT's check of the dict).
  b.SetInsertPoint(hasDict);
  llvm::Value* lacks = coldCall(Helper::pypa_rt_instance_dict_lacks, {ctxArg(true), obj, b.getInt32(site.name)});
  b.CreateCondBr(b.CreateICmpNE(lacks, b.getInt32(0)), hit, miss);
  b.SetInsertPoint(hasValues);
  llvm::Value* typeKeys = b.CreateLoad(ptr, b.CreateConstInBoundsGEP1_64(i8, type, pypa_heaptype_cached_keys_offset));
  llvm::Value* sameKeys = b.CreateICmpEQ(typeKeys, keys);
  llvm::Value* n = b.CreateLoad(i64, b.CreateConstInBoundsGEP1_64(i8, keys, pypa_dictkeys_nentries_offset));
  b.CreateCondBr(b.CreateAnd(sameKeys, b.CreateICmpEQ(n, word(3))), hit, miss);
  b.SetInsertPoint(hit);
  llvm::Value* cachedFunc = word(1);
  b.CreateBr(join);
  b.SetInsertPoint(miss);
  Helper lookup = in.op == Op::LoadClassValue ? Helper::pypa_rt_class_value_lookup : Helper::pypa_rt_method_lookup;
  llvm::Value* looked = call(lookup, {ctxArg(), obj, b.getInt32(site.name), site.cache});
  guard(b.CreateIsNull(looked), in.exit);
  llvm::BasicBlock* missEnd = b.GetInsertBlock();
  b.CreateBr(join);
  b.SetInsertPoint(join);
  llvm::PHINode* phi = b.CreatePHI(ptr, 2);
  phi->addIncoming(cachedFunc, hit);
  phi->addIncoming(looked, missEnd);
  def(in.id, phi);
}

}  // namespace pypaccel::codegen

namespace pypaccel::codegen {

// A class's slot function from its TypeMethodCache (4 entries of [version tag, function], tried in turn): for
// LoadOperator the class is the operand's type, for LoadInit the callable itself, once it is known to
// be a class (exactly a `type`: a metaclass may define __call__). LoadClassAttr: an attribute of the class itself,
// a staticmethod's (its address | 1 in the cache) read from it.
template <>
void Lowerer::lower<Op::LoadOperator>(const ir::Instr& in) {
  llvm::Value* cache = slotAddr(in.imm & 0xffffffff);
  int32_t which = in.op == Op::LoadInit ? -1 : int32_t(in.imm >> 32);
  llvm::Value* obj = val(in.args[0]);
  llvm::Value* objType = b.CreateLoad(ptr, b.CreateConstInBoundsGEP1_64(i8, obj, PYPA_OBJECT_TYPE_OFFSET));
  llvm::Value* type = objType;
  if (in.op == Op::LoadInit || in.op == Op::LoadClassAttr) {
    guard(b.CreateICmpNE(objType, pySymbol("PyType_Type")), in.exit);
    type = obj;
  }
  llvm::BasicBlock* hit = llvm::BasicBlock::Create(ctx, "typemethod_hit", func);
  llvm::BasicBlock* miss = llvm::BasicBlock::Create(ctx, "typemethod_miss", func);
  llvm::BasicBlock* join = llvm::BasicBlock::Create(ctx, "typemethod", func);
  llvm::Value* version = typeVersion(*this, type);
  llvm::Value* entry = findEntry(*this, cache, version, 2, miss);
  b.CreateBr(hit);
  b.SetInsertPoint(hit);
  llvm::Value* fast = b.CreateLoad(ptr, b.CreateConstInBoundsGEP1_64(i64, entry, 1));
  if (in.op == Op::LoadClassAttr) {
    llvm::BasicBlock* wrapped = llvm::BasicBlock::Create(ctx, "class_attr_staticmethod", func);
    llvm::BasicBlock* plain = b.GetInsertBlock();
    llvm::Value* word = b.CreatePtrToInt(fast, i64);
    b.CreateCondBr(b.CreateICmpNE(b.CreateAnd(word, b.getInt64(1)), b.getInt64(0)), wrapped, join);
    b.SetInsertPoint(wrapped);
    llvm::Value* sm = b.CreateIntToPtr(b.CreateAnd(word, b.getInt64(~int64_t(1))), ptr);
    llvm::Value* callable = b.CreateLoad(ptr, b.CreateConstInBoundsGEP1_64(i8, sm, pypa_staticmethod_callable_offset()));
    llvm::BasicBlock* wrappedEnd = b.GetInsertBlock();
    b.CreateBr(join);
    b.SetInsertPoint(miss);
    llvm::Value* looked = coldCall(Helper::pypa_rt_class_attr, {ctxArg(true), type, b.getInt32(which), cache});
    guard(b.CreateIsNull(looked), in.exit);
    llvm::BasicBlock* missEnd = b.GetInsertBlock();
    b.CreateBr(join);
    b.SetInsertPoint(join);
    llvm::PHINode* phi = b.CreatePHI(ptr, 3);
    phi->addIncoming(fast, plain);
    phi->addIncoming(callable, wrappedEnd);
    phi->addIncoming(looked, missEnd);
    def(in.id, phi);
    return;
  }
  b.CreateBr(join);
  b.SetInsertPoint(miss);
  llvm::Value* looked = coldCall(Helper::pypa_rt_type_method, {type, b.getInt32(which), cache});
  guard(b.CreateIsNull(looked), in.exit);
  llvm::BasicBlock* missEnd = b.GetInsertBlock();
  b.CreateBr(join);
  b.SetInsertPoint(join);
  llvm::PHINode* phi = b.CreatePHI(ptr, 2);
  phi->addIncoming(fast, hit);
  phi->addIncoming(looked, missEnd);
  def(in.id, phi);
}

}  // namespace pypaccel::codegen

namespace pypaccel::codegen {

template <>
void Lowerer::lower<Op::GuardSameType>(const ir::Instr& in) {
  auto typeOf = [&](llvm::Value* o) {
    return b.CreateLoad(ptr, b.CreateConstInBoundsGEP1_64(i8, o, PYPA_OBJECT_TYPE_OFFSET));
  };
  guard(b.CreateICmpNE(typeOf(val(in.args[0])), typeOf(val(in.args[1]))), in.exit);
}

}  // namespace pypaccel::codegen
