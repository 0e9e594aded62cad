// Lowerer: the state of lowering one ir::Function (values, variables, blocks, exits). Lowering of each IR op
// family lives in lower_<family>.cpp.
#pragma once
#include <map>
#include <vector>

#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Module.h>

#include "ir/ir.h"

namespace pypaccel::codegen {

class Lowerer {
 public:
  Lowerer(const ir::Function& fn, llvm::Module& m);
  llvm::Error run();

  // -- Shared by the lower_*.cpp files ----------------------------------------------------------------------------
  const ir::Function& fn;
  llvm::Module& mod;
  llvm::LLVMContext& ctx;
  llvm::IRBuilder<> b;
  llvm::Function* func = nullptr;
  llvm::Value* argLocals = nullptr;  // PyObject** localsplus
  llvm::Value* argCtx = nullptr;     // NativeCtx* (a direct entry's own, on its stack)
  llvm::Value* argHdr = nullptr;     // direct entry: the callee's SpecHeader*
  llvm::StructType* directResultTy = nullptr;  // {i64 bits, ptr obj, double}: runtime::DirectResult
  llvm::Type *i1, *i8, *i32, *i64, *f64, *ptr;

  llvm::Value* val(int id) { return values_.at(id); }
  void def(int id, llvm::Value* v) { values_[id] = v; }
  llvm::Type* llvmType(ir::Type t);

  llvm::Value* ctxField(unsigned index);  // loads NativeCtx field `index` (pointer-sized)
  // The NativeCtx* to pass to a helper. A direct entry keeps its context's fields in registers and writes them
  // to its stack only here, on the paths that call a helper. `cold` (exits, coldCall): it loads the fields anew
  // there instead of reusing the hot path's loads, which would keep every field live across the entry's calls
  // (callee-saved registers, spills) for paths that rarely run.
  llvm::Value* ctxArg(bool cold = false);
  llvm::FunctionCallee helper(const char* name, llvm::Type* ret, std::vector<llvm::Type*> params);
  // A call of a helper on a cold path that goes back to the hot code (a global rebound, an eval-breaker event,
  // a call site to resolve): through a private thunk that preserves every register. A plain call clobbers all
  // vector registers, and the register allocator then keeps a loop's float values in memory on the hot path too
  // (a store and a reload on its dependency chain every iteration); the thunk's saves cost only where it runs.
  llvm::CallInst* coldCall(const char* name, llvm::Type* ret, std::vector<llvm::Type*> params,
                           std::vector<llvm::Value*> args);
  llvm::GlobalVariable* pySymbol(const char* name);  // an exported CPython data object (_Py_TrueStruct, ...)

  // Branches to exit `exitId` when `fail` is true (and, in stress mode, the first time the guard is reached).
  void guard(llvm::Value* fail, int exitId);
  llvm::BasicBlock* exitBlock(int exitId);
  // The exit block itself even for a Raise exit caught natively (ExitPoint::catchBlock).
  llvm::BasicBlock* realExitBlock(int exitId);
  // An exit block of its own whose snapshot's top stack value is `top` instead of the recorded one (CallDirect's
  // result that was not of the expected type).
  llvm::BasicBlock* exitBlockWithTop(int exitId, llvm::Value* top);
  // Returns from the native function: a direct entry returns {bits, obj} (bits 1: obj is what an exit
  // returned), the frame entry the object.
  void returnObject(llvm::Value* obj, bool fromExit = false);
  // Continues in a fresh block; used after a conditional branch to an exit.
  void split(const char* name);

  // Allocas belong in the entry block: one in a loop body would grow the stack every iteration.
  llvm::AllocaInst* entryAlloca(llvm::Type* t, unsigned n = 1);

  void incref(llvm::Value* o);
  void decref(llvm::Value* o);
  // Stores `value` (owned, or null) into the frame's slot of local `local`, releasing what the slot held.
  void replaceFrameLocal(int64_t local, llvm::Value* value);
  // An owned object for the number `v` (i64 or double): `origin` with a new reference when it is not null, else a
  // new box (ir_ops.def BoxOrigin).
  llvm::Value* boxWithOrigin(llvm::Value* v, llvm::Value* origin);

  // Family lowerings: return false if `op` is not theirs.
  bool lowerArith(const ir::Instr& in);
  bool lowerObjects(const ir::Instr& in);
  bool lowerControl(const ir::Instr& in);
  bool lowerCalls(const ir::Instr& in);
  bool lowerExceptions(const ir::Instr& in);

 private:
  llvm::Error lowerInstr(const ir::Instr& in);
  llvm::BasicBlock* makeExitBlock(int exitId, llvm::Value* top);
  void directPrologue();
  llvm::Value* directField(unsigned index, bool cold = false);
  llvm::Value* recursion_ = nullptr;  // direct entry: the recursion budget left at this level (i32)
  std::map<int, llvm::Value*> values_;
  std::vector<llvm::AllocaInst*> vars_;
  std::vector<llvm::BasicBlock*> blocks_;
  std::map<int, llvm::BasicBlock*> exits_;
  std::map<int, llvm::BasicBlock*> raises_;  // exitBlock of exits with a raiseError
  llvm::AllocaInst* exitBuf_ = nullptr;
  llvm::BasicBlock* entry_ = nullptr;
  const ir::Block* curIR_ = nullptr;
  friend bool lowerVars(Lowerer& l, const ir::Instr& in);

 public:
  std::vector<llvm::AllocaInst*>& vars() { return vars_; }
  std::vector<llvm::BasicBlock*>& blocks() { return blocks_; }
};

// The private copy of the callee of `fn`'s direct call site `site` (ir::Function::inlined) in its module.
std::string inlinedName(const ir::Function& fn, int site);

// Inlines one level of `f`'s calls of itself (self_recursion.cpp); the optimizer does the inlining.
void unrollSelfRecursion(llvm::Function& f);

}  // namespace pypaccel::codegen
