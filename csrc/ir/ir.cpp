// IR tables, variables, and the printer.
#include "ir/ir.h"

#include <cstring>
#include <sstream>

namespace pypaccel::ir {

namespace {
// Result: a Type, or Any (the instruction's own `type` says).
constexpr int kAnyType = -1;
struct OpInfo {
  const char* name;
  OpKind kind;
  ImmKind imm;
  int result;
  int minArgs, maxArgs;  // maxArgs -1: any number
  int exits;
  RunsPython python;
  bool raises;
  OpWork work;
};
#define PYPA_ARG_MIN(lo, hi) lo
#define PYPA_ARG_MAX(lo, hi) hi
constexpr int Any = kAnyType;
using enum Type;
constexpr bool Yes = true, No = false;
const OpInfo kOpInfo[] = {
#define IROP(name, kind, imm, result, args, exits, python, raises, work, lowering)                               \
  {#name, OpKind::kind, ImmKind::imm, int(result), PYPA_ARG_MIN args, PYPA_ARG_MAX args, exits, RunsPython::python, \
   raises, OpWork::work},
#include "ir/ir_ops.def"
#undef IROP
};
#undef PYPA_ARG_MIN
#undef PYPA_ARG_MAX
static_assert(sizeof(kOpInfo) / sizeof(kOpInfo[0]) == size_t(kOps));
const OpInfo& info(Op op) { return kOpInfo[static_cast<int>(op)]; }
}  // namespace

OpKind opKind(Op op) { return info(op).kind; }
const char* opName(Op op) { return info(op).name; }
ImmKind opImm(Op op) { return info(op).imm; }
RunsPython opRunsPython(Op op) { return info(op).python; }
bool opRaises(Op op) { return info(op).raises; }
OpWork opWork(Op op) { return info(op).work; }

bool opFromName(const std::string& name, Op* out) {
  for (int i = 0; i < kOps; i++) {
    if (name == kOpInfo[i].name) {
      *out = static_cast<Op>(i);
      return true;
    }
  }
  return false;
}

const char* typeName(Type t) {
  switch (t) {
    case Type::Void: return "void";
    case Type::Int: return "int";
    case Type::Float: return "float";
    case Type::Bool: return "bool";
    case Type::Obj: return "obj";
    case Type::Null: return "null";
    case Type::Range: return "range";
    case Type::RangeIter: return "rangeiter";
  }
  return "?";
}

const char* slotKindName(SlotKind k) {
  static const char* const kNames[] = {
#define SLOT_KIND(name) #name,
#define SLOT_GROUP(head, word, words) #head, #word,
#include "ir/slot_kinds.def"
#undef SLOT_KIND
#undef SLOT_GROUP
  };
  return int(k) < kSlotKinds ? kNames[int(k)] : "?";
}

int typeComponents(Type t) {
  switch (t) {
    case Type::Void:
    case Type::Null: return 0;
    case Type::Range:
    case Type::RangeIter: return 3;
    default: return 1;
  }
}

bool isNumeric(Type t) { return t == Type::Int || t == Type::Float || t == Type::Bool; }

static int64_t varKey(VarKind kind, int index, Type type, int comp) {
  return (int64_t(kind) << 40) | (int64_t(index) << 8) | (int64_t(type) << 2) | comp;
}

int Function::findVar(VarKind kind, int index, Type type, int comp) const {
  int64_t key = varKey(kind, index, type, comp);
  for (size_t i = 0; i < vars.size(); i++) {
    const Var& v = vars[i];
    if (varKey(v.kind, v.index, v.type, v.comp) == key) return int(i);
  }
  return -1;
}

int Function::addVar(VarKind kind, int index, Type type, int comp) {
  int found = findVar(kind, index, type, comp);
  if (found >= 0) return found;
  vars.push_back(Var{kind, index, type, comp});
  return int(vars.size()) - 1;
}

static const char* varKindName(VarKind k) {
  switch (k) {
    case VarKind::Local: return "local";
    case VarKind::Stack: return "stack";
    case VarKind::Flag: return "flag";
    case VarKind::LocalOrigin: return "local-origin";
    case VarKind::StackOrigin: return "stack-origin";
  }
  return "?";
}

std::string print(const Function& fn) {
  std::ostringstream os;
  os << "function " << fn.name << " sig=" << fn.signature << (fn.direct ? " direct" : "") << "\n";
  for (size_t i = 0; i < fn.vars.size(); i++) {
    const Var& v = fn.vars[i];
    os << "  var" << i << " = " << varKindName(v.kind) << "[" << v.index << "]:" << typeName(v.type);
    if (v.comp) os << "." << v.comp;
    os << "\n";
  }
  for (const Block& b : fn.blocks) {
    os << "bb" << b.id;
    if (b.unit >= 0) os << " @" << b.unit;
    os << ":\n";
    for (const Instr& in : b.instrs) {
      os << "  ";
      if (in.id >= 0) os << "v" << in.id << ":" << typeName(in.type) << " = ";
      os << opName(in.op);
      switch (opImm(in.op)) {
        case ImmKind::None: break;
        case ImmKind::Int: os << " " << in.imm; break;
        case ImmKind::Float: os << " " << in.fimm; break;
        case ImmKind::Var: os << " var" << in.imm; break;
      }
      for (int a : in.args) os << " v" << a;
      if (in.exit >= 0) os << " exit" << in.exit;
      if (in.exit2 >= 0) os << " exit" << in.exit2;
      if (in.exit3 >= 0) os << " exit" << in.exit3;
      if (in.exit4 >= 0) os << " exit" << in.exit4;
      if (in.succ[0] >= 0) os << " -> bb" << in.succ[0];
      if (in.succ[1] >= 0) os << ", bb" << in.succ[1];
      os << "\n";
    }
  }
  for (size_t i = 0; i < fn.exits.size(); i++) {
    const ExitPoint& e = fn.exits[i];
    os << "exit" << i << " @" << e.unit << " line " << e.line << (e.kind == ExitKind::Raise ? " raise" : " reexec")
       << " " << e.detail << " locals=[";
    for (size_t l = 0; l < e.locals.size(); l++) {
      if (l) os << ",";
      const SnapLocal& s = e.locals[l];
      os << (s.def == Def::No ? "-" : typeName(s.type)) << (s.def == Def::Maybe ? "?" : "");
    }
    os << "] stack=[";
    for (size_t s = 0; s < e.stack.size(); s++) {
      if (s) os << ",";
      os << typeName(e.stack[s].type);
    }
    os << "]\n";
  }
  return os.str();
}

std::string verify(const Function& fn) {
  std::vector<char> defined(fn.nvalues, 0);
  if (fn.blocks.empty()) return "no blocks";
  for (const Block& b : fn.blocks) {
    if (b.instrs.empty()) return "bb" + std::to_string(b.id) + " is empty";
    for (size_t i = 0; i < b.instrs.size(); i++) {
      const Instr& in = b.instrs[i];
      bool last = i + 1 == b.instrs.size();
      if ((opKind(in.op) == OpKind::Term) != last)
        return "bb" + std::to_string(b.id) + ": terminator misplaced (" + opName(in.op) + ")";
      if (in.id >= fn.nvalues) return "value id out of range";
      if (in.id >= 0) {
        if (defined[in.id]) return "v" + std::to_string(in.id) + " defined twice";
        defined[in.id] = 1;
      }
      const OpInfo& op = info(in.op);
      std::string where = "bb" + std::to_string(b.id) + ": " + op.name;
      // Guards without an exit are the forms that cannot fail (e.g. IntBin And); Exit must have one.
      const int exits[] = {in.exit, in.exit2, in.exit3, in.exit4};
      for (int k = 0; k < 4; k++) {
        if (exits[k] >= int(fn.exits.size())) return "exit out of range";
        if (exits[k] >= 0 && k >= op.exits) return where + " has more exits than its row allows";
      }
      if (in.op == Op::Exit && in.exit < 0) return where + " without a valid exit";
      if (op.imm == ImmKind::Var && (in.imm < 0 || in.imm >= int64_t(fn.vars.size()))) return "bad var";
      int nargs = int(in.args.size());
      if (nargs < op.minArgs || (op.maxArgs >= 0 && nargs > op.maxArgs))
        return where + " with " + std::to_string(nargs) + " arguments";
      if (op.result != kAnyType && int(in.type) != op.result) return where + " of type " + typeName(in.type);
      if ((in.id >= 0) != (in.type != Type::Void)) return where + ": a result without an id, or an id without one";
      for (int a : in.args)
        if (a < 0 || a >= fn.nvalues || !defined[a]) return "v" + std::to_string(a) + " used before definition";
      for (int s : in.succ)
        if (s >= int(fn.blocks.size())) return "bad successor";
    }
  }
  return "";
}

}  // namespace pypaccel::ir
