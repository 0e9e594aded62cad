// Lowering of a direct call site (CallDirect): the guard on the callee (the site's words), resolving the site on a
// miss, the call through the callee's SpecHeader (or its inlined copy, or this very entry when it recurses), and
// decoding the result. See runtime/native_ctx.h (DirectResult, SpecHeader) and docs/architecture.md.
#include <llvm/IR/MDBuilder.h>

#include <tuple>
#include <vector>

#include "codegen/lowerer.h"
#include "cpython/cpy.h"
#include "cpython/layout.h"
#include "deopt/specialization.h"
#include "runtime/native_ctx.h"

namespace pypaccel::codegen {

using ir::Op;
using ir::Type;
using namespace runtime;

namespace {

// One CallDirect while it is lowered. Site words: [function, SpecHeader*, code object] (slots site + 0..2), filled
// by pypa_rt_direct_resolve, which holds a reference to the function and its code: the guard is their identity (a
// function whose __code__ was replaced fails it), and a callable the site matches cannot die during the call, so it
// is borrowed (bit 32 of imm) when the emitter could leave its reference out.
class DirectCallSite {
 public:
  DirectCallSite(Lowerer& l, const ir::Instr& in)
      : l_(l), b_(l.b), in_(in), site_(in.imm & 0xffffffff), borrowed_((in.imm >> 32) & ir::kDirectBorrowed),
        init_((in.imm >> 32) & ir::kDirectInit), operator_((in.imm >> 32) & ir::kDirectOperator),
        generic_((in.imm >> 32) & ir::kDirectGeneric), discard_((in.imm >> 32) & ir::kDirectDiscard),
        oparg_(int32_t((in.imm >> 40) & 0xff)), callable_(l.val(in.args[0])),
        likely_(llvm::MDBuilder(l.ctx).createBranchWeights(1000, 1)) {
    // The callee's recursion budget: this level's. A frame entry reads the thread's count now, not at its entry:
    // a call out of it may have moved the limit since (sys.setrecursionlimit shifts the remaining count).
    if (!l.fn.direct) {
      remaining_ = b_.CreateConstInBoundsGEP1_64(l.i8, l.ctxField(kCtxTstate), PYPA_TSTATE_RECURSION_REMAINING_OFFSET);
      budget_ = b_.CreateLoad(l.i32, remaining_);
    }
  }

  void lower() {
    joined_ = block("direct_returned");
    llvm::BasicBlock* check = block("direct_check");
    // (An __init__ that makes an instance of its own class calls itself with an instance allocated after the check.)
    if (l_.fn.direct && !init_ && l_.fn.slots[size_t(site_)].name == l_.fn.signature) callSelf(check);
    else b_.CreateBr(check);
    auto [hdr, entry, call] = checkSite(check);
    if (init_) allocateInstance();
    callTarget(hdr, entry, call);
    b_.SetInsertPoint(joined_);
    llvm::Value* res = results_[0].first;
    if (results_.size() > 1) {
      llvm::PHINode* phi = b_.CreatePHI(l_.directResultTy, unsigned(results_.size()));
      for (auto& [v, from] : results_) phi->addIncoming(v, from);
      res = phi;
    }
    if (!l_.fn.direct) {
      // An exit down the call chain left the thread's count at that depth: put back this level's, for the code
      // this frame entry runs next (a direct entry runs nothing that reads it).
      b_.CreateStore(budget_, remaining_);
    }
    // The call consumed the callable (unless borrowed) and object arguments (the callee took its own); an
    // operator's stay on the stack until its result is checked.
    if (!borrowed_) l_.decref(callable_);
    if (!operator_) releaseArgs();
    if (init_) {
      l_.def(in_.id, decodeInit(res));
      return;
    }
    llvm::Value* value = decodeResult(res);
    if (operator_ && oparg_ < PYPA_SUBSCR_GET) {
      // NotImplemented: the other operand's slot has nothing either (the emitter calls only when it has not), so
      // binary_op1 raises.
      llvm::BasicBlock* notImpl = block("operator_unsupported");
      llvm::BasicBlock* ok = block("operator_result");
      b_.CreateCondBr(b_.CreateICmpEQ(value, l_.pySymbol("_Py_NotImplementedStruct")), notImpl, ok);
      b_.SetInsertPoint(notImpl);
      operatorResult(value);
      b_.CreateBr(l_.exitBlock(in_.exit2));
      b_.SetInsertPoint(ok);
    }
    // A subscript's __getitem__ may return anything, NotImplemented too, and that is the result (__setitem__'s is
    // dropped by the emitter).
    if (operator_) releaseArgs();
    l_.def(in_.id, value);
  }

