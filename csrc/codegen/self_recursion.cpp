// One level of a direct entry's self-recursion inlined into itself.
//
// Naive recursion (fib) spends most of its time in calls: half of all calls are leaves that return after a compare,
// and the call, the register saves and the prologue cost more than the work. LLVM's inliner leaves a function's
// calls of itself alone, so give it a copy to inline: the entry's calls of itself (CallDirect names the entry when
// the callee's header points back at it) call an internal always-inline clone instead, whose own calls of the entry
// stay real calls. The inlined body is the callee's body, prologue included: the recursion budget and the entry
// counter per Python-level call as before (not the C stack and eval-breaker tests: see below), and an exit inside
// it builds the callee's frame from the callee's header and arguments, which the clone gets as parameters.
#include <llvm/IR/Instructions.h>
#include <llvm/Transforms/Utils/Cloning.h>

#include "codegen/codegen.h"
#include "codegen/lowerer.h"

namespace pypaccel::codegen {

namespace {

// Above this many IR instructions the copy costs more compile time and code than the saved calls are worth.
constexpr size_t kMaxUnrolledInstructions = 1500;

}  // namespace

void unrollSelfRecursion(llvm::Function& f) {
  std::vector<llvm::CallInst*> selfCalls;
  size_t size = 0;
  for (llvm::BasicBlock& bb : f)
    for (llvm::Instruction& i : bb) {
      size++;
      if (auto* call = llvm::dyn_cast<llvm::CallInst>(&i); call && call->getCalledFunction() == &f)
        selfCalls.push_back(call);
    }
  if (selfCalls.empty() || size > kMaxUnrolledInstructions) return;
  llvm::ValueToValueMapTy map;
  llvm::Function* copy = llvm::CloneFunction(&f, map);  // its calls of f still call f
  copy->setName(f.getName() + ".inline");
  copy->setLinkage(llvm::GlobalValue::InternalLinkage);
  copy->addFnAttr(llvm::Attribute::AlwaysInline);
  // The inlined level runs in its caller's frame, right after the caller's own prologue or a call that entered
  // (and tested) another: its C stack and eval-breaker tests add nothing. Its recursion budget stays.
  dropSkippableTests(*copy);
  for (llvm::CallInst* call : selfCalls) call->setCalledFunction(copy);
}

}  // namespace pypaccel::codegen
