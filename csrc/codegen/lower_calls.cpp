// Lowering of direct calls between compiled functions: the caller's call site (guard on the callee's code object,
// the call through the callee's SpecHeader, the result's decoding) and the callee's side (parameters, prologue,
// unboxed return). See runtime/native_ctx.h (DirectResult, SpecHeader) and docs/architecture.md.
#include <llvm/IR/Intrinsics.h>
#include <llvm/IR/MDBuilder.h>

#include "codegen/codegen.h"
#include "codegen/lowerer.h"
#include "deopt/specialization.h"
#include "runtime/native_ctx.h"

namespace pypaccel::codegen {

using ir::Op;
using ir::Type;

namespace {

int resultTag(Type t) {
  switch (t) {
    case Type::Int: return 1;
    case Type::Float: return 2;
    case Type::Bool: return 3;
    default: return 0;
  }
}

}  // namespace

bool Lowerer::lowerCalls(const ir::Instr& in) {
  using namespace runtime;
  switch (in.op) {
    case Op::Param: def(in.id, func->getArg(4 + unsigned(in.imm))); return true;

    case Op::EnterDirect: {
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
      return true;
    }

    case Op::ReturnNative: {
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
        obj = b.CreateIntToPtr(b.getInt64(resultTag(t)), ptr);
      }
      llvm::Value* r = llvm::UndefValue::get(directResultTy);
      r = b.CreateInsertValue(r, bits, 0);
      // A float also in its own register (xmm0): a caller expecting one takes it from there, without the move
      // through a general register on its dependency chain (bits has it too, for the other paths).
      if (t == Type::Float) r = b.CreateInsertValue(r, v, 2);
      b.CreateRet(b.CreateInsertValue(r, obj, 1));
      return true;
    }

    case Op::CallDirect: {
      // Site words: [function, SpecHeader*, code object] (slots in.imm + 0..2), filled by pypa_rt_direct_resolve,
      // which holds a reference to the function and its code: the guard is their identity (a function whose
      // __code__ was replaced fails it), and a callable the site matches cannot die during the call, so it is
      // borrowed (bit 32 of imm) when the emitter could leave its reference out.
      int64_t site = in.imm & 0xffffffff;
      bool borrowed = (in.imm >> 32) & 1;
      llvm::Value* slots = ctxField(kCtxSlots);
      auto word = [&](int k) { return b.CreateConstInBoundsGEP1_64(i64, slots, site + k); };
      llvm::Value* callable = val(in.args[0]);
      llvm::BasicBlock* check = llvm::BasicBlock::Create(ctx, "direct_check", func);
      llvm::BasicBlock* checkCode = llvm::BasicBlock::Create(ctx, "direct_code", func);
      llvm::BasicBlock* checkEntry = llvm::BasicBlock::Create(ctx, "direct_entry", func);
      llvm::BasicBlock* slow = llvm::BasicBlock::Create(ctx, "direct_resolve", func);
      llvm::BasicBlock* call = llvm::BasicBlock::Create(ctx, "direct_call", func);
      llvm::BasicBlock* joined = llvm::BasicBlock::Create(ctx, "direct_returned", func);

      // The callee's recursion budget: this level's. A frame entry reads the thread's count now, not at its
      // entry: a call out of it may have moved the limit since (sys.setrecursionlimit shifts the remaining count).
      llvm::Value* remaining =
          fn.direct ? nullptr
                    : b.CreateConstInBoundsGEP1_64(i8, ctxField(kCtxTstate), PYPA_TSTATE_RECURSION_REMAINING_OFFSET);
      // The callee reads only the thread's fields of the context it gets: a direct entry passes on the one it got.
      llvm::Value* budget = nullptr;  // a frame entry's: loaded where the call is made, once
      auto callEntry = [&](llvm::Value* target, llvm::Value* hdr) {
        if (!budget) budget = fn.direct ? recursion_ : b.CreateLoad(i32, remaining);
        std::vector<llvm::Type*> params = {ptr, ptr, ptr, i32};
        std::vector<llvm::Value*> args = {fn.direct ? func->getArg(0) : argCtx, hdr, callable, budget};
        for (size_t i = 1; i < in.args.size(); i++) {
          llvm::Value* a = val(in.args[i]);
          params.push_back(a->getType());
          args.push_back(a);
        }
        return b.CreateCall(llvm::FunctionType::get(directResultTy, params, false), target, args);
      };
      std::vector<std::pair<llvm::Value*, llvm::BasicBlock*>> results;

      // A direct entry calling the function it runs as, with its own signature (recursion): while that function
      // still has this code, the callee is this very entry, with this header. Call it by name (no site words to
      // check, and unrollSelfRecursion can inline one level of it). `func` cannot have died: its caller holds it.
      if (fn.direct && fn.slots[size_t(site)].name == fn.signature) {
        llvm::BasicBlock* selfCode = llvm::BasicBlock::Create(ctx, "self_code", func);
        llvm::BasicBlock* selfCall = llvm::BasicBlock::Create(ctx, "self_call", func);
        b.CreateCondBr(b.CreateICmpEQ(callable, func->getArg(2)), selfCode, check);
        b.SetInsertPoint(selfCode);
        llvm::Value* code = b.CreateLoad(ptr, b.CreateConstInBoundsGEP1_64(i8, callable, PYPA_FUNC_CODE_OFFSET));
        // (Compared as code objects, the header's from its first code unit: the callee's `__code__` then needs no
        // register, the compare reads it from memory.)
        llvm::Value* own = b.CreateLoad(ptr, b.CreateConstInBoundsGEP1_64(ptr, argHdr, kHdrFirstInstr));
        llvm::Value* ownCode = b.CreateGEP(i8, own, b.getInt64(-int64_t(PYPA_CODE_FIRST_INSTR_OFFSET)));
        b.CreateCondBr(b.CreateICmpEQ(code, ownCode), selfCall, check);
        b.SetInsertPoint(selfCall);
        results.push_back({callEntry(func, argHdr), selfCall});
        b.CreateBr(joined);
      } else {
        b.CreateBr(check);
      }

      llvm::MDNode* likely = llvm::MDBuilder(ctx).createBranchWeights(1000, 1);
      b.SetInsertPoint(check);
      llvm::Value* same = b.CreateICmpEQ(b.CreatePtrToInt(callable, i64), b.CreateLoad(i64, word(0)));
      b.CreateCondBr(same, checkCode, slow, likely);

      b.SetInsertPoint(checkCode);
      llvm::Value* code = b.CreateLoad(ptr, b.CreateConstInBoundsGEP1_64(i8, callable, PYPA_FUNC_CODE_OFFSET));
      same = b.CreateICmpEQ(b.CreatePtrToInt(code, i64), b.CreateLoad(i64, word(2)));
      b.CreateCondBr(same, checkEntry, slow, likely);

      b.SetInsertPoint(checkEntry);
      llvm::Value* hdr0 = b.CreateLoad(ptr, word(1));
      llvm::Value* entry0 = b.CreateLoad(ptr, b.CreateConstInBoundsGEP1_64(ptr, hdr0, kHdrDirectEntry));
      b.CreateCondBr(b.CreateIsNull(entry0), slow, call, likely);

      // Resolving fills the site for this callable, with an entry to call (else it answers 0). Then straight to
      // the call, not back to the checks: a loop there (through a helper call) made the register allocator keep
      // the caller's loop values in memory across the whole hot path.
      b.SetInsertPoint(slow);
      llvm::Value* resolved = coldCall("pypa_rt_direct_resolve", i32, {ptr, i32, ptr},
                                         {ctxArg(true), b.getInt32(int32_t(site)), callable});
      llvm::BasicBlock* filled = llvm::BasicBlock::Create(ctx, "direct_filled", func);
      b.CreateCondBr(b.CreateICmpNE(resolved, b.getInt32(0)), filled, exitBlock(in.exit));
      b.SetInsertPoint(filled);
      llvm::Value* hdr1 = b.CreateLoad(ptr, word(1));
      llvm::Value* entry1 = b.CreateLoad(ptr, b.CreateConstInBoundsGEP1_64(ptr, hdr1, kHdrDirectEntry));
      b.CreateBr(call);

      b.SetInsertPoint(call);
      llvm::PHINode* hdr = b.CreatePHI(ptr, 2);
      hdr->addIncoming(hdr0, checkEntry);
      hdr->addIncoming(hdr1, filled);
      llvm::PHINode* entry = b.CreatePHI(ptr, 2);
      entry->addIncoming(entry0, checkEntry);
      entry->addIncoming(entry1, filled);
      // The caller's frame shows this call site, as for any call. (A direct entry has no frame while it runs
      // natively: its exits set the frame's position themselves.)
      if (!fn.direct) {
        int unit = fn.exits[in.exit].unit;
        llvm::Value* here = b.CreateConstInBoundsGEP1_64(i8, ctxField(kCtxFirstInstr), 2 * unit);
        b.CreateStore(here, ctxField(kCtxPrevInstrAddr));
      }
      if (fn.inlined.count(int(site))) {
        // A callee compiled in: its copy runs when the callee's linked entry has the very IR it was made from.
        llvm::Function* copy = mod.getFunction(inlinedName(fn, int(site)));
        llvm::BasicBlock* callCopy = llvm::BasicBlock::Create(ctx, "direct_inline", func);
        llvm::BasicBlock* callLinked = llvm::BasicBlock::Create(ctx, "direct_linked", func);
        if (!fn.direct) budget = b.CreateLoad(i32, remaining);
        llvm::Value* variant = b.CreateLoad(i64, b.CreateConstInBoundsGEP1_64(i64, hdr, kHdrVariant));
        uint64_t want = deopt::irVariant(*fn.inlined.at(int(site)));
        b.CreateCondBr(b.CreateICmpEQ(variant, b.getInt64(want)), callCopy, callLinked, likely);
        b.SetInsertPoint(callCopy);
        results.push_back({callEntry(copy, hdr), callCopy});
        b.CreateBr(joined);
        b.SetInsertPoint(callLinked);
        results.push_back({callEntry(entry, hdr), callLinked});
        b.CreateBr(joined);
      } else {
        results.push_back({callEntry(entry, hdr), call});
        b.CreateBr(joined);
      }

      b.SetInsertPoint(joined);
      llvm::Value* res = results[0].first;
      if (results.size() > 1) {
        llvm::PHINode* phi = b.CreatePHI(directResultTy, unsigned(results.size()));
        for (auto& [v, from] : results) phi->addIncoming(v, from);
        res = phi;
      }
      if (!fn.direct) {
        // An exit down the call chain left the thread's count at that depth: put back this level's, for the
        // code this frame entry runs next (a direct entry runs nothing that reads it).
        b.CreateStore(budget, remaining);
      }
      // The call consumed the callable (unless borrowed) and object arguments (the callee took its own).
      if (!borrowed) decref(callable);
      for (size_t i = 1; i < in.args.size(); i++)
        if (val(in.args[i])->getType() == ptr) decref(val(in.args[i]));
      llvm::Value* bits = b.CreateExtractValue(res, 0);
      llvm::Value* obj = b.CreateExtractValue(res, 1);
      llvm::Value* objWord = b.CreatePtrToInt(obj, i64);
      Type t = in.type;
      llvm::BasicBlock* done = llvm::BasicBlock::Create(ctx, "direct_done", func);
      llvm::BasicBlock* other = llvm::BasicBlock::Create(ctx, "direct_other", func);
      llvm::BasicBlock* fast = b.GetInsertBlock();
      llvm::Value* fastValue;
      if (t == Type::Obj) {
        // An object the callee computed itself (bits 0), not the result of an exit (bits 1: see below).
        fastValue = obj;
        b.CreateCondBr(b.CreateAnd(b.CreateICmpUGT(objWord, b.getInt64(3)), b.CreateICmpEQ(bits, b.getInt64(0))),
                       done, other, likely);
      } else {
        fastValue = t == Type::Int     ? bits
                    : t == Type::Float ? b.CreateExtractValue(res, 2)
                                       : b.CreateTrunc(bits, i1);
        b.CreateCondBr(b.CreateICmpEQ(objWord, b.getInt64(resultTag(t))), done, other, likely);
      }
      // Anything else: an exception (null), or a result of another kind, converted when it can be (a big int
      // that fits after all, a boxed float...), else the exit after the call with the object on the stack.
      b.SetInsertPoint(other);
      guard(b.CreateIsNull(obj), in.exit2);
      {
        // A boxed result may come from an exit down the chain: Python code ran there, and may have switched
        // tracing on. Then this frame goes on in the interpreter, which reports its events from here.
        llvm::BasicBlock* boxed = llvm::BasicBlock::Create(ctx, "direct_boxed", func);
        llvm::BasicBlock* convert = llvm::BasicBlock::Create(ctx, "direct_convert", func);
        b.CreateCondBr(b.CreateICmpUGT(objWord, b.getInt64(3)), boxed, convert);
        b.SetInsertPoint(boxed);
        llvm::Value* cframe =
            b.CreateLoad(ptr, b.CreateConstInBoundsGEP1_64(i8, ctxField(kCtxTstate), PYPA_TSTATE_CFRAME_OFFSET));
        llvm::Value* tracing =
            b.CreateLoad(i8, b.CreateConstInBoundsGEP1_64(i8, cframe, PYPA_CFRAME_USE_TRACING_OFFSET));
        b.CreateCondBr(b.CreateICmpNE(tracing, b.getInt8(0)), exitBlockWithTop(in.exit4, obj), convert);
        b.SetInsertPoint(convert);
      }
      llvm::Value* objSlot = entryAlloca(ptr);
      llvm::Value* out = entryAlloca(i64);
      b.CreateStore(obj, objSlot);
      llvm::Value* rc = coldCall("pypa_rt_direct_convert", i32, {ptr, i64, i32, ptr},
                                   {objSlot, bits, b.getInt32(int32_t(t)), out});
      guard(b.CreateICmpSLT(rc, b.getInt32(0)), in.exit2);
      llvm::BasicBlock* convOk = llvm::BasicBlock::Create(ctx, "direct_converted", func);
      llvm::BasicBlock* convBad = llvm::BasicBlock::Create(ctx, "direct_mismatch", func);
      b.CreateCondBr(b.CreateICmpEQ(rc, b.getInt32(0)), convOk, convBad);
      b.SetInsertPoint(convBad);
      b.CreateBr(exitBlockWithTop(in.exit3, b.CreateLoad(ptr, objSlot)));
      b.SetInsertPoint(convOk);
      llvm::Value* word0 = b.CreateLoad(i64, out);
      llvm::Value* converted = t == Type::Obj ? b.CreateIntToPtr(word0, ptr)
                               : t == Type::Int ? word0
                               : t == Type::Float ? b.CreateBitCast(word0, f64)
                                                  : b.CreateTrunc(word0, i1);
      llvm::BasicBlock* convEnd = b.GetInsertBlock();
      b.CreateBr(done);
      b.SetInsertPoint(done);
      llvm::PHINode* phi = b.CreatePHI(llvmType(t), 2);
      phi->addIncoming(fastValue, fast);
      phi->addIncoming(converted, convEnd);
      def(in.id, phi);
      return true;
    }
    default: return false;
  }
}

}  // namespace pypaccel::codegen
