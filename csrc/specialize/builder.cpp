// The specializer's driver: find the basic blocks, propagate types to a fixed point (merging differing number
// types into boxed objects), then emit every reached block against the final block-entry types.
#include "specialize/builder.h"

#include <set>

#include "deopt/refusals.h"
#include "deopt/specialization.h"
#include "specialize/local_references.h"
#include "specialize/repeated_checks.h"
#include "support/bail.h"

namespace pypaccel::specialize {

using deopt::Refusal;

char argTypeLetter(PyObject* v) {
  if (PyBool_Check(v)) return 'b';
  if (PyFloat_CheckExact(v)) return 'f';
  if (PyLong_CheckExact(v)) {
    int overflow = 0;
    long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
    if (!overflow && !(x == -1 && PyErr_Occurred())) return 'i';
    PyErr_Clear();
  }
  return 'o';
}

static Type typeOfLetter(char c) {
  switch (c) {
    case 'i': return Type::Int;
    case 'f': return Type::Float;
    case 'b': return Type::Bool;
    default: return Type::Obj;
  }
}

static std::set<int> findLeaders(const Bytecode& bc, const CodeInfo& info) {
  std::set<int> leaders;
  leaders.insert(bc.instrs.front().start);
  for (const Handler& h : info.handlers) leaders.insert(h.target);
  for (const Instruction& in : bc.instrs) {
    if (in.target >= 0) {
      leaders.insert(in.target);
      if (in.next < bc.numUnits) leaders.insert(in.next);
    } else if (isTerminator(in.op) && in.next < bc.numUnits) {
      leaders.insert(in.next);
    }
  }
  // Blocks start at an instruction's first unit (its first EXTENDED_ARG prefix, where jumps land).
  std::set<int> out;
  for (int u : leaders)
    if (const Instruction* in = bc.at(u)) out.insert(in->start);
  return out;
}

// Merges `from` into `into`; returns whether `into` changed, or an error text.
// A value an edge can turn into the object where paths merge it with an object (Emitter::emitEdgeMoves): a number,
// a virtual range (`range(n) if c else items`: made the range object it stands for), or an object already.
static bool boxable(Type t) { return ir::isNumeric(t) || t == Type::Range || t == Type::Obj; }

static llvm::Expected<bool> merge(EntryState& into, const EntryState& from, const CodeInfo& info) {
  if (!into.reached) {
    into = from;
    return true;
  }
  EntryState old = into;
  for (size_t l = 0; l < into.locals.size(); l++) {
    LocalState& a = into.locals[l];
    const LocalState& b = from.locals[l];
    Type t;
    if (a.def == Def::No) t = b.type;
    else if (b.def == Def::No) t = a.type;
    else if (a.type == b.type) t = a.type;
    else if (boxable(a.type) && boxable(b.type))
      t = Type::Obj;
    else
      return deopt::refuse(Refusal::MergeLocalTypes, {info.localNames[l]});
    // The origin: where one path does not bind the local, the other's; else an object on every path (Yes), on
    // some (Maybe: the paths without one store null), or none.
    if (a.def == Def::No) {
      a.org = b.org;
      a.orgConst = b.orgConst;
    } else if (b.def != Def::No) {
      a.org = a.type == b.type ? mergeOrg(a.org, b.org) : Org::None;
      a.orgConst = a.orgConst && b.orgConst;
    }
    if (!hasOrigin(t) || a.org == Org::None) {
      a.org = Org::None;
      a.orgConst = false;
    }
    a.def = a.def == b.def ? a.def : Def::Maybe;
    a.type = t;
  }
  if (into.stack.size() != from.stack.size()) return deopt::refuse(Refusal::MergeStackDepth);
  into.stackOrg.resize(into.stack.size(), Org::None);
  for (size_t d = 0; d < into.stack.size(); d++) {
    Type a = into.stack[d], b = from.stack[d];
    Org fo = d < from.stackOrg.size() ? from.stackOrg[d] : Org::None;
    into.stackOrg[d] = a == b && hasOrigin(a) ? mergeOrg(into.stackOrg[d], fo) : Org::None;
    if (a == b) continue;
    if (boxable(a) && boxable(b)) into.stack[d] = Type::Obj;
    else return deopt::refuse(Refusal::MergeStackTypes);
  }
  return !(old == into);
}

// The units where loop headers start (targets of backward jumps): a probe counts down there.
static std::set<int> loopHeaderUnits(const Bytecode& bc) {
  std::set<int> out;
  for (const Instruction& in : bc.instrs)
    if (isBackwardJump(in.op))
      if (const Instruction* t = bc.at(in.target)) out.insert(t->start);
  return out;
}

// Whether a value of type `t` can be read back from a frame at a loop header (deopt::fillResumeBuffer).
static bool resumable(Type t) {
  return ir::isNumeric(t) || t == Type::Obj || t == Type::Null || t == Type::RangeIter;
}

// The resume block: the state at loop header `unit` (its final entry state `st`) from the resume buffer, laid out
// as an exit's buffer at that header (so the same layout rules hold both ways), then a jump into the header.
// Obj locals are the frame's (borrowed, as everywhere in a frame entry); the frame's stack entries are handed
// over by the buffer's filler.
static llvm::Error emitResumeEntry(Emitter& em, const EntryState& st, int unit) {
  ir::Function& fn = em.fn;
  if (!fn.pins.empty())
    return deopt::refuse(Refusal::NotResumable, {"an int or float argument it stores to is held from its start"});
  em.in = em.bc.at(unit);
  em.locals = st.locals;
  int word = 0;
  for (int l = 0; l < int(st.locals.size()); l++) {
    const LocalState& ls = st.locals[l];
    if (ls.def == Def::No) {
      em.emitVoid(Op::StoreVar, {em.constBool(false)}, em.flagVar(l));
      continue;
    }
    if (!resumable(ls.type) || ls.type == Type::Null || ls.type == Type::RangeIter)
      return deopt::refuse(Refusal::NotResumable, {"local '" + em.info.localNames[l] + "' is a virtual " +
                                                   ir::typeName(ls.type)});
    int flag = ls.def == Def::Maybe ? em.emit(Op::ResumeWord, Type::Bool, {}, word++) : em.constBool(true);
    em.emitVoid(Op::StoreVar, {flag}, em.flagVar(l));
    em.emitVoid(Op::StoreVar, {em.emit(Op::ResumeWord, ls.type, {}, word++)}, em.varFor(l, ls.type));
    if (hasOrigin(ls.type) && ls.org != Org::None) {
      em.emitVoid(Op::StoreVar, {em.emit(Op::ResumeWord, Type::Obj, {}, word++)}, em.originVar(l));
      fn.resumeOriginRequired.push_back(ls.org == Org::Yes);
    }
  }
  em.stack.clear();
  for (size_t d = 0; d < st.stack.size(); d++) {
    StackEntry e;
    e.type = st.stack[d];
    if (!resumable(e.type))
      return deopt::refuse(Refusal::NotResumable, {std::string("a stack entry is a virtual ") + ir::typeName(e.type)});
    for (int c = 0; c < ir::typeComponents(e.type); c++)
      e.v[c] = em.emit(Op::ResumeWord, e.type == Type::RangeIter ? Type::Int : e.type, {}, word++);
    Org org = d < st.stackOrg.size() ? st.stackOrg[d] : Org::None;
    if (hasOrigin(e.type) && org != Org::None) {
      e.origin = em.emit(Op::ResumeWord, Type::Obj, {}, word++);
      e.originMaybeNull = org == Org::Maybe;
      fn.resumeOriginRequired.push_back(org == Org::Yes);
    }
    em.stack.push_back(e);
  }
  fn.resumeExit = em.makeExit(ir::ExitKind::Reexec, deopt::Reason::Reprofile, "resume entry");
  if (deopt::exitBufferWords(fn.exits[size_t(fn.resumeExit)]) != word)
    return deopt::refuse(Refusal::Internal, {"resume buffer layout"});
  em.jumpTo(unit);
  if (!em.error.empty()) return support::bail(em.error);
  return llvm::Error::success();
}

static int instrIndexOfUnit(const Bytecode& bc, int unit) {
  for (size_t i = 0; i < bc.instrs.size(); i++)
    if (bc.instrs[i].start == unit) return int(i);
  return -1;
}

static llvm::Expected<ir::Function> buildOnce(const CodeInfo& info, const Bytecode& bc, const std::string& signature,
                                              PyObject* globals, PyObject* builtins, const SpecOptions& opts,
                                              const std::string& symbol) {
  if (bc.instrs.empty()) return deopt::refuse(Refusal::EmptyBytecode);
  if (int(signature.size()) != info.totalArgs()) return deopt::refuse(Refusal::SignatureMismatch);
  std::set<int> leaders = findLeaders(bc, info);

  // Eligible code has no prologue before RESUME but COPY_FREE_VARS (no cells): native code starts at the first
  // instruction.
  int startUnit = bc.instrs.front().start;
  EntryState initial;
  initial.reached = true;
  initial.locals.resize(info.nlocals);
  // An int or float argument of a frame entry has its object as origin (a direct entry gets numbers, no objects).
  for (size_t i = 0; i < signature.size(); i++) {
    Type t = typeOfLetter(signature[i]);
    initial.locals[i] = {t, Def::Yes, !opts.direct && hasOrigin(t) ? Org::Yes : Org::None, false};
  }

  // (1) Types to a fixed point.
  std::map<int, EntryState> states;
  states[startUnit] = initial;
  std::set<int> work = {startUnit};
  int rounds = 0;
  while (!work.empty()) {
    if (++rounds > 10000) return deopt::refuse(Refusal::NoConvergence);
    int unit = *work.begin();
    work.erase(work.begin());
    ir::Function scratch;
    scratch.nlocals = info.nlocals;
    scratch.blocks.push_back(ir::Block{0, unit, {}});
    Emitter em(scratch, info, bc, globals, builtins, opts, nullptr, nullptr);
    em.leaders = &leaders;
    if (!em.runBlock(unit, states[unit], &scratch.blocks[0]) && !em.error.empty())
      return support::bail(em.error);
    for (auto& [succ, out] : em.successors) {
      auto changed = merge(states[succ], out, info);
      if (!changed) return changed.takeError();
      if (*changed) work.insert(succ);
    }
  }

  // (2) Emission: block 0 sets up the locals, then one block per reached bytecode block (in bytecode order).
  ir::Function fn;
  fn.name = symbol;
  fn.signature = signature;
  fn.nlocals = info.nlocals;
  fn.nlocalsplus = info.nlocalsplus;
  fn.nargs = int(signature.size());
  fn.stressExits = opts.stressExits;
  std::map<int, int> blockOf;
  int nextId = 1;
  for (auto& [unit, st] : states) blockOf[unit] = nextId++;
  // A resume entry: block 0 branches to the prologue (an entry at the start) or to the resume block.
  int prologueId = 0, resumeId = -1;
  if (opts.resumeAt >= 0) {
    auto header = states.find(opts.resumeAt);
    if (header == states.end() || !header->second.reached || opts.direct)
      return deopt::refuse(Refusal::NotResumable, {"the loop header is not reached"});
    prologueId = nextId++;
    resumeId = nextId++;
  }
  fn.blocks.reserve(nextId * 3 + 4);
  fn.blocks.push_back(ir::Block{0, -1, {}});
  for (auto& [unit, st] : states) fn.blocks.push_back(ir::Block{blockOf[unit], unit, {}});
  if (resumeId >= 0) {
    fn.blocks.push_back(ir::Block{prologueId, -1, {}});
    fn.blocks.push_back(ir::Block{resumeId, -1, {}});
  }
  std::set<int> headers = loopHeaderUnits(bc);
  int probeSlot = -1;
  if (opts.probe) {
    fn.slots.push_back(ir::Slot{ir::SlotKind::LoopProbe});
    probeSlot = int(fn.slots.size()) - 1;
  }

  {
    Emitter em(fn, info, bc, globals, builtins, opts, &states, &blockOf);
    em.leaders = &leaders;
    em.cur = &fn.blocks[0];
    if (resumeId >= 0) {
      ir::Instr br;
      br.op = Op::Branch;
      br.args = {em.emit(Op::IsResuming, Type::Bool)};
      br.succ[0] = resumeId;
      br.succ[1] = prologueId;
      em.cur->instrs.push_back(br);
      em.cur = &fn.blocks[size_t(prologueId)];
    }
    em.in = &bc.instrs[instrIndexOfUnit(bc, startUnit)];
    for (int l = 0; l < info.nlocals; l++) {
      bool isArg = l < int(signature.size());
      em.emitVoid(Op::StoreVar, {em.constBool(isArg)}, em.flagVar(l));
      if (!isArg) continue;
      Type t = typeOfLetter(signature[l]);
      int v;
      if (opts.direct) {
        // Unboxed already; an object argument is borrowed from the caller.
        v = em.emit(Op::Param, t, {}, l);
        if (t == Type::Obj) em.emitVoid(Op::IncRef, {v});
      } else {
        // Obj arguments stay the frame's references (Obj locals live in the frame: Emitter::localsInFrame).
        int arg = em.emit(Op::LoadArg, Type::Obj, {}, l);
        v = arg;
        switch (t) {
          case Type::Int: v = em.emit(Op::UnboxInt, Type::Int, {arg}); break;
          case Type::Float: v = em.emit(Op::UnboxFloat, Type::Float, {arg}); break;
          case Type::Bool: v = em.emit(Op::UnboxBool, Type::Bool, {arg}); break;
          default: break;
        }
        if (hasOrigin(t)) {
          em.emitVoid(Op::StoreVar, {arg}, em.originVar(l));
          // Stored to somewhere: the frame's slot may be rebound while a copy still has this origin.
          if (!em.stableArg(l)) {
            em.emitVoid(Op::IncRef, {arg});
            fn.pins.push_back(arg);
          }
        }
      }
      em.emitVoid(Op::StoreVar, {v}, em.varFor(l, t));
    }
    em.locals = initial.locals;
    if (opts.direct) {
      fn.direct = true;
      fn.startExit = em.makeExit(ir::ExitKind::Reexec, deopt::Reason::DirectEntry, "call");
      em.emitVoid(Op::EnterDirect, {}, 0, fn.startExit);
    }
    em.jumpTo(startUnit);
    if (!em.error.empty()) return support::bail(em.error);
  }
  if (resumeId >= 0) {
    Emitter em(fn, info, bc, globals, builtins, opts, &states, &blockOf);
    em.leaders = &leaders;
    em.cur = &fn.blocks[size_t(resumeId)];
    if (auto err = emitResumeEntry(em, states[opts.resumeAt], opts.resumeAt)) return std::move(err);
  }
  for (auto& [unit, st] : states) {
    Emitter em(fn, info, bc, globals, builtins, opts, &states, &blockOf);
    em.leaders = &leaders;
    em.loopHeaders = &headers;
    em.probeSlot = probeSlot;
    int id = blockOf[unit];
    if (!em.runBlock(unit, st, &fn.blocks[id]) && !em.error.empty()) return support::bail(em.error);
  }
  removeRepeatedChecks(fn);
  dropLocalReferencePairs(fn);
  std::string problem = ir::verify(fn);
  if (!problem.empty()) return deopt::refuse(Refusal::Internal, {"IR verification failed: " + problem});
  return fn;
}

llvm::Expected<ir::Function> buildFunction(const CodeInfo& info, const Bytecode& bc, const std::string& signature,
                                           PyObject* globals, PyObject* builtins, const SpecOptions& opts,
                                           const std::string& symbol) {
  auto fn = buildOnce(info, bc, signature, globals, builtins, opts, symbol);
  if (!fn && opts.resumeAt >= 0) {
    // Code that cannot take the frame at the header still serves the next calls: built without the resume entry.
    std::string why = support::errorReason(fn.takeError());
    SpecOptions plain = opts;
    plain.resumeAt = -1;
    auto again = buildFunction(info, bc, signature, globals, builtins, plain, symbol);
    if (again) again->noResume = why;
    return again;
  }
  if (fn || !opts.nativeHandlers || opts.direct || info.handlers.empty()) return fn;
  // Native handlers add edges from every raise in a try to its handler; where the types met there cannot be
  // merged, the handlers stay the interpreter's (every raise an exit) rather than the whole function.
  llvm::consumeError(fn.takeError());
  SpecOptions plain = opts;
  plain.nativeHandlers = false;
  return buildOnce(info, bc, signature, globals, builtins, plain, symbol);
}

}  // namespace pypaccel::specialize
