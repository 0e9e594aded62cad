// Lists and tuples in place: subscripts with an int index and unpacking, inline on an exact list or tuple (the
// one the call being compiled had there, specialize/samples.h), with a Reexec exit where the interpreter does
// something else (another type, an index out of range: it raises IndexError itself). Where those exits kept
// happening (widened) or nothing is known, CPython's own protocols, as the interpreter calls them.
#include "specialize/emitter.h"
#include "specialize/ops/calls.h"

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

// A bound of a slice taken in place: an int, or None (given = false).
bool sliceBound(const Emitter& e, const StackEntry& s) {
  return isIntLike(s.type) || (s.type == Type::Obj && s.known == Py_None) || intIndex(e, s);
}

// `xs[:k + 1] = xs[k::-1]` (fannkuch's pancake flip), from its BUILD_SLICE 3 on: the two slices of one list
// local, bounded by one local k, mean "reverse the first min(k + 1, len) items" for k >= 0, which ListReversePrefix
// does in place, without the reversed copy the first slice makes and the second one's list_ass_slice. The items
// stay in the list throughout, so no reference count of theirs moves and nothing is finalized either way. Matched
// on the bytecode (the same LOAD_FAST locals before and after, no jump target inside), so both loads of xs and of
// k are the same objects. k < 0 exits (Reexec) at the BUILD_SLICE: the slices mean something else there.
bool reversePrefixInPlace(Emitter& e, const Instruction& in) {
  if (in.arg != 3 || e.opts.widen.count(in.unit) || e.stack.size() < 4) return false;
  int at = e.bc.unitToInstr[in.unit];
  const std::vector<Instruction>& code = e.bc.instrs;
  if (at < 4 || at + 8 >= int(code.size())) return false;
  for (int k = at - 3; k <= at + 8; k++)
    if (e.leaders->count(code[k].start)) return false;
  PyObject* consts = e.info.consts.get();
  auto isNone = [&](const Instruction& x) { return x.op == LOAD_CONST && PyTuple_GET_ITEM(consts, x.arg) == Py_None; };
  auto isInt = [&](const Instruction& x, long long value) {
    if (x.op != LOAD_CONST) return false;
    PyObject* c = PyTuple_GET_ITEM(consts, x.arg);
    int overflow = 0;
    return PyLong_CheckExact(c) && PyLong_AsLongLongAndOverflow(c, &overflow) == value && !overflow;
  };
  const Instruction* x = &code[size_t(at)];
  int list = x[-4].arg, bound = x[-3].arg;
  bool shape = x[-4].op == LOAD_FAST && x[-3].op == LOAD_FAST && list != bound && isNone(x[-2]) &&
               isInt(x[-1], -1) && x[1].op == BINARY_SUBSCR && x[2].op == LOAD_FAST &&
               x[2].arg == list && isNone(x[3]) && x[4].op == LOAD_FAST && x[4].arg == bound &&
               isInt(x[5], 1) && x[6].op == BINARY_OP && x[6].arg == 0 /* NB_ADD */ &&
               x[7].op == BUILD_SLICE && x[7].arg == 2 && x[8].op == STORE_SUBSCR;
  if (!shape) return false;
  size_t n = e.stack.size();
  const StackEntry& xs = e.stack[n - 4];
  PyObject* sample = e.sampleOf(xs);
  if (xs.type != Type::Obj || !sample || !PyList_CheckExact(sample) || !intIndex(e, e.stack[n - 3])) return false;
  int ex = e.makeExit(ExitKind::Reexec, Reason::Predicted, "BUILD_SLICE");
  e.emitVoid(Op::GuardType, {xs.v[0]}, int64_t(TypeTag::List), ex);
  e.unboxPredicted({n - 3}, ex);
  int k = e.asInt(e.stack[n - 3]);
  e.emitVoid(Op::ListReversePrefix, {xs.v[0], k}, 0, e.makeExit(ExitKind::Reexec, Reason::OutOfRange, "BUILD_SLICE"));
  for (int d = 0; d < 4; d++) e.discard(e.pop());
  e.in = &x[8];  // the STORE_SUBSCR: the next instruction is the one after it
  return true;
}