 private:
  llvm::BasicBlock* block(const char* name) { return llvm::BasicBlock::Create(l_.ctx, name, l_.func); }
  llvm::Value* word(int k) { return b_.CreateConstInBoundsGEP1_64(l_.i64, l_.ctxField(kCtxSlots), site_ + k); }

  // An exit after the call with its result, an object: the result on top of the exit's stack, or, for a call whose
  // result is dropped (kDirectDiscard), released first (that exit's stack has no place for it).
  llvm::BasicBlock* exitAfter(int exitId, llvm::Value* result) {
    if (!discard_) return l_.exitBlockWithTop(exitId, result);
    llvm::BasicBlock* drop = block("direct_drop_result");
    llvm::BasicBlock* here = b_.GetInsertBlock();
    b_.SetInsertPoint(drop);
    l_.decref(result);
    b_.CreateBr(l_.exitBlock(exitId));
    b_.SetInsertPoint(here);
    return drop;
  }

  // The object arguments, released (an Init call's class among them).
  void releaseArgs() {
    for (size_t i = 1; i < in_.args.size(); i++)
      if (l_.val(in_.args[i])->getType() == l_.ptr) l_.decref(l_.val(in_.args[i]));
  }

  // Init: the instance object's __new__ makes (self for __init__), once the site holds. If that fails, the call's
  // arguments are released as the call would have, and the exception leaves through the Raise exit.
  void allocateInstance() {
    instance_ = l_.call(Helper::pypa_rt_new_instance, {l_.val(in_.args[1])});
    llvm::BasicBlock* failed = block("init_alloc_failed");
    llvm::BasicBlock* made = block("init_allocated");
    b_.CreateCondBr(b_.CreateIsNull(instance_), failed, made, llvm::MDBuilder(l_.ctx).createBranchWeights(1, 1000));
    b_.SetInsertPoint(failed);
    if (!borrowed_) l_.decref(callable_);
    releaseArgs();
    b_.CreateBr(l_.exitBlock(in_.exit2));
    b_.SetInsertPoint(made);
  }

  // Init: __init__ returned None (released), and the call's result is the instance; else the instance is released
  // and the exception (the callee's, or slot_tp_init's TypeError for another result) leaves through the Raise exit.
  llvm::Value* decodeInit(llvm::Value* res) {
    llvm::Value* bits = b_.CreateExtractValue(res, 0);
    llvm::Value* obj = b_.CreateExtractValue(res, 1);
    llvm::BasicBlock* none = block("init_none");
    llvm::BasicBlock* other = block("init_other");
    llvm::BasicBlock* raised = block("init_raised");
    llvm::BasicBlock* returned = block("init_returned");
    llvm::BasicBlock* done = block("init_done");
    b_.CreateCondBr(b_.CreateICmpEQ(obj, l_.pySymbol("_Py_NoneStruct")), none, other, likely_);
    b_.SetInsertPoint(other);
    b_.CreateCondBr(b_.CreateIsNull(obj), raised, returned);
    b_.SetInsertPoint(raised);
    l_.decref(instance_);
    b_.CreateBr(l_.exitBlock(in_.exit2));
    b_.SetInsertPoint(returned);
    l_.coldCall(Helper::pypa_rt_init_returned, {instance_, obj, bits});
    b_.CreateBr(l_.exitBlock(in_.exit2));
    // A None from an exit down the chain (bits 1): Python code ran there and may have switched tracing on; then
    // this frame goes on in the interpreter after the CALL, with the instance.
    b_.SetInsertPoint(none);
    l_.decref(obj);
    llvm::BasicBlock* exited = block("init_exited");
    b_.CreateCondBr(b_.CreateICmpEQ(bits, b_.getInt64(0)), done, exited, likely_);
    b_.SetInsertPoint(exited);
    b_.CreateCondBr(b_.CreateICmpNE(l_.tracingFlag(), b_.getInt8(0)), l_.exitBlockWithTop(in_.exit4, instance_), done);
    b_.SetInsertPoint(done);
    return instance_;
  }

