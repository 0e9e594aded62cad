// Emitter: abstract interpretation of one basic block of bytecode into typed IR. Handlers (specialize/ops/*.cpp, one
// handle_<OPCODE> each) read and push abstract stack entries; anything they cannot do exactly becomes an exit.
#pragma once
#include <Python.h>

#include <functional>
#include <memory>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "deopt/reasons.h"
#include "deopt/refusals.h"
#include "ir/ir.h"
#include "runtime/helpers.h"
#include "specialize/bytecode.h"
#include "specialize/code_info.h"
#include "specialize/samples.h"

namespace pypaccel::specialize {

using ir::Def;
using ir::Op;
using ir::Type;

// Whether a number of type `t` can have an origin (ir_ops.def BoxOrigin): ints and floats. A bool boxes to the
// one True or False object anyway.
inline bool hasOrigin(Type t) { return t == Type::Int || t == Type::Float; }

// What is known about the origin of a number: none (computed here: boxing makes a new object), maybe (its origin
// variable holds an object or null, depending on the path), yes (an object).
enum class Org : uint8_t { None, Maybe, Yes };
Org mergeOrg(Org a, Org b);

struct LocalState {
  Type type = Type::Void;
  Def def = Def::No;
  // The origin of a number (in the local's LocalOrigin variable), and whether it is a constant on every path.
  Org org = Org::None;
  bool orgConst = false;
  bool operator==(const LocalState& o) const {
    return type == o.type && def == o.def && org == o.org && orgConst == o.orgConst;
  }
};

// An abstract value stack entry: its type, the SSA ids of its components, and (when the compiler knows it) the
// object it is, guarded at run time.
struct StackEntry {
  Type type = Type::Void;
  int v[3] = {-1, -1, -1};
  PyObject* known = nullptr;
  // The object a global was bound to when compiled, guarded only by what its guard says (often nothing about its
  // identity): a hint for what to guard next, e.g. that `math` is the math module.
  PyObject* hint = nullptr;
  // An unboxed number that is, unchanged, an object that already exists (a constant of the code, an argument, a
  // local holding one of those): the SSA id of that object (borrowed; null at run time when originMaybeNull and
  // this path computed the number), which boxing gives back instead of a new box, so `f(x) is x`, `a is b` and
  // `match` keep CPython's answers. originConst: the origin is a constant of the code.
  int origin = -1;
  bool originMaybeNull = false;
  bool originConst = false;
  // An example of what this value is, from the call being compiled (specialize/samples.h): a prediction only,
  // never assumed without a guard.
  PyObject* sample = nullptr;
};

inline Org stackOrgOf(const StackEntry& e) {
  if (!hasOrigin(e.type) || e.origin < 0) return Org::None;
  return e.originMaybeNull ? Org::Maybe : Org::Yes;
}

// Types at the start of a block, merged over its predecessors.
struct EntryState {
  bool reached = false;
  std::vector<LocalState> locals;
  std::vector<Type> stack;
  std::vector<Org> stackOrg;  // per stack entry, as LocalState::org (in its StackOrigin variable)
  bool operator==(const EntryState& o) const {
    return reached == o.reached && locals == o.locals && stack == o.stack && stackOrg == o.stackOrg;
  }
};

struct SpecOptions {
  bool stressExits = false;
  // Bytecode units whose arithmetic is compiled as CPython's generic number protocol on boxed values, because
  // the unboxed fast path kept exiting there (an int that outgrew 64 bits): learned, see hook/compile.cpp.
  std::set<int> widen;
  // Compile a direct entry (ir::Function::direct): unboxed arguments, an unboxed result, no frame until an exit.
  bool direct = false;
  // Calls of Python functions natively: the result type to compile a direct call of `func` with argument
  // signature `sig` for, or Void when that callee cannot be called directly (then the call is generic). Unset: no
  // direct calls (the Catch2 tests build without a hook).
  // `args`: an example of each argument (null where none), which the callee's direct entry predicts from.
  std::function<ir::Type(PyObject* func, const std::string& sig, const std::vector<PyObject*>& args)> directReturn;
  // Asked after directReturn accepted a call: an example of what that callee returns (borrowed: the caller holds
  // it at once), or null.
  std::function<PyObject*(PyObject* func, const std::string& sig)> directExample;
  // Asked after directReturn accepted a call: the IR of that callee's direct entry when it is worth compiling
  // into the caller (ir::Function::inlined), else null.
  std::function<std::shared_ptr<const ir::Function>(PyObject* func, const std::string& sig)> directInline;
  // Run `except`/`finally` handlers of frame entries natively: an exception raised inside a try jumps to its
  // handler instead of leaving (Emitter::catchNatively). Off: every raise is an exit, as in a direct entry.
  bool nativeHandlers = true;
  // Examples of the values the code works on, from the frame of the call being compiled (a frame entry): they
  // choose what to predict. Null: no predictions (a direct entry, the Catch2 tests).
  std::shared_ptr<Samples> samples;
  // A probe (hook/compile.cpp): every loop header counts down a LoopProbe slot and leaves through a Reprofile exit at
  // zero (ir_ops.def ProbeLoop).
  bool probe = false;
  // >= 0: a resume entry at this loop header's unit (ir::Function::resumeExit).
  int resumeAt = -1;
};

class Emitter {
 public:
  Emitter(ir::Function& fn, const CodeInfo& info, const Bytecode& bc, PyObject* globals, PyObject* builtins,
          const SpecOptions& opts, const std::map<int, EntryState>* finalStates, const std::map<int, int>* blockOf);