// `x[a:b:c]` and `x[a:b] = v` where BUILD_SLICE of ints and Nones is followed by the subscript: both instructions
// as one SeqSlice / ListAssignSlice on an exact list (a tuple or str to read), with no slice object and the bounds
// unboxed. Every guard exits (Reexec) at BUILD_SLICE, before anything is consumed. False: not such a slice, nothing
// emitted.
bool sliceInPlace(Emitter& e, const Instruction& in) {
  const Instruction* next = e.bc.at(in.next);
  if (!next || e.leaders->count(next->start) || e.opts.widen.count(in.unit)) return false;
  bool store = next->op == STORE_SUBSCR;
  if (!store && next->op != BINARY_SUBSCR) return false;
  size_t nb = size_t(in.arg), n = e.stack.size();
  if (n < nb + (store ? 2 : 1)) return false;
  for (size_t i = n - nb; i < n; i++)
    if (!sliceBound(e, e.stack[i])) return false;
  const StackEntry& container = e.stack[n - nb - 1];
  PyObject* cs = e.sampleOf(container);
  TypeTag tag;
  if (container.type != Type::Obj || !cs) return false;
  if (PyUnicode_CheckExact(cs) && !store && nb == 2) tag = TypeTag::Str;
  else if (!seqTag(cs, &tag) || (store && (tag != TypeTag::List || nb != 2))) return false;
  if (store) {
    // The items are taken as they are from an exact list or tuple; anything else would be iterated.
    const StackEntry& value = e.stack[n - nb - 2];
    PyObject* vs = e.sampleOf(value);
    if (value.type != Type::Obj || !vs || !(PyList_CheckExact(vs) || PyTuple_CheckExact(vs))) return false;
  }

  int ex = e.makeExit(ExitKind::Reexec, Reason::Predicted, "BUILD_SLICE");
  e.emitVoid(Op::GuardType, {container.v[0]}, int64_t(tag), ex);
  if (store) e.emitVoid(Op::GuardType, {e.stack[n - nb - 2].v[0]}, int64_t(TypeTag::ListOrTuple), ex);
  // Each bound gets an exit of its own, taken after the ones before it were unboxed and their objects released: a
  // shared exit would still list them as objects (stress mode, failing the second guard, wrote a released object
  // into the frame).
  for (size_t i = n - nb; i < n; i++)
    if (e.stack[i].type == Type::Obj && e.stack[i].known != Py_None)
      e.unboxPredicted({i}, e.makeExit(ExitKind::Reexec, Reason::Predicted, "BUILD_SLICE"));
  int bounds[3];
  int64_t given = 0;
  for (size_t k = nb; k-- > 0;) {
    StackEntry b = e.pop();
    bool none = b.type == Type::Obj;
    bounds[k] = none ? e.constInt(0) : e.asInt(b);
    if (none) e.discard(b);
    else given |= int64_t(1) << k;
  }
  if (nb == 2) bounds[2] = e.constInt(1);
  // The subscript now: its exits are its own.
  e.in = next;
  StackEntry c = e.pop();
  if (store) {
    StackEntry value = e.pop();
    int raise = e.makeExit(ExitKind::Raise, Reason::Raised, "STORE_SUBSCR");
    e.emitVoid(Op::ListAssignSlice, {c.v[0], bounds[0], bounds[1], value.v[0]}, given, raise);
    return true;
  }
  int raise = e.makeExit(ExitKind::Raise, Reason::Raised, "BINARY_SUBSCR");
  StackEntry r;
  r.type = Type::Obj;
  r.v[0] = e.emit(Op::SeqSlice, Type::Obj, {c.v[0], bounds[0], bounds[1], bounds[2]}, given, raise);
  r.sample = tag == TypeTag::Str ? nullptr : cs;  // a slice of a list or tuple: one of the same kind and items
  e.push(r);
  return true;
}

}  // namespace