  // Operator: the result of the class's __op__ (owned), or null with binary_op1's TypeError for NotImplemented.
  llvm::Value* operatorResult(llvm::Value* result) {
    llvm::Value* a = l_.val(in_.args[1]);
    llvm::Value* other = l_.val(in_.args[2]);
    llvm::Value* btype = other->getType() == l_.ptr
                             ? static_cast<llvm::Value*>(b_.CreateLoad(
                                   l_.ptr, b_.CreateConstInBoundsGEP1_64(l_.i8, other, PYPA_OBJECT_TYPE_OFFSET)))
                         : other->getType() == l_.f64 ? l_.pySymbol("PyFloat_Type")
                         : other->getType() == l_.i1  ? l_.pySymbol("PyBool_Type")
                                                      : l_.pySymbol("PyLong_Type");
    return l_.coldCall(Helper::pypa_rt_binop_result, {result, a, btype, b_.getInt32(oparg_)});
  }

  // The call of `target` (a direct entry) with the callee's header: the callee reads only the thread's fields of
  // the context it gets (a direct entry passes on the one it got).
  llvm::Value* callEntry(llvm::Value* target, llvm::Value* hdr) {
    if (!budget_) budget_ = l_.fn.direct ? l_.recursionBudget() : b_.CreateLoad(l_.i32, remaining_);
    std::vector<llvm::Type*> params = {l_.ptr, l_.ptr, l_.ptr, l_.i32};
    std::vector<llvm::Value*> args = {l_.fn.direct ? l_.func->getArg(0) : l_.argCtx, hdr, callable_, budget_};
    for (size_t i = 1; i < in_.args.size(); i++) {
      llvm::Value* a = init_ && i == 1 ? instance_ : l_.val(in_.args[i]);
      params.push_back(a->getType());
      args.push_back(a);
    }
    return b_.CreateCall(llvm::FunctionType::get(l_.directResultTy, params, false), target, args);
  }

  void callAndJoin(llvm::Value* target, llvm::Value* hdr) {
    llvm::BasicBlock* from = b_.GetInsertBlock();
    results_.push_back({callEntry(target, hdr), from});
    b_.CreateBr(joined_);
  }

  // A direct entry calling the function it runs as, with its own signature (recursion): while that function still
  // has this code, the callee is this very entry, with this header. Call it by name (no site words to check, and
  // unrollSelfRecursion can inline one level of it). `func` cannot have died: its caller holds it.
  void callSelf(llvm::BasicBlock* otherwise) {
    llvm::BasicBlock* selfCode = block("self_code");
    llvm::BasicBlock* selfCall = block("self_call");
    b_.CreateCondBr(b_.CreateICmpEQ(callable_, l_.func->getArg(2)), selfCode, otherwise);
    b_.SetInsertPoint(selfCode);
    llvm::Value* code = b_.CreateLoad(l_.ptr, b_.CreateConstInBoundsGEP1_64(l_.i8, callable_, PYPA_FUNC_CODE_OFFSET));
    // (Compared as code objects, the header's from its first code unit: the callee's `__code__` then needs no
    // register, the compare reads it from memory.)
    llvm::Value* own = b_.CreateLoad(l_.ptr, b_.CreateConstInBoundsGEP1_64(l_.ptr, l_.argHdr, kHdrFirstInstr));
    llvm::Value* ownCode = b_.CreateGEP(l_.i8, own, b_.getInt64(-int64_t(PYPA_CODE_FIRST_INSTR_OFFSET)));
    b_.CreateCondBr(b_.CreateICmpEQ(code, ownCode), selfCall, otherwise);
    b_.SetInsertPoint(selfCall);
    callAndJoin(l_.func, l_.argHdr);
  }

