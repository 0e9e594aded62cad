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

}  // namespace pypaccel::codegen