bool handle_BUILD_SLICE(Emitter& e, const Instruction& in) {
  if (reversePrefixInPlace(e, in) || sliceInPlace(e, in)) return true;
  return e.buildFromStack(Op::BuildSlice, size_t(in.arg), "BUILD_SLICE");  // start, stop[, step]
}

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
  if (container.type == Type::Obj && !e.opts.widen.count(in.unit) && cs && PyUnicode_CheckExact(cs) &&
      intIndex(e, e.stack[n - 1])) {
    // s[i] of an exact str (3.11 does not specialize it: BINARY_SUBSCR_GENERIC, unicode_getitem): the character.
    int ex = e.makeExit(ExitKind::Reexec, Reason::Predicted, "BINARY_SUBSCR");
    e.emitVoid(Op::GuardType, {container.v[0]}, int64_t(TypeTag::Str), ex);
    e.unboxPredicted({n - 1}, ex);
    StackEntry key = e.stack[n - 1];
    int i = e.emit(Op::SeqIndex, Type::Int, {container.v[0], e.asInt(key)}, int64_t(TypeTag::Str),
                   e.makeExit(ExitKind::Reexec, Reason::OutOfRange, "BINARY_SUBSCR"));
    e.pop();
    e.pop();
    e.push(container);  // (a memory error leaves with the str still on the stack, the index consumed: as CPython)
    int ch = e.emit(Op::StrChar, Type::Obj, {container.v[0], i}, 0,
                    e.makeExit(ExitKind::Raise, Reason::Raised, "BINARY_SUBSCR"));
    e.pop();
    e.discard(container);
    StackEntry r;
    r.type = Type::Obj;
    r.v[0] = ch;
    r.sample = cs;  // a str: what its own items are
    e.push(r);
    return true;
  }
  // An instance of a class with a Python __getitem__: called directly.
  if (callSubscriptMethod(e, PYPA_SUBSCR_GET)) return true;
  // A slice of an exact list or tuple is one of the same kind, of the same items: the container's example.
  PyObject* ks = e.sampleOf(e.stack[n - 1]);
  PyObject* example = ks && PySlice_Check(ks) && cs && (PyList_CheckExact(cs) || PyTuple_CheckExact(cs)) ? cs : nullptr;
  // An item of a dict: the value at the key's example, else any of its values.
  if (!example && cs && PyDict_CheckExact(cs) && e.opts.samples) example = e.opts.samples->value(cs, ks);
  // An item of an array.array with an int key: one of its items (all of one type).
  if (!example && cs && ks && PyLong_CheckExact(ks) && e.opts.samples && pypa_array_check_exact(cs))
    example = e.opts.samples->item(cs, PyLong_AsLongLong(ks));
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
  // An instance of a class with a Python __setitem__: called directly.
  if (callSubscriptMethod(e, PYPA_SUBSCR_SET)) return true;
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

// `a, *b, c = seq`: ceval's own unpacking (any iterable, its errors) into one tuple of the targets, whose items are
// pushed last first: the first item on top, then the list of the middle ones, then the last ones.
bool handle_UNPACK_EX(Emitter& e, const Instruction& in) {
  StackEntry seq = e.stack.back();
  if (seq.type != Type::Obj) {
    if (ir::isNumeric(seq.type)) return e.exitNow(Reason::TypeError, "UNPACK_EX of a number");
    return e.exitNow(Reason::Unsupported, "UNPACK_EX of a virtual value");
  }
  int before = in.arg & 0xFF, after = in.arg >> 8;
  PyObject* ss = e.sampleOf(seq);
  if (ss && !(PyList_CheckExact(ss) || PyTuple_CheckExact(ss))) ss = nullptr;
  e.pop();
  int ex = e.makeExit(ExitKind::Raise, Reason::Raised, "UNPACK_EX");
  int items = e.emit(Op::UnpackStarred, Type::Obj, {seq.v[0]}, int64_t(before) | int64_t(after) << 8, ex);
  int count = before + 1 + after;
  for (int k = count; k-- > 0;) {
    int item = e.emit(Op::SeqItem, Type::Obj, {items, e.constInt(k)}, int64_t(TypeTag::Tuple));
    e.emitVoid(Op::IncRef, {item});
    StackEntry s;
    s.type = Type::Obj;
    s.v[0] = item;
    // The examples of the single targets: the example's items at the same place from either end.
    if (e.opts.samples && k != before) s.sample = e.opts.samples->item(ss, k < before ? k : k - count);
    e.push(s);
  }
  e.emitVoid(Op::DecRef, {items});
  return true;
}

}  // namespace pypaccel::specialize
