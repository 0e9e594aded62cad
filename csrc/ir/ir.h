// The typed IR between bytecode and LLVM: blocks of typed instructions over SSA values, plus variables (one per
// local or stack slot and type) that carry values across blocks, and exit points that describe the exact
// interpreter state to rebuild when native code gives up (docs/architecture.md §7 Deopt).
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ir/math_fns.h"  // MathFn, FloatMath's immediate

namespace pypaccel::ir {

enum class Op : uint8_t {
#define IROP(name, kind, imm, result, args, exits, python, raises, work, lowering) name,
#include "ir/ir_ops.def"
#undef IROP
};
inline constexpr int kOps = 0
#define IROP(name, kind, imm, result, args, exits, python, raises, work, lowering) +1
#include "ir/ir_ops.def"
#undef IROP
    ;

// The columns of ir_ops.def.
enum class OpKind : uint8_t { Pure, Guard, Effect, Term };
enum class ImmKind : uint8_t { None, Int, Float, Var };
enum class RunsPython : uint8_t { No, Yes, Frame };
enum class OpWork : uint8_t { None, Native, Generic, Overhead, Call };
OpKind opKind(Op op);
const char* opName(Op op);
bool opFromName(const std::string& name, Op* out);
ImmKind opImm(Op op);
RunsPython opRunsPython(Op op);
bool opRaises(Op op);
OpWork opWork(Op op);

// Value types. Int is an exact int that fits in i64, Float a float, Bool a bool; Obj an owned (or, where said,
// borrowed) PyObject*. Null is CPython's NULL stack marker. Range/RangeIter are virtual range objects made of three
// Int components (start|cur, stop, step), materialized only on exit.
enum class Type : uint8_t { Void, Int, Float, Bool, Obj, Null, Range, RangeIter };
const char* typeName(Type t);
int typeComponents(Type t);  // SSA values a value of this type is made of (0 for Void/Null, 3 for ranges)
bool isNumeric(Type t);      // Int, Float, Bool

// Binary operation kinds (shared by IntBin/FloatBin/BoolBin).
enum class BinKind : uint8_t { Add, Sub, Mul, FloorDiv, Mod, Pow, LShift, RShift, And, Or, Xor, TrueDiv };
enum class CmpKind : uint8_t { Lt, Le, Eq, Ne, Gt, Ge };  // COMPARE_OP's oparg order
enum class UnaryKind : uint8_t { Neg, Pos, Invert, Not };
// What GuardType checks an object is (its immediate), and which item layout SeqIndex/SeqItem read.
enum class TypeTag : uint8_t { Float, SmallInt, Bool, List, Tuple, ListOrTuple, None, Str, Dict };

// CallDirect's flags (its imm >> 32; ir_ops.def): the callable is not consumed; `C(args)` (the callable is C's
// __init__, args[1] the class); a class's __op__ for BINARY_OP (the oparg in bits 8-15); a callee the site cannot
// call directly is called through vectorcall (its arguments are objects, and the caller a frame entry, which
// writes the locals its CalleeChanged exit would into the frame first) instead of leaving through that exit; the result is dropped (STORE_SUBSCR's
// __setitem__: the exits after the call have no result on their stack).
enum DirectFlag : int64_t {
  kDirectBorrowed = 1,
  kDirectInit = 2,
  kDirectOperator = 4,
  kDirectGeneric = 8,
  kDirectDiscard = 16
};

// GetAttrCached, GetAttrInPlace, SetAttrCached and SetAttrInPlace: the object is borrowed, not consumed (a
// local's, whose reference the frame or the entry holds throughout the instruction: Emitter::dropLocalLoadReference
// dropped the one LOAD_FAST took). A bit of the immediate, above the co_names index.
constexpr int64_t kAttrOwnerBorrowed = int64_t(1) << 62;

struct Instr {
  Op op;
  Type type = Type::Void;  // result type; Void when there is none
  int id = -1;             // SSA id of the result
  std::vector<int> args;
  int64_t imm = 0;
  double fimm = 0;
  int exit = -1;           // exit point for Guard ops and Exit
  int exit2 = -1;          // second exit of ops that can leave for two reasons (e.g. zero divisor, overflow)
  int exit3 = -1;          // third (CallDirect: the result's type)
  int exit4 = -1;          // fourth (CallDirect: tracing switched on while the callee ran)
  int succ[2] = {-1, -1};  // successors of Jump/Branch
};

struct Block {
  int id = 0;
  int unit = -1;  // bytecode unit the block starts at (-1 for edge blocks)
  std::vector<Instr> instrs;
};

// LocalOrigin / StackOrigin: the origin (an Obj that may be null, borrowed) of the number a local or stack slot holds,
// where some path gives it one (ir_ops.def BoxOrigin).
enum class VarKind : uint8_t { Local, Stack, Flag, LocalOrigin, StackOrigin };
struct Var {
  VarKind kind;
  int index;  // local index or stack depth
  Type type;  // Int/Float/Bool/Obj for Local/Stack components; Bool for Flag
  int comp;   // component (ranges have 3)
};

// How a local is known to be defined at a program point.
enum class Def : uint8_t { No, Maybe, Yes };

struct SnapLocal {
  Type type = Type::Void;
  Def def = Def::No;
  // A number with an origin word after its components in the exit buffer: the object it came from (a constant,
  // an argument), which the exit puts back instead of a new box, or null (no origin on this path).
  bool origin = false;
  // The frame does not hold it as it is (a bound number, or an Obj a direct entry holds): written there before a
  // callee that may look at the frame runs (Emitter::needsSync). Used when lowering, not stored.
  bool unsynced = false;
};
struct SnapValue {
  Type type = Type::Void;
  int v[3] = {-1, -1, -1};  // SSA ids of the components
  // An Obj the native code holds without a reference (a direct call's callable, kept alive by its call site):
  // the exit takes one for the frame.
  bool borrowed = false;
  // A number with an origin (SnapLocal::origin): SSA id of that Obj (maybe null), -1 for none. The exit buffer
  // holds it after the components.
  int origin = -1;
};

enum class ExitKind : uint8_t {
  Reexec,  // resume the interpreter *at* the instruction: it runs it generically
  Raise,   // an exception is set: unwind from the instruction as the interpreter would
};

struct ExitPoint {
  int unit = 0;        // code unit of the instruction's opcode
  int resumeUnit = 0;  // first unit of the instruction (EXTENDED_ARG prefixes included)
  int line = 0;
  ExitKind kind = ExitKind::Reexec;
  int reason = 0;      // deopt::Reason
  std::string detail;  // e.g. "LOAD_ATTR"
  std::vector<SnapLocal> locals;
  std::vector<SnapValue> stack;
  int pins = 0;  // words after the stack: the objects of Function::pins, which the exit releases
  // A Raise exit inside a try the function handles natively: instead of leaving, the native code continues in
  // this block (CatchException, the stack unwound to the handler's depth, a jump to the handler). -1: a real exit.
  // Compile time only: not part of the stored metadata.
  int catchBlock = -1;
  // A Raise exit for an error native code detects itself (a zero divisor): the ir::ArithError the code raises
  // before taking it (0: none, the exception is already set). Compile time only, as catchBlock.
  int raiseError = 0;
};

// The ZeroDivisionError messages of CPython 3.11's int and float objects (pypa_rt_raise_arith_error).
enum class ArithError : int {
  None = 0,
  IntTrueDivide,  // "division by zero"
  IntFloorDiv,    // "integer division or modulo by zero"
  IntModulo,      // "integer modulo by zero"
  FloatDivide,    // "float division by zero"
  FloatFloorDiv,  // "float floor division by zero"
  FloatModulo,    // "float modulo"
};

// A run-time slot: a word the native code reads, filled when the specialization is linked in a process (one row
// per kind in slot_kinds.def).
enum class SlotKind : uint8_t {
#define SLOT_KIND(name) name,
#define SLOT_GROUP(head, word, words) head, word,
#include "ir/slot_kinds.def"
#undef SLOT_KIND
#undef SLOT_GROUP
};
static_assert(uint8_t(SlotKind::ModuleWord) == 10, "slot kinds are stored by number: append only (slot_kinds.def)");
inline constexpr int kSlotKinds = 0
#define SLOT_KIND(name) +1
#define SLOT_GROUP(head, word, words) +2
#include "ir/slot_kinds.def"
#undef SLOT_KIND
#undef SLOT_GROUP
    ;
// The slots a slot of kind `k` owns right after it (CallSite: 2), all of kind slotWordKind(k); 0 for the rest.
constexpr int slotGroupWords(SlotKind k) {
#define SLOT_KIND(name)
#define SLOT_GROUP(head, word, words) \
  if (k == SlotKind::head) return words;
#include "ir/slot_kinds.def"
#undef SLOT_KIND
#undef SLOT_GROUP
  return 0;
}
constexpr SlotKind slotWordKind(SlotKind k) {
#define SLOT_KIND(name)
#define SLOT_GROUP(head, word, words) \
  if (k == SlotKind::head) return SlotKind::word;
#include "ir/slot_kinds.def"
#undef SLOT_KIND
#undef SLOT_GROUP
  return k;
}
// A slot that only exists as a word of the group before it (CallWord, ModuleWord).
constexpr bool isSlotWord(SlotKind k) {
#define SLOT_KIND(name)
#define SLOT_GROUP(head, word, words) \
  if (k == SlotKind::word) return true;
#include "ir/slot_kinds.def"
#undef SLOT_KIND
#undef SLOT_GROUP
  return false;
}
// The entries of a direct call site's words (three each: function, SpecHeader*, code), 0 for any other slot.
constexpr int callSiteEntries(SlotKind k) {
  return k == SlotKind::CallSite ? 1 : k == SlotKind::PolyCallSite ? 4 : 0;
}
const char* slotKindName(SlotKind k);
struct Slot {
  SlotKind kind;
  int index = 0;     // const index, or the global guard it belongs to
  std::string name;  // global name
};

// One LOAD_GLOBAL binding the code relies on; its guard re-checks identity whenever a dict version changes.
struct GlobalGuard {
  std::string name;
  bool fromBuiltins = false;
  char expect = 'o';  // what the value must be at link time: 'i', 'f', 'b', or 'o' (identity only: 'r' = range)
  int objSlot = -1, globalsVerSlot = -1, builtinsVerSlot = -1, valueSlot = -1;
};

struct Function {
  std::string name;       // LLVM symbol of the entry point
  std::string signature;  // per argument: i/f/b/o
  int nlocals = 0;
  int nlocalsplus = 0;  // locals, then cells that are no argument, then free variables (CPython's layout)
  int nargs = 0;
  std::vector<Block> blocks;  // blocks[0] is the entry
  std::vector<Var> vars;
  std::vector<ExitPoint> exits;
  std::vector<Slot> slots;
  std::vector<GlobalGuard> globals;
  int nvalues = 0;
  bool stressExits = false;
  // A direct entry (called from native code with unboxed arguments, see ir_ops.def Param / ReturnNative): there
  // is no frame until an exit needs one. startExit leaves at the first instruction (recursion limit, eval
  // breaker, low C stack: the interpreter then does what it would at that point).
  bool direct = false;
  int startExit = -1;
  // Direct call sites (by CallSite slot) whose callee's direct entry is small and calls nothing: the IR of that
  // entry, compiled into this function as a private copy the site runs when the callee's linked specialization
  // has exactly this IR (SpecHeader::variant), so the optimizer can inline it. Compile time only.
  std::map<int, std::shared_ptr<const Function>> inlined;
  // Int and float arguments the code stores to (a frame entry): it holds a reference to each from its start (SSA
  // ids of the objects, defined in block 0) to its return or exit, so that a number still carrying one as its
  // origin can give it back after the frame's slot was rebound. Every exit buffer ends with them (the exit drops
  // them after rebuilding the frame).
  std::vector<int> pins;
  // A resume entry (specialize::SpecOptions::resumeAt): block 0 branches on IsResuming to a block that reads the
  // state at that loop header from the resume buffer; resumeExit is an exit at the header (never taken) whose buffer
  // layout is the resume buffer's, and resumeOriginRequired says per origin word of it (in buffer order) whether
  // it must hold an object (the header's state has one on every path). -1: none.
  int resumeExit = -1;
  std::vector<uint8_t> resumeOriginRequired;
  std::string noResume;  // why a resume entry was asked for and not built (then resumeExit is -1)

  int addVar(VarKind kind, int index, Type type, int comp);
  int findVar(VarKind kind, int index, Type type, int comp) const;
};

std::string print(const Function& fn);
// Returns an empty string when the function is well formed, else the first problem found.
std::string verify(const Function& fn);

}  // namespace pypaccel::ir