  // Runs the block that starts at `unit` from `entry`. Returns false with `error` set if the block cannot be
  // compiled at all (the whole function then falls back).
  bool runBlock(int unit, const EntryState& entry, ir::Block* block);

  // Out-states produced for successors (analysis).
  std::vector<std::pair<int, EntryState>> successors;
  std::string error;

  // -- Used by handlers -----------------------------------------------------------------------------------------
  ir::Function& fn;
  const CodeInfo& info;
  const Bytecode& bc;
  PyObject* globals;
  PyObject* builtins;
  SpecOptions opts;
  std::vector<LocalState> locals;
  std::vector<StackEntry> stack;
  const Instruction* in = nullptr;
  // KW_NAMES sets the keyword names (a co_consts index) of the CALL that follows it.
  int kwnamesConst = -1;
  const Instruction* kwnamesIn = nullptr;

  int emit(Op op, Type type, std::vector<int> args = {}, int64_t imm = 0, int exit = -1);
  void emitVoid(Op op, std::vector<int> args = {}, int64_t imm = 0, int exit = -1);
  int constInt(int64_t v) { return emit(Op::ConstInt, Type::Int, {}, v); }
  int constBool(bool v) { return emit(Op::ConstBool, Type::Bool, {}, v ? 1 : 0); }
  int constFloat(double v);

  void push(Type t, int v) {
    StackEntry e;
    e.type = t;
    e.v[0] = v;
    stack.push_back(e);
  }
  void push(const StackEntry& e) { stack.push_back(e); }
  // Pushes a new reference to the object in slot `slot`, with what the compiler may assume it is (see StackEntry).
  void pushSlotObj(int slot, PyObject* known, PyObject* hint = nullptr) {
    StackEntry s;
    s.type = Type::Obj;
    s.v[0] = emit(Op::LoadSlotObj, Type::Obj, {}, slot);
    emitVoid(Op::IncRef, {s.v[0]});
    s.known = known;
    s.hint = hint;
    stack.push_back(s);
  }
  StackEntry pop() {
    StackEntry e = stack.back();
    stack.pop_back();
    return e;
  }

