// IR -> LLVM IR: one llvm::Module per specialization, entry `ptr @<symbol>(ptr localsplus, ptr ctx)`.
#pragma once
#include <memory>

#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/Support/Error.h>

#include "ir/ir.h"

namespace pypaccel::codegen {

llvm::Expected<std::unique_ptr<llvm::Module>> lowerFunction(const ir::Function& fn, llvm::LLVMContext& ctx);

// After optimization, a direct entry's paths that return without calling anything become a frame-free front that
// tail-calls the whole entry otherwise (frame_free_front.cpp).
void splitFrameFreeFront(llvm::Function& f);

// Marks a direct entry's prologue test that the frame-free front may take as false: the C stack and eval-breaker
// tests, which only a path that goes on past the front (into the body, which tests them again) needs.
llvm::Value* markFrontSkippable(llvm::Value* test);
// Takes those tests as false in `f` (a front, or the inlined level of a self-recursion, which runs in its caller's
// frame after the caller's own tests) and folds what they fed.
void dropSkippableTests(llvm::Function& f);

}  // namespace pypaccel::codegen
