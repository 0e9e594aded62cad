// Arithmetic: BINARY_OP (every NB_* and in-place form) and the unary operators, on unboxed int/float/bool with
// exits wherever CPython would do something the fast path cannot (big ints, errors), generic C-API otherwise.
#include "specialize/emitter.h"
#include "specialize/ops/calls.h"

namespace pypaccel::specialize {

using deopt::Reason;
using ir::BinKind;
using ir::ExitKind;

namespace {

// NB_* oparg order (cpython/binary_ops.def), then the in-place forms in the same order.
enum Nb {
#define BINARY_OP_KIND(name, symbol, dunder, idunder) name,
#include "cpython/binary_ops.def"
#undef BINARY_OP_KIND
  NbCount
};
static_assert(NbCount == PYPA_NB_COUNT);

bool isIntLike(Type t) { return t == Type::Int || t == Type::Bool; }
bool hasValue(Type t) { return ir::isNumeric(t) || t == Type::Obj; }

// 1: a number (unboxed, an in-place result, or an object whose example is an exact int, float or bool); 0: an
// object without an example; -1: an object whose example is something else.
int numberKnown(Emitter& e, const StackEntry& s) {
  if (s.type != Type::Obj || e.inPlaceNumbers.count(s.v[0])) return 1;
  PyObject* x = e.sampleOf(s);
  if (!x) return 0;
  return PyLong_CheckExact(x) || PyFloat_CheckExact(x) || PyBool_Check(x) ? 1 : -1;
}

// `s += t` / `s = s + t` where s is a str in a frame local and the next instruction stores the result back into
// it: the local, or -1. The helper extends the local's own str (CPython's BINARY_OP_INPLACE_ADD_UNICODE), so a
// string built up in a loop is not copied at every step.
int appendsToLocal(Emitter& e, const Instruction& in, int nb, const StackEntry& left) {
  if (nb != Add || !e.localsInFrame() || left.type != Type::Obj) return -1;
  PyObject* example = e.exampleOf(left);
  const Instruction* next = e.bc.at(in.next);
  if (!example || !PyUnicode_CheckExact(example) || !next || next->op != STORE_FAST) return -1;
  const LocalState& l = e.locals[next->arg];
  return l.type == Type::Obj && l.def == Def::Yes ? next->arg : -1;
}

}  // namespace

bool handle_BINARY_OP(Emitter& e, const Instruction& in) {
  if (in.arg >= 2 * NbCount) return e.exitNow(Reason::Unsupported, "BINARY_OP " + std::to_string(in.arg));
  int nb = in.arg % NbCount;
  StackEntry a = e.stack[e.stack.size() - 2];
  StackEntry b = e.stack[e.stack.size() - 1];
  std::string what = std::string("BINARY_OP ") + pypa_binary_symbol(nb);
  if (!hasValue(a.type) || !hasValue(b.type)) return e.exitNow(Reason::Unsupported, what + " on a virtual value");

  {
    size_t n = e.stack.size();
    e.predictLikeOperand(n - 2, n - 1);
    e.predictLikeOperand(n - 1, n - 2);
    a = e.stack[n - 2];
    b = e.stack[n - 1];
  }
  // An object predicted to be a float or small int (specialize/samples.h) is guarded and unboxed: the fast paths
  // below then apply.
  if (nb != MatMul && (a.type == Type::Obj || b.type == Type::Obj) &&
      (a.type != Type::Obj || e.predictsNumber(a)) && (b.type != Type::Obj || e.predictsNumber(b))) {
    size_t n = e.stack.size();
    e.unboxPredicted({n - 2, n - 1}, e.makeExit(ExitKind::Reexec, Reason::Predicted, what));
    a = e.stack[n - 2];
    b = e.stack[n - 1];
  }

  if (nb != Pow && callOperator(e, in.arg)) return true;

  // Widened (learned: the fast path exited here too often) or not a number: the generic path, CPython's own number
  // protocol on boxed values; an exception unwinds from this instruction.
  if (a.type == Type::Obj || b.type == Type::Obj || e.opts.widen.count(in.unit)) {
    PyObject* example = e.opts.samples ? e.opts.samples->binaryResult(in.arg, e.exampleOf(a), e.exampleOf(b)) : nullptr;
    // A direct entry (no frame) computes in place what stays among ints and floats (a Vec of ints here and
    // floats there: widened); another operand leaves for the interpreter. Only where one operand is known to be a
    // number and the other is not known to be anything else: an operation of a str or an instance is the generic
    // path, which a direct entry cannot hold.
    int ka = numberKnown(e, a), kb = numberKnown(e, b);
    bool inPlace = e.opts.direct && nb != MatMul && ka >= 0 && kb >= 0 && ka + kb > 0;
    int x = e.box(a), y = e.box(b);
    e.pop();
    e.pop();
    int other = -1;
    if (inPlace) {
      e.push(Type::Obj, x);  // (as objects, for the exit before the operation)
      e.push(Type::Obj, y);
      other = e.makeExit(ExitKind::Reexec, Reason::NotNumbers, what);
      e.pop();
      e.pop();
    }
    int ex = e.makeExit(ExitKind::Raise, Reason::Raised, what);
    if (inPlace) {
      e.push(Type::Obj, e.emit(Op::BinaryInPlace, Type::Obj, {x, y}, in.arg, other));
      e.cur->instrs.back().exit2 = ex;
      e.inPlaceNumbers.insert(e.stack.back().v[0]);
    } else if (int local = appendsToLocal(e, in, nb, a); local >= 0) {
      e.push(Type::Obj, e.emit(Op::StrAppendLocal, Type::Obj, {x, y}, int64_t(local) * 64 + in.arg, ex));
    } else {
      e.push(Type::Obj, e.emit(Op::ObjBin, Type::Obj, {x, y}, in.arg, ex));
    }
    e.stack.back().sample = example;
    return true;
  }

  if (isIntLike(a.type) && isIntLike(b.type)) {
    if (a.type == Type::Bool && b.type == Type::Bool && (nb == And || nb == Or || nb == Xor)) {
      BinKind k = nb == And ? BinKind::And : nb == Or ? BinKind::Or : BinKind::Xor;
      int r = e.emit(Op::BoolBin, Type::Bool, {a.v[0], b.v[0]}, int64_t(k));
      e.pop();
      e.pop();
      e.push(Type::Bool, r);
      return true;
    }
    if (nb == MatMul) return e.exitNow(Reason::TypeError, what);
    int x = e.asInt(a), y = e.asInt(b);
    if (nb == TrueDiv) {
      int zero = e.zeroDivisionExit(what, ir::ArithError::IntTrueDivide);
      int inexact = e.makeExit(ExitKind::Reexec, Reason::InexactIntToFloat, what);
      int r = e.emit(Op::IntTrueDiv, Type::Float, {x, y}, 0, zero);
      e.cur->instrs.back().exit2 = inexact;
      e.pop();
      e.pop();
      e.push(Type::Float, r);
      return true;
    }
    BinKind k;
    int ex = -1, ex2 = -1;
    switch (nb) {
      case Add: k = BinKind::Add; ex = e.makeExit(ExitKind::Reexec, Reason::IntOverflow, what); break;
      case Sub: k = BinKind::Sub; ex = e.makeExit(ExitKind::Reexec, Reason::IntOverflow, what); break;
      case Mul: k = BinKind::Mul; ex = e.makeExit(ExitKind::Reexec, Reason::IntOverflow, what); break;
      case FloorDiv:
      case Rem:
        k = nb == FloorDiv ? BinKind::FloorDiv : BinKind::Mod;
        ex = e.zeroDivisionExit(what, nb == FloorDiv ? ir::ArithError::IntFloorDiv : ir::ArithError::IntModulo);
        ex2 = e.makeExit(ExitKind::Reexec, Reason::IntOverflow, what);
        break;
      case Pow:
        k = BinKind::Pow;
        ex = e.makeExit(ExitKind::Reexec, Reason::NegativePower, what);
        ex2 = e.makeExit(ExitKind::Reexec, Reason::IntOverflow, what);
        break;
      case LShift:
        k = BinKind::LShift;
        ex = e.makeExit(ExitKind::Reexec, Reason::NegativeShift, what);
        ex2 = e.makeExit(ExitKind::Reexec, Reason::IntOverflow, what);
        break;
      case RShift: k = BinKind::RShift; ex = e.makeExit(ExitKind::Reexec, Reason::NegativeShift, what); break;
      case And: k = BinKind::And; break;
      case Or: k = BinKind::Or; break;
      case Xor: k = BinKind::Xor; break;
      default: return e.exitNow(Reason::Unsupported, what);
    }
    // And/Or/Xor cannot fail: no exit, and IntBin with exit -1 is then pure.
    int r = e.emit(Op::IntBin, Type::Int, {x, y}, int64_t(k), ex);
    e.cur->instrs.back().exit2 = ex2;
    e.pop();
    e.pop();
    e.push(Type::Int, r);
    return true;
  }

  // At least one float, the other a number.
  BinKind k;
  int ex = -1;
  switch (nb) {
    case Add: k = BinKind::Add; break;
    case Sub: k = BinKind::Sub; break;
    case Mul: k = BinKind::Mul; break;
    case TrueDiv: k = BinKind::TrueDiv; ex = e.zeroDivisionExit(what, ir::ArithError::FloatDivide); break;
    case FloorDiv: k = BinKind::FloorDiv; ex = e.zeroDivisionExit(what, ir::ArithError::FloatFloorDiv); break;
    case Rem: k = BinKind::Mod; ex = e.zeroDivisionExit(what, ir::ArithError::FloatModulo); break;
    case Pow: k = BinKind::Pow; ex = e.makeExit(ExitKind::Reexec, Reason::FloatPowDomain, what); break;
    default: return e.exitNow(Reason::TypeError, what);
  }
  // int -> float conversion of a 64-bit int is always exact-rounded like PyLong_AsDouble.
  int x = e.asFloat(a, false, -1), y = e.asFloat(b, false, -1);
  int r = e.emit(Op::FloatBin, Type::Float, {x, y}, int64_t(k), ex);
  e.pop();
  e.pop();
  e.push(Type::Float, r);
  return true;
}

static bool unaryGeneric(Emitter& e, ir::UnaryKind k, const char* what) {
  StackEntry a = e.pop();
  int ex = e.makeExit(ExitKind::Raise, Reason::Raised, what);
  e.push(Type::Obj, e.emit(Op::ObjUnary, Type::Obj, {a.v[0]}, int64_t(k), ex));
  return true;
}

bool handle_UNARY_NEGATIVE(Emitter& e, const Instruction& in) {
  StackEntry a = e.stack.back();
  if ((a.type == Type::Int || a.type == Type::Bool) && e.opts.widen.count(in.unit)) {
    // Widened: -(-2**63) keeps exiting here.
    int x = e.box(a);
    e.pop();
    e.push(Type::Obj, x);
    return unaryGeneric(e, ir::UnaryKind::Neg, "UNARY_NEGATIVE");
  }
  switch (a.type) {
    case Type::Int:
    case Type::Bool: {
      int x = e.makeExit(ExitKind::Reexec, Reason::IntOverflow, "UNARY_NEGATIVE");
      int r = e.emit(Op::IntNeg, Type::Int, {e.asInt(a)}, 0, x);
      e.pop();
      e.push(Type::Int, r);
      return true;
    }
    case Type::Float: {
      int r = e.emit(Op::FloatNeg, Type::Float, {a.v[0]});
      e.pop();
      e.push(Type::Float, r);
      return true;
    }
    case Type::Obj: return unaryGeneric(e, ir::UnaryKind::Neg, "UNARY_NEGATIVE");
    default: return e.exitNow(Reason::Unsupported, "UNARY_NEGATIVE on a virtual value");
  }
}

bool handle_UNARY_POSITIVE(Emitter& e, const Instruction&) {
  StackEntry a = e.stack.back();
  switch (a.type) {
    case Type::Int:
    case Type::Float: return true;
    case Type::Bool: {
      int r = e.asInt(a);
      e.pop();
      e.push(Type::Int, r);
      return true;
    }
    case Type::Obj: return unaryGeneric(e, ir::UnaryKind::Pos, "UNARY_POSITIVE");
    default: return e.exitNow(Reason::Unsupported, "UNARY_POSITIVE on a virtual value");
  }
}

bool handle_UNARY_INVERT(Emitter& e, const Instruction&) {
  StackEntry a = e.stack.back();
  switch (a.type) {
    case Type::Int:
    case Type::Bool: {
      int r = e.emit(Op::IntInvert, Type::Int, {e.asInt(a)});
      e.pop();
      e.push(Type::Int, r);
      return true;
    }
    case Type::Float: return e.exitNow(Reason::TypeError, "UNARY_INVERT on float");
    case Type::Obj: return unaryGeneric(e, ir::UnaryKind::Invert, "UNARY_INVERT");
    default: return e.exitNow(Reason::Unsupported, "UNARY_INVERT on a virtual value");
  }
}

// Truth value of a number (shared with the conditional jumps).
int truthOf(Emitter& e, const StackEntry& a) {
  switch (a.type) {
    case Type::Bool: return a.v[0];
    case Type::Int: return e.emit(Op::IntTruthy, Type::Bool, {a.v[0]});
    case Type::Float: return e.emit(Op::FloatTruthy, Type::Bool, {a.v[0]});
    default: return -1;
  }
}

bool handle_UNARY_NOT(Emitter& e, const Instruction&) {
  StackEntry a = e.stack.back();
  if (ir::isNumeric(a.type)) {
    int r = e.emit(Op::BoolNot, Type::Bool, {truthOf(e, a)});
    e.pop();
    e.push(Type::Bool, r);
    return true;
  }
  if (a.type == Type::Obj && e.predictsTruth(a)) {
    int t = e.truthPredicted(a, e.makeExit(ExitKind::Reexec, Reason::Predicted, "UNARY_NOT"));
    e.pop();
    e.emitVoid(Op::DecRef, {a.v[0]});
    e.push(Type::Bool, e.emit(Op::BoolNot, Type::Bool, {t}));
    return true;
  }
  if (a.type == Type::Obj) {
    e.pop();
    int ex = e.makeExit(ExitKind::Raise, Reason::Raised, "UNARY_NOT");
    int t = e.emit(Op::ObjTruthy, Type::Bool, {a.v[0]}, 0, ex);
    e.push(Type::Bool, e.emit(Op::BoolNot, Type::Bool, {t}));
    return true;
  }
  return e.exitNow(Reason::Unsupported, "UNARY_NOT on a virtual value");
}

}  // namespace pypaccel::specialize