  // An exit at the current instruction with the current abstract state. A Raise exit inside a try of a frame
  // entry becomes a jump to the handler (catchNatively).
  int makeExit(ir::ExitKind kind, deopt::Reason reason, const std::string& detail = "");
  // The exit of a zero divisor: inside a try this frame handles natively, the native code raises `error` itself
  // and goes on in the handler (a Raise exit); elsewhere the interpreter re-executes the instruction and raises.
  int zeroDivisionExit(const std::string& detail, ir::ArithError error);
  // Landing blocks made by catchNatively in this block: they drop stack entries, so a value found borrowed later
  // (a direct call's callable) must lose its DecRef there too.
  std::vector<int> landings;
  // Values BinaryInPlace made: an exact int, float or bool each, whose kind is not known (it was widened because
  // it varies), so the operation they meet next may be done in place too.
  std::set<int> inPlaceNumbers;
  // Ends the block with an unconditional exit before the current instruction. Returns false (block done).
  bool exitNow(deopt::Reason reason, const std::string& detail = "");
  // Fails compilation of the whole function.
  bool fail(deopt::Refusal why, const std::vector<std::string>& args = {}) {
    error = deopt::refusalText(why, args);
    return false;
  }

  // The top `n` entries boxed and popped (deepest first), or false (the block ended by an exit) when one of them
  // has no value to box (a virtual range).
  bool popBoxed(size_t n, const char* name, std::vector<int>* items);
  // The instructions that make one object of the top `n` entries (BUILD_TUPLE, BUILD_LIST, BUILD_SLICE): they are
  // boxed and consumed by `op`, whose result is pushed; a raise leaves through a Raise exit named `name`.
  bool buildFromStack(Op op, size_t n, const char* name);
  // An instruction that is one call of a CPython C-API function (a CPYTHON_API row of runtime/helpers.def) on the
  // top `order.size()` entries, boxed and consumed: `order` lists them, counted from the deepest, in the order the
  // function takes them. Its result (of type `result`) is pushed; a raise leaves through a Raise exit named `name`.
  bool callApiOnStack(runtime::Helper h, std::initializer_list<int> order, Type result, const char* name);

  // Predictions (specialize/samples.h). The example of an entry's value, or null.
  PyObject* sampleOf(const StackEntry& s) const;
  // An example of any entry: an Obj's, or an object of a number's type (0, 0.0, False); null when none.
  PyObject* exampleOf(const StackEntry& s) const;
  // The truth of an Obj entry whose example is a bool, None, a float or a small int, under a GuardType leaving
  // through `exitId` (a Reexec exit of the instruction testing it): a Bool value, the object left as it is (the
  // caller releases it or keeps it on the stack). -1 (nothing emitted) without such an example, or widened here.
  int truthPredicted(const StackEntry& s, int exitId);
  bool predictsTruth(const StackEntry& s) const;
  // Whether `s` is an Obj entry whose example is an exact float or small int, and the fast paths were not widened
  // at this instruction (learned: they kept exiting here).
  bool predictsNumber(const StackEntry& s) const;
  // Unboxes the entries at these stack indexes that predictsNumber: first a GuardType for each (all leaving
  // through `exitId`, a Reexec exit of the instruction consuming them, taken with every object still owned by the
  // stack), then the unboxing, each object released. The entries become numbers with no origin.
  void unboxPredicted(std::initializer_list<size_t> indexes, int exitId);
  // In a direct entry (which may not take the generic path of an operator: it could run Python code), an operand
  // without an example, next to an int (unboxed, or predicted), is predicted to be a small int too
  // (`self.seen * 31 + packet.datum` where no packet was seen yet): guarded, and exited from when wrong, like any
  // prediction. Not a BinaryInPlace result (inPlaceNumbers): its kind is known to vary.
  void predictLikeOperand(size_t i, size_t other);
  // The exits (and native handlers' landing blocks) from here back to `obj`'s definition no longer own `obj`: an
  // exit takes a reference of its own (SnapValue::borrowed), a landing block releases none.
  void markBorrowed(int obj);
  // Whether the reference LOAD_FAST took of `obj` (a LoadVar of a local's variable, then an IncRef, both in this
  // block) was dropped, because `obj` is released now and only guards and unboxing ran since: the local keeps it
  // alive meanwhile (nothing ran that could rebind the local or run Python code). Then its exits are marked
  // borrowed and the caller releases nothing.
  bool dropLocalLoadReference(int obj);

