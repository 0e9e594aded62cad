// Lowerer: the state of lowering one ir::Function (values, variables, blocks, exits). Lowering of each IR op
// family lives in lower_<family>.cpp.
#pragma once
#include <map>
#include <vector>

#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Module.h>

#include "ir/ir.h"
#include "runtime/helpers.h"

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
  // A call of helpers.def's row `h`, declared in the module with the prototype and attributes its row gives
  // (codegen/helper_calls.cpp).
  llvm::CallInst* call(runtime::Helper h, llvm::ArrayRef<llvm::Value*> args);
  // The same on a cold path that goes back to the hot code (a global rebound, an eval-breaker event, a call site to
  // resolve): through a private thunk that preserves every register. A plain call clobbers all vector registers,
  // and the register allocator then keeps a loop's float values in memory on the hot path too (a store and a
  // reload on its dependency chain every iteration); the thunk's saves cost only where it runs.
  llvm::CallInst* coldCall(runtime::Helper h, llvm::ArrayRef<llvm::Value*> args);
  // A call of a helper whose failure (its row's Fails column) leaves through `exit` (the op's Raise exit, or its
  // catch block).
  llvm::CallInst* callChecked(runtime::Helper h, llvm::ArrayRef<llvm::Value*> args, int exit);
  // Whether `r`, a result of helper `h`, says it failed (its row's Fails column).
  llvm::Value* callFailed(runtime::Helper h, llvm::Value* r);
  // Callees (and anything they inspect: tracebacks, sys._getframe) see the frame at code unit `unit`
  // (runtime::atInstruction).
  void showInstruction(int32_t unit);
  // The values of `in`'s arguments from `from` on.
  std::vector<llvm::Value*> argValues(const ir::Instr& in, size_t from = 0);
  // `values` stored in an array on the entry block's stack, for the helpers that take items.
  llvm::Value* valueArray(llvm::ArrayRef<llvm::Value*> values);
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
  // Writes into the frame, boxed, the locals exit `exitId` would and the frame does not hold as they are
  // (SnapLocal::unsynced), from their variables: for a callee that may look at the frame, the native code going on.
  void syncLocalsOf(int exitId);
  // The same for any slot holding a reference or null (a cell's contents).
  void replaceReference(llvm::Value* slot, llvm::Value* value);
  // An owned object for the number `v` (i64 or double): `origin` with a new reference when it is not null, else a
  // new box (ir_ops.def BoxOrigin).
  llvm::Value* boxWithOrigin(llvm::Value* v, llvm::Value* origin);
  // An owned object for the native value `v` as an exit would box it: an i64 or double a new int or float, an i1
  // True or False, an object a new reference; with a non-null `origin`, through boxWithOrigin. A failed box is
  // NULL.
  llvm::Value* ownedBox(llvm::Value* v, llvm::Value* origin = nullptr);

  // The address of run-time slot `slot` (NativeCtx::slots).
  llvm::Value* slotAddr(int64_t slot);
  // The code unit of exit `exitId`'s instruction, which a helper that calls into CPython shows as the frame's
  // position (0 for none).
  int32_t exitUnit(int exitId) const { return exitId >= 0 ? fn.exits[exitId].unit : 0; }

  // One lowering per IR op, named by its row in ir_ops.def (the Lowering column) and defined in
  // codegen/lower_<family>.cpp as lower<Op::Name>. lowerInstr dispatches through a table generated from the rows,
  // so a row whose lowering is not defined fails to link.
  template <ir::Op>
  void lower(const ir::Instr& in);

  // A direct entry: the recursion budget left at this level (i32), once its prologue (EnterDirect) ran.
  llvm::Value* recursionBudget() const { return recursion_; }
  // Non-zero while tracing or profiling is on for this thread (an i8 load of its cframe's use_tracing).
  llvm::Value* tracingFlag();

 private:
  void lowerInstr(const ir::Instr& in);
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

 public:
  std::vector<llvm::AllocaInst*>& vars() { return vars_; }
  std::vector<llvm::BasicBlock*>& blocks() { return blocks_; }
};

#define IROP(name, kind, imm, result, args, exits, python, raises, work, lowering) \
  template <>                                                              \
  void Lowerer::lower<ir::Op::name>(const ir::Instr& in);
#include "ir/ir_ops.def"
#undef IROP

// The tag a direct entry returns in DirectResult::obj for a result of type `t` (0 for an object).
int directResultTag(ir::Type t);

// The private copy of the callee of `fn`'s direct call site `site` (ir::Function::inlined) in its module.
std::string inlinedName(const ir::Function& fn, int site);

// Inlines one level of `f`'s calls of itself (self_recursion.cpp); the optimizer does the inlining.
void unrollSelfRecursion(llvm::Function& f);

}  // namespace pypaccel::codegen
