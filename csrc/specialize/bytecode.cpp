// Bytecode decoding for CPython 3.11.
#include "specialize/bytecode.h"

#include "cpython/cpy.h"
#include "deopt/refusals.h"
#include "support/bail.h"

namespace pypaccel::specialize {

namespace {
struct OpcodeRow {
  const char* name;
  bool supported;
};
OpcodeRow rowFor(int op) {
  switch (op) {
#define OP(name, num, status, family) \
  case num: return {#name, OPCODE_##status};
#define OPCODE_YES true
#define OPCODE_NYI false
#include "specialize/opcodes.def"
#undef OPCODE_YES
#undef OPCODE_NYI
#undef OP
    default: return {nullptr, false};
  }
}
}  // namespace

const char* opcodeName(int op) {
  const char* n = rowFor(op).name;
  return n ? n : "<unknown>";
}

bool opcodeSupported(int op) { return rowFor(op).supported; }

namespace {
enum class Jump { None, Forward, Backward };
struct Flow {
  Jump jump;
  bool fallsThrough;  // control may continue at the next instruction
};
// The control flow of `op` (jumps.def); an opcode without a row continues at the next instruction.
Flow flowOf(int op) {
  switch (op) {
#define FLOW(name, jump, fallsThrough) \
  case name: return {Jump::jump, FLOW_##fallsThrough};
#define FLOW_Yes true
#define FLOW_No false
#include "specialize/jumps.def"
#undef FLOW_No
#undef FLOW_Yes
#undef FLOW
    default: return {Jump::None, true};
  }
}
}  // namespace

bool isBackwardJump(int op) { return flowOf(op).jump == Jump::Backward; }
bool isForwardJump(int op) { return flowOf(op).jump == Jump::Forward; }
bool isConditionalJump(int op) { return flowOf(op).jump != Jump::None && flowOf(op).fallsThrough; }
bool isTerminator(int op) { return !flowOf(op).fallsThrough; }

llvm::Expected<std::vector<Handler>> decodeExceptionTable(const std::string& table) {
  std::vector<Handler> out;
  size_t i = 0;
  // A field: 6-bit groups, most significant first; bit 6 says another group follows. Bit 7 marks an entry's start.
  auto field = [&](bool first, int* value) {
    if (i >= table.size()) return false;
    uint8_t byte = uint8_t(table[i++]);
    if (first != bool(byte & 0x80)) return false;
    int v = byte & 0x3f;
    while (byte & 0x40) {
      if (i >= table.size() || v > (1 << 24)) return false;
      byte = uint8_t(table[i++]);
      v = (v << 6) | (byte & 0x3f);
    }
    *value = v;
    return true;
  };
  while (i < table.size()) {
    int start, length, target, depthLasti;
    if (!field(true, &start) || !field(false, &length) || !field(false, &target) || !field(false, &depthLasti))
      return deopt::refuse(deopt::Refusal::MalformedExceptionTable);
    out.push_back(Handler{start, start + length, target, depthLasti >> 1, bool(depthLasti & 1)});
  }
  return out;
}

const Handler* handlerAt(const std::vector<Handler>& handlers, int unit) {
  for (const Handler& h : handlers)
    if (unit >= h.start && unit < h.end) return &h;
  return nullptr;
}

llvm::Expected<Bytecode> decode(const uint8_t* code, size_t nbytes, const std::vector<int>& lines) {
  if (nbytes % 2) return deopt::refuse(deopt::Refusal::OddBytecodeLength);
  Bytecode bc;
  bc.numUnits = int(nbytes / 2);
  bc.unitToInstr.assign(bc.numUnits, -1);
  int unit = 0;
  while (unit < bc.numUnits) {
    Instruction in;
    in.start = unit;
    int arg = 0;
    int op = code[2 * unit];
    while (op == EXTENDED_ARG) {
      arg = (arg | code[2 * unit + 1]) << 8;
      unit++;
      if (unit >= bc.numUnits) return deopt::refuse(deopt::Refusal::ExtendedArgAtEnd);
      op = code[2 * unit];
    }
    in.unit = unit;
    in.op = pypa_opcode_base(op);
    in.arg = arg | code[2 * unit + 1];
    in.next = unit + 1 + pypa_opcode_cache_entries(in.op);
    in.line = unit < int(lines.size()) ? lines[unit] : 0;
    if (isForwardJump(in.op)) in.target = in.next + in.arg;
    if (isBackwardJump(in.op)) {
      in.target = in.next - in.arg;
      bc.hasBackwardJump = true;
    }
    if (in.op == STORE_FAST || in.op == DELETE_FAST) {
      if (in.arg >= int(bc.storedLocals.size())) bc.storedLocals.resize(size_t(in.arg) + 1, 0);
      bc.storedLocals[in.arg] = 1;
    }
    bool jumps = isForwardJump(in.op) || isBackwardJump(in.op);
    if (jumps && (in.target < 0 || in.target >= bc.numUnits)) return deopt::refuse(deopt::Refusal::JumpOutOfRange);
    // Jumps land on an instruction's first EXTENDED_ARG prefix: every unit of it maps to the instruction.
    for (int u = in.start; u <= unit; u++) bc.unitToInstr[u] = int(bc.instrs.size());
    bc.instrs.push_back(in);
    unit = in.next;
  }
  return bc;
}

}  // namespace pypaccel::specialize
