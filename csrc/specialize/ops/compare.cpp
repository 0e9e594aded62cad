// Comparisons: COMPARE_OP on numbers (exact int/float mixing) or generically, IS_OP.
#include "specialize/emitter.h"
#include "specialize/ops/calls.h"

namespace pypaccel::specialize {

using deopt::Reason;
using ir::ExitKind;

static bool isIntLike(Type t) { return t == Type::Int || t == Type::Bool; }
static bool hasValue(Type t) { return ir::isNumeric(t) || t == Type::Obj; }

bool handle_COMPARE_OP(Emitter& e, const Instruction& in) {
  if (in.arg > 5) return e.exitNow(Reason::Unsupported, "COMPARE_OP " + std::to_string(in.arg));
  StackEntry a = e.stack[e.stack.size() - 2];
  StackEntry b = e.stack[e.stack.size() - 1];
  if (!hasValue(a.type) || !hasValue(b.type)) return e.exitNow(Reason::Unsupported, "COMPARE_OP on a virtual value");
  {
    size_t n = e.stack.size();
    e.predictLikeOperand(n - 2, n - 1);
    e.predictLikeOperand(n - 1, n - 2);
    a = e.stack[n - 2];
    b = e.stack[n - 1];
  }
  int r;
  if ((a.type == Type::Obj || b.type == Type::Obj) && (a.type != Type::Obj || e.predictsNumber(a)) &&
      (b.type != Type::Obj || e.predictsNumber(b))) {
    size_t n = e.stack.size();
    e.unboxPredicted({n - 2, n - 1}, e.makeExit(ExitKind::Reexec, Reason::Predicted, "COMPARE_OP"));
    a = e.stack[n - 2];
    b = e.stack[n - 1];
  }
  if (callOperator(e, kCompareOperator + in.arg)) return true;
  if (e.opts.direct && a.type == Type::Obj && b.type == Type::Obj) {
    // No frame: only comparisons CPython does in C, else the interpreter does it (operands untouched).
    int ex = e.makeExit(ExitKind::Reexec, Reason::Predicted, "COMPARE_OP");
    int r = e.emit(Op::CompareInPlace, Type::Bool, {a.v[0], b.v[0]}, in.arg, ex);
    e.pop();
    e.pop();
    e.push(Type::Bool, r);
    return true;
  }
  if (a.type == Type::Obj || b.type == Type::Obj) {
    int x = e.box(a), y = e.box(b);
    e.pop();
    e.pop();
    int ex = e.makeExit(ExitKind::Raise, Reason::Raised, "COMPARE_OP");
    e.push(Type::Obj, e.emit(Op::ObjCompare, Type::Obj, {x, y}, in.arg, ex));
    return true;
  }
  if (isIntLike(a.type) && isIntLike(b.type)) {
    r = e.emit(Op::IntCmp, Type::Bool, {e.asInt(a), e.asInt(b)}, in.arg);
  } else {
    // float vs int compares exactly in CPython (not through a rounded conversion): only ints that convert
    // exactly take the fast path.
    int ex = e.makeExit(ExitKind::Reexec, Reason::InexactIntToFloat, "COMPARE_OP");
    int x = e.asFloat(a, true, ex), y = e.asFloat(b, true, ex);
    r = e.emit(Op::FloatCmp, Type::Bool, {x, y}, in.arg);
  }
  e.pop();
  e.pop();
  e.push(Type::Bool, r);
  return true;
}

bool handle_IS_OP(Emitter& e, const Instruction& in) {
  StackEntry a = e.stack[e.stack.size() - 2];
  StackEntry b = e.stack[e.stack.size() - 1];
  int r;
  if (a.type == Type::Obj && b.type == Type::Obj) {
    r = e.emit(Op::ObjIs, Type::Bool, {a.v[0], b.v[0]});
  } else if ((ir::isNumeric(a.type) && b.type == Type::Obj && b.known == Py_None) ||
             (ir::isNumeric(b.type) && a.type == Type::Obj && a.known == Py_None)) {
    r = e.constBool(false);  // a number is never None
  } else if (ir::isNumeric(a.type) && a.type == b.type && a.v[0] == b.v[0]) {
    r = e.constBool(true);  // the very same value: in CPython, the very same object
  } else if ((ir::isNumeric(a.type) || a.type == Type::Obj) && (ir::isNumeric(b.type) || b.type == Type::Obj)) {
    // Compare the objects: a number's origin (an argument, a constant it still is), else its box, which is what
    // CPython has for a number computed here (a new object, or a shared small int or bool).
    std::vector<int> temps;
    auto object = [&](const StackEntry& s) {
      if (s.type == Type::Obj) return s.v[0];
      if (hasOrigin(s.type) && s.origin >= 0 && !s.originMaybeNull) return s.origin;
      int o = e.box(s);
      temps.push_back(o);
      return o;
    };
    int oa = object(a), ob = object(b);
    r = e.emit(Op::ObjIs, Type::Bool, {oa, ob});
    for (int t : temps) e.emitVoid(Op::DecRef, {t});
  } else {
    return e.exitNow(Reason::Unsupported, "IS_OP on unboxed values");
  }
  if (in.arg) r = e.emit(Op::BoolNot, Type::Bool, {r});
  e.pop();
  e.pop();
  e.discard(a);
  e.discard(b);
  e.push(Type::Bool, r);
  return true;
}

}  // namespace pypaccel::specialize
