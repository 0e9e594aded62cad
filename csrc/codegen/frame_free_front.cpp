// A direct entry's frame-free front: the paths from its start that return without calling anything, in a function
// of their own that needs no stack frame, in front of the whole entry (the body).
//
// A direct entry whose body calls (recursion, exits) keeps values in callee-saved registers and spills to its stack;
// the register saves and the frame are then set up at its start, before the first test, even on a path that
// returns at once: fib's `if n < 2: return n`, half of all its calls, paid six pushes and pops for a compare. LLVM
// cannot move them past that test (shrink-wrapping gives up when the entry block copies arguments into
// callee-saved registers). So split it by hand, after optimization: the entry's symbol becomes a copy that keeps
// only the blocks on such paths ("light": loads, arithmetic, compares, branches, native returns) and, at the first
// edge off them, tail-calls the body, a private copy of the whole entry that starts over from the beginning.
// Starting over is exact because a light block has no effect but the entry counter, which the body no longer
// counts; the prologue's checks and the guards run again in the body, on the same state. The body's calls of
// itself get the front inlined.
//
// The front also skips two of the prologue's tests (markFrontSkippable): the C stack and the eval breaker. A path
// that stays in the front uses no stack (no frame, no call) and ends in a bounded number of instructions, so
// neither can matter there; any other path gets both in the body, before anything it does. A pending signal or
// GIL request is then served at the next entry that goes past its front, or at a loop's poll: a leaf of a
// recursion no longer pays two loads and two branches for it (fib: half of all calls).
#include <llvm/IR/Instructions.h>
#include <llvm/IR/IntrinsicInst.h>
#include <llvm/Transforms/Utils/BasicBlockUtils.h>
#include <llvm/Transforms/Utils/Cloning.h>
#include <llvm/Transforms/Utils/Local.h>

#include <set>
#include <vector>

#include "codegen/lowerer.h"
#include "runtime/native_ctx.h"

