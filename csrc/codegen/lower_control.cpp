// Lowering of block terminators: jumps, branches, returns and unconditional exits.
#include "codegen/lowerer.h"

namespace pypaccel::codegen {

using ir::Op;

template <>
void Lowerer::lower<Op::Jump>(const ir::Instr& in) {
  b.CreateBr(blocks()[in.succ[0]]);
}

template <>
void Lowerer::lower<Op::Branch>(const ir::Instr& in) {
  b.CreateCondBr(val(in.args[0]), blocks()[in.succ[0]], blocks()[in.succ[1]]);
}

template <>
void Lowerer::lower<Op::Return>(const ir::Instr& in) {
  returnObject(val(in.args[0]));
}

template <>
void Lowerer::lower<Op::Exit>(const ir::Instr& in) {
  b.CreateBr(exitBlock(in.exit));
}

}  // namespace pypaccel::codegen
