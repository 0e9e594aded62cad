// Decoded CPython 3.11 bytecode: instructions with their EXTENDED_ARG prefixes folded in, inline CACHE units
// skipped, jump targets resolved, line numbers attached.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <llvm/Support/Error.h>

namespace pypaccel::specialize {

enum Opcode : int {
#define OP(name, num, status, family) name = num,
#include "specialize/opcodes.def"
#undef OP
};

const char* opcodeName(int op);
bool opcodeSupported(int op);  // its opcodes.def family is not NYI

struct Instruction {
  int start = 0;  // first code unit (EXTENDED_ARG prefixes included)
  int unit = 0;   // unit of the opcode itself
  int op = 0;     // base opcode
  int arg = 0;
  int next = 0;   // unit after the instruction and its caches
  int line = 0;   // source line, 0 when none
  int target = -1;  // jump target unit, -1 when not a jump
};

struct Bytecode {
  std::vector<Instruction> instrs;
  std::vector<int> unitToInstr;  // unit (opcode or EXTENDED_ARG prefix) -> instruction index; -1 for caches
  int numUnits = 0;
  bool hasBackwardJump = false;
  std::vector<uint8_t> storedLocals;  // per local index: some STORE_FAST or DELETE_FAST targets it

  bool storesLocal(int i) const { return i >= 0 && i < int(storedLocals.size()) && storedLocals[i]; }

  const Instruction* at(int unit) const {
    if (unit < 0 || unit >= numUnits || unitToInstr[unit] < 0) return nullptr;
    return &instrs[unitToInstr[unit]];
  }
};

// `code`: co_code bytes (base opcodes); `lines`: a line per code unit (0 = none).
llvm::Expected<Bytecode> decode(const uint8_t* code, size_t nbytes, const std::vector<int>& lines);

// One entry of co_exceptiontable: an exception raised at a unit in [start, end) unwinds the value stack to `depth`
// entries, pushes the raising instruction's unit as an int when `lasti`, then the exception, and continues at
// `target`. CPython 3.11's table is flat: at most one entry covers a unit.
struct Handler {
  int start = 0, end = 0, target = 0, depth = 0;
  bool lasti = false;
};

// Decodes co_exceptiontable (varint fields in code units, see CPython's Objects/exception_handling_notes.txt).
llvm::Expected<std::vector<Handler>> decodeExceptionTable(const std::string& table);
// The entry covering `unit`, or null.
const Handler* handlerAt(const std::vector<Handler>& handlers, int unit);

// From jumps.def, generated from dis.
bool isBackwardJump(int op);
bool isForwardJump(int op);
bool isConditionalJump(int op);
bool isTerminator(int op);  // control never falls through

}  // namespace pypaccel::specialize
