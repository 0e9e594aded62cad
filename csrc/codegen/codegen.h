// IR -> LLVM IR: one llvm::Module per specialization, entry `ptr @<symbol>(ptr localsplus, ptr ctx)`.
#pragma once
#include <memory>

#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/Support/Error.h>

#include "ir/ir.h"

namespace pypaccel::codegen {

llvm::Expected<std::unique_ptr<llvm::Module>> lowerFunction(const ir::Function& fn, llvm::LLVMContext& ctx);

}  // namespace pypaccel::codegen
