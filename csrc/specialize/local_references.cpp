// References of a local's object taken and given back within one block, never taken. `LOAD_FAST` takes a
// reference for its stack entry; where every use of the entry only borrows it (a guard, an index test, an item
// read, a list changed in place, an attribute read of a borrowed owner) and the entry is released in the same block,
// the local's own reference keeps the object alive all along: nothing can rebind a running frame's local, and this
// pass refuses a block that rebinds or releases it itself. Exits in between take a reference of their own
// (SnapValue::borrowed), as Emitter::dropLocalLoadReference arranges for the simplest case while emitting.
#include "specialize/local_references.h"

#include <map>
#include <set>
#include <vector>

namespace pypaccel::specialize {

namespace {

using ir::Op;

// Whether argument `pos` of `x` is borrowed for the instruction only (ir_ops.def says so for each of these).
bool borrows(const ir::Instr& x, size_t pos) {
  switch (x.op) {
    case Op::GuardType: case Op::GuardLen: case Op::SeqIndex: case Op::SeqItem: case Op::SeqLen: case Op::ObjIs:
    case Op::IsNone: case Op::UnboxInt: case Op::UnboxFloat: case Op::UnboxBool: case Op::LoadMethodCached:
    case Op::LoadClassValue: case Op::GuardSameType: case Op::ListIterNext: case Op::ListReversePrefix:
    case Op::StrChar: case Op::StrOrd: case Op::TypeOf: case Op::ListPop: case Op::ListInsert:
      return true;
    case Op::ListAppend: case Op::ListStoreFloat:
      return pos == 0;  // the list; ListAppend's value is consumed
    case Op::GetAttrCached: case Op::GetAttrInPlace: case Op::SetAttrCached: case Op::SetAttrInPlace:
      return pos == 0 && (x.imm & ir::kAttrOwnerBorrowed);
    default:
      return false;
  }
}

// The IncRef and DecRef instructions (indexes into `instrs`) of `obj`, a LoadVar of local variable `var` at `def`,
// when they can all go; empty otherwise.
std::vector<size_t> removablePairs(const ir::Function& fn, const std::vector<ir::Instr>& instrs, size_t def,
                                   const std::map<int, int>& loadedVar) {
  int obj = instrs[def].id;
  int var = int(instrs[def].imm);
  int local = fn.vars[size_t(var)].index;
  std::vector<size_t> pairs;
  int held = 0;
  for (size_t k = def + 1; k < instrs.size(); k++) {
    const ir::Instr& x = instrs[k];
    // The local rebound or released here: its reference may not outlive the entry's.
    if (x.op == Op::StoreVar && x.imm == var) return {};
    if ((x.op == Op::SetFrameLocal || x.op == Op::ClearFrameLocal) && x.imm == local) return {};
    if (x.op == Op::DecRef || x.op == Op::DecRefIf) {
      int released = x.args.back();
      auto it = loadedVar.find(released);
      if (released != obj && it != loadedVar.end() && it->second == var) return {};
    }
    for (size_t p = 0; p < x.args.size(); p++) {
      if (x.args[p] != obj) continue;
      if (x.op == Op::IncRef) {
        held++;
        pairs.push_back(k);
      } else if (x.op == Op::DecRef) {
        if (--held < 0) return {};  // the local's own reference released through this load
        pairs.push_back(k);
      } else if (!borrows(x, p)) {
        return {};
      }
    }
  }
  if (held != 0) return {};
  return pairs;
}

}  // namespace

void dropLocalReferencePairs(ir::Function& fn) {
  // Every block's instructions, then where each value is used: a value used outside its block is left alone.
  std::map<int, int> blockOfUse;
  std::set<int> usedElsewhere;
  for (const ir::Block& b : fn.blocks)
    for (const ir::Instr& x : b.instrs)
      for (int a : x.args) {
        auto [it, fresh] = blockOfUse.emplace(a, b.id);
        if (!fresh && it->second != b.id) usedElsewhere.insert(a);
      }
  std::map<int, std::vector<ir::SnapValue*>> inExits;  // the exits' stack entries of each value
  std::set<int> inHandledExits;                         // values on the stack of an exit a native handler catches
  for (ir::ExitPoint& x : fn.exits)
    for (ir::SnapValue& v : x.stack)
      if (v.type == ir::Type::Obj) {
        inExits[v.v[0]].push_back(&v);
        if (x.catchBlock >= 0) inHandledExits.insert(v.v[0]);
      }
  for (ir::Block& b : fn.blocks) {
    std::map<int, int> loadedVar;  // LoadVar of an Obj local -> its variable
    std::set<size_t> drop;
    for (size_t k = 0; k < b.instrs.size(); k++) {
      const ir::Instr& x = b.instrs[k];
      if (x.op != Op::LoadVar || x.type != ir::Type::Obj || fn.vars[size_t(x.imm)].kind != ir::VarKind::Local) continue;
      loadedVar[x.id] = int(x.imm);
    }
    for (size_t k = 0; k < b.instrs.size(); k++) {
      const ir::Instr& x = b.instrs[k];
      if (!loadedVar.count(x.id) || x.op != Op::LoadVar || usedElsewhere.count(x.id) || inHandledExits.count(x.id))
        continue;
      std::vector<size_t> pairs = removablePairs(fn, b.instrs, k, loadedVar);
      if (pairs.empty()) continue;
      drop.insert(pairs.begin(), pairs.end());
      for (ir::SnapValue* v : inExits[x.id]) v->borrowed = true;
    }
    if (drop.empty()) continue;
    std::vector<ir::Instr> kept;
    for (size_t k = 0; k < b.instrs.size(); k++)
      if (!drop.count(k)) kept.push_back(std::move(b.instrs[k]));
    b.instrs = std::move(kept);
  }
}

}  // namespace pypaccel::specialize
