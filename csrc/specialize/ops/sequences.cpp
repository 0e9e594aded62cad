// Lists and tuples in place: subscripts with an int index and unpacking, inline on an exact list or tuple (the
// one the call being compiled had there, specialize/samples.h), with a Reexec exit where the interpreter does
// something else (another type, an index out of range: it raises IndexError itself). Where those exits kept
// happening (widened) or nothing is known, CPython's own protocols, as the interpreter calls them.
#include "specialize/emitter.h"

namespace pypaccel::specialize {

using deopt::Reason;
using ir::ExitKind;
using ir::TypeTag;

namespace {

bool hasValue(Type t) { return ir::isNumeric(t) || t == Type::Obj; }
bool isIntLike(Type t) { return t == Type::Int || t == Type::Bool; }

// The list/tuple tag of an example, or false.
bool seqTag(PyObject* sample, TypeTag* tag) {
  if (!sample) return false;
  if (PyList_CheckExact(sample)) *tag = TypeTag::List;
  else if (PyTuple_CheckExact(sample)) *tag = TypeTag::Tuple;
  else return false;
  return true;
}

// The value of an Int computed by a ConstInt in this block, for the example of an item.
int64_t constIndexOr(const Emitter& e, const StackEntry& s, int64_t otherwise) {
  if (s.type != Type::Int) return otherwise;
  for (const ir::Instr& x : e.cur->instrs)
    if (x.id == s.v[0] && x.op == Op::ConstInt) return x.imm;
  return otherwise;
}

// Whether the index entry is an int, or an object predicted to be a small int.
bool intIndex(const Emitter& e, const StackEntry& key) {
  if (isIntLike(key.type)) return true;
  ir::TypeTag tag;
  return e.predictsNumber(key) && numberTag(e.sampleOf(key), &tag) && tag == TypeTag::SmallInt;
}

}  // namespace

bool handle_BINARY_SUBSCR(Emitter& e, const Instruction& in) {
  size_t n = e.stack.size();
  if (!hasValue(e.stack[n - 1].type) || !hasValue(e.stack[n - 2].type))
    return e.exitNow(Reason::Unsupported, "BINARY_SUBSCR on a virtual value");
  StackEntry container = e.stack[n - 2];
  PyObject* cs = e.sampleOf(container);
  TypeTag tag;
  if (container.type == Type::Obj && !e.opts.widen.count(in.unit) && seqTag(cs, &tag) && intIndex(e, e.stack[n - 1])) {
    // BINARY_SUBSCR_LIST_INT / _TUPLE_INT.
    int ex = e.makeExit(ExitKind::Reexec, Reason::Predicted, "BINARY_SUBSCR");
    e.emitVoid(Op::GuardType, {container.v[0]}, int64_t(tag), ex);
    e.unboxPredicted({n - 1}, ex);
    StackEntry key = e.stack[n - 1];
    int i = e.emit(Op::SeqIndex, Type::Int, {container.v[0], e.asInt(key)}, int64_t(tag),
                   e.makeExit(ExitKind::Reexec, Reason::OutOfRange, "BINARY_SUBSCR"));
    int item = e.emit(Op::SeqItem, Type::Obj, {container.v[0], i}, int64_t(tag));
    e.emitVoid(Op::IncRef, {item});
    e.pop();
    e.pop();
    e.discard(container);
    StackEntry r;
    r.type = Type::Obj;
    r.v[0] = item;
    if (e.opts.samples) r.sample = e.opts.samples->item(cs, constIndexOr(e, key, 0));
    e.push(r);
    return true;
  }
  // A slice of an exact list or tuple is one of the same kind, of the same items: the container's example.
  PyObject* ks = e.sampleOf(e.stack[n - 1]);
  PyObject* example = ks && PySlice_Check(ks) && cs && (PyList_CheckExact(cs) || PyTuple_CheckExact(cs)) ? cs : nullptr;
  if (e.opts.direct) {
    // No frame: only what runs no Python code, else an exit with the operands on the stack.
    int key = e.box(e.pop());
    int c = e.box(e.pop());
    e.push(Type::Obj, c);  // (as objects, for the exit before the operation)
    e.push(Type::Obj, key);
    int other = e.makeExit(ExitKind::Reexec, Reason::Predicted, "BINARY_SUBSCR");
    e.pop();
    e.pop();
    int ex = e.makeExit(ExitKind::Raise, Reason::Raised, "BINARY_SUBSCR");
    e.push(Type::Obj, e.emit(Op::GetItemInPlace, Type::Obj, {c, key}, 0, other));
    e.cur->instrs.back().exit2 = ex;
    e.stack.back().sample = example;
    return true;
  }
  int key = e.box(e.pop());
  int c = e.box(e.pop());
  int ex = e.makeExit(ExitKind::Raise, Reason::Raised, "BINARY_SUBSCR");
  e.push(Type::Obj, e.emit(Op::GetItem, Type::Obj, {c, key}, 0, ex));
  e.stack.back().sample = example;
  return true;
}

bool handle_STORE_SUBSCR(Emitter& e, const Instruction& in) {
  // TOS1[TOS] = TOS2
  size_t n = e.stack.size();
  for (size_t i = n - 3; i < n; i++)
    if (!hasValue(e.stack[i].type)) return e.exitNow(Reason::Unsupported, "STORE_SUBSCR on a virtual value");
  StackEntry container = e.stack[n - 2];
  if (container.type == Type::Obj && !e.opts.widen.count(in.unit) && e.sampleOf(container) &&
      PyList_CheckExact(e.sampleOf(container)) && intIndex(e, e.stack[n - 1])) {
    // STORE_SUBSCR_LIST_INT.
    int ex = e.makeExit(ExitKind::Reexec, Reason::Predicted, "STORE_SUBSCR");
    e.emitVoid(Op::GuardType, {container.v[0]}, int64_t(TypeTag::List), ex);
    e.unboxPredicted({n - 1}, ex);
    int i = e.emit(Op::SeqIndex, Type::Int, {container.v[0], e.asInt(e.stack[n - 1])}, int64_t(TypeTag::List),
                   e.makeExit(ExitKind::Reexec, Reason::OutOfRange, "STORE_SUBSCR"));
    e.pop();
    e.pop();
    StackEntry v = e.pop();
    if (v.type == Type::Float && v.origin < 0) {
      // A float computed here: written into the old item in place when nothing else can see that (see the op).
      e.emitVoid(Op::ListStoreFloat, {container.v[0], i, v.v[0]});
    } else {
      e.emitVoid(Op::ListStore, {container.v[0], i, e.box(v)});
    }
    e.discard(container);
    return true;
  }
  int key = e.box(e.pop());
  int c = e.box(e.pop());
  int value = e.box(e.pop());
  if (e.opts.direct) {
    // No frame: only what runs no Python code, else an exit with the operands on the stack (as objects).
    for (int v : {value, c, key}) e.push(Type::Obj, v);
    int other = e.makeExit(ExitKind::Reexec, Reason::Predicted, "STORE_SUBSCR");
    e.stack.resize(e.stack.size() - 3);
    int ex = e.makeExit(ExitKind::Raise, Reason::Raised, "STORE_SUBSCR");
    e.emitVoid(Op::SetItemInPlace, {c, key, value}, 0, other);
    e.cur->instrs.back().exit2 = ex;
    return true;
  }
  int ex = e.makeExit(ExitKind::Raise, Reason::Raised, "STORE_SUBSCR");
  e.emitVoid(Op::SetItem, {c, key, value}, 0, ex);
  return true;
}

// `a, b, c = seq`: the items pushed last first, so the first item is on top.
bool handle_UNPACK_SEQUENCE(Emitter& e, const Instruction& in) {
  StackEntry seq = e.stack.back();
  if (seq.type != Type::Obj) {
    if (ir::isNumeric(seq.type)) return e.exitNow(Reason::TypeError, "UNPACK_SEQUENCE of a number");
    return e.exitNow(Reason::Unsupported, "UNPACK_SEQUENCE of a virtual value");
  }
  size_t count = size_t(in.arg);
  PyObject* ss = e.sampleOf(seq);
  TypeTag tag = TypeTag::ListOrTuple;  // nothing known: the usual case, a tuple or list of that length
  bool inPlace = !e.opts.widen.count(in.unit) && (!ss || seqTag(ss, &tag));
  int items;
  if (inPlace) {
    // UNPACK_SEQUENCE_TWO_TUPLE / _TUPLE / _LIST.
    int ex = e.makeExit(ExitKind::Reexec, Reason::Predicted, "UNPACK_SEQUENCE");
    e.emitVoid(Op::GuardType, {seq.v[0]}, int64_t(tag), ex);
    e.emitVoid(Op::GuardLen, {seq.v[0]}, int64_t(count), e.makeExit(ExitKind::Reexec, Reason::OutOfRange, "UNPACK_SEQUENCE"));
    items = seq.v[0];
    e.pop();
  } else {
    e.pop();
    int ex = e.makeExit(ExitKind::Raise, Reason::Raised, "UNPACK_SEQUENCE");
    items = e.emit(Op::UnpackIterable, Type::Obj, {seq.v[0]}, int64_t(count), ex);
    tag = TypeTag::Tuple;
    ss = nullptr;
  }
  for (size_t k = count; k-- > 0;) {
    int item = e.emit(Op::SeqItem, Type::Obj, {items, e.constInt(int64_t(k))}, int64_t(tag));
    e.emitVoid(Op::IncRef, {item});
    StackEntry s;
    s.type = Type::Obj;
    s.v[0] = item;
    if (e.opts.samples) s.sample = e.opts.samples->item(ss, int64_t(k));
    e.push(s);
  }
  e.emitVoid(Op::DecRef, {items});
  return true;
}

}  // namespace pypaccel::specialize