  // A callee the site could not fill an entry for, called through vectorcall (kDirectGeneric): its result as a
  // direct callee's that exited (bits 1: Python code ran), which decodeResult checks and converts. As after
  // CPython's CALL, a pending signal's handler runs once it returned; its exception is the call's (the result
  // dropped). Anything else the eval breaker asks for waits for the next check, as after a direct call.
  llvm::BasicBlock* callGeneric() {
    llvm::BasicBlock* generic = block("direct_generic");
    llvm::IRBuilderBase::InsertPointGuard keep(b_);
    b_.SetInsertPoint(generic);
    l_.syncLocalsOf(in_.exit);
    int n = int(in_.args.size()) - 1;
    llvm::Value* items = l_.entryAlloca(l_.ptr, n + 1);
    b_.CreateStore(callable_, items);
    for (int i = 1; i <= n; i++) b_.CreateStore(l_.val(in_.args[size_t(i)]), b_.CreateConstInBoundsGEP1_64(l_.ptr, items, i));
    llvm::Value* r = l_.call(Helper::pypa_rt_direct_generic,
                             {l_.ctxArg(true), items, b_.getInt32(n), b_.getInt32(l_.exitUnit(in_.exit))});
    auto* flag = b_.CreateLoad(l_.i32, l_.ctxField(kCtxEvalBreaker));
    flag->setAtomic(llvm::AtomicOrdering::Monotonic);
    flag->setAlignment(llvm::Align(4));
    llvm::BasicBlock* poll = block("direct_generic_poll");
    llvm::BasicBlock* raised = block("direct_generic_handler_raised");
    llvm::BasicBlock* done = block("direct_generic_done");
    llvm::Value* pending = b_.CreateAnd(b_.CreateICmpNE(flag, b_.getInt32(0)), b_.CreateIsNotNull(r));
    llvm::BasicBlock* called = b_.GetInsertBlock();
    b_.CreateCondBr(pending, poll, done,
                    llvm::MDBuilder(l_.ctx).createBranchWeights(1, 1000));
    b_.SetInsertPoint(poll);
    llvm::Value* rc = l_.coldCall(Helper::pypa_rt_poll, {l_.ctxArg(true)});
    llvm::BasicBlock* polled = b_.GetInsertBlock();
    b_.CreateCondBr(b_.CreateICmpSLT(rc, b_.getInt32(0)), raised, done);
    b_.SetInsertPoint(raised);
    l_.decref(r);
    llvm::BasicBlock* released = b_.GetInsertBlock();
    b_.CreateBr(done);
    b_.SetInsertPoint(done);
    llvm::PHINode* result = b_.CreatePHI(l_.ptr, 3);
    result->addIncoming(r, called);
    result->addIncoming(r, polled);
    result->addIncoming(llvm::ConstantPointerNull::get(llvm::PointerType::get(l_.ctx, 0)), released);
    r = result;
    llvm::Value* res = llvm::UndefValue::get(l_.directResultTy);
    res = b_.CreateInsertValue(res, b_.getInt64(1), 0);
    res = b_.CreateInsertValue(res, r, 1);
    res = b_.CreateInsertValue(res, llvm::ConstantFP::get(l_.f64, 0.0), 2);
    results_.push_back({res, b_.GetInsertBlock()});
    b_.CreateBr(joined_);
    return generic;
  }

  struct Target {
    llvm::Value* hdr;
    llvm::Value* entry;
    llvm::BasicBlock* call;  // the block that calls it, where the returned values meet
  };

