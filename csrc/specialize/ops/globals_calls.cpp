// LOAD_GLOBAL under a guard (dict version, then identity), and the calls the compiler understands:
// range(...) becomes a virtual range object.
#include <algorithm>
#include <cstring>
#include <optional>

#include "cpython/cpy.h"
#include "deopt/specialization.h"
#include "specialize/emitter.h"
#include "specialize/ops/calls.h"
#include "specialize/ops/math_calls.h"

namespace pypaccel::specialize {

using deopt::Reason;
using ir::ExitKind;
using ir::TypeTag;

namespace {

// Builtins whose calls on unboxed numbers are compiled natively (see callBuiltin).
bool nativeBuiltin(const char* name) {
  for (const char* n : {"abs", "min", "max", "float", "int", "bool", "len", "ord", "isinstance", "type"})
    if (std::strcmp(n, name) == 0) return true;
  return false;
}

}  // namespace

bool handle_LOAD_GLOBAL(Emitter& e, const Instruction& in) {
  PyObject* name = PyTuple_GET_ITEM(e.info.names.get(), in.arg >> 1);
  const char* cname = PyUnicode_AsUTF8(name);
  if (!PyDict_CheckExact(e.globals) || !PyDict_CheckExact(e.builtins))
    return e.exitNow(Reason::Unsupported, "LOAD_GLOBAL with non-dict globals");
  bool fromBuiltins = false;
  PyObject* v = PyDict_GetItemWithError(e.globals, name);
  if (!v && !PyErr_Occurred()) {
    v = PyDict_GetItemWithError(e.builtins, name);
    fromBuiltins = true;
  }
  if (!v) {
    PyErr_Clear();
    return e.exitNow(Reason::Unsupported, std::string("LOAD_GLOBAL of unbound name ") + cname);
  }
  char expect = 'o';
  // A global this code stores itself changes value as it runs, and one whose guard kept failing (widened: the
  // program rebinds it, `global TIMESTAMP; TIMESTAMP += 1` elsewhere) would exit at every change: either is taken
  // as whatever object it is bound to, which the guard's slow path accepts without leaving.
  // Decided per name, not per instruction: every load of a name shares one guard and one slot.
  bool asObject = false;
  for (const Instruction& x : e.bc.instrs) {
    asObject |= (x.op == STORE_GLOBAL || x.op == DELETE_GLOBAL) && x.arg == (in.arg >> 1);
    asObject |= x.op == LOAD_GLOBAL && (x.arg >> 1) == (in.arg >> 1) && e.opts.widen.count(x.unit);
  }
  if (asObject) {
  } else if (PyBool_Check(v)) {
    expect = 'b';
  } else if (PyLong_CheckExact(v)) {
    int overflow = 0;
    PyLong_AsLongLongAndOverflow(v, &overflow);
    if (!overflow) expect = 'i';
  } else if (PyFloat_CheckExact(v)) {
    expect = 'f';
  } else if (v == reinterpret_cast<PyObject*>(&PyRange_Type)) {
    expect = 'r';
  } else if (nativeBuiltin(cname) && v == deopt::originalBuiltin(cname)) {
    expect = 'k';  // a call of it may be compiled natively: guard the identity, not just the binding
  } else if (const char* fn = deopt::nativeModuleFunctionName(v); fn && std::strcmp(fn, cname) == 0) {
    expect = 'M';  // `from math import sqrt`: the same, for a math function bound under its own name
  }
  int g = e.globalGuard(cname, v, fromBuiltins, expect);
  int ex = e.makeExit(ExitKind::Reexec, Reason::GlobalChanged, cname);
  e.emitVoid(Op::GuardGlobal, {}, g, ex);
  if (in.arg & 1) e.push(Type::Null, -1);
  const ir::GlobalGuard& gg = e.fn.globals[g];
  switch (gg.expect) {  // the first load of the name decided it (the same, but for a name bound to a new value since)
    case 'i': e.push(Type::Int, e.emit(Op::LoadSlotInt, Type::Int, {}, gg.valueSlot)); break;
    case 'f': e.push(Type::Float, e.emit(Op::LoadSlotFloat, Type::Float, {}, gg.valueSlot)); break;
    case 'b': e.push(Type::Bool, e.emit(Op::LoadSlotBool, Type::Bool, {}, gg.valueSlot)); break;
    default: {
      // What the compiled code may assume about this object beyond the guard: only what a later guard still
      // holds. 'k', 'M' and 'r' guard the identity; a Python function is re-checked by identity at each direct call
      // site. Any other binding ('o') may become another object without a recompile (the guard's slow path
      // accepts any object there), so nothing is assumed about it: no native abs() for an alias `myabs = abs`,
      // no constant `x is G` for a global G that was None.
      bool identityGuarded = gg.expect == 'k' || gg.expect == 'M' || gg.expect == 'r' || PyFunction_Check(v);
      e.pushSlotObj(gg.objSlot, identityGuarded ? v : nullptr, v);
    }
  }
  return true;
}

namespace {

bool hasValue(Type t) { return ir::isNumeric(t) || t == Type::Obj; }

// An exit before the call. With keyword names pending, it resumes at KW_NAMES: the interpreter keeps them in a
// local variable of its own, which only KW_NAMES sets.
bool exitBeforeCall(Emitter& e, Reason reason, const std::string& what) {
  if (e.kwnamesIn) e.in = e.kwnamesIn;
  e.kwnamesIn = nullptr;
  e.kwnamesConst = -1;
  return e.exitNow(reason, what);
}

}  // namespace

// Tracing switched on by the callee (sys.settrace and f_trace, a debugger's set_trace(), breakpoint(), a C trace
// function) applies to this frame from its next instruction on, as in CPython: the interpreter then reports its
// line, return and exception events. Leave for it there, with the call's result on the stack (a re-execute exit of
// the next instruction resumes exactly after this one).
void exitIfTracingAfterCall(Emitter& e) {
  const Instruction* next = e.bc.at(e.in->next);
  if (!next) return;
  const Instruction* call = e.in;
  e.in = next;
  int ex = e.makeExit(ExitKind::Reexec, Reason::TracingOn, "after CALL");
  e.in = call;
  e.emitVoid(Op::GuardNotTracing, {}, 0, ex);
}

void syncFrameLocals(Emitter& e) {
  // The callee may look at this frame (locals(), sys._getframe(1).f_locals, traceback.walk_stack with
  // capture_locals): give the frame the current values of its bound locals first; a number with an origin is
  // synced as that object.
  for (size_t l = 0; l < e.locals.size(); l++) {
    const LocalState& ls = e.locals[l];
    if (!e.needsSync(l)) continue;
    StackEntry v = e.loadLocal(int(l));
    std::vector<int> args = {v.v[0]};
    if (ls.def == Def::Maybe) args.push_back(e.emit(Op::LoadVar, Type::Bool, {}, e.flagVar(int(l))));
    if (v.origin >= 0) {
      if (args.size() == 1) args.push_back(e.constBool(true));
      args.push_back(v.origin);
    }
    e.emitVoid(Op::SyncLocal, args, int64_t(l));
  }
}

// CPython 3.11's CALL (and each of its specializations for a C callable but len(), isinstance(), list.append and
// type(x)) tests the eval breaker once the callee has returned and its result is on the stack: a signal the callee
// raised without handling it (_thread.interrupt_main(), or one that arrived while it ran) has its Python handler run
// there, and an exception of the handler is raised at the CALL. So here: the handler's exception leaves through a
// Raise exit at the CALL with the result on the stack (unwinding drops it); what only the interpreter does (an
// asynchronous exception, a signal for the main thread while this is another) leaves through a Reexec exit of the
// next instruction, where the interpreter would have gone on. Before the tracing check: CPython runs the handler
// before the next instruction is traced.
static void pollAfterCall(Emitter& e) {
  const Instruction* next = e.bc.at(e.in->next);
  if (!next) return;
  int raise = e.makeExit(ExitKind::Raise, Reason::Raised, "signal handler after CALL");
  const Instruction* call = e.in;
  e.in = next;
  int reexec = e.makeExit(ExitKind::Reexec, Reason::EvalBreaker, "eval breaker after CALL");
  e.in = call;
  e.emitVoid(Op::Poll, {}, 0, reexec);
  e.cur->instrs.back().exit2 = raise;
}

// A method of list or str, called on an exact list or str (a method cache's descriptor guarantees that) with these
// arguments, that never runs Python code: it stores, moves or returns its arguments, compares only strs, and takes
// an index only as an unboxed int (an object's __index__ could run code). No callee can look at this frame's
// locals during it, so they need not be synced first.
bool runsNoPythonCode(PyObject* method, const StackEntry* args, size_t n) {
  if (!method || !Py_IS_TYPE(method, &PyMethodDescr_Type)) return false;
  auto* d = reinterpret_cast<PyMethodDescrObject*>(method);
  const char* name = d->d_method->ml_name;
  auto is = [&](std::initializer_list<const char*> names) {
    for (const char* x : names)
      if (std::strcmp(x, name) == 0) return true;
    return false;
  };
  auto intArg = [&](size_t i) { return args[i].type == Type::Int || args[i].type == Type::Bool; };
  if (d->d_common.d_type == &PyList_Type) {
    if (is({"append"})) return n == 1;
    if (is({"pop"})) return n == 0 || (n == 1 && intArg(0));
    if (is({"insert"})) return n == 2 && intArg(0);
    if (is({"reverse", "copy", "clear"})) return n == 0;
  } else if (d->d_common.d_type == &PyUnicode_Type) {
    if (is({"upper", "lower", "isdigit", "isalpha", "isspace"})) return n == 0;
    if (is({"strip", "lstrip", "rstrip", "split", "rsplit", "startswith", "endswith", "partition", "rpartition",
            "find", "rfind"}))
      return n <= 1;
    if (is({"replace"})) return n == 2;
  }
  return false;
}

// The example of a call of a str method that runsNoPythonCode (`line.split("|")`, `name.replace("a", "4")`): the
// method run on the examples of its object and arguments, when those are an exact str (of at most 4096 characters:
// the call costs the compile little) and exact strs, ints and Nones. Those methods are C code that only reads
// them, so running them is no different from reading an item. Held for the compile; null when there is none.
PyObject* strMethodExample(Emitter& e, PyObject* method, const StackEntry* args, size_t n) {
  if (!e.opts.samples || !method || !Py_IS_TYPE(method, &PyMethodDescr_Type) ||
      reinterpret_cast<PyMethodDescrObject*>(method)->d_common.d_type != &PyUnicode_Type ||
      !runsNoPythonCode(method, args + 1, n - 1) || n > 4)
    return nullptr;
  PyObject* values[4];
  for (size_t i = 0; i < n; i++) {
    PyObject* x = e.exampleOf(args[i]);
    if (!x || !(PyUnicode_CheckExact(x) || PyLong_CheckExact(x) || x == Py_None)) return nullptr;
    values[i] = x;
  }
  if (!PyUnicode_CheckExact(values[0]) || PyUnicode_GET_LENGTH(values[0]) > 4096) return nullptr;
  PyObject* r = PyObject_Vectorcall(method, values, n, nullptr);
  if (!r) {
    PyErr_Clear();
    return nullptr;
  }
  PyObject* held = e.opts.samples->keep(r);
  Py_DECREF(r);
  return held;
}

// Any callable, through the vectorcall protocol (CPython's own CALL): the arguments are boxed, the result is an
// object, and an exception raised by the callee leaves through a Raise exit at this instruction.
bool callGeneric(Emitter& e, size_t n, AfterCall after) {
  size_t size = e.stack.size();
  size_t base = size - n - 2;  // NULL (plain call) or the method (method call: then the next entry is self)
  bool meth = e.stack[base].type != Type::Null;
  const StackEntry& callable = e.stack[meth ? base : base + 1];
  size_t firstArg = meth ? base + 1 : base + 2;
  if (!hasValue(callable.type)) return exitBeforeCall(e, Reason::NotCallable, "CALL of a virtual value");
  // A virtual range is passed as a range object (`list(range(n))`), an iterator over one as a range iterator (the
  // argument of a comprehension's function: `[f(i) for i in range(n)]`).
  for (size_t i = firstArg; i < size; i++)
    if (!hasValue(e.stack[i].type) && e.stack[i].type != Type::Range && e.stack[i].type != Type::RangeIter)
      return exitBeforeCall(e, Reason::Unsupported, "CALL with a virtual argument");
  // list(...) and tuple(...) make exactly that: the result's example (its items: ints for a range).
  PyObject* example = nullptr;
  PyObject* maker = e.sampleOf(callable);
  if (e.opts.samples && (maker == reinterpret_cast<PyObject*>(&PyList_Type) ||
                         maker == reinterpret_cast<PyObject*>(&PyTuple_Type))) {
    std::vector<PyObject*> items;
    if (size - firstArg == 1 && e.stack[firstArg].type == Type::Range) items.push_back(e.opts.samples->ofType(Type::Int));
    example = e.opts.samples->sequence(maker == reinterpret_cast<PyObject*>(&PyTuple_Type), items);
  } else if (e.opts.samples && maker && (maker == deopt::originalBuiltin("zip") ||
                                         maker == deopt::originalBuiltin("enumerate"))) {
    // zip(xs, ys) and enumerate(xs): what they yield first, for `for x, y in zip(xs, ys)`.
    std::vector<PyObject*> iterables;
    for (size_t i = firstArg; i < size; i++) iterables.push_back(e.exampleOf(e.stack[i]));
    example = e.opts.samples->zipped(maker == deopt::originalBuiltin("enumerate"), iterables);
  } else if (meth) {
    example = strMethodExample(e, e.stack[base].hint, &e.stack[firstArg], size - firstArg);
  }
  if (!meth || e.kwnamesConst >= 0 || !runsNoPythonCode(e.stack[base].hint, &e.stack[firstArg + 1], size - firstArg - 1))
    syncFrameLocals(e);
  std::vector<int> items;
  items.push_back(e.box(callable));
  int kw = e.kwnamesConst;
  if (kw >= 0) items.push_back(e.emit(Op::LoadSlotObj, Type::Obj, {}, e.constSlot(kw)));
  for (size_t i = firstArg; i < size; i++) items.push_back(e.box(e.stack[i]));
  e.stack.resize(base);
  e.kwnamesConst = -1;
  e.kwnamesIn = nullptr;
  int ex = e.makeExit(ExitKind::Raise, Reason::Raised, "CALL");
  e.push(Type::Obj, e.emit(Op::CallObj, Type::Obj, items, kw >= 0 ? 1 : 0, ex));
  e.stack.back().sample = example;
  if (after == AfterCall::PollEvalBreaker) pollAfterCall(e);
  exitIfTracingAfterCall(e);
  return true;
}

namespace {

// The guard len() (or, with `ord`, ord()) of `s` compiles to: an exact list, tuple or str predicted by its example
// (ord: a str only), unless the call's instruction was widened; else none.
std::optional<TypeTag> lengthTag(const Emitter& e, const StackEntry& s, bool ord) {
  PyObject* x = e.sampleOf(s);
  if (!x || e.opts.widen.count(e.in->unit)) return std::nullopt;
  if (PyUnicode_CheckExact(x)) return TypeTag::Str;
  if (ord) return std::nullopt;
  if (PyList_CheckExact(x)) return TypeTag::List;
  if (PyTuple_CheckExact(x)) return TypeTag::Tuple;
  return std::nullopt;
}

// abs, min, max, float and int of unboxed numbers, where the result is exactly CPython's (the callable is the
// original builtin, guarded by identity: LOAD_GLOBAL's 'k'). False: not such a call, use the generic path.
bool callBuiltin(Emitter& e, const StackEntry& callable, size_t n) {
  auto is = [&](const char* name) { return callable.known == deopt::originalBuiltin(name); };
  auto is2 = [](const StackEntry& s, const char* name) { return s.known && s.known == deopt::originalBuiltin(name); };
  size_t size = e.stack.size();
  const StackEntry* args = &e.stack[size - n];
  int result = -1;
  int release = 0;
  Type rtype = Type::Void;
  if (is("abs") && n == 1 && ir::isNumeric(args[0].type)) {
    if (args[0].type == Type::Float) {
      result = e.emit(Op::FloatAbs, Type::Float, {args[0].v[0]});
      rtype = Type::Float;
    } else {
      int ex = e.makeExit(ExitKind::Reexec, Reason::IntOverflow, "abs()");
      result = e.emit(Op::IntAbs, Type::Int, {e.asInt(args[0])}, 0, ex);
      rtype = Type::Int;
    }
  } else if ((is("min") || is("max")) && n == 2 && ir::isNumeric(args[0].type) && ir::isNumeric(args[1].type)) {
    // Same kind only: min(1, 2.0) returns one of the objects as it is (an int or a float), decided at run time.
    bool ints = args[0].type != Type::Float && args[1].type != Type::Float;
    bool floats = args[0].type == Type::Float && args[1].type == Type::Float;
    if (!ints && !floats) return false;
    if (ints && (args[0].type == Type::Bool || args[1].type == Type::Bool)) return false;  // min(True, 1) is True
    int64_t which = is("max") ? 1 : 0;
    result = e.emit(floats ? Op::FloatMinMax : Op::IntMinMax, floats ? Type::Float : Type::Int,
                    {args[0].v[0], args[1].v[0]}, which);
    rtype = floats ? Type::Float : Type::Int;
  } else if (is("isinstance") && n == 2 && ir::isNumeric(args[0].type) && args[1].type == Type::Obj &&
             (is2(args[1], "int") || is2(args[1], "float") || is2(args[1], "bool"))) {
    // An unboxed number's type is known exactly: int (a bool is an int too), float or bool.
    Type t = args[0].type;
    bool yes = is2(args[1], "int") ? t != Type::Float : is2(args[1], "float") ? t == Type::Float : t == Type::Bool;
    result = e.constBool(yes);
    rtype = Type::Bool;
    release = 1;
  } else if (is("isinstance") && n == 2 && args[0].type == Type::Obj && args[1].type == Type::Obj) {
    // As len(): both arguments consumed by the op, a raise (from __instancecheck__, a bad second argument) leaves
    // through a Raise exit here. The result is a Bool for the code that tests it.
    StackEntry fn = callable;
    int obj = args[0].v[0], cls = args[1].v[0];
    e.stack.resize(size - n - 2);
    e.discard(fn);
    int ex = e.makeExit(ExitKind::Raise, Reason::Raised, "isinstance()");
    e.push(Type::Bool, e.emit(Op::IsInstance, Type::Bool, {obj, cls}, 0, ex));
    return true;
  } else if (is("type") && n == 1 && args[0].type == Type::Obj) {
    StackEntry fn = callable;
    StackEntry obj = args[0];
    e.stack.resize(size - n - 2);
    int t = e.emit(Op::TypeOf, Type::Obj, {obj.v[0]});
    e.discard(obj);
    e.discard(fn);
    e.push(Type::Obj, t);
    return true;
  } else if ((is("len") || is("ord")) && n == 1 && args[0].type == Type::Obj && lengthTag(e, args[0], is("ord"))) {
    // len() of what is predicted an exact list, tuple or str: its size field; ord() of a predicted str: its one
    // character. Guarded before anything is consumed (Reexec: the interpreter calls the builtin, or raises).
    StackEntry fn = callable;
    StackEntry obj = args[0];
    TypeTag tag = *lengthTag(e, obj, is("ord"));
    int ex = e.makeExit(ExitKind::Reexec, Reason::Predicted, is("ord") ? "ord()" : "len()");
    e.emitVoid(Op::GuardType, {obj.v[0]}, int64_t(tag), ex);
    int r = is("ord") ? e.emit(Op::StrOrd, Type::Int, {obj.v[0]}, 0, ex)
                      : e.emit(Op::SeqLen, Type::Int, {obj.v[0]}, int64_t(tag));
    e.stack.resize(size - n - 2);
    e.discard(obj);
    e.discard(fn);
    e.push(Type::Int, r);
    return true;
  } else if (is("len") && n == 1 && args[0].type == Type::Obj && e.opts.direct) {
    // No frame: the lengths C code gives, else the interpreter calls len() (the stack untouched).
    StackEntry fn = callable;
    int obj = args[0].v[0];
    int ex = e.makeExit(ExitKind::Reexec, Reason::Predicted, "len()");
    int r = e.emit(Op::LenInPlace, Type::Int, {obj}, 0, ex);
    e.stack.resize(size - n - 2);
    e.discard(fn);
    e.push(Type::Int, r);
    return true;
  } else if (is("len") && n == 1 && args[0].type == Type::Obj) {
    // As a generic CALL: callable and argument leave the stack, an error leaves through a Raise exit here.
    StackEntry fn = callable;
    int obj = args[0].v[0];
    e.stack.resize(size - n - 2);
    e.discard(fn);  // the global binding keeps the builtin alive
    int ex = e.makeExit(ExitKind::Raise, Reason::Raised, "len()");
    e.push(Type::Int, e.emit(Op::ObjLen, Type::Int, {obj}, 0, ex));
    return true;
  } else if (is("bool") && n == 1 && ir::isNumeric(args[0].type)) {
    Type t = args[0].type;
    result = t == Type::Bool ? args[0].v[0]
             : e.emit(t == Type::Float ? Op::FloatTruthy : Op::IntTruthy, Type::Bool, {args[0].v[0]});
    rtype = Type::Bool;
  } else if (is("float") && n == 1 && ir::isNumeric(args[0].type)) {
    result = args[0].type == Type::Float ? args[0].v[0] : e.emit(Op::IntToFloat, Type::Float, {e.asInt(args[0])}, 0);
    rtype = Type::Float;
  } else if (is("int") && n == 1 && ir::isNumeric(args[0].type)) {
    if (args[0].type == Type::Float) {
      int ex = e.makeExit(ExitKind::Reexec, Reason::IntOverflow, "int() of a float");
      result = e.emit(Op::FloatToInt, Type::Int, {args[0].v[0]}, 0, ex);
    } else {
      result = e.asInt(args[0]);
    }
    rtype = Type::Int;
  } else {
    return false;
  }
  // Numbers need no release; the callable (an Obj with a reference) does, and so does an object argument that
  // was only looked at (isinstance's type). len() consumed its argument.
  StackEntry fn = callable;
  std::vector<StackEntry> looked;
  if (release) looked.push_back(args[1]);
  e.stack.resize(size - n - 2);
  for (const StackEntry& s : looked) e.discard(s);
  e.discard(fn);
  e.push(rtype, result);
  return true;
}

// An unboxed argument of this function passed on as it came (or a copy of one, on every path): the callee must get
// the object itself (`g(a) is a`, as in CPython), so it is passed as that object. (A constant, or an origin on some
// paths only, is passed as a number: its identity through the callee is lost, see limitations.)
bool passesObject(const StackEntry& s) {
  return hasOrigin(s.type) && s.origin >= 0 && !s.originMaybeNull && !s.originConst;
}

// The signature of a direct call's arguments, the top `n` entries (`self` first when `withSelf`: an Init call's
// instance, an object that exists only once the call is made), and their examples; false when one of them cannot be
// passed directly.
bool directSignature(Emitter& e, size_t n, bool withSelf, std::string* sig, std::vector<PyObject*>* examples) {
  size_t size = e.stack.size();
  if (withSelf) {
    *sig += 'o';
    examples->push_back(nullptr);
  }
  for (size_t i = size - n; i < size; i++) {
    const StackEntry& s = e.stack[i];
    Type t = passesObject(s) ? Type::Obj : s.type;  // boxed before the call (boxArguments)
    if (t == Type::Int) *sig += 'i';
    else if (t == Type::Float) *sig += 'f';
    else if (t == Type::Bool) *sig += 'b';
    else if (t == Type::Obj) *sig += 'o';
    else return false;
    examples->push_back(e.exampleOf(s));
  }
  return true;
}

// The arguments directSignature passes as objects, boxed on the stack (each its origin object again).
void boxArguments(Emitter& e, size_t n) {
  for (size_t i = e.stack.size() - n; i < e.stack.size(); i++) {
    if (!passesObject(e.stack[i])) continue;
    StackEntry boxed;
    boxed.type = Type::Obj;
    boxed.sample = e.exampleOf(e.stack[i]);
    boxed.v[0] = e.box(e.stack[i]);
    e.stack[i] = boxed;
  }
}

// What a direct call is of (ir::DirectFlag): a function on the stack; `C(args)` (the function is C's __init__, the
// stack's callable C); a class's __op__ for BINARY_OP (the operands are the arguments, and stay on the stack until
// it returns), or __getitem__ for BINARY_SUBSCR; a class's __setitem__ for STORE_SUBSCR (the same, and its result
// is dropped: nothing is pushed).
enum class DirectKind { Call, Init, Operator, Store };

// The direct call of `target` (the Python function compiled for, whose direct entry returns `rtype`), `fn` its IR
// value, with the top `n` stack entries (the call's entries start at `base`). Exits: `changed` (made by the caller,
// before the call with the stack as it is: the site's callee is another), the callee's exception at this
// instruction, and after it with its result. `example`: the result's, when the caller knows one (else the callee's
// return example); `poly`: the site may see several callees (a PolyCallSite).
void emitDirect(Emitter& e, DirectKind kind, int fn, PyObject* target, const std::string& sig, Type rtype, size_t n,
                size_t base, bool borrowed, int oparg, int changed, PyObject* example, bool poly) {
  size_t size = e.stack.size();
  std::vector<int> args = {fn};
  if (kind == DirectKind::Init) args.push_back(e.stack[base + 1].v[0]);  // the class (consumed)
  for (size_t i = size - n; i < size; i++) args.push_back(e.stack[i].v[0]);
  bool operands = kind == DirectKind::Operator || kind == DirectKind::Store;
  const char* what = !operands                   ? "CALL"
                     : kind == DirectKind::Store ? "STORE_SUBSCR"
                     : oparg == PYPA_SUBSCR_GET  ? "BINARY_SUBSCR"
                     : oparg >= kCompareOperator ? "COMPARE_OP"
                                                 : "BINARY_OP";
  // An operator's operands are still on the stack if it raises: the interpreter's unwinding releases them.
  int raised = operands ? e.makeExit(ExitKind::Raise, Reason::Raised, what) : -1;
  e.stack.resize(base);
  if (raised < 0) raised = e.makeExit(ExitKind::Raise, Reason::Raised, what);
  // After the call, with its result (boxed) on the stack; the snapshot's top is a placeholder the lowering
  // replaces with the returned object.
  const Instruction* next = e.bc.at(e.in->next);
  StackEntry placeholder;
  placeholder.type = Type::Obj;
  placeholder.v[0] = fn;
  bool discard = kind == DirectKind::Store;
  if (!discard) e.push(placeholder);
  int mismatch = e.makeExit(ExitKind::Reexec, Reason::CallResultType, what);
  // The same place, for a callee that ran Python code (it exited) which switched tracing on: this frame goes on
  // in the interpreter, which reports its events (direct entries do not check tracing when they start).
  int tracing = e.makeExit(ExitKind::Reexec, Reason::TracingOn, std::string("after ") + what);
  if (!discard) e.stack.pop_back();
  for (int x : {mismatch, tracing}) {
    ir::ExitPoint& mx = e.fn.exits[x];
    mx.unit = next->unit;
    mx.resumeUnit = next->start;
    mx.line = next->line;
  }
  // A method's or an operator's site may see the methods of several classes (a polymorphic `task.step()`).
  ir::SlotKind kindOfSite = poly ? ir::SlotKind::PolyCallSite : ir::SlotKind::CallSite;
  int slot = int(e.fn.slots.size());
  e.fn.slots.push_back(ir::Slot{kindOfSite, int(rtype), sig});
  for (int k = 0; k < ir::slotGroupWords(kindOfSite); k++)
    e.fn.slots.push_back(ir::Slot{ir::slotWordKind(kindOfSite), 0, ""});
  if (e.opts.directInline)
    if (auto callee = e.opts.directInline(target, sig)) e.fn.inlined[slot] = std::move(callee);
  // A site may meet a callee with no direct entry (a subclass's method that runs other Python code, a callee whose
  // entry exited too often): called through vectorcall then, where its arguments are objects and this is a frame
  // entry, rather than leaving the frame. That cold path first writes into the frame the locals the CalleeChanged
  // exit would (SnapLocal::unsynced), for a callee that looks at them.
  bool generic = kind == DirectKind::Call && !e.opts.direct &&
                 sig.find_first_not_of('o') == std::string::npos;
  int64_t flags = (borrowed ? ir::kDirectBorrowed : 0) | (kind == DirectKind::Init ? ir::kDirectInit : 0) |
                  (operands ? ir::kDirectOperator | int64_t(oparg) << 8 : 0) | (generic ? ir::kDirectGeneric : 0) |
                  (discard ? ir::kDirectDiscard : 0);
  int r = e.emit(Op::CallDirect, rtype, args, int64_t(slot) | flags << 32, changed);
  ir::Instr& call = e.cur->instrs.back();
  call.exit2 = raised;
  call.exit3 = mismatch;
  call.exit4 = tracing;
  if (discard) {
    // What __setitem__ returned is dropped, as slot_mp_ass_subscript drops it.
    if (rtype == Type::Obj) e.emitVoid(Op::DecRef, {r});
    return;
  }
  e.push(rtype, r);
  if (rtype == Type::Obj && e.opts.samples) {
    if (!example && e.opts.directExample) example = e.opts.samples->keep(e.opts.directExample(target, sig));
    e.stack.back().sample = example;
  }
}

// The instruction after this one: the exits after a direct call resume there.
bool hasNext(Emitter& e) { return e.bc.at(e.in->next) != nullptr; }

// A Python function the callee-return callback accepts (simple positional signature, compilable as a direct
// entry that never runs code which could look at frames): called natively with unboxed arguments. The site guards
// the callee's code object at run time; another callee leaves before the call (the interpreter calls it).
// `target` is the function compiled for (the callable's known object, or the method the example's class has);
// the `n` arguments are the top entries (a method call's first is self), and the call's entries start at `base`.
bool callDirect(Emitter& e, const StackEntry& callable, PyObject* target, size_t n, size_t base, bool poly = false) {
  if (!e.opts.directReturn || !target || !PyFunction_Check(target) || e.opts.widen.count(e.in->unit)) return false;
  if (Py_TYPE(target) != &PyFunction_Type || !hasNext(e)) return false;
  std::string sig;
  std::vector<PyObject*> examples;
  if (!directSignature(e, n, false, &sig, &examples)) return false;
  Type rtype = e.opts.directReturn(target, sig, examples);
  if (rtype == Type::Void) return false;
  // The callee kept returning other types than inferred (its CallResultType exit, at the next instruction, was
  // widened): any result is taken, as an object.
  if (e.opts.widen.count(e.bc.at(e.in->next)->unit)) rtype = Type::Obj;
  boxArguments(e, n);
  int changed = e.makeExit(ExitKind::Reexec, Reason::CalleeChanged, "CALL");
  // The call site holds the function it matches, so the reference LOAD_GLOBAL took is not needed: when it was
  // taken in this block (and the value has no other owner), leave it out, and let the exits that hold the
  // callable since then take one for the frame. (Two reference count updates per call, on one object, would
  // serialize a loop of calls.)
  bool borrowed = false;
  int cid = callable.v[0];
  int owners = 0;
  for (const StackEntry& s : e.stack) owners += s.type == Type::Obj && s.v[0] == cid;
  for (size_t k = e.cur->instrs.size(); owners == 1 && k-- > 0;) {
    ir::Instr& x = e.cur->instrs[k];
    if (x.id == cid) break;  // its definition: no IncRef after it here
    if (x.op == Op::IncRef && x.args.size() == 1 && x.args[0] == cid) {
      e.cur->instrs.erase(e.cur->instrs.begin() + long(k));
      borrowed = true;
      break;
    }
  }
  if (borrowed) e.markBorrowed(cid);
  emitDirect(e, DirectKind::Call, cid, target, sig, rtype, n, base, borrowed, 0, changed, nullptr, poly);
  return true;
}

// A new TypeMethodCache (slot_kinds.def) for `dunder`: the first slot, LoadOperator's and LoadInit's immediate.
int64_t typeMethodSite(Emitter& e, const char* dunder) {
  int slot = int(e.fn.slots.size());
  e.fn.slots.push_back(ir::Slot{ir::SlotKind::TypeMethodCache, 0, dunder});
  for (int k = 0; k < ir::slotGroupWords(ir::SlotKind::TypeMethodCache); k++)
    e.fn.slots.push_back(ir::Slot{ir::slotWordKind(ir::SlotKind::TypeMethodCache), 0, ""});
  return slot;
}

// `C(args)` of a class predicted to be one whose instances object's __new__ makes and a Python __init__ sets up
// (type_call, slot_tp_init): the instance is allocated natively and __init__ runs as a direct call with it as self.
// The class's version tag (its TypeMethodCache) guards all that; another callable leaves before the call.
bool callInit(Emitter& e, const StackEntry& callable, size_t n) {
  PyObject* cls = e.sampleOf(callable);
  if (!e.opts.directReturn || !cls || !PyType_Check(cls) || e.opts.widen.count(e.in->unit) || !hasNext(e)) return false;
  uint32_t version;
  PyObject* init;
  if (!pypa_type_method(reinterpret_cast<PyTypeObject*>(cls), -1, &version, &init)) return false;
  std::string sig;
  std::vector<PyObject*> examples;
  if (!directSignature(e, n, true, &sig, &examples)) return false;
  // The instance's example, and self's in __init__: an instance of C already held, else a blank one, which
  // __init__'s analysis (when this call infers it) gives the examples of what it stores (Samples::noteStore).
  PyObject* example = nullptr;
  if (e.opts.samples) {
    auto* tp = reinterpret_cast<PyTypeObject*>(cls);
    example = e.opts.samples->instanceOf(tp);
    if (!example) example = e.opts.samples->blankInstance(tp, init, std::vector<PyObject*>(examples.begin() + 1, examples.end()));
    examples[0] = example;
  }
  if (e.opts.directReturn(init, sig, examples) != Type::Obj) return false;
  boxArguments(e, n);
  int ex = e.makeExit(ExitKind::Reexec, Reason::Predicted, "CALL");
  int fn = e.emit(Op::LoadInit, Type::Obj, {callable.v[0]}, typeMethodSite(e, "__init__"), ex);
  int changed = e.makeExit(ExitKind::Reexec, Reason::CalleeChanged, "CALL");
  emitDirect(e, DirectKind::Init, fn, init, sig, Type::Obj, n, e.stack.size() - n - 2, true, 0, changed, example,
             false);
  return true;
}

}  // namespace

bool callOperator(Emitter& e, int oparg) {
  size_t size = e.stack.size();
  PyObject* ax = e.sampleOf(e.stack[size - 2]);
  if (!e.opts.directReturn || e.stack[size - 2].type != Type::Obj || !ax || e.opts.widen.count(e.in->unit) ||
      !hasNext(e))
    return false;
  PyTypeObject* tp = Py_TYPE(ax);
  // The other operand: of the same class (checked), whose slot answers NotImplemented no differently, or a number
  // (unboxed, or predicted and then guarded and unboxed: `money * weight`), whose type's slot is a C one (float_add,
  // long_richcompare...) that answers NotImplemented for a class instance. With any other type, binary_op1 and
  // do_richcompare may ask its slot first (a subclass) or after (__radd__, a reflected comparison): the generic path.
  const StackEntry& b = e.stack[size - 1];
  bool unbox = e.predictsNumber(b);
  bool sameClass = b.type == Type::Obj && !unbox;
  if (sameClass && (!e.sampleOf(b) || Py_TYPE(e.sampleOf(b)) != tp)) return false;
  if (!sameClass && !unbox && !ir::isNumeric(b.type)) return false;
  uint32_t version;
  PyObject* func;
  if (!pypa_type_method(tp, oparg, &version, &func)) return false;
  std::string sig;
  std::vector<PyObject*> examples;
  if (!directSignature(e, 2, false, &sig, &examples)) return false;
  ir::TypeTag tag;
  if (unbox && numberTag(e.sampleOf(b), &tag)) sig[1] = tag == ir::TypeTag::Float ? 'f' : 'i';
  // Whatever it returns, the site takes it as an object: NotImplemented must be seen as such (a bool or float
  // result comes back unboxed and is boxed, see DirectCallSite::decodeResult).
  if (e.opts.directReturn(func, sig, examples) == Type::Void) return false;
  const char* what = oparg >= kCompareOperator ? "COMPARE_OP" : "BINARY_OP";
  if (unbox) e.unboxPredicted({size - 1}, e.makeExit(ExitKind::Reexec, Reason::Predicted, what));
  boxArguments(e, 2);
  // Taken after the unboxing: an exit made before it would still list the released object on the stack.
  int ex = e.makeExit(ExitKind::Reexec, Reason::Predicted, what);
  int a = e.stack[size - 2].v[0];
  int64_t site = typeMethodSite(e, pypa_binary_dunder(oparg)) | int64_t(oparg) << 32;
  int fn = e.emit(Op::LoadOperator, Type::Obj, {a}, site, ex);
  if (sameClass) e.emitVoid(Op::GuardSameType, {a, e.stack[size - 1].v[0]}, 0, ex);
  int changed = e.makeExit(ExitKind::Reexec, Reason::CalleeChanged, what);
  emitDirect(e, DirectKind::Operator, fn, func, sig, Type::Obj, 2, size - 2, true, oparg, changed, nullptr, true);
  return true;
}

bool callSubscriptMethod(Emitter& e, int which) {
  bool store = which == PYPA_SUBSCR_SET;
  size_t n = store ? 3 : 2;
  size_t size = e.stack.size();
  PyObject* cs = e.sampleOf(e.stack[size - 2]);
  if (!e.opts.directReturn || e.stack[size - 2].type != Type::Obj || !cs || e.opts.widen.count(e.in->unit) ||
      !hasNext(e))
    return false;
  uint32_t version;
  PyObject* func;
  if (!pypa_type_method(Py_TYPE(cs), which, &version, &func)) return false;
  // STORE_SUBSCR's stack is (value, container, key); __setitem__ takes (container, key, value). The entries are
  // looked at, and boxed, in the call's order; the exits before the call see the stack as the instruction has it.
  auto toCallOrder = [&] {
    if (store) std::rotate(e.stack.end() - 3, e.stack.end() - 2, e.stack.end());
  };
  auto toStackOrder = [&] {
    if (store) std::rotate(e.stack.end() - 3, e.stack.end() - 1, e.stack.end());
  };
  std::string sig;
  std::vector<PyObject*> examples;
  toCallOrder();
  bool ok = directSignature(e, n, false, &sig, &examples);
  // No NotImplemented to look for: __getitem__'s result is what it returns, unboxed when it returns a number (an
  // object where the callee kept returning other types: the next instruction widened); __setitem__'s is dropped,
  // taken as whatever object it is.
  Type rtype = ok ? e.opts.directReturn(func, sig, examples) : Type::Void;
  if (rtype != Type::Void && (store || e.opts.widen.count(e.bc.at(e.in->next)->unit))) rtype = Type::Obj;
  if (rtype != Type::Void) boxArguments(e, n);
  toStackOrder();
  if (rtype == Type::Void) return false;
  const char* what = store ? "STORE_SUBSCR" : "BINARY_SUBSCR";
  int ex = e.makeExit(ExitKind::Reexec, Reason::Predicted, what);
  int a = e.stack[size - 2].v[0];
  int fn = e.emit(Op::LoadOperator, Type::Obj, {a}, typeMethodSite(e, pypa_binary_dunder(which)) | int64_t(which) << 32,
                  ex);
  int changed = e.makeExit(ExitKind::Reexec, Reason::CalleeChanged, what);
  toCallOrder();
  emitDirect(e, store ? DirectKind::Store : DirectKind::Operator, fn, func, sig, rtype, n, size - n, true, which,
             changed, nullptr, true);
  return true;
}

bool handle_PRECALL(Emitter& e, const Instruction& in) {
  size_t n = size_t(in.arg);
  if (e.stack.size() < n + 2) return e.fail(deopt::Refusal::ShortStack, {"PRECALL"});
  return true;
}

namespace {

// xs.append(v), xs.pop(), xs.pop(i), xs.insert(i, v) where LOAD_METHOD left list's own method (loadBuiltinMethod:
// xs guarded an exact list there) and an index is an int: the list changed in place, as the method does, without
// the call through the descriptor (what 3.11's PRECALL_NO_KW_LIST_APPEND does for append). False: not such a call.
bool callListMethod(Emitter& e, size_t n) {
  size_t size = e.stack.size();
  size_t base = size - n - 2;
  const StackEntry& method = e.stack[base];
  if (method.type != Type::Obj || !method.known || e.kwnamesConst >= 0 || e.stack[base + 1].type != Type::Obj)
    return false;
  auto is = [&](const char* name) { return method.known == deopt::builtinMethod("list", name); };
  auto intAt = [&](size_t i) { return e.stack[i].type == Type::Int || e.stack[i].type == Type::Bool; };
  bool append = is("append") && n == 1 && hasValue(e.stack[size - 1].type);
  bool pop = is("pop") && (n == 0 || (n == 1 && intAt(size - 1)));
  bool insert = is("insert") && n == 2 && intAt(size - 2) && hasValue(e.stack[size - 1].type);
  if (!append && !pop && !insert) return false;
  // A Raise exit (memory) leaves with the call's entries still on the stack, owned: the interpreter's unwinding
  // releases them, as CPython's CALL releases its inputs on an error.
  int list = e.stack[base + 1].v[0];
  int result;
  PyObject* example = nullptr;
  if (pop) {
    // Empty, or the index out of range: the interpreter raises the IndexError, nothing consumed.
    int ex = e.makeExit(ExitKind::Reexec, Reason::OutOfRange, "list.pop()");
    int index = n ? e.asInt(e.stack[size - 1]) : e.constInt(-1);
    result = e.emit(Op::ListPop, Type::Obj, {list, index}, 0, ex);
    e.cur->instrs.back().exit2 = e.makeExit(ExitKind::Raise, Reason::Raised, "CALL");
    if (e.opts.samples) example = e.opts.samples->item(e.sampleOf(e.stack[base + 1]), -1);
  } else if (append) {
    if (e.opts.samples) e.opts.samples->noteAppend(e.sampleOf(e.stack[base + 1]), e.exampleOf(e.stack[size - 1]));
    int value = e.box(e.pop());  // consumed by the append, whatever happens
    e.emitVoid(Op::ListAppend, {list, value}, 0, e.makeExit(ExitKind::Raise, Reason::Raised, "CALL"));
    result = e.emit(Op::NoneObj, Type::Obj);
    e.emitVoid(Op::IncRef, {result});
  } else {
    // The value is borrowed by the insert; a number is boxed for it, owned by the stack from here.
    if (e.opts.samples) e.opts.samples->noteAppend(e.sampleOf(e.stack[base + 1]), e.exampleOf(e.stack[size - 1]));
    StackEntry value = e.pop();
    StackEntry boxed;
    boxed.type = Type::Obj;
    boxed.v[0] = e.box(value);
    e.push(boxed);
    e.emitVoid(Op::ListInsert, {list, e.asInt(e.stack[size - 2]), boxed.v[0]}, 0,
               e.makeExit(ExitKind::Raise, Reason::Raised, "CALL"));
    result = e.emit(Op::NoneObj, Type::Obj);
    e.emitVoid(Op::IncRef, {result});
  }
  while (e.stack.size() > base) e.discard(e.pop());
  StackEntry r;
  r.type = Type::Obj;
  r.v[0] = result;
  r.sample = example;
  e.push(r);
  return true;
}

}  // namespace

bool handle_CALL(Emitter& e, const Instruction& in) {
  size_t n = size_t(in.arg);
  if (e.stack.size() < n + 2) return e.fail(deopt::Refusal::ShortStack, {"CALL"});
  StackEntry callable = e.stack[e.stack.size() - n - 1];
  bool plain = e.stack[e.stack.size() - n - 2].type == Type::Null && e.kwnamesConst < 0;
  // `raise IndexError("...")` in a direct call: the exception is made and raised by the interpreter, as a bare
  // `raise E` is (handle_RAISE_VARARGS), from this call on (whatever is called: the interpreter calls it).
  if (e.opts.direct) {
    const Instruction* next = e.bc.at(e.in->next);
    if (next && next->op == RAISE_VARARGS && next->arg == 1) return e.exitNow(Reason::RaiseStatement, "raise");
  }
  if (plain && callable.known == reinterpret_cast<PyObject*>(&PyRange_Type) && n >= 1 && n <= 3) {
    // An argument predicted to be a small int (an int passed on as its object) is guarded and unboxed.
    size_t size = e.stack.size();
    ir::TypeTag tag;
    for (size_t i = size - n; i < size; i++)
      if (e.predictsNumber(e.stack[i]) && numberTag(e.sampleOf(e.stack[i]), &tag) && tag == ir::TypeTag::SmallInt)
        e.unboxPredicted({i}, e.makeExit(ExitKind::Reexec, Reason::Predicted, "range()"));
    int args[3];
    for (size_t i = 0; i < n; i++) {
      const StackEntry& a = e.stack[e.stack.size() - n + i];
      // A real range object.
      if (a.type != Type::Int && a.type != Type::Bool) return callGeneric(e, n, AfterCall::PollEvalBreaker);
      args[i] = e.asInt(a);
    }
    StackEntry r;
    r.type = Type::Range;
    r.v[0] = n == 1 ? e.constInt(0) : args[0];
    r.v[1] = n == 1 ? args[0] : args[1];
    r.v[2] = n == 3 ? args[2] : e.constInt(1);
    if (n == 3) {
      int ex = e.makeExit(ExitKind::Reexec, Reason::RangeStepZero, "range()");
      e.emitVoid(Op::RangeCheck, {r.v[2]}, 0, ex);
    }
    e.stack.resize(e.stack.size() - n - 2);
    e.discard(callable);
    e.push(r);
    return true;
  }
  if (plain && callable.known && callModuleFunction(e, callable, n)) return true;
  if (plain && callable.known && callBuiltin(e, callable, n)) return true;
  // The function compiled for: the callable itself where it is known, else what it was when compiled (a class's
  // function or staticmethod: LoadClassAttr), which the site guards.
  PyObject* target = callable.known ? callable.known : callable.hint;
  if (plain && callable.type == Type::Obj && callDirect(e, callable, target, n, e.stack.size() - n - 2)) return true;
  if (plain && callable.type == Type::Obj && callInit(e, callable, n)) return true;
  if (!plain && callListMethod(e, n)) return true;
  // obj.method(...) in the method form LOAD_METHOD left ([function, self, args...]): the function the example's
  // class has, called directly with self as its first argument.
  const StackEntry& method = e.stack[e.stack.size() - n - 2];
  if (method.type == Type::Obj && method.hint && e.kwnamesConst < 0 &&
      callDirect(e, method, method.hint, n + 1, e.stack.size() - n - 2, true))
    return true;
  return callGeneric(e, n, AfterCall::PollEvalBreaker);
}

// The globals dict is the function's for good (func_globals cannot be replaced); its being an exact dict is what
// keeps the store free of Python code (a dict subclass as globals is only possible through exec()).
bool handle_STORE_GLOBAL(Emitter& e, const Instruction& in) {
  if (!PyDict_CheckExact(e.globals)) return e.exitNow(Reason::Unsupported, "STORE_GLOBAL with non-dict globals");
  if (!ir::isNumeric(e.stack.back().type) && e.stack.back().type != Type::Obj)
    return e.exitNow(Reason::Unsupported, "STORE_GLOBAL of a virtual value");
  int value = e.box(e.pop());
  e.emitVoid(Op::StoreGlobal, {value}, in.arg, e.makeExit(ExitKind::Raise, Reason::Raised, "STORE_GLOBAL"));
  return true;
}

bool handle_KW_NAMES(Emitter& e, const Instruction& in) {
  e.kwnamesConst = in.arg;
  e.kwnamesIn = &in;
  return true;
}

}  // namespace pypaccel::specialize
