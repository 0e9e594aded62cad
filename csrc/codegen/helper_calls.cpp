// Calls of the functions in runtime/helpers.def: each one's LLVM prototype is derived from its C++ declaration, so
// the two cannot disagree, and its attributes come from its row.
#include <type_traits>

#include "codegen/lowerer.h"

namespace pypaccel::codegen {

namespace {

template <typename T>
llvm::Type* llvmTypeOf(llvm::LLVMContext& c) {
  if constexpr (std::is_void_v<T>) return llvm::Type::getVoidTy(c);
  else if constexpr (std::is_pointer_v<T>) return llvm::PointerType::get(c, 0);
  else if constexpr (std::is_same_v<T, double>) return llvm::Type::getDoubleTy(c);
  else {
    static_assert(std::is_integral_v<T>, "helpers take and return integers, doubles and pointers");
    return llvm::Type::getIntNTy(c, 8 * sizeof(T));
  }
}

template <typename R, typename... A>
llvm::FunctionType* prototypeOf(llvm::LLVMContext& c, R (*)(A...)) {
  return llvm::FunctionType::get(llvmTypeOf<R>(c), {llvmTypeOf<A>(c)...}, false);
}

using Prototype = llvm::FunctionType* (*)(llvm::LLVMContext&);
const Prototype kPrototypes[] = {
#define HELPER(ret, name, params, attr, fails) [](llvm::LLVMContext& c) { return prototypeOf(c, &runtime::name); },
#define CPYTHON_API(name, attr, fails) [](llvm::LLVMContext& c) { return prototypeOf(c, &::name); },
#include "runtime/helpers.def"
#undef HELPER
#undef CPYTHON_API
};

llvm::Function* declare(llvm::Module& mod, runtime::Helper h) {
  const char* name = runtime::helperName(h);
  if (llvm::Function* f = mod.getFunction(name)) return f;
  auto* f = llvm::Function::Create(kPrototypes[int(h)](mod.getContext()), llvm::GlobalValue::ExternalLinkage, name,
                                   mod);
  switch (runtime::helperAttr(h)) {
    case runtime::HelperAttr::Plain: break;
    case runtime::HelperAttr::Cold: f->addFnAttr(llvm::Attribute::Cold); break;
    case runtime::HelperAttr::ReadOnly:
      f->setOnlyReadsMemory();
      f->setWillReturn();
      f->setDoesNotThrow();
      break;
  }
  return f;
}

}  // namespace

llvm::CallInst* Lowerer::call(runtime::Helper h, llvm::ArrayRef<llvm::Value*> args) {
  return b.CreateCall(declare(mod, h), args);
}

llvm::CallInst* Lowerer::coldCall(runtime::Helper h, llvm::ArrayRef<llvm::Value*> args) {
  llvm::Function* callee = declare(mod, h);
  std::string thunkName = callee->getName().str() + ".saveall";
  llvm::Function* thunk = mod.getFunction(thunkName);
  if (!thunk) {
    llvm::FunctionType* fty = callee->getFunctionType();
    thunk = llvm::Function::Create(fty, llvm::GlobalValue::InternalLinkage, thunkName, mod);
    thunk->setCallingConv(llvm::CallingConv::PreserveAll);
    thunk->addFnAttr(llvm::Attribute::NoInline);
    thunk->addFnAttr(llvm::Attribute::Cold);
    llvm::IRBuilder<> tb(llvm::BasicBlock::Create(ctx, "entry", thunk));
    std::vector<llvm::Value*> forward;
    for (llvm::Argument& a : thunk->args()) forward.push_back(&a);
    llvm::Value* r = tb.CreateCall(callee, forward);
    if (fty->getReturnType()->isVoidTy()) tb.CreateRetVoid();
    else tb.CreateRet(r);
  }
  llvm::CallInst* c = b.CreateCall(thunk, args);
  c->setCallingConv(llvm::CallingConv::PreserveAll);
  return c;
}

llvm::CallInst* Lowerer::callChecked(runtime::Helper h, llvm::ArrayRef<llvm::Value*> args, int exit) {
  llvm::CallInst* r = call(h, args);
  guard(callFailed(h, r), exit);
  return r;
}

llvm::Value* Lowerer::callFailed(runtime::Helper h, llvm::Value* r) {
  switch (runtime::helperFails(h)) {
    case runtime::HelperFails::Null: return b.CreateIsNull(r);
    case runtime::HelperFails::Negative: return b.CreateICmpSLT(r, llvm::ConstantInt::get(r->getType(), 0));
    case runtime::HelperFails::NonZero: return b.CreateICmpNE(r, llvm::ConstantInt::get(r->getType(), 0));
    case runtime::HelperFails::Never:
    case runtime::HelperFails::Custom: break;
  }
  return b.getFalse();  // not reached: the lowerings use callChecked for the rows that fail one of those ways
}

void Lowerer::showInstruction(int32_t unit) {
  b.CreateStore(b.CreateConstInBoundsGEP1_64(i8, ctxField(runtime::kCtxFirstInstr), 2 * unit),
                ctxField(runtime::kCtxPrevInstrAddr));
}

std::vector<llvm::Value*> Lowerer::argValues(const ir::Instr& in, size_t from) {
  std::vector<llvm::Value*> out;
  for (size_t i = from; i < in.args.size(); i++) out.push_back(val(in.args[i]));
  return out;
}

llvm::Value* Lowerer::valueArray(llvm::ArrayRef<llvm::Value*> values) {
  unsigned n = unsigned(values.size());
  llvm::Value* items = entryAlloca(ptr, n ? n : 1);
  for (unsigned i = 0; i < n; i++) b.CreateStore(values[i], b.CreateConstInBoundsGEP1_64(ptr, items, i));
  return items;
}

}  // namespace pypaccel::codegen