  // The site's words against the callable, entry by entry (one for a CallSite, four for a PolyCallSite): its
  // identity, its code, an entry in its header. A miss of every entry resolves the site (which fills an entry for
  // this callable and answers which, else answers 0: the exit). Then straight to the call, not back to the checks:
  // a loop there (through a helper call) made the register allocator keep the caller's loop values in memory
  // across the whole hot path.
  Target checkSite(llvm::BasicBlock* check) {
    int entries = ir::callSiteEntries(l_.fn.slots[size_t(site_)].kind);
    llvm::BasicBlock* slow = block("direct_resolve");
    // A callable the site knows has no direct entry (its header has none): straight to vectorcall where the site
    // may (kDirectGeneric), unless a wider entry replaced that one; else resolved again (it may have one by now)
    // or the exit.
    llvm::BasicBlock* noEntry = slow;
    llvm::PHINode* noEntryHdr = nullptr;
    llvm::BasicBlock* generic = generic_ ? callGeneric() : nullptr;
    if (generic_) {
      noEntry = block("direct_no_entry");
      llvm::IRBuilderBase::InsertPointGuard keep(b_);
      b_.SetInsertPoint(noEntry);
      noEntryHdr = b_.CreatePHI(l_.ptr, unsigned(entries));
      llvm::Value* replaced =
          b_.CreateLoad(l_.i64, b_.CreateConstInBoundsGEP1_64(l_.i64, noEntryHdr, kHdrReplaced));
      b_.CreateCondBr(b_.CreateICmpEQ(replaced, b_.getInt64(0)), generic, slow, likely_);
    }
    llvm::BasicBlock* call = block("direct_call");
    std::vector<std::tuple<llvm::Value*, llvm::Value*, llvm::BasicBlock*>> found;  // header, entry, from
    llvm::BasicBlock* next = check;
    for (int k = 0; k < entries; k++) {
      llvm::BasicBlock* checkCode = block("direct_code");
      llvm::BasicBlock* checkEntry = block("direct_entry");
      llvm::BasicBlock* miss = k + 1 < entries ? block("direct_next") : slow;
      b_.SetInsertPoint(next);
      llvm::Value* same = b_.CreateICmpEQ(b_.CreatePtrToInt(callable_, l_.i64), b_.CreateLoad(l_.i64, word(3 * k)));
      b_.CreateCondBr(same, checkCode, miss, k == 0 ? likely_ : nullptr);
      b_.SetInsertPoint(checkCode);
      // (Read once the callable is known to be a function: the entry's.)
      llvm::Value* code = b_.CreateLoad(l_.ptr, b_.CreateConstInBoundsGEP1_64(l_.i8, callable_, PYPA_FUNC_CODE_OFFSET));
      same = b_.CreateICmpEQ(b_.CreatePtrToInt(code, l_.i64), b_.CreateLoad(l_.i64, word(3 * k + 2)));
      b_.CreateCondBr(same, checkEntry, slow, likely_);
      b_.SetInsertPoint(checkEntry);
      llvm::Value* hdr = b_.CreateLoad(l_.ptr, word(3 * k + 1));
      llvm::Value* entry = b_.CreateLoad(l_.ptr, b_.CreateConstInBoundsGEP1_64(l_.ptr, hdr, kHdrDirectEntry));
      b_.CreateCondBr(b_.CreateIsNull(entry), noEntry, call, likely_);
      if (noEntryHdr) noEntryHdr->addIncoming(hdr, checkEntry);
      found.emplace_back(hdr, entry, checkEntry);
      next = miss;
    }

    b_.SetInsertPoint(slow);
    // The arguments go along as examples (null where unboxed): the callee's entry may be compiled now.
    int n = int(in_.args.size()) - 1;
    llvm::Value* examples = l_.entryAlloca(l_.ptr, unsigned(std::max(n, 1)));
    for (int i = 1; i <= n; i++) {
      llvm::Value* a = init_ && i == 1 ? nullptr : l_.val(in_.args[size_t(i)]);  // (Init: the instance is not made yet)
      b_.CreateStore(a && a->getType() == l_.ptr ? a : llvm::ConstantPointerNull::get(llvm::PointerType::get(l_.ctx, 0)),
                     b_.CreateConstInBoundsGEP1_64(l_.ptr, examples, i - 1));
    }
    llvm::Value* resolved = l_.coldCall(Helper::pypa_rt_direct_resolve_with,
                                        {l_.ctxArg(true), b_.getInt32(int32_t(site_)), callable_, examples, b_.getInt32(n)});
    llvm::BasicBlock* filled = block("direct_filled");
    b_.CreateCondBr(b_.CreateICmpNE(resolved, b_.getInt32(0)), filled, generic_ ? generic : l_.exitBlock(in_.exit));
    b_.SetInsertPoint(filled);
    // The header of the entry it filled (resolved - 1).
    llvm::Value* k = b_.CreateZExt(b_.CreateSub(resolved, b_.getInt32(1)), l_.i64);
    llvm::Value* hdrWord = b_.CreateInBoundsGEP(l_.i64, word(1), b_.CreateMul(k, b_.getInt64(3)));
    llvm::Value* hdr1 = b_.CreateLoad(l_.ptr, hdrWord);
    llvm::Value* entry1 = b_.CreateLoad(l_.ptr, b_.CreateConstInBoundsGEP1_64(l_.ptr, hdr1, kHdrDirectEntry));
    b_.CreateBr(call);
    found.emplace_back(hdr1, entry1, filled);

    b_.SetInsertPoint(call);
    llvm::PHINode* hdr = b_.CreatePHI(l_.ptr, unsigned(found.size()));
    llvm::PHINode* entry = b_.CreatePHI(l_.ptr, unsigned(found.size()));
    for (auto& [h, en, from] : found) {
      hdr->addIncoming(h, from);
      entry->addIncoming(en, from);
    }
    return {hdr, entry, call};
  }

