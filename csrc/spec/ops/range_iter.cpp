// Iteration over range(): GET_ITER turns the virtual range into a virtual iterator, FOR_ITER advances it in
// registers. Exits materialize it as iter(range(cur, stop, step)), which yields exactly what is left.
#include "spec/emitter.h"

namespace pypaccel::spec {

using deopt::Reason;

bool handle_GET_ITER(Emitter& e, const Instruction&) {
  if (e.stack.back().type != Type::Range) return e.exitNow(Reason::NotIterable, "GET_ITER");
  e.stack.back().type = Type::RangeIter;
  return true;
}

bool handle_FOR_ITER(Emitter& e, const Instruction& in) {
  StackEntry it = e.stack.back();
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

}  // namespace pypaccel::spec
