// Lowering of everything that touches objects: arguments, slots and global guards, reference counts, boxing,
// generic operations through pypa_rt_* helpers, virtual ranges, and the eval-breaker poll.
#include <cstddef>

#include <llvm/IR/MDBuilder.h>

#include "codegen/lowerer.h"
#include "runtime/native_ctx.h"

namespace pypaccel::codegen {

using ir::Op;

namespace {

int32_t exitUnit(const ir::Function& fn, int exitId) { return exitId >= 0 ? fn.exits[exitId].unit : 0; }

}  // namespace

bool Lowerer::lowerObjects(const ir::Instr& in) {
  auto slotAddr = [&](int64_t slot) {
    return b.CreateConstInBoundsGEP1_64(i64, ctxField(runtime::kCtxSlots), slot);
  };
  switch (in.op) {
    case Op::LoadArg:
      def(in.id, b.CreateLoad(ptr, b.CreateConstInBoundsGEP1_64(ptr, argLocals, in.imm)));
      return true;
    case Op::UnboxInt:
      def(in.id, b.CreateCall(helper("pypa_rt_unbox_int", i64, {ptr}), {val(in.args[0])}));
      return true;
    case Op::UnboxFloat:
      def(in.id, b.CreateLoad(f64, b.CreateConstInBoundsGEP1_64(i8, val(in.args[0]), PYPA_FLOAT_VALUE_OFFSET)));
      return true;
    case Op::UnboxBool: def(in.id, b.CreateICmpEQ(val(in.args[0]), pySymbol("_Py_TrueStruct"))); return true;
    case Op::LoadSlotObj: def(in.id, b.CreateLoad(ptr, slotAddr(in.imm))); return true;
    case Op::LoadSlotInt: def(in.id, b.CreateLoad(i64, slotAddr(in.imm))); return true;
    case Op::LoadSlotFloat: def(in.id, b.CreateLoad(f64, slotAddr(in.imm))); return true;
    case Op::LoadSlotBool:
      def(in.id, b.CreateICmpNE(b.CreateLoad(i64, slotAddr(in.imm)), b.getInt64(0)));
      return true;
    case Op::GuardGlobal: {
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
      llvm::Value* ok = coldCall("pypa_rt_global_check", i32, {ptr, i32}, {ctxArg(true), b.getInt32(in.imm)});
      guard(b.CreateICmpEQ(ok, b.getInt32(0)), in.exit);
      b.CreateBr(done);
      b.SetInsertPoint(done);
      if (fn.stressExits) guard(b.getFalse(), in.exit);
      return true;
    }
    case Op::IncRef: incref(val(in.args[0])); return true;
    case Op::DecRef: decref(val(in.args[0])); return true;
    case Op::DecRefIf: {
      llvm::BasicBlock* yes = llvm::BasicBlock::Create(ctx, "bound", func);
      llvm::BasicBlock* cont = llvm::BasicBlock::Create(ctx, "cont", func);
      b.CreateCondBr(val(in.args[0]), yes, cont);
      b.SetInsertPoint(yes);
      decref(val(in.args[1]));
      b.CreateBr(cont);
      b.SetInsertPoint(cont);
      return true;
    }
    case Op::BoxInt:
      def(in.id, b.CreateCall(helper("PyLong_FromLongLong", ptr, {i64}), {val(in.args[0])}));
      return true;
    case Op::BoxFloat:
      def(in.id, b.CreateCall(helper("PyFloat_FromDouble", ptr, {f64}), {val(in.args[0])}));
      return true;
    case Op::BoxBool: {
      llvm::Value* o = b.CreateSelect(val(in.args[0]), pySymbol("_Py_TrueStruct"), pySymbol("_Py_FalseStruct"));
      incref(o);
      def(in.id, o);
      return true;
    }
    case Op::NullObj: def(in.id, llvm::ConstantPointerNull::get(llvm::PointerType::get(ctx, 0))); return true;
    case Op::BoxOrigin: def(in.id, boxWithOrigin(val(in.args[0]), val(in.args[1]))); return true;
    case Op::SetFrameLocal: replaceFrameLocal(in.imm, val(in.args[0])); return true;
    case Op::ObjBin: {
      llvm::Value* r = b.CreateCall(helper("pypa_rt_binop", ptr, {ptr, i32, ptr, ptr, i32}),
                                    {ctxArg(), b.getInt32(in.imm), val(in.args[0]), val(in.args[1]),
                                     b.getInt32(exitUnit(fn, in.exit))});
      guard(b.CreateIsNull(r), in.exit);
      def(in.id, r);
      return true;
    }
    case Op::GuardModuleAttr: {
      // Slots: [module, its dict, the dict's version when linked, the function]. The dict is the module's for good
      // (a module's __dict__ cannot be replaced), so its version moving is the only way the function could have.
      llvm::Value* module = b.CreateLoad(i64, slotAddr(in.imm));
      llvm::Value* dict = b.CreateLoad(ptr, slotAddr(in.imm + 1));
      llvm::Value* version = b.CreateLoad(i64, b.CreateConstInBoundsGEP1_64(i8, dict, PYPA_DICT_VERSION_OFFSET));
      llvm::Value* fail = b.CreateOr(b.CreateICmpNE(b.CreatePtrToInt(val(in.args[0]), i64), module),
                                     b.CreateICmpNE(version, b.CreateLoad(i64, slotAddr(in.imm + 2))));
      guard(fail, in.exit);
      return true;
    }
    case Op::ObjLen: {
      llvm::Value* r = b.CreateCall(helper("pypa_rt_len", i64, {ptr, ptr, i32}),
                                    {ctxArg(), val(in.args[0]), b.getInt32(exitUnit(fn, in.exit))});
      guard(b.CreateICmpSLT(r, b.getInt64(0)), in.exit);
      def(in.id, r);
      return true;
    }
    case Op::ObjUnary: {
      llvm::Value* r = b.CreateCall(helper("pypa_rt_unary", ptr, {ptr, i32, ptr, i32}),
                                    {ctxArg(), b.getInt32(in.imm), val(in.args[0]), b.getInt32(exitUnit(fn, in.exit))});
      guard(b.CreateIsNull(r), in.exit);
      def(in.id, r);
      return true;
    }
    case Op::ObjCompare: {
      llvm::Value* r = b.CreateCall(helper("pypa_rt_compare", ptr, {ptr, i32, ptr, ptr, i32}),
                                    {ctxArg(), b.getInt32(in.imm), val(in.args[0]), val(in.args[1]),
                                     b.getInt32(exitUnit(fn, in.exit))});
      guard(b.CreateIsNull(r), in.exit);
      def(in.id, r);
      return true;
    }
    case Op::ObjTruthy: {
      llvm::Value* r = b.CreateCall(helper("pypa_rt_truthy", i32, {ptr, ptr, i32}),
                                    {ctxArg(), val(in.args[0]), b.getInt32(exitUnit(fn, in.exit))});
      guard(b.CreateICmpSLT(r, b.getInt32(0)), in.exit);
      def(in.id, b.CreateICmpSGT(r, b.getInt32(0)));
      return true;
    }
    case Op::ObjIs: def(in.id, b.CreateICmpEQ(val(in.args[0]), val(in.args[1]))); return true;
    case Op::IsNone: def(in.id, b.CreateICmpEQ(val(in.args[0]), pySymbol("_Py_NoneStruct"))); return true;
    case Op::BuildTuple: {
      unsigned n = unsigned(in.args.size());
      llvm::Value* items = entryAlloca(ptr, n ? n : 1);
      for (unsigned i = 0; i < n; i++) b.CreateStore(val(in.args[i]), b.CreateConstInBoundsGEP1_64(ptr, items, i));
      llvm::Value* r = b.CreateCall(helper("pypa_rt_build_tuple", ptr, {ptr, ptr, i32}), {ctxArg(), items, b.getInt32(n)});
      guard(b.CreateIsNull(r), in.exit);
      def(in.id, r);
      return true;
    }
    case Op::BuildList:
    case Op::BuildSlice: {
      unsigned n = unsigned(in.args.size());
      llvm::Value* items = entryAlloca(ptr, n ? n : 1);
      for (unsigned i = 0; i < n; i++) b.CreateStore(val(in.args[i]), b.CreateConstInBoundsGEP1_64(ptr, items, i));
      const char* name = in.op == Op::BuildList ? "pypa_rt_build_list" : "pypa_rt_build_slice";
      llvm::Value* r = b.CreateCall(helper(name, ptr, {ptr, ptr, i32}), {ctxArg(), items, b.getInt32(n)});
      guard(b.CreateIsNull(r), in.exit);
      def(in.id, r);
      return true;
    }
    case Op::CallObj: {
      // items = callable, then the arguments (the kwnames tuple, when there is one, is args[1] and not an item).
      unsigned first = in.imm ? 2 : 1;
      unsigned n = unsigned(in.args.size()) - first;
      llvm::Value* items = entryAlloca(ptr, n + 1);
      b.CreateStore(val(in.args[0]), items);
      for (unsigned i = 0; i < n; i++)
        b.CreateStore(val(in.args[first + i]), b.CreateConstInBoundsGEP1_64(ptr, items, i + 1));
      llvm::Value* kw = in.imm ? val(in.args[1]) : llvm::ConstantPointerNull::get(llvm::PointerType::get(ctx, 0));
      llvm::Value* r = b.CreateCall(helper("pypa_rt_call", ptr, {ptr, ptr, i32, ptr, i32}),
                                    {ctxArg(), items, b.getInt32(n), kw, b.getInt32(exitUnit(fn, in.exit))});
      guard(b.CreateIsNull(r), in.exit);
      def(in.id, r);
      return true;
    }
    case Op::GetAttr: {
      llvm::Value* r = b.CreateCall(helper("pypa_rt_getattr", ptr, {ptr, ptr, i32, i32}),
                                    {ctxArg(), val(in.args[0]), b.getInt32(in.imm), b.getInt32(exitUnit(fn, in.exit))});
      guard(b.CreateIsNull(r), in.exit);
      def(in.id, r);
      return true;
    }
    case Op::SetAttr: {
      llvm::Value* r = b.CreateCall(helper("pypa_rt_setattr", i32, {ptr, ptr, ptr, i32, i32}),
                                    {ctxArg(), val(in.args[0]), val(in.args[1]), b.getInt32(in.imm),
                                     b.getInt32(exitUnit(fn, in.exit))});
      guard(b.CreateICmpNE(r, b.getInt32(0)), in.exit);
      return true;
    }
    case Op::GetItem: {
      llvm::Value* r = b.CreateCall(helper("pypa_rt_getitem", ptr, {ptr, ptr, ptr, i32}),
                                    {ctxArg(), val(in.args[0]), val(in.args[1]), b.getInt32(exitUnit(fn, in.exit))});
      guard(b.CreateIsNull(r), in.exit);
      def(in.id, r);
      return true;
    }
    case Op::SetItem: {
      llvm::Value* r = b.CreateCall(helper("pypa_rt_setitem", i32, {ptr, ptr, ptr, ptr, i32}),
                                    {ctxArg(), val(in.args[0]), val(in.args[1]), val(in.args[2]),
                                     b.getInt32(exitUnit(fn, in.exit))});
      guard(b.CreateICmpNE(r, b.getInt32(0)), in.exit);
      return true;
    }
    case Op::GetIter: {
      llvm::Value* r = b.CreateCall(helper("pypa_rt_get_iter", ptr, {ptr, ptr, i32}),
                                    {ctxArg(), val(in.args[0]), b.getInt32(exitUnit(fn, in.exit))});
      guard(b.CreateIsNull(r), in.exit);
      def(in.id, r);
      return true;
    }
    case Op::IterNext: {
      llvm::Value* r = b.CreateCall(helper("pypa_rt_iter_next", ptr, {ptr, ptr, i32}),
                                    {ctxArg(), val(in.args[0]), b.getInt32(exitUnit(fn, in.exit))});
      llvm::Value* errorMark = b.CreateIntToPtr(b.getInt64(1), r->getType());  // PYPA_ITER_ERROR
      guard(b.CreateICmpEQ(r, errorMark), in.exit);
      def(in.id, r);
      return true;
    }
    case Op::NotNull: def(in.id, b.CreateIsNotNull(val(in.args[0]))); return true;
    case Op::ListAppend: {
      llvm::Value* r = b.CreateCall(helper("pypa_rt_list_append", i32, {ptr, ptr}), {val(in.args[0]), val(in.args[1])});
      guard(b.CreateICmpNE(r, b.getInt32(0)), in.exit);
      return true;
    }
    case Op::ListExtend: {
      llvm::Value* r = b.CreateCall(helper("pypa_rt_list_extend", i32, {ptr, ptr, ptr, i32}),
                                    {ctxArg(), val(in.args[0]), val(in.args[1]), b.getInt32(exitUnit(fn, in.exit))});
      guard(b.CreateICmpNE(r, b.getInt32(0)), in.exit);
      return true;
    }
    case Op::BuildMap: {
      unsigned n = unsigned(in.args.size());
      llvm::Value* items = entryAlloca(ptr, n ? n : 1);
      for (unsigned i = 0; i < n; i++) b.CreateStore(val(in.args[i]), b.CreateConstInBoundsGEP1_64(ptr, items, i));
      llvm::Value* r = b.CreateCall(helper("pypa_rt_build_map", ptr, {ptr, ptr, i32, i32}),
                                    {ctxArg(), items, b.getInt32(n / 2), b.getInt32(exitUnit(fn, in.exit))});
      guard(b.CreateIsNull(r), in.exit);
      def(in.id, r);
      return true;
    }
    case Op::BuildConstKeyMap: {
      unsigned n = unsigned(in.args.size()) - 1;
      llvm::Value* values = entryAlloca(ptr, n ? n : 1);
      for (unsigned i = 0; i < n; i++)
        b.CreateStore(val(in.args[i + 1]), b.CreateConstInBoundsGEP1_64(ptr, values, i));
      llvm::Value* r = b.CreateCall(helper("pypa_rt_build_const_key_map", ptr, {ptr, ptr, ptr, i32, i32}),
                                    {ctxArg(), val(in.args[0]), values, b.getInt32(n), b.getInt32(exitUnit(fn, in.exit))});
      guard(b.CreateIsNull(r), in.exit);
      def(in.id, r);
      return true;
    }
    case Op::MakeFunction: {
      unsigned n = unsigned(in.args.size());
      llvm::Value* items = entryAlloca(ptr, n);
      for (unsigned i = 0; i < n; i++) b.CreateStore(val(in.args[i]), b.CreateConstInBoundsGEP1_64(ptr, items, i));
      llvm::Value* r = b.CreateCall(helper("pypa_rt_make_function", ptr, {ptr, ptr, i32}),
                                    {ctxArg(), items, b.getInt32(int32_t(in.imm))});
      guard(b.CreateIsNull(r), in.exit);
      def(in.id, r);
      return true;
    }
    case Op::SyncLocal: {
      // Boxed like an exit would box it; a failed box leaves NULL (the local then reads as unbound). With a second
      // argument (the local's bound flag), only when it is set.
      llvm::BasicBlock* after = nullptr;
      if (in.args.size() > 1 && !llvm::isa<llvm::Constant>(val(in.args[1]))) {
        llvm::BasicBlock* bound = llvm::BasicBlock::Create(ctx, "sync_bound", func);
        after = llvm::BasicBlock::Create(ctx, "sync_done", func);
        b.CreateCondBr(val(in.args[1]), bound, after);
        b.SetInsertPoint(bound);
      }
      llvm::Value* v = val(in.args[0]);
      llvm::Value* boxed;
      llvm::Type* t = v->getType();
      if (in.args.size() > 2) {
        boxed = boxWithOrigin(v, val(in.args[2]));  // the object the number is, if it has one here
      } else if (t->isIntegerTy(64)) {
        boxed = b.CreateCall(helper("PyLong_FromLongLong", ptr, {i64}), {v});
      } else if (t->isDoubleTy()) {
        boxed = b.CreateCall(helper("PyFloat_FromDouble", ptr, {f64}), {v});
      } else if (t->isIntegerTy(1)) {
        boxed = b.CreateSelect(v, pySymbol("_Py_TrueStruct"), pySymbol("_Py_FalseStruct"));
        incref(boxed);
      } else {
        boxed = v;
        incref(boxed);
      }
      replaceFrameLocal(in.imm, boxed);
      if (after) {
        b.CreateBr(after);
        b.SetInsertPoint(after);
      }
      return true;
    }
    case Op::GuardNotTracing: {
      // tstate->cframe->use_tracing: the flag the interpreter ORs into every opcode (0, or 255 while a trace or
      // profile function is set). sys.settrace() sets it on the innermost running cframe and the interpreter
      // carries it to the caller's on return, so after a call it is the current value for this frame too.
      llvm::Value* cframe =
          b.CreateLoad(ptr, b.CreateConstInBoundsGEP1_64(i8, ctxField(runtime::kCtxTstate), PYPA_TSTATE_CFRAME_OFFSET));
      llvm::Value* useTracing =
          b.CreateLoad(i8, b.CreateConstInBoundsGEP1_64(i8, cframe, PYPA_CFRAME_USE_TRACING_OFFSET));
      guard(b.CreateICmpNE(useTracing, b.getInt8(0)), in.exit);
      return true;
    }
    case Op::CheckFlag: guard(b.CreateNot(val(in.args[0])), in.exit); return true;
    case Op::RangeCheck: guard(b.CreateICmpEQ(val(in.args[0]), b.getInt64(0)), in.exit); return true;
    case Op::RangeHasNext: {
      llvm::Value *cur = val(in.args[0]), *stop = val(in.args[1]), *step = val(in.args[2]);
      def(in.id, b.CreateSelect(b.CreateICmpSGT(step, b.getInt64(0)), b.CreateICmpSLT(cur, stop),
                                b.CreateICmpSGT(cur, stop)));
      return true;
    }
    case Op::RangeAdvance: {
      // Past INT64 the range is necessarily exhausted: park the cursor on `stop`.
      llvm::Value* r = b.CreateBinaryIntrinsic(llvm::Intrinsic::sadd_with_overflow, val(in.args[0]), val(in.args[2]));
      def(in.id, b.CreateSelect(b.CreateExtractValue(r, 1), val(in.args[1]), b.CreateExtractValue(r, 0)));
      return true;
    }
    case Op::Poll: {
      auto* flag = b.CreateLoad(i32, ctxField(runtime::kCtxEvalBreaker));
      flag->setAtomic(llvm::AtomicOrdering::Monotonic);
      flag->setAlignment(llvm::Align(4));
      llvm::BasicBlock* slow = llvm::BasicBlock::Create(ctx, "breaker", func);
      llvm::BasicBlock* cont = llvm::BasicBlock::Create(ctx, "no_breaker", func);
      b.CreateCondBr(b.CreateICmpNE(flag, b.getInt32(0)), slow, cont, llvm::MDBuilder(ctx).createBranchWeights(1, 1000));
      b.SetInsertPoint(slow);
      llvm::Value* r = coldCall("pypa_rt_poll", i32, {ptr}, {ctxArg(true)});
      // The raise first: in stress mode the Reexec exit is taken on any result, and it must not be taken with the
      // handler's exception set.
      guard(b.CreateICmpSLT(r, b.getInt32(0)), in.exit2);
      guard(b.CreateICmpSGT(r, b.getInt32(0)), in.exit);
      b.CreateBr(cont);
      b.SetInsertPoint(cont);
      return true;
    }
    default: return false;
  }
}

}  // namespace pypaccel::codegen
