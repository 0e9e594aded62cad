// Lowering driver: function skeleton, variables, exits (with the buffer layout deopt::exitBufferWords describes),
// and the stress mode that fails every guard once.
#include <llvm/IR/Verifier.h>
#include <llvm/Support/raw_ostream.h>

#include "codegen/codegen.h"
#include "codegen/lowerer.h"
#include "deopt/specialization.h"
#include "runtime/native_ctx.h"
#include "support/bail.h"

namespace pypaccel::codegen {

using ir::Op;
using ir::Type;

Lowerer::Lowerer(const ir::Function& fn, llvm::Module& m) : fn(fn), mod(m), ctx(m.getContext()), b(m.getContext()) {
  i1 = b.getInt1Ty();
  i8 = b.getInt8Ty();
  i32 = b.getInt32Ty();
  i64 = b.getInt64Ty();
  f64 = b.getDoubleTy();
  ptr = b.getPtrTy();
}

llvm::Type* Lowerer::llvmType(Type t) {
  switch (t) {
    case Type::Int:
    case Type::Range:
    case Type::RangeIter: return i64;
    case Type::Float: return f64;
    case Type::Bool: return i1;
    default: return ptr;
  }
}

namespace {

// NativeCtx fields that hold the same value while the native code runs (set before it starts, or filled when the
// specialization was linked): their loads may move out of loops and across calls.
bool invariantField(unsigned index) {
  using namespace runtime;
  switch (index) {
    case kCtxTstate: case kCtxSlots: case kCtxEvalBreaker: case kCtxStress: case kCtxGlobals: case kCtxBuiltins:
    case kCtxSpec: case kCtxPrevInstrAddr: case kCtxFirstInstr: case kCtxFunc: case kCtxStackLow:
      return true;
    default: return false;  // frame, exited, lazyPrevInstr, recursion: exits write them
  }
}

llvm::LoadInst* markInvariant(llvm::LoadInst* load) {
  load->setMetadata(llvm::LLVMContext::MD_invariant_load, llvm::MDNode::get(load->getContext(), {}));
  return load;
}

}  // namespace

llvm::Value* Lowerer::ctxField(unsigned index) {
  if (fn.direct) return directField(index);
  llvm::Value* addr = b.CreateConstInBoundsGEP1_64(ptr, argCtx, index);
  llvm::LoadInst* load = b.CreateLoad(ptr, addr);
  return invariantField(index) ? markInvariant(load) : load;
}

llvm::Value* Lowerer::ctxArg(bool cold) {
  if (!fn.direct) return argCtx;
  for (unsigned index = 0; index < sizeof(runtime::NativeCtx) / 8; index++) {
    if (index == runtime::kCtxExited || index == runtime::kCtxRecursion) continue;
    b.CreateStore(directField(index, cold), b.CreateConstInBoundsGEP1_64(ptr, argCtx, index));
  }
  llvm::Value* depth = recursion_ ? recursion_ : static_cast<llvm::Value*>(func->getArg(3));
  b.CreateStore(b.CreateSExt(depth, i64), b.CreateConstInBoundsGEP1_64(ptr, argCtx, runtime::kCtxRecursion));
  b.CreateStore(b.getInt64(0), b.CreateConstInBoundsGEP1_64(ptr, argCtx, runtime::kCtxExited));
  return argCtx;
}

llvm::GlobalVariable* Lowerer::pySymbol(const char* name) {
  if (auto* g = mod.getGlobalVariable(name)) return g;
  return new llvm::GlobalVariable(mod, i8, false, llvm::GlobalValue::ExternalLinkage, nullptr, name);
}

void Lowerer::split(const char* name) {
  b.SetInsertPoint(llvm::BasicBlock::Create(ctx, name, func));
}

void Lowerer::guard(llvm::Value* fail, int exitId) {
  const ir::ExitPoint& x = fn.exits[exitId];
  if (fn.stressExits && x.kind == ir::ExitKind::Reexec) {
    llvm::Value* flags = ctxField(runtime::kCtxStress);
    llvm::Value* seen = b.CreateLoad(i8, b.CreateConstInBoundsGEP1_64(i8, flags, exitId));
    fail = b.CreateOr(fail, b.CreateICmpEQ(seen, b.getInt8(0)));
  }
  llvm::BasicBlock* cont = llvm::BasicBlock::Create(ctx, "ok", func);
  b.CreateCondBr(fail, exitBlock(exitId), cont);
  b.SetInsertPoint(cont);
}

// The exit block of `exitId`: spill the snapshot into the exit buffer and hand the frame to the runtime.
llvm::BasicBlock* Lowerer::exitBlock(int exitId) {
  const ir::ExitPoint& x = fn.exits[exitId];
  if (x.raiseError) {
    // An error the native code detected (a zero divisor): raise it here, as CPython's int or float object would,
    // then go where any raise goes.
    auto it = raises_.find(exitId);
    if (it != raises_.end()) return it->second;
    llvm::BasicBlock* saved = b.GetInsertBlock();
    llvm::BasicBlock* bb = llvm::BasicBlock::Create(ctx, "raise" + std::to_string(exitId), func);
    raises_[exitId] = bb;
    b.SetInsertPoint(bb);
    call(runtime::Helper::pypa_rt_raise_arith_error, {b.getInt32(x.raiseError)});
    b.CreateBr(x.catchBlock >= 0 ? blocks_[x.catchBlock] : realExitBlock(exitId));
    b.SetInsertPoint(saved);
    return bb;
  }
  // A raise this function handles itself: no exit, its landing block (spec: Emitter::catchNatively).
  if (x.catchBlock >= 0) return blocks_[x.catchBlock];
  return realExitBlock(exitId);
}

llvm::BasicBlock* Lowerer::realExitBlock(int exitId) {
  auto it = exits_.find(exitId);
  if (it != exits_.end()) return it->second;
  llvm::BasicBlock* bb = makeExitBlock(exitId, nullptr);
  exits_[exitId] = bb;
  return bb;
}

llvm::BasicBlock* Lowerer::exitBlockWithTop(int exitId, llvm::Value* top) { return makeExitBlock(exitId, top); }

void Lowerer::returnObject(llvm::Value* obj, bool fromExit) {
  if (!fn.direct) {
    b.CreateRet(obj);
    return;
  }
  llvm::Value* r = llvm::UndefValue::get(directResultTy);
  r = b.CreateInsertValue(r, b.getInt64(fromExit ? 1 : 0), 0);
  b.CreateRet(b.CreateInsertValue(r, obj, 1));
}

llvm::BasicBlock* Lowerer::makeExitBlock(int exitId, llvm::Value* top) {
  const ir::ExitPoint& x = fn.exits[exitId];
  llvm::BasicBlock* saved = b.GetInsertBlock();
  llvm::BasicBlock* bb = llvm::BasicBlock::Create(ctx, "exit" + std::to_string(exitId), func);
  b.SetInsertPoint(bb);
  int k = 0;
  auto spill = [&](llvm::Value* v) {
    llvm::Value* w;
    if (v->getType() == f64) w = b.CreateBitCast(v, i64);
    else if (v->getType() == i1) w = b.CreateZExt(v, i64);
    else if (v->getType() == ptr) w = b.CreatePtrToInt(v, i64);
    else w = v;
    b.CreateStore(w, b.CreateConstInBoundsGEP1_64(i64, exitBuf_, k++));
  };
  llvm::Value* null = llvm::ConstantPointerNull::get(llvm::PointerType::get(ctx, 0));
  for (int l = 0; l < int(x.locals.size()); l++) {
    const ir::SnapLocal& s = x.locals[l];
    if (s.def == ir::Def::No) continue;
    if (s.def == ir::Def::Maybe) spill(b.CreateLoad(i1, vars_[fn.findVar(ir::VarKind::Flag, l, Type::Bool, 0)]));
    int var = fn.findVar(ir::VarKind::Local, l, s.type, 0);
    // A maybe-bound local whose variable was never written on any path reads as zero (its flag is clear).
    spill(var >= 0 ? static_cast<llvm::Value*>(b.CreateLoad(llvmType(s.type), vars_[var]))
                   : llvm::Constant::getNullValue(llvmType(s.type)));
    if (s.origin) {
      int ov = fn.findVar(ir::VarKind::LocalOrigin, l, Type::Obj, 0);
      spill(ov >= 0 ? static_cast<llvm::Value*>(b.CreateLoad(ptr, vars_[ov])) : null);
    }
  }
  for (size_t d = 0; d < x.stack.size(); d++) {
    const ir::SnapValue& v = x.stack[d];
    if (top && d + 1 == x.stack.size()) {
      spill(top);
      continue;
    }
    for (int c = 0; c < ir::typeComponents(v.type); c++) spill(val(v.v[c]));
    if (v.origin >= 0) spill(val(v.origin));
  }
  for (int k = 0; k < x.pins; k++) spill(val(fn.pins[size_t(k)]));
  llvm::Value* r =
      call(runtime::Helper::pypa_rt_exit, {ctxArg(true), b.getInt32(exitId), exitBuf_});
  returnObject(r, true);
  b.SetInsertPoint(saved);
  return bb;
}

void Lowerer::syncLocalsOf(int exitId) {
  const ir::ExitPoint& x = fn.exits[exitId];
  for (int l = 0; l < int(x.locals.size()); l++) {
    const ir::SnapLocal& s = x.locals[l];
    int var = fn.findVar(ir::VarKind::Local, l, s.type, 0);
    if (!s.unsynced || var < 0) continue;
    // As SyncLocal: a maybe-bound local only when its flag is set, a number with an origin as that object.
    llvm::BasicBlock* after = nullptr;
    if (s.def == ir::Def::Maybe) {
      llvm::BasicBlock* bound = llvm::BasicBlock::Create(ctx, "sync_bound", func);
      after = llvm::BasicBlock::Create(ctx, "sync_done", func);
      b.CreateCondBr(b.CreateLoad(i1, vars_[fn.findVar(ir::VarKind::Flag, l, Type::Bool, 0)]), bound, after);
      b.SetInsertPoint(bound);
    }
    llvm::Value* origin = nullptr;
    if (s.origin) {
      int ov = fn.findVar(ir::VarKind::LocalOrigin, l, Type::Obj, 0);
      if (ov >= 0) origin = b.CreateLoad(ptr, vars_[ov]);
    }
    replaceFrameLocal(l, ownedBox(b.CreateLoad(llvmType(s.type), vars_[var]), origin));
    if (after) {
      b.CreateBr(after);
      b.SetInsertPoint(after);
    }
  }
}

llvm::AllocaInst* Lowerer::entryAlloca(llvm::Type* t, unsigned n) {
  llvm::IRBuilder<> eb(entry_, entry_->getFirstInsertionPt());
  return eb.CreateAlloca(t, eb.getInt32(n));
}

void Lowerer::incref(llvm::Value* o) {
  llvm::Value* rc = b.CreateLoad(i64, o);
  b.CreateStore(b.CreateAdd(rc, b.getInt64(1)), o);
}

void Lowerer::decref(llvm::Value* o) {
  llvm::Value* rc = b.CreateSub(b.CreateLoad(i64, o), b.getInt64(1));
  b.CreateStore(rc, o);
  llvm::BasicBlock* dealloc = llvm::BasicBlock::Create(ctx, "dealloc", func);
  llvm::BasicBlock* cont = llvm::BasicBlock::Create(ctx, "live", func);
  b.CreateCondBr(b.CreateICmpEQ(rc, b.getInt64(0)), dealloc, cont);
  b.SetInsertPoint(dealloc);
  call(runtime::Helper::_Py_Dealloc, {o});
  b.CreateBr(cont);
  b.SetInsertPoint(cont);
}

void Lowerer::replaceFrameLocal(int64_t local, llvm::Value* value) {
  replaceReference(b.CreateConstInBoundsGEP1_64(ptr, argLocals, local), value);
}

void Lowerer::replaceReference(llvm::Value* slot, llvm::Value* value) {
  llvm::Value* old = b.CreateLoad(ptr, slot);
  b.CreateStore(value, slot);
  llvm::BasicBlock* has = llvm::BasicBlock::Create(ctx, "had_value", func);
  llvm::BasicBlock* cont = llvm::BasicBlock::Create(ctx, "replaced", func);
  b.CreateCondBr(b.CreateIsNotNull(old), has, cont);
  b.SetInsertPoint(has);
  decref(old);
  b.CreateBr(cont);
  b.SetInsertPoint(cont);
}

llvm::Value* Lowerer::boxWithOrigin(llvm::Value* v, llvm::Value* origin) {
  llvm::BasicBlock* has = llvm::BasicBlock::Create(ctx, "origin", func);
  llvm::BasicBlock* none = llvm::BasicBlock::Create(ctx, "no_origin", func);
  llvm::BasicBlock* done = llvm::BasicBlock::Create(ctx, "boxed", func);
  b.CreateCondBr(b.CreateIsNotNull(origin), has, none);
  b.SetInsertPoint(has);
  incref(origin);
  llvm::BasicBlock* hasEnd = b.GetInsertBlock();
  b.CreateBr(done);
  b.SetInsertPoint(none);
  llvm::Value* boxed = ownedBox(v);
  llvm::BasicBlock* noneEnd = b.GetInsertBlock();
  b.CreateBr(done);
  b.SetInsertPoint(done);
  llvm::PHINode* phi = b.CreatePHI(ptr, 2);
  phi->addIncoming(origin, hasEnd);
  phi->addIncoming(boxed, noneEnd);
  return phi;
}

llvm::Value* Lowerer::ownedBox(llvm::Value* v, llvm::Value* origin) {
  if (origin) return boxWithOrigin(v, origin);
  llvm::Type* t = v->getType();
  if (t->isIntegerTy(64)) return call(runtime::Helper::PyLong_FromLongLong, {v});
  if (t->isDoubleTy()) return call(runtime::Helper::PyFloat_FromDouble, {v});
  llvm::Value* o = t->isIntegerTy(1) ? b.CreateSelect(v, pySymbol("_Py_TrueStruct"), pySymbol("_Py_FalseStruct")) : v;
  incref(o);
  return o;
}

template <>
void Lowerer::lower<Op::LoadVar>(const ir::Instr& in) {
  llvm::AllocaInst* a = vars_[in.imm];
  def(in.id, b.CreateLoad(a->getAllocatedType(), a));
}

template <>
void Lowerer::lower<Op::StoreVar>(const ir::Instr& in) {
  b.CreateStore(val(in.args[0]), vars_[in.imm]);
}

llvm::Value* Lowerer::slotAddr(int64_t slot) {
  return b.CreateConstInBoundsGEP1_64(i64, ctxField(runtime::kCtxSlots), slot);
}

void Lowerer::lowerInstr(const ir::Instr& in) {
  using LowerFn = void (Lowerer::*)(const ir::Instr&);
  static const LowerFn kLowerings[] = {
#define IROP(name, kind, imm, result, args, exits, python, raises, work, lowering) &Lowerer::lower<Op::lowering>,
#include "ir/ir_ops.def"
#undef IROP
  };
  (this->*kLowerings[int(in.op)])(in);
}

// A direct entry's own NativeCtx, on its stack: what the caller's context and the callee's header say. No frame
// yet (prevInstrAddr points into the context itself until an exit makes one).
void Lowerer::directPrologue() {
  argCtx = b.CreateAlloca(i64, b.getInt32(sizeof(runtime::NativeCtx) / 8), "ctx");
}

// A direct entry's context field, loaded where it is used (hoisting every field to the entry would keep them all
// live across the body: spills on the hot path). Thread-wide fields come from the caller's context (a direct
// entry passes on the one it got: the context of the frame entry at the bottom of the native chain); the rest
// from the header and the function.
llvm::Value* Lowerer::directField(unsigned index, bool cold) {
  using namespace runtime;
  llvm::Value* caller = func->getArg(0);
  llvm::Value* fobj = func->getArg(2);
  // The caller's thread fields, the header's (filled at link) and the function's globals and builtins (fixed for a
  // function's life) do not change while the entry runs.
  // (A volatile load is never merged with another: a cold path's own.)
  auto fixed = [&](llvm::LoadInst* load) {
    if (cold) load->setVolatile(true);
    else markInvariant(load);
    return load;
  };
  auto load = [&](llvm::Value* base, unsigned i) {
    return fixed(b.CreateLoad(ptr, b.CreateConstInBoundsGEP1_64(ptr, base, i)));
  };
  auto at = [&](size_t offset) { return fixed(b.CreateLoad(ptr, b.CreateConstInBoundsGEP1_64(i8, fobj, offset))); };
  llvm::Value* null = llvm::ConstantPointerNull::get(llvm::PointerType::get(ctx, 0));
  switch (index) {
    case kCtxTstate: return load(caller, kCtxTstate);
    case kCtxSlots: return load(argHdr, kHdrSlots);
    case kCtxEvalBreaker: return load(caller, kCtxEvalBreaker);
    case kCtxStress: return load(argHdr, kHdrStress);
    case kCtxGlobals: return at(PYPA_FUNC_GLOBALS_OFFSET);
    case kCtxBuiltins: return at(PYPA_FUNC_BUILTINS_OFFSET);
    case kCtxSpec: return load(argHdr, kHdrSpec);
    case kCtxPrevInstrAddr: return b.CreateConstInBoundsGEP1_64(ptr, argCtx, kCtxLazyPrevInstr);
    case kCtxFirstInstr: return load(argHdr, kHdrFirstInstr);
    case kCtxFunc: return fobj;
    case kCtxStackLow: return load(caller, kCtxStackLow);
    default: return null;  // frame, lazyPrevInstr
  }
}

llvm::Error Lowerer::run() {
  directResultTy = llvm::StructType::get(ctx, {i64, ptr, f64});
  if (fn.direct) {
    // runtime::DirectEntry: (caller's ctx, own SpecHeader*, the function, unboxed arguments...) -> {bits, obj}
    std::vector<llvm::Type*> params = {ptr, ptr, ptr, i32};
    for (char c : fn.signature) params.push_back(llvmType(c == 'i' ? Type::Int : c == 'f' ? Type::Float
                                                          : c == 'b' ? Type::Bool : Type::Obj));
    func = llvm::Function::Create(llvm::FunctionType::get(directResultTy, params, false),
                                  llvm::GlobalValue::ExternalLinkage, fn.name, mod);
    func->getArg(0)->setName("caller");
    func->getArg(1)->setName("header");
    func->getArg(2)->setName("func");
    func->getArg(3)->setName("budget");
    argHdr = func->getArg(1);
  } else {
    auto* fty = llvm::FunctionType::get(ptr, {ptr, ptr}, false);
    func = llvm::Function::Create(fty, llvm::GlobalValue::ExternalLinkage, fn.name, mod);
    argLocals = func->getArg(0);
    argCtx = func->getArg(1);
    func->getArg(0)->setName("localsplus");
    func->getArg(1)->setName("ctx");
  }

  llvm::BasicBlock* entry = llvm::BasicBlock::Create(ctx, "entry", func);
  entry_ = entry;
  b.SetInsertPoint(entry);
  if (fn.direct) directPrologue();
  for (const ir::Var& v : fn.vars) vars_.push_back(b.CreateAlloca(llvmType(v.type)));
  int words = 1;
  for (const ir::ExitPoint& x : fn.exits) words = std::max(words, deopt::exitBufferWords(x));
  exitBuf_ = b.CreateAlloca(i64, b.getInt32(words), "exitbuf");
  for (const ir::Block& blk : fn.blocks)
    blocks_.push_back(llvm::BasicBlock::Create(ctx, "bb" + std::to_string(blk.id), func));
  b.CreateBr(blocks_[0]);
  for (const ir::Block& blk : fn.blocks) {
    curIR_ = &blk;
    b.SetInsertPoint(blocks_[blk.id]);
    for (const ir::Instr& in : blk.instrs) lowerInstr(in);
  }
  std::string msg;
  llvm::raw_string_ostream os(msg);
  if (llvm::verifyFunction(*func, &os)) return support::bail("internal: LLVM verifier: " + os.str());
  return llvm::Error::success();
}

std::string inlinedName(const ir::Function& fn, int site) { return fn.name + ".inline" + std::to_string(site); }

llvm::Expected<std::unique_ptr<llvm::Module>> lowerFunction(const ir::Function& fn, llvm::LLVMContext& ctx) {
  auto mod = std::make_unique<llvm::Module>(fn.name, ctx);
  // Callees compiled in (ir::Function::inlined) first: private functions the call sites use by name, which the
  // optimizer inlines.
  for (const auto& [site, callee] : fn.inlined) {
    ir::Function copy = *callee;
    copy.name = inlinedName(fn, site);
    Lowerer l(copy, *mod);
    if (auto err = l.run()) return std::move(err);
    l.func->setLinkage(llvm::GlobalValue::InternalLinkage);
    l.func->addFnAttr(llvm::Attribute::AlwaysInline);
  }
  Lowerer l(fn, *mod);
  if (auto err = l.run()) return std::move(err);
  if (fn.direct) unrollSelfRecursion(*l.func);
  return std::move(mod);
}

}  // namespace pypaccel::codegen