namespace pypaccel::codegen {

namespace {

constexpr const char* kFrontSkippable = "pypaccel.front_skippable";

// The store of the entry counter (SpecHeader::entries, through the header argument) in the entry's first block.
llvm::StoreInst* entryCount(llvm::Function& f) {
  for (llvm::Instruction& i : f.getEntryBlock()) {
    auto* st = llvm::dyn_cast<llvm::StoreInst>(&i);
    if (!st) continue;
    auto* gep = llvm::dyn_cast<llvm::GetElementPtrInst>(st->getPointerOperand());
    llvm::APInt offset(64, 0);
    if (gep && gep->getPointerOperand() == f.getArg(1) &&
        gep->accumulateConstantOffset(f.getParent()->getDataLayout(), offset) &&
        offset == runtime::kHdrEntries * sizeof(void*))
      return st;
  }
  return nullptr;
}

// Loads, arithmetic, compares, intrinsics that only compute (overflow arithmetic, the stack pointer read),
// branches and returns; no call, no store but the entry counter's.
bool isLight(const llvm::BasicBlock& bb, const llvm::StoreInst* count) {
  for (const llvm::Instruction& i : bb) {
    if (&i == count) continue;
    if (auto* call = llvm::dyn_cast<llvm::CallBase>(&i)) {
      if (!llvm::isa<llvm::IntrinsicInst>(call) || call->mayWriteToMemory()) return false;
      continue;
    }
    if (i.mayWriteToMemory()) return false;  // (an alloca is not an access: the front drops those unused)
  }
  return true;
}

}  // namespace

// f's skippable tests become false (f: the front, or the inlined level of a self-recursion); what only they fed
// folds away (the stack pointer read, the loads).
void dropSkippableTests(llvm::Function& front) {
  std::vector<llvm::Instruction*> tests;
  for (llvm::BasicBlock& bb : front)
    for (llvm::Instruction& i : bb)
      if (i.getMetadata(kFrontSkippable)) tests.push_back(&i);
  for (llvm::Instruction* t : tests) {
    t->replaceAllUsesWith(llvm::ConstantInt::getFalse(t->getContext()));
    llvm::RecursivelyDeleteTriviallyDeadInstructions(t);
  }
  if (tests.empty()) return;
  for (llvm::BasicBlock& bb : front) {
    llvm::SimplifyInstructionsInBlock(&bb);
    llvm::ConstantFoldTerminator(&bb, true);
  }
  llvm::removeUnreachableBlocks(front);
}

llvm::Value* markFrontSkippable(llvm::Value* test) {
  // (Metadata an optimization drops with the instruction it rewrites only makes the front keep that test.)
  if (auto* i = llvm::dyn_cast<llvm::Instruction>(test))
    i->setMetadata(kFrontSkippable, llvm::MDNode::get(i->getContext(), {}));
  return test;
}

void splitFrameFreeFront(llvm::Function& f) {
  if (f.isDeclaration()) return;
  llvm::StoreInst* count = entryCount(f);
  if (!count) return;  // (every direct entry counts in its first block; anything else is not one)
  // Light blocks reachable from the entry through light blocks.
  std::set<llvm::BasicBlock*> light;
  std::vector<llvm::BasicBlock*> work = {&f.getEntryBlock()};
  while (!work.empty()) {
    llvm::BasicBlock* bb = work.back();
    work.pop_back();
    if (light.count(bb) || !isLight(*bb, count)) continue;
    light.insert(bb);
    for (llvm::BasicBlock* s : llvm::successors(bb)) work.push_back(s);
  }
  // Of those, the ones on a path to a return that stays light: the front is worth having only for them.
  std::set<llvm::BasicBlock*> keep;
  bool grew = true;
  while (grew) {
    grew = false;
    for (llvm::BasicBlock* bb : light) {
      if (keep.count(bb)) continue;
      bool useful = llvm::isa<llvm::ReturnInst>(bb->getTerminator());
      for (llvm::BasicBlock* s : llvm::successors(bb)) useful |= keep.count(s) > 0;
      if (useful) {
        keep.insert(bb);
        grew = true;
      }
    }
  }
  if (!keep.count(&f.getEntryBlock())) return;  // no early return: nothing to gain
  size_t blocks = f.size();
  if (keep.size() == blocks) return;            // the whole entry is frame-free already

  // The body: a private copy of the whole entry, which no longer counts entries (the front did).
  llvm::ValueToValueMapTy map;
  llvm::Function* body = llvm::CloneFunction(&f, map);
  body->setName(f.getName() + ".body");
  body->setLinkage(llvm::GlobalValue::InternalLinkage);
  body->addFnAttr(llvm::Attribute::NoInline);
  llvm::cast<llvm::Instruction>(map[count])->eraseFromParent();

  // The front: every edge off the kept blocks starts the body over with the same arguments.
  std::vector<llvm::Value*> args;
  for (llvm::Argument& a : f.args()) args.push_back(&a);
  llvm::BasicBlock* restart = llvm::BasicBlock::Create(f.getContext(), "body", &f);
  llvm::CallInst* call = llvm::CallInst::Create(body, args, "", restart);
  call->setTailCallKind(llvm::CallInst::TCK_Tail);
  llvm::ReturnInst::Create(f.getContext(), call, restart);
  for (llvm::BasicBlock* bb : keep) {
    llvm::Instruction* term = bb->getTerminator();
    for (unsigned k = 0; k < term->getNumSuccessors(); k++) {
      llvm::BasicBlock* s = term->getSuccessor(k);
      if (keep.count(s)) continue;
      s->removePredecessor(bb);
      term->setSuccessor(k, restart);
    }
  }
  std::vector<llvm::BasicBlock*> dead;
  for (llvm::BasicBlock& bb : f)
    if (&bb != restart && !keep.count(&bb)) dead.push_back(&bb);
  llvm::DeleteDeadBlocks(dead);  // (and their incoming values in the kept blocks' phis)
  for (llvm::Instruction& i : llvm::make_early_inc_range(f.getEntryBlock()))
    if (llvm::isa<llvm::AllocaInst>(i) && i.use_empty()) i.eraseFromParent();
  dropSkippableTests(f);

  // The body's own calls of the entry (recursion by name) get the front inlined: a call that returns at once
  // (a leaf) is then handled where it is made, without a call, and any other calls the body directly.
  std::vector<llvm::CallInst*> selfCalls;
  for (llvm::BasicBlock& bb : *body)
    for (llvm::Instruction& i : bb)
      if (auto* c = llvm::dyn_cast<llvm::CallInst>(&i); c && c->getCalledFunction() == &f) selfCalls.push_back(c);
  for (llvm::CallInst* c : selfCalls) {
    llvm::InlineFunctionInfo info;
    (void)llvm::InlineFunction(*c, info);  // a call it declines stays a call of the front: as good as before
  }
}

}  // namespace pypaccel::codegen