  // Conversions of stack entries.
  int asInt(const StackEntry& e);  // Int or Bool
  int asFloat(const StackEntry& e, bool exact, int exitId);  // Int/Bool/Float
  int box(const StackEntry& e);     // owned Obj from anything with a value (consumes an Obj entry); its origin if any
  void discard(const StackEntry& e);  // drop a stack entry (decref an Obj)

  // Whether local `i` is an argument the function never stores to or deletes (it always holds the argument).
  bool stableArg(int i) const;
  // Whether local `l` must be written into the frame before a callee may look at it: a bound number the frame does
  // not hold as it is (Obj locals live there already, see localsInFrame, and arguments never stored to are there
  // as the objects they came in as).
  bool needsSync(size_t l) const;

  // Locals.
  int varFor(int local, Type t) { return fn.addVar(ir::VarKind::Local, local, t, 0); }
  int flagVar(int local) { return fn.addVar(ir::VarKind::Flag, local, Type::Bool, 0); }
  int originVar(int local) { return fn.addVar(ir::VarKind::LocalOrigin, local, Type::Obj, 0); }
  int stackOriginVar(int depth) { return fn.addVar(ir::VarKind::StackOrigin, depth, Type::Obj, 0); }
  void releaseLocal(int local);  // decref its Obj value if it holds one (a direct entry's)
  // Obj locals live in their frame slot, as in CPython (a frame entry): a store replaces the slot's object
  // (SetFrameLocal), the variable only holds a borrowed copy, and the frame's clear after the return releases
  // them. A direct entry has no frame: its Obj locals are its own references.
  bool localsInFrame() const { return !opts.direct; }
  // A stack entry for the value of local `l` (its origin included), loaded from its variables; no reference taken.
  StackEntry loadLocal(int l);

  // Control flow: end the block.
  bool jumpTo(int unit);
  // Ends the block on a condition. Each side may see its own stack (and entries to drop on that side only).
  bool branch(int cond, int unitTrue, int unitFalse, const std::vector<StackEntry>* stackTrue = nullptr,
              const std::vector<StackEntry>* stackFalse = nullptr, const std::vector<StackEntry>& dropTrue = {},
              const std::vector<StackEntry>& dropFalse = {});
  bool returnValue(const StackEntry& e);

  // Slots and guards.
  int constSlot(int constIndex);
  int globalGuard(const std::string& name, PyObject* value, bool fromBuiltins, char expect);

  ir::Block* cur = nullptr;
  const std::set<int>* leaders = nullptr;  // units where blocks start
  // A probe's: the units where loop headers start, and its LoopProbe slot (SpecOptions::probe).
  const std::set<int>* loopHeaders = nullptr;
  int probeSlot = -1;

 private:
  bool isLeader(int unit) const;
  void catchNatively(int exitId);
  EntryState outState() const;
  void emitEdgeMoves(int unit);
  void noteStackSamples(int unit, const std::vector<StackEntry>& st);
  const std::map<int, EntryState>* finalStates_;
  const std::map<int, int>* blockOf_;
};

// One handler per supported opcode; returns false when it ended the block.
#define HANDLER_YES(name) bool handle_##name(Emitter& e, const Instruction& in);
#define HANDLER_NYI(name)
#define OP(name, num, status, family) HANDLER_##status(name)
#include "specialize/opcodes.def"
#undef OP
#undef HANDLER_YES
#undef HANDLER_NYI

}  // namespace pypaccel::specialize
