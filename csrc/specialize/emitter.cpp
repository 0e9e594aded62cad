// Emitter: block-level abstract interpretation, exits, conversions and block edges.
#include "specialize/emitter.h"

#include <cstring>

namespace pypaccel::specialize {

using ir::ExitKind;
using ir::Instr;

Emitter::Emitter(ir::Function& fn, const CodeInfo& info, const Bytecode& bc, PyObject* globals,
                 PyObject* builtins, const SpecOptions& opts, const std::map<int, EntryState>* finalStates,
                 const std::map<int, int>* blockOf)
    : fn(fn), info(info), bc(bc), globals(globals), builtins(builtins), opts(opts), finalStates_(finalStates),
      blockOf_(blockOf) {}

int Emitter::emit(Op op, Type type, std::vector<int> args, int64_t imm, int exit) {
  Instr in;
  in.op = op;
  in.type = type;
  in.id = fn.nvalues++;
  in.args = std::move(args);
  in.imm = imm;
  in.exit = exit;
  cur->instrs.push_back(std::move(in));
  return cur->instrs.back().id;
}

void Emitter::emitVoid(Op op, std::vector<int> args, int64_t imm, int exit) {
  Instr in;
  in.op = op;
  in.args = std::move(args);
  in.imm = imm;
  in.exit = exit;
  cur->instrs.push_back(std::move(in));
}

int Emitter::constFloat(double v) {
  int id = emit(Op::ConstFloat, Type::Float);
  cur->instrs.back().fimm = v;
  return id;
}

static Type componentType(Type t) { return (t == Type::Range || t == Type::RangeIter) ? Type::Int : t; }

Org mergeOrg(Org a, Org b) {
  if (a == Org::Yes && b == Org::Yes) return Org::Yes;
  if (a == Org::None && b == Org::None) return Org::None;
  return Org::Maybe;
}

bool Emitter::runBlock(int unit, const EntryState& entry, ir::Block* block) {
  cur = block;
  locals = entry.locals;
  stack.clear();
  for (size_t d = 0; d < entry.stack.size(); d++) {
    StackEntry e;
    e.type = entry.stack[d];
    for (int c = 0; c < ir::typeComponents(e.type); c++) {
      int var = fn.addVar(ir::VarKind::Stack, int(d), e.type, c);
      e.v[c] = emit(Op::LoadVar, componentType(e.type), {}, var);
    }
    Org org = d < entry.stackOrg.size() ? entry.stackOrg[d] : Org::None;
    if (hasOrigin(e.type) && org != Org::None) {
      e.origin = emit(Op::LoadVar, Type::Obj, {}, stackOriginVar(int(d)));
      e.originMaybeNull = org == Org::Maybe;
    }
    if (opts.samples && e.type == Type::Obj) e.sample = opts.samples->stackAt(unit, int(d));
    stack.push_back(e);
  }
  int start = unit;
  if (probeSlot >= 0 && loopHeaders && loopHeaders->count(unit) && (in = bc.at(unit))) {
    int x = makeExit(ExitKind::Reexec, deopt::Reason::Reprofile, "loop header");
    emitVoid(Op::ProbeLoop, {}, probeSlot, x);
  }
  for (;;) {
    in = bc.at(unit);
    if (!in) return fail(deopt::Refusal::NotAnInstruction, {std::to_string(unit)});
    if (unit != start && isLeader(unit)) return jumpTo(unit);  // fall into the next block
    bool cont;
    switch (in->op) {
#define DISPATCH_YES(name) \
  case name: cont = handle_##name(*this, *in); break;
#define DISPATCH_NYI(name) \
  case name: cont = exitNow(deopt::Reason::Unsupported, #name); break;
#define OP(name, num, status, family) DISPATCH_##status(name)
#include "specialize/opcodes.def"
#undef OP
#undef DISPATCH_YES
#undef DISPATCH_NYI
      default: cont = exitNow(deopt::Reason::Unsupported, "opcode " + std::to_string(in->op));
    }
    if (!cont) return error.empty();
    unit = in->next;
    if (unit >= bc.numUnits) return fail(deopt::Refusal::FellOffEnd);
  }
}

bool Emitter::isLeader(int unit) const { return leaders && leaders->count(unit); }

int Emitter::makeExit(ExitKind kind, deopt::Reason reason, const std::string& detail) {
  ir::ExitPoint x;
  x.unit = in->unit;
  x.resumeUnit = in->start;
  x.line = in->line;
  x.kind = kind;
  x.reason = static_cast<int>(reason);
  x.detail = detail;
  for (size_t l = 0; l < locals.size(); l++) {
    const LocalState& ls = locals[l];
    x.locals.push_back(
        ir::SnapLocal{ls.type, ls.def, hasOrigin(ls.type) && ls.def != Def::No && ls.org != Org::None, needsSync(l)});
  }
  for (const StackEntry& e : stack) {
    ir::SnapValue v;
    v.type = e.type;
    std::memcpy(v.v, e.v, sizeof(v.v));
    if (hasOrigin(e.type)) v.origin = e.origin;
    x.stack.push_back(v);
  }
  x.pins = int(fn.pins.size());
  fn.exits.push_back(std::move(x));
  int id = int(fn.exits.size()) - 1;
  if (kind == ExitKind::Raise) catchNatively(id);
  return id;
}

int Emitter::zeroDivisionExit(const std::string& detail, ir::ArithError error) {
  if (!opts.nativeHandlers || opts.direct || !handlerAt(info.handlers, in->unit))
    return makeExit(ExitKind::Reexec, deopt::Reason::ZeroDivision, detail);
  int id = makeExit(ExitKind::Raise, deopt::Reason::ZeroDivision, detail);
  fn.exits[size_t(id)].raiseError = int(error);
  return id;
}

// What CPython's unwinding does for a handler in this frame, natively: the stack down to the handler's depth, the
// raising instruction's index when the handler wants it (lasti), the exception (traceback entry added), then the
// handler's code. The analysis sees the edge as a successor; the emission builds the landing block.
void Emitter::catchNatively(int exitId) {
  if (!opts.nativeHandlers || opts.direct) return;
  const Handler* h = handlerAt(info.handlers, in->unit);
  if (!h || size_t(h->depth) > stack.size()) return;
  if (!finalStates_) {
    EntryState s;
    s.reached = true;
    s.locals = locals;
    for (int d = 0; d < h->depth; d++) {
      s.stack.push_back(stack[d].type);
      s.stackOrg.push_back(stackOrgOf(stack[d]));
    }
    if (h->lasti) s.stack.push_back(Type::Int);
    s.stack.push_back(Type::Obj);
    s.stackOrg.resize(s.stack.size(), Org::None);
    successors.emplace_back(h->target, s);
    return;
  }
  if (!finalStates_->count(h->target)) return;
  std::vector<StackEntry> saved = stack;
  int blockIdx = int(cur - fn.blocks.data());
  int landing = int(fn.blocks.size());
  fn.blocks.push_back(ir::Block{landing, -1, {}});
  cur = &fn.blocks.back();
  int exc = emit(Op::CatchException, Type::Obj, {}, in->unit, exitId);
  for (size_t d = size_t(h->depth); d < stack.size(); d++) discard(stack[d]);
  stack.resize(size_t(h->depth));
  if (h->lasti) push(Type::Int, constInt(in->unit));
  push(Type::Obj, exc);
  emitEdgeMoves(h->target);
  Instr j;
  j.op = Op::Jump;
  j.succ[0] = blockOf_->at(h->target);
  cur->instrs.push_back(j);
  cur = &fn.blocks[blockIdx];
  stack = saved;
  fn.exits[exitId].catchBlock = landing;
  landings.push_back(landing);
}

bool Emitter::exitNow(deopt::Reason reason, const std::string& detail) {
  // Numbers with an origin go back as those objects (the exit's origin words): `x in seq` finds a NaN argument
  // by identity.
  int x = makeExit(ExitKind::Reexec, reason, detail);
  emitVoid(Op::Exit, {}, 0, x);
  return false;
}

bool Emitter::popBoxed(size_t n, const char* name, std::vector<int>* items) {
  for (size_t i = stack.size() - n; i < stack.size(); i++)
    if (!ir::isNumeric(stack[i].type) && stack[i].type != Type::Obj)
      return exitNow(deopt::Reason::Unsupported, std::string(name) + " of a virtual value");
  for (size_t i = stack.size() - n; i < stack.size(); i++) items->push_back(box(stack[i]));
  stack.resize(stack.size() - n);
  return true;
}

bool Emitter::buildFromStack(Op op, size_t n, const char* name) {
  // A list or tuple display's example: one of that kind whose items are examples of the entries (a number stands
  // for its type), so what reads it later predicts from it.
  PyObject* example = nullptr;
  if (opts.samples && (op == Op::BuildList || op == Op::BuildTuple) && n <= stack.size()) {
    std::vector<PyObject*> items;
    for (size_t i = stack.size() - n; i < stack.size(); i++) items.push_back(exampleOf(stack[i]));
    example = opts.samples->sequence(op == Op::BuildTuple, items);
  } else if (opts.samples && op == Op::BuildSlice) {
    example = opts.samples->slice();  // a slice: what subscripting with it makes is told by the container
  }
  std::vector<int> items;
  if (!popBoxed(n, name, &items)) return false;
  int ex = makeExit(ir::ExitKind::Raise, deopt::Reason::Raised, name);
  push(Type::Obj, emit(op, Type::Obj, items, 0, ex));
  stack.back().sample = example;
  return true;
}

PyObject* Emitter::exampleOf(const StackEntry& s) const {
  switch (s.type) {
    case Type::Obj: return sampleOf(s);
    case Type::Int: return opts.samples ? opts.samples->ofType(Type::Int) : nullptr;
    case Type::Float: return opts.samples ? opts.samples->ofType(Type::Float) : nullptr;
    case Type::Bool: return Py_False;
    default: return nullptr;
  }
}

bool Emitter::callApiOnStack(runtime::Helper h, std::initializer_list<int> order, Type result, const char* name) {
  std::vector<int> items, args;
  if (!popBoxed(order.size(), name, &items)) return false;
  for (int k : order) args.push_back(items[size_t(k)]);
  int ex = makeExit(ir::ExitKind::Raise, deopt::Reason::Raised, name);
  push(result, emit(Op::CallApi, result, args, int64_t(h), ex));
  return true;
}

int Emitter::asInt(const StackEntry& e) {
  if (e.type == Type::Bool) return emit(Op::BoolToInt, Type::Int, {e.v[0]});
  return e.v[0];
}

int Emitter::asFloat(const StackEntry& e, bool exact, int exitId) {
  if (e.type == Type::Float) return e.v[0];
  int i = asInt(e);
  if (e.type == Type::Bool || !exact) return emit(Op::IntToFloat, Type::Float, {i}, 0);
  return emit(Op::IntToFloat, Type::Float, {i}, 1, exitId);
}

bool Emitter::needsSync(size_t l) const {
  const LocalState& ls = locals[l];
  if (ls.def == Def::No || !(ir::isNumeric(ls.type) || ls.type == Type::Obj) || stableArg(int(l))) return false;
  return !(ls.type == Type::Obj && localsInFrame());
}

bool Emitter::stableArg(int i) const {
  // A direct entry's arguments come unboxed: there is no object to keep.
  return !opts.direct && i >= 0 && i < info.totalArgs() && !bc.storesLocal(i);
}

int Emitter::box(const StackEntry& e) {
  if (e.origin >= 0 && hasOrigin(e.type)) {
    // The object the number is (a constant, an argument: kept alive by the code, the frame or a pin); this
    // reference is for the consumer. A number computed on some paths boxes anew on those.
    if (e.originMaybeNull) return emit(Op::BoxOrigin, Type::Obj, {e.v[0], e.origin});
    emitVoid(Op::IncRef, {e.origin});
    return e.origin;
  }
  switch (e.type) {
    case Type::Int: return emit(Op::BoxInt, Type::Obj, {e.v[0]});
    case Type::Float: return emit(Op::BoxFloat, Type::Obj, {e.v[0]});
    case Type::Bool: return emit(Op::BoxBool, Type::Obj, {e.v[0]});
    case Type::Obj: return e.v[0];
    case Type::Range: return emit(Op::BoxRange, Type::Obj, {e.v[0], e.v[1], e.v[2]});
    case Type::RangeIter: return emit(Op::BoxRangeIter, Type::Obj, {e.v[0], e.v[1], e.v[2]});
    default: return -1;
  }
}

void Emitter::discard(const StackEntry& e) {
  if (e.type == Type::Obj) emitVoid(Op::DecRef, {e.v[0]});
}

StackEntry Emitter::loadLocal(int l) {
  const LocalState& ls = locals[l];
  StackEntry s;
  s.type = ls.type;
  s.v[0] = emit(Op::LoadVar, ls.type, {}, varFor(l, ls.type));
  if (hasOrigin(ls.type) && ls.org != Org::None) {
    s.origin = emit(Op::LoadVar, Type::Obj, {}, originVar(l));
    s.originMaybeNull = ls.org == Org::Maybe;
    s.originConst = ls.orgConst;
  }
  return s;
}

void Emitter::releaseLocal(int local) {
  const LocalState& l = locals[local];
  if (l.type != Type::Obj || l.def == Def::No) return;
  int obj = emit(Op::LoadVar, Type::Obj, {}, varFor(local, Type::Obj));
  if (l.def == Def::Yes) {
    emitVoid(Op::DecRef, {obj});
  } else {
    int flag = emit(Op::LoadVar, Type::Bool, {}, flagVar(local));
    emitVoid(Op::DecRefIf, {flag, obj});
  }
}

EntryState Emitter::outState() const {
  EntryState s;
  s.reached = true;
  s.locals = locals;
  for (const StackEntry& e : stack) {
    s.stack.push_back(e.type);
    s.stackOrg.push_back(stackOrgOf(e));
  }
  return s;
}

// Stores the block's outgoing state into the variables the target block reads, boxing where the target merged a
// number with other types into Obj.
void Emitter::emitEdgeMoves(int unit) {
  const EntryState& target = finalStates_->at(unit);
  for (size_t l = 0; l < locals.size(); l++) {
    const LocalState& p = locals[l];
    const LocalState& t = target.locals[l];
    if (t.def == Def::No || p.def == Def::No) continue;
    if (p.type == t.type) {
      // The target reads an origin this path does not have: none (a number computed here).
      if (hasOrigin(t.type) && t.org != Org::None && p.org == Org::None)
        emitVoid(Op::StoreVar, {emit(Op::NullObj, Type::Obj)}, originVar(int(l)));
      continue;
    }
    if (t.type != Type::Obj || !ir::isNumeric(p.type)) {
      fail(deopt::Refusal::LocalTypeUnbound, {info.localNames[l]});
      return;
    }
    int boxed;
    if (p.def == Def::Yes) {
      boxed = box(loadLocal(int(l)));
    } else {
      // Bound on some paths only (hexiom's `for num in range(7)` inside an `if`, then `num = done[i][0]`): boxed
      // where its flag says so, null otherwise, as the object the merged local reads.
      StackEntry s = loadLocal(int(l));
      std::vector<int> args = {emit(Op::LoadVar, Type::Bool, {}, flagVar(int(l))), s.v[0]};
      if (s.origin >= 0) args.push_back(s.origin);
      boxed = emit(Op::BoxIfBound, Type::Obj, args);
    }
    if (localsInFrame()) emitVoid(Op::SetFrameLocal, {boxed}, int64_t(l));
    emitVoid(Op::StoreVar, {boxed}, varFor(int(l), Type::Obj));
  }
  if (target.stack.size() != stack.size()) {
    fail(deopt::Refusal::StackDepthDiffers);
    return;
  }
  for (size_t d = 0; d < stack.size(); d++) {
    StackEntry e = stack[d];
    Type t = target.stack[d];
    if (e.type != t) {
      if (t != Type::Obj || !(ir::isNumeric(e.type) || e.type == Type::Range)) {
        fail(deopt::Refusal::StackTypesDiffer);
        return;
      }
      e.v[0] = box(e);
      e.type = Type::Obj;
    }
    for (int c = 0; c < ir::typeComponents(t); c++)
      emitVoid(Op::StoreVar, {e.v[c]}, fn.addVar(ir::VarKind::Stack, int(d), t, c));
    if (hasOrigin(t) && d < target.stackOrg.size() && target.stackOrg[d] != Org::None) {
      int o = e.origin >= 0 ? e.origin : emit(Op::NullObj, Type::Obj);
      emitVoid(Op::StoreVar, {o}, stackOriginVar(int(d)));
    }
  }
}

void Emitter::noteStackSamples(int unit, const std::vector<StackEntry>& st) {
  if (!opts.samples) return;
  for (size_t d = 0; d < st.size(); d++)
    if (st[d].type == Type::Obj) opts.samples->setStackAt(unit, int(d), sampleOf(st[d]));
}

PyObject* Emitter::sampleOf(const StackEntry& s) const {
  if (s.known) return s.known;
  if (s.hint) return s.hint;
  return s.sample;
}

bool Emitter::predictsNumber(const StackEntry& s) const {
  ir::TypeTag tag;
  return s.type == Type::Obj && !opts.widen.count(in->unit) && numberTag(sampleOf(s), &tag);
}

void Emitter::unboxPredicted(std::initializer_list<size_t> indexes, int exitId) {
  std::vector<std::pair<size_t, ir::TypeTag>> todo;
  for (size_t i : indexes) {
    ir::TypeTag tag;
    if (!predictsNumber(stack[i]) || !numberTag(sampleOf(stack[i]), &tag)) continue;
    emitVoid(Op::GuardType, {stack[i].v[0]}, int64_t(tag), exitId);
    todo.emplace_back(i, tag);
  }
  for (auto [i, tag] : todo) {
    int obj = stack[i].v[0];
    Type t = tag == ir::TypeTag::Float ? Type::Float : Type::Int;
    int v = emit(tag == ir::TypeTag::Float ? Op::UnboxFloat : Op::UnboxInt, t, {obj});
    StackEntry n;
    n.type = t;
    n.v[0] = v;
    stack[i] = n;
    // (A local's float used in arithmetic: no reference count update at all.)
    if (!dropLocalLoadReference(obj)) emitVoid(Op::DecRef, {obj});
  }
}

void Emitter::predictLikeOperand(size_t i, size_t other) {
  StackEntry& s = stack[i];
  const StackEntry& o = stack[other];
  if (!opts.direct || !opts.samples || s.type != Type::Obj || sampleOf(s) || opts.widen.count(in->unit) ||
      inPlaceNumbers.count(s.v[0]))
    return;
  // Ints only: next to a float, an object is as often a vector of floats (`v * 0.5`) as a float.
  ir::TypeTag tag;
  bool intBeside = o.type == Type::Int || (predictsNumber(o) && numberTag(sampleOf(o), &tag) && tag == ir::TypeTag::SmallInt);
  if (intBeside) s.sample = opts.samples->ofType(Type::Int);
}

void Emitter::markBorrowed(int obj) {
  for (ir::ExitPoint& x : fn.exits)
    for (ir::SnapValue& v : x.stack)
      if (v.type == Type::Obj && v.v[0] == obj) v.borrowed = true;
  for (int landing : landings) {
    auto& instrs = fn.blocks[size_t(landing)].instrs;
    for (size_t k = 0; k < instrs.size(); k++)
      if (instrs[k].op == Op::DecRef && instrs[k].args.size() == 1 && instrs[k].args[0] == obj)
        instrs.erase(instrs.begin() + long(k--));
  }
}

bool Emitter::dropLocalLoadReference(int obj) {
  for (const StackEntry& s : stack)
    if (s.type == Type::Obj && s.v[0] == obj) return false;  // still on the stack, owned
  auto& instrs = cur->instrs;
  size_t inc = instrs.size();
  for (size_t k = instrs.size(); k-- > 0;) {
    const ir::Instr& x = instrs[k];
    if (x.op == Op::IncRef && x.args.size() == 1 && x.args[0] == obj) {
      inc = k;
      break;
    }
    switch (x.op) {  // what may run between: no call, no release, no store
      case Op::LoadVar: case Op::IncRef: case Op::GuardType: case Op::UnboxFloat: case Op::UnboxInt:
      case Op::ConstInt: case Op::ConstFloat: case Op::ConstBool: case Op::LoadSlotInt: case Op::LoadSlotFloat:
        continue;
      default: return false;
    }
  }
  if (inc == 0 || inc == instrs.size()) return false;
  const ir::Instr& def = instrs[inc - 1];
  if (def.id != obj || def.op != Op::LoadVar || fn.vars[size_t(def.imm)].kind != ir::VarKind::Local) return false;
  instrs.erase(instrs.begin() + long(inc));
  markBorrowed(obj);
  return true;
}

bool Emitter::predictsTruth(const StackEntry& s) const {
  PyObject* x = sampleOf(s);
  ir::TypeTag tag;
  return s.type == Type::Obj && x && !opts.widen.count(in->unit) && (PyBool_Check(x) || x == Py_None || numberTag(x, &tag));
}

int Emitter::truthPredicted(const StackEntry& s, int exitId) {
  if (!predictsTruth(s)) return -1;
  PyObject* x = sampleOf(s);
  int obj = s.v[0];
  if (PyBool_Check(x)) {
    emitVoid(Op::GuardType, {obj}, int64_t(ir::TypeTag::Bool), exitId);
    return emit(Op::UnboxBool, Type::Bool, {obj});
  }
  if (x == Py_None) {
    emitVoid(Op::GuardType, {obj}, int64_t(ir::TypeTag::None), exitId);
    return constBool(false);
  }
  ir::TypeTag tag;
  numberTag(x, &tag);
  emitVoid(Op::GuardType, {obj}, int64_t(tag), exitId);
  if (tag == ir::TypeTag::Float) return emit(Op::FloatTruthy, Type::Bool, {emit(Op::UnboxFloat, Type::Float, {obj})});
  return emit(Op::IntTruthy, Type::Bool, {emit(Op::UnboxInt, Type::Int, {obj})});
}

bool Emitter::jumpTo(int unit) {
  noteStackSamples(unit, stack);
  if (!finalStates_) {
    successors.emplace_back(unit, outState());
    emitVoid(Op::Jump);
    return false;
  }
  emitEdgeMoves(unit);
  Instr j;
  j.op = Op::Jump;
  j.succ[0] = blockOf_->at(unit);
  cur->instrs.push_back(j);
  return false;
}

bool Emitter::branch(int cond, int unitTrue, int unitFalse, const std::vector<StackEntry>* stackTrue,
                     const std::vector<StackEntry>* stackFalse, const std::vector<StackEntry>& dropTrue,
                     const std::vector<StackEntry>& dropFalse) {
  std::vector<StackEntry> saved = stack;
  int targets[2] = {unitTrue, unitFalse};
  const std::vector<StackEntry>* stacks[2] = {stackTrue, stackFalse};
  const std::vector<StackEntry>* drops[2] = {&dropTrue, &dropFalse};
  for (int i = 0; i < 2; i++) noteStackSamples(targets[i], stacks[i] ? *stacks[i] : saved);
  if (!finalStates_) {
    for (int i = 0; i < 2; i++) {
      stack = stacks[i] ? *stacks[i] : saved;
      successors.emplace_back(targets[i], outState());
    }
    stack = saved;
    emitVoid(Op::Branch, {cond});
    return false;
  }
  // Each side gets an edge block holding its own moves.
  int blockIdx = int(cur - fn.blocks.data());
  int edge[2];
  for (int i = 0; i < 2; i++) {
    edge[i] = int(fn.blocks.size());
    fn.blocks.push_back(ir::Block{edge[i], -1, {}});
    cur = &fn.blocks.back();
    stack = stacks[i] ? *stacks[i] : saved;
    for (const StackEntry& d : *drops[i]) discard(d);
    emitEdgeMoves(targets[i]);
    Instr j;
    j.op = Op::Jump;
    j.succ[0] = blockOf_->at(targets[i]);
    cur->instrs.push_back(j);
  }
  cur = &fn.blocks[blockIdx];
  stack = saved;
  Instr b;
  b.op = Op::Branch;
  b.args = {cond};
  b.succ[0] = edge[0];
  b.succ[1] = edge[1];
  cur->instrs.push_back(b);
  return false;
}

bool Emitter::returnValue(const StackEntry& e) {
  if (opts.direct) {
    // The result stays unboxed: the caller expects it so (or converts it).
    Type t = ir::isNumeric(e.type) ? e.type : Type::Obj;
    int v = ir::isNumeric(e.type) ? e.v[0] : box(e);
    for (size_t l = 0; l < locals.size(); l++) releaseLocal(int(l));
    for (const StackEntry& s : stack) discard(s);
    emitVoid(Op::ReturnNative, {v}, int64_t(t));
    return false;
  }
  int v = box(e);
  // Obj locals are the frame's: CPython's clear of the frame after the return releases them, as for the
  // interpreter's own RETURN_VALUE. The pins go now (the result holds its own reference).
  for (int pin : fn.pins) emitVoid(Op::DecRef, {pin});
  for (const StackEntry& s : stack) discard(s);
  emitVoid(Op::Return, {v});
  return false;
}

int Emitter::constSlot(int constIndex) {
  for (size_t i = 0; i < fn.slots.size(); i++)
    if (fn.slots[i].kind == ir::SlotKind::ConstObj && fn.slots[i].index == constIndex) return int(i);
  fn.slots.push_back(ir::Slot{ir::SlotKind::ConstObj, constIndex, ""});
  return int(fn.slots.size()) - 1;
}

int Emitter::globalGuard(const std::string& name, PyObject* value, bool fromBuiltins, char expect) {
  for (size_t i = 0; i < fn.globals.size(); i++)
    if (fn.globals[i].name == name) return int(i);
  ir::GlobalGuard g;
  g.name = name;
  g.fromBuiltins = fromBuiltins;
  g.expect = expect;
  int gi = int(fn.globals.size());
  auto add = [&](ir::SlotKind k) {
    fn.slots.push_back(ir::Slot{k, gi, name});
    return int(fn.slots.size()) - 1;
  };
  g.objSlot = add(ir::SlotKind::GlobalObj);
  g.globalsVerSlot = add(ir::SlotKind::GlobalsVersion);
  if (fromBuiltins) g.builtinsVerSlot = add(ir::SlotKind::BuiltinsVersion);
  switch (expect) {
    case 'i': g.valueSlot = add(ir::SlotKind::GlobalInt); break;
    case 'f': g.valueSlot = add(ir::SlotKind::GlobalFloat); break;
    case 'b': g.valueSlot = add(ir::SlotKind::GlobalBool); break;
    default: break;
  }
  fn.globals.push_back(g);
  return gi;
}

}  // namespace pypaccel::specialize
