// Checks a block makes twice on the same value, made once: the emitter handles one instruction at a time, so
// `v[0] -= x` guards `v` a list and tests its index at BINARY_SUBSCR, and again at STORE_SUBSCR.
#include "specialize/repeated_checks.h"

#include <map>
#include <set>
#include <tuple>

namespace pypaccel::specialize {

namespace {

using ir::Op;

// What may run between two SeqIndex of the same list and index for the second to reuse the first: nothing that
// changes a list's length or runs code that could (a guard that fails leaves; arithmetic; loads; reference counts
// taken). A release is allowed where it cannot run code: of an object guarded before as a float, int, bool, None or
// str (their deallocation runs none), or of a local's object, which its frame or entry still holds.
bool keepsLengths(const ir::Instr& x, const std::set<int>& plain, const std::set<int>& heldByLocal) {
  switch (x.op) {
    case Op::ConstInt: case Op::ConstFloat: case Op::ConstBool: case Op::LoadVar: case Op::LoadSlotObj:
    case Op::LoadSlotInt: case Op::LoadSlotFloat: case Op::LoadSlotBool: case Op::GuardType: case Op::GuardLen:
    case Op::SeqIndex: case Op::SeqItem: case Op::IncRef: case Op::UnboxInt: case Op::UnboxFloat: case Op::UnboxBool:
    case Op::IntBin: case Op::FloatBin: case Op::BoolBin: case Op::IntNeg: case Op::FloatNeg: case Op::IntToFloat:
    case Op::IntCmp: case Op::FloatCmp: case Op::IntTruthy: case Op::FloatTruthy: case Op::BoolNot:
    case Op::IntAbs: case Op::FloatAbs: case Op::IntMinMax: case Op::FloatMinMax: case Op::SeqLen:
      return true;
    case Op::DecRef:
      return plain.count(x.args[0]) || heldByLocal.count(x.args[0]);
    default:
      return false;
  }
}

bool releasesRunNoCode(ir::TypeTag tag) {
  switch (tag) {
    case ir::TypeTag::Float: case ir::TypeTag::SmallInt: case ir::TypeTag::Bool: case ir::TypeTag::None:
    case ir::TypeTag::Str:
      return true;
    default:
      return false;
  }
}

void inBlock(ir::Function& fn, ir::Block& block, std::map<int, int>& renamed) {
  std::set<std::pair<int, int64_t>> guarded;                    // (value, TypeTag) guarded in this block
  std::set<int> plain;                                          // values whose release runs no code
  std::set<int> heldByLocal;                                    // LoadVar of an Obj local (never stored here)
  std::map<std::tuple<int, int, int64_t>, int> indexes;         // (seq, index, tag) -> SeqIndex result still valid
  std::vector<ir::Instr> kept;
  kept.reserve(block.instrs.size());
  for (ir::Instr& x : block.instrs) {
    for (int& a : x.args)
      if (auto it = renamed.find(a); it != renamed.end()) a = it->second;
    if (x.op == Op::GuardType && x.args.size() == 1) {
      // The type of an exact builtin's instance never changes (no __class__ assignment for them): guarded once,
      // it holds for as long as the block uses the same object.
      if (!guarded.insert({x.args[0], x.imm}).second) continue;
      if (releasesRunNoCode(ir::TypeTag(x.imm))) plain.insert(x.args[0]);
    }
    if (x.op == Op::SeqIndex) {
      auto key = std::make_tuple(x.args[0], x.args[1], x.imm);
      if (auto it = indexes.find(key); it != indexes.end()) {
        renamed[x.id] = it->second;
        continue;
      }
      kept.push_back(x);
      indexes[key] = x.id;
      continue;
    }
    if (!keepsLengths(x, plain, heldByLocal)) indexes.clear();
    if (x.op == Op::LoadVar && x.type == ir::Type::Obj && fn.vars[size_t(x.imm)].kind == ir::VarKind::Local)
      heldByLocal.insert(x.id);
    if (x.op == Op::StoreVar || x.op == Op::SetFrameLocal || x.op == Op::ClearFrameLocal) heldByLocal.clear();
    kept.push_back(x);
  }
  block.instrs = std::move(kept);
}

}  // namespace

void removeRepeatedChecks(ir::Function& fn) {
  std::map<int, int> renamed;  // a removed SeqIndex's id -> the one it repeats
  for (ir::Block& b : fn.blocks) inBlock(fn, b, renamed);
  if (renamed.empty()) return;
  auto rename = [&](int& id) {
    if (auto it = renamed.find(id); it != renamed.end()) id = it->second;
  };
  for (ir::Block& b : fn.blocks)
    for (ir::Instr& x : b.instrs)
      for (int& a : x.args) rename(a);
  for (ir::ExitPoint& x : fn.exits)
    for (ir::SnapValue& v : x.stack) {
      for (int& c : v.v) rename(c);
      rename(v.origin);
    }
}

}  // namespace pypaccel::specialize