  // The call of the entry the site found, or of this function's inlined copy of the callee when the callee's
  // linked entry has the very IR the copy was made from.
  void callTarget(llvm::Value* hdr, llvm::Value* entry, llvm::BasicBlock* call) {
    // The caller's frame shows this call site, as for any call. (A direct entry has no frame while it runs
    // natively: its exits set the frame's position themselves.)
    if (!l_.fn.direct) l_.showInstruction(l_.exitUnit(in_.exit));
    if (!l_.fn.inlined.count(int(site_))) {
      callAndJoin(entry, hdr);
      return;
    }
    llvm::Function* copy = l_.mod.getFunction(inlinedName(l_.fn, int(site_)));
    llvm::BasicBlock* callCopy = block("direct_inline");
    llvm::BasicBlock* callLinked = block("direct_linked");
    llvm::Value* variant = b_.CreateLoad(l_.i64, b_.CreateConstInBoundsGEP1_64(l_.i64, hdr, kHdrVariant));
    uint64_t want = deopt::irVariant(*l_.fn.inlined.at(int(site_)));
    b_.CreateCondBr(b_.CreateICmpEQ(variant, b_.getInt64(want)), callCopy, callLinked, likely_);
    b_.SetInsertPoint(callCopy);
    callAndJoin(copy, hdr);
    b_.SetInsertPoint(callLinked);
    callAndJoin(entry, hdr);
    (void)call;
  }

