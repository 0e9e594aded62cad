// Iteration over range(): GET_ITER turns the virtual range into a virtual iterator, FOR_ITER advances it in
// registers. Exits materialize it as iter(range(cur, stop, step)), which yields exactly what is left.
// A list predicted by its example is iterated in place (FOR_ITER_LIST: GetListIter / ListIterNext); anything else
// through CPython's iterator protocol (GetIter / IterNext on boxed objects).
#include "specialize/emitter.h"

namespace pypaccel::specialize {

using deopt::Reason;

namespace {

// Iteration over a value whose example is an exact list (its iterator's example is the list too), where the
// prediction has not failed here before.
bool predictsList(Emitter& e, PyObject* sample) {
  return sample && PyList_CheckExact(sample) && !e.opts.widen.count(e.in->unit);
}

}  // namespace

bool handle_GET_ITER(Emitter& e, const Instruction&) {
  Type t = e.stack.back().type;
  if (t == Type::Range) {
    e.stack.back().type = Type::RangeIter;
    return true;
  }
  if (!ir::isNumeric(t) && t != Type::Obj) return e.exitNow(Reason::NotIterable, "GET_ITER");
  PyObject* sample = e.sampleOf(e.stack.back());
  if (t == Type::Obj && predictsList(e, sample)) {
    // A list, as predicted: its iterator made without a lookup, and FOR_ITER reads it in place.
    int guard = e.makeExit(ir::ExitKind::Reexec, Reason::Predicted, "GET_ITER");
    e.emitVoid(Op::GuardType, {e.stack.back().v[0]}, int64_t(ir::TypeTag::List), guard);
    int obj = e.pop().v[0];
    int ex = e.makeExit(ir::ExitKind::Raise, Reason::Raised, "GET_ITER");
    e.push(Type::Obj, e.emit(Op::GetListIter, Type::Obj, {obj}, 0, ex));
    e.stack.back().sample = sample;
    return true;
  }
  int obj = e.box(e.pop());
  int ex = e.makeExit(ir::ExitKind::Raise, Reason::Raised, "GET_ITER");
  e.push(Type::Obj, e.emit(Op::GetIter, Type::Obj, {obj}, 0, ex));
  // The iterator's example is its iterable: FOR_ITER predicts its items from it.
  e.stack.back().sample = sample;
  return true;
}

bool handle_FOR_ITER(Emitter& e, const Instruction& in) {
  StackEntry it = e.stack.back();
  if (it.type == Type::Obj) {
    // The iterator stays on the stack while the next item is fetched: an error unwinds with it there.
    bool list = predictsList(e, e.sampleOf(it));
    int ex = list ? e.makeExit(ir::ExitKind::Reexec, Reason::Predicted, "FOR_ITER")
                  : e.makeExit(ir::ExitKind::Raise, Reason::Raised, "FOR_ITER");
    int next = e.emit(list ? Op::ListIterNext : Op::IterNext, Type::Obj, {it.v[0]}, 0, ex);
    int has = e.emit(Op::NotNull, Type::Bool, {next});
    std::vector<StackEntry> body = e.stack;
    StackEntry item;
    item.type = Type::Obj;
    item.v[0] = next;
    if (e.opts.samples) item.sample = e.opts.samples->firstYield(e.sampleOf(it));
    body.push_back(item);
    std::vector<StackEntry> done(e.stack.begin(), e.stack.end() - 1);
    return e.branch(has, in.next, in.target, &body, &done, {}, {it});
  }
  if (it.type != Type::RangeIter) return e.exitNow(Reason::NotIterable, "FOR_ITER");
  int has = e.emit(Op::RangeHasNext, Type::Bool, {it.v[0], it.v[1], it.v[2]});
  int next = e.emit(Op::RangeAdvance, Type::Int, {it.v[0], it.v[1], it.v[2]});
  std::vector<StackEntry> body = e.stack;
  body.back().v[0] = next;
  StackEntry item;
  item.type = Type::Int;
  item.v[0] = it.v[0];
  body.push_back(item);
  std::vector<StackEntry> done(e.stack.begin(), e.stack.end() - 1);
  return e.branch(has, in.next, in.target, &body, &done);
}

}  // namespace pypaccel::specialize
