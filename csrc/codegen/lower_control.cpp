// Lowering of block terminators: jumps, branches, returns and unconditional exits.
#include "codegen/lowerer.h"

namespace pypaccel::codegen {

using ir::Op;

bool Lowerer::lowerControl(const ir::Instr& in) {
  switch (in.op) {
    case Op::Jump: b.CreateBr(blocks()[in.succ[0]]); return true;
    case Op::Branch: b.CreateCondBr(val(in.args[0]), blocks()[in.succ[0]], blocks()[in.succ[1]]); return true;
    case Op::Return: returnObject(val(in.args[0])); return true;
    case Op::Exit: b.CreateBr(exitBlock(in.exit)); return true;
    default: return false;
  }
}

}  // namespace pypaccel::codegen