  // The result as the site's type: the fast path when the callee returned one; else an exception (null), or a
  // result of another kind, converted when it can be (a big int that fits after all, a boxed float...), else the
  // exit after the call with the object on the stack.
  llvm::Value* decodeResult(llvm::Value* res) {
    llvm::Value* bits = b_.CreateExtractValue(res, 0);
    llvm::Value* obj = b_.CreateExtractValue(res, 1);
    llvm::Value* objWord = b_.CreatePtrToInt(obj, l_.i64);
    Type t = in_.type;
    llvm::BasicBlock* done = block("direct_done");
    llvm::BasicBlock* other = block("direct_other");
    llvm::BasicBlock* fast = b_.GetInsertBlock();
    llvm::Value* fastValue;
    if (t == Type::Obj) {
      // An object the callee computed itself (bits 0), not the result of an exit (bits 1: see below).
      fastValue = obj;
      b_.CreateCondBr(b_.CreateAnd(b_.CreateICmpUGT(objWord, b_.getInt64(3)), b_.CreateICmpEQ(bits, b_.getInt64(0))),
                      done, other, likely_);
    } else {
      fastValue = t == Type::Int     ? bits
                  : t == Type::Float ? b_.CreateExtractValue(res, 2)
                                     : b_.CreateTrunc(bits, l_.i1);
      b_.CreateCondBr(b_.CreateICmpEQ(objWord, b_.getInt64(directResultTag(t))), done, other, likely_);
    }
    b_.SetInsertPoint(other);
    l_.guard(b_.CreateIsNull(obj), in_.exit2);
    // A boxed result may come from an exit down the chain: Python code ran there, and may have switched tracing
    // on. Then this frame goes on in the interpreter, which reports its events from here.
    llvm::BasicBlock* boxed = block("direct_boxed");
    llvm::BasicBlock* convert = block("direct_convert");
    b_.CreateCondBr(b_.CreateICmpUGT(objWord, b_.getInt64(3)), boxed, convert);
    b_.SetInsertPoint(boxed);
    if (operator_) {
      // After the operator, as the interpreter would be: NotImplemented raised (not for a subscript, whose result
      // it is), the operands released.
      llvm::BasicBlock* tracing = block("operator_tracing");
      b_.CreateCondBr(b_.CreateICmpNE(l_.tracingFlag(), b_.getInt8(0)), tracing, convert);
      b_.SetInsertPoint(tracing);
      llvm::Value* r = obj;
      if (oparg_ < PYPA_SUBSCR_GET) {
        r = operatorResult(obj);
        l_.guard(b_.CreateIsNull(r), in_.exit2);
      }
      releaseArgs();
      b_.CreateBr(exitAfter(in_.exit4, r));
    } else {
      b_.CreateCondBr(b_.CreateICmpNE(l_.tracingFlag(), b_.getInt8(0)), exitAfter(in_.exit4, obj), convert);
    }
    b_.SetInsertPoint(convert);
    llvm::Value* objSlot = l_.entryAlloca(l_.ptr);
    llvm::Value* out = l_.entryAlloca(l_.i64);
    b_.CreateStore(obj, objSlot);
    llvm::Value* rc =
        l_.coldCall(Helper::pypa_rt_direct_convert, {objSlot, bits, b_.getInt32(int32_t(t)), out});
    l_.guard(b_.CreateICmpSLT(rc, b_.getInt32(0)), in_.exit2);
    llvm::BasicBlock* convOk = block("direct_converted");
    llvm::BasicBlock* convBad = block("direct_mismatch");
    b_.CreateCondBr(b_.CreateICmpEQ(rc, b_.getInt32(0)), convOk, convBad);
    b_.SetInsertPoint(convBad);
    b_.CreateBr(exitAfter(in_.exit3, b_.CreateLoad(l_.ptr, objSlot)));
    b_.SetInsertPoint(convOk);
    llvm::Value* word0 = b_.CreateLoad(l_.i64, out);
    llvm::Value* converted = t == Type::Obj     ? b_.CreateIntToPtr(word0, l_.ptr)
                             : t == Type::Int   ? word0
                             : t == Type::Float ? b_.CreateBitCast(word0, l_.f64)
                                                : b_.CreateTrunc(word0, l_.i1);
    llvm::BasicBlock* convEnd = b_.GetInsertBlock();
    b_.CreateBr(done);
    b_.SetInsertPoint(done);
    llvm::PHINode* phi = b_.CreatePHI(l_.llvmType(t), 2);
    phi->addIncoming(fastValue, fast);
    phi->addIncoming(converted, convEnd);
    return phi;
  }

  Lowerer& l_;
  llvm::IRBuilder<>& b_;
  const ir::Instr& in_;
  int64_t site_;
  bool borrowed_;
  bool init_;
  bool operator_;
  bool generic_;
  bool discard_;
  int32_t oparg_;
  llvm::Value* callable_;
  llvm::Value* instance_ = nullptr;  // Init: the instance made for the call
  llvm::MDNode* likely_;
  llvm::Value* remaining_ = nullptr;  // a frame entry's &tstate->recursion_remaining
  llvm::Value* budget_ = nullptr;     // the callee's budget, loaded where the call is made, once
  llvm::BasicBlock* joined_ = nullptr;
  std::vector<std::pair<llvm::Value*, llvm::BasicBlock*>> results_;
};

}  // namespace

template <>
void Lowerer::lower<Op::CallDirect>(const ir::Instr& in) {
  DirectCallSite(*this, in).lower();
}

}  // namespace pypaccel::codegen
