// Deopt: native code gives up at an exit. Rebuild the interpreter frame exactly (locals, value stack, virtual
// ranges materialized, prev_instr) and let _PyEval_EvalFrameDefault finish the call (docs/architecture.md §7 Deopt).
#include <cstring>

#include "cpython/cpy.h"
#include "cpython/layout.h"
#include "deopt/specialization.h"
#include "hook/hook.h"
#include "runtime/helpers.h"
#include "deopt/reasons.h"

using pypaccel::deopt::Reason;
using pypaccel::deopt::Specialization;
using pypaccel::ir::Def;
using pypaccel::ir::Type;
using pypaccel::runtime::NativeCtx;

namespace {

// Boxes one value of type `t` from the buffer (advancing it); Obj words already own their reference.
PyObject* boxValue(Type t, const uint64_t*& p) {
  switch (t) {
    case Type::Int: return PyLong_FromLongLong(int64_t(*p++));
    case Type::Float: {
      double d;
      std::memcpy(&d, p++, sizeof(d));
      return PyFloat_FromDouble(d);
    }
    case Type::Bool: {
      PyObject* b = (*p++ & 1) ? Py_True : Py_False;
      Py_INCREF(b);
      return b;
    }
    case Type::Obj: return reinterpret_cast<PyObject*>(*p++);
    case Type::Null: return nullptr;
    case Type::Range:
    case Type::RangeIter: {
      long long a = int64_t(p[0]), b = int64_t(p[1]), c = int64_t(p[2]);
      p += 3;
      PyObject* r = PyObject_CallFunction(reinterpret_cast<PyObject*>(&PyRange_Type), "LLL", a, b, c);
      if (!r || t == Type::Range) return r;
      PyObject* it = PyObject_GetIter(r);
      Py_DECREF(r);
      return it;
    }
    default: return nullptr;
  }
}

// Drops a value from the buffer without boxing (the local was not bound on this path).
void skipValue(Type t, const uint64_t*& p) { p += pypaccel::ir::typeComponents(t); }

}  // namespace

namespace pypaccel::deopt {

PyObject* exitInFrame(NativeCtx* ctx, int32_t exitId, uint64_t* values) {
  auto* spec = static_cast<Specialization*>(ctx->spec);
  const pypaccel::ir::ExitPoint& x = spec->meta.exits[exitId];
  spec->exits++;
  spec->exitCounts[exitId]++;
  if (spec->meta.stressExits) spec->stressFlags[exitId] = 1;

  auto* frame = static_cast<PypaFrame*>(ctx->frame);
  PyObject** localsplus = pypa_frame_localsplus(frame);
  const uint64_t* p = values;
  // Keep a pending exception (Raise exits) out of the way of the boxing calls.
  PyObject *et = nullptr, *ev = nullptr, *etb = nullptr;
  bool raising = x.kind == pypaccel::ir::ExitKind::Raise || PyErr_Occurred();
  if (raising) PyErr_Fetch(&et, &ev, &etb);
  bool boxFailed = false;
  // A frame entry's Obj locals are in their frame slots already (spec: Emitter::localsInFrame); a direct entry's
  // frame is new, and its Obj words are owned references for it.
  bool objInFrame = !spec->meta.direct;
  // One value (components, then its origin word when it has one): the origin object again, or a new box. Every
  // origin stays alive until the pins go at the end (constants, arguments the frame or a pin holds).
  auto take = [&](Type t, bool hasOrigin) -> PyObject* {
    const uint64_t* comps = p;
    skipValue(t, p);
    PyObject* origin = hasOrigin ? reinterpret_cast<PyObject*>(*p++) : nullptr;
    if (origin) return Py_NewRef(origin);
    PyObject* v = boxValue(t, comps);
    if (!v && t != Type::Null) boxFailed = true;
    return v;
  };
  for (size_t l = 0; l < x.locals.size(); l++) {
    const auto& s = x.locals[l];
    PyObject* v = nullptr;
    if (s.def != Def::No) {
      bool bound = s.def == Def::Yes || (*p++ & 1);
      bool stable = l < spec->stableArgs.size() && spec->stableArgs[l] && localsplus[l] &&
                    pypaccel::ir::isNumeric(s.type);
      if (bound && (stable || (objInFrame && s.type == Type::Obj))) {
        // The frame holds it: an argument the code never stores to (the object it came in as), or an Obj local.
        skipValue(s.type, p);
        if (s.origin) p++;
        continue;
      }
      if (bound) {
        v = take(s.type, s.origin);
      } else {
        skipValue(s.type, p);
        if (s.origin) p++;
      }
    }
    Py_XSETREF(localsplus[l], v);
  }
  int nlocalsplus = pypa_code_nlocalsplus(pypa_frame_code(frame));
  for (size_t d = 0; d < x.stack.size(); d++) {
    PyObject* v = take(x.stack[d].type, x.stack[d].origin >= 0);
    if (x.stack[d].borrowed) Py_XINCREF(v);
    localsplus[nlocalsplus + d] = v;
  }
  // The references the native code held to rebound int and float arguments (ir::Function::pins).
  for (int k = 0; k < x.pins; k++) Py_DECREF(reinterpret_cast<PyObject*>(*p++));
  pypa_frame_set_stack_depth(frame, int(x.stack.size()));
  if (raising) {
    PyErr_Restore(et, ev, etb);
  } else if (boxFailed) {
    raising = true;  // MemoryError from boxing: unwind from here as the interpreter would
  }

  PyThreadState* ts = ctx->tstate;
  pypa_frame_unlink(ts, frame);
  Py_LeaveRecursiveCall();
  ctx->exited = 1;
  if (raising) {
    pypa_frame_set_prev_unit(frame, x.unit);
    return pypa_cpy_eval_raise(ts, frame);
  }
  // A probe's countdown ran out at a loop header: the hook compiles the function again from this frame and goes on
  // in the new code at this header, or lets the interpreter go on (then the new code serves the next call).
  if (x.reason == int(Reason::Reprofile)) {
    PyObject* result;
    if (hook::reenterAfterProbe(ctx, exitId, &result)) return result;
  }
  pypa_frame_set_prev_unit(frame, x.resumeUnit - 1);
  return pypa_cpy_eval_default(ts, frame, 0);
}

namespace {

// Whether `o` lives as long as the frame runs, whatever the code stores: a constant of the code, or an argument
// the code never rebinds. Only such an object can be the origin of a number the resumed code holds unboxed.
bool outlivesTheCall(PyObject* o, PypaFrame* frame, const Specialization& s) {
  PyObject** localsplus = pypa_frame_localsplus(frame);
  for (size_t a = 0; a < s.stableArgs.size(); a++)
    if (s.stableArgs[a] && localsplus[a] == o) return true;
  PyObject* consts = pypa_code_consts(pypa_frame_code(frame));
  for (Py_ssize_t i = 0; consts && i < PyTuple_GET_SIZE(consts); i++)
    if (PyTuple_GET_ITEM(consts, i) == o) return true;
  return false;
}

// The words of one value of type `t` (bound, non-null `o`), or false when `o` is not of that type.
bool unboxInto(Type t, PyObject* o, std::vector<uint64_t>* buf) {
  switch (t) {
    case Type::Obj: buf->push_back(reinterpret_cast<uint64_t>(o)); return true;
    case Type::Int: {
      if (!PyLong_CheckExact(o)) return false;
      int overflow = 0;
      long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
      if (overflow) return false;
      buf->push_back(uint64_t(v));
      return true;
    }
    case Type::Float: {
      if (!PyFloat_CheckExact(o)) return false;
      double d = PyFloat_AS_DOUBLE(o);
      uint64_t w;
      std::memcpy(&w, &d, sizeof(w));
      buf->push_back(w);
      return true;
    }
    case Type::Bool:
      if (o != Py_True && o != Py_False) return false;
      buf->push_back(o == Py_True);
      return true;
    case Type::RangeIter: {
      long long cur, stop, step;
      if (!pypa_range_iter_state(o, &cur, &stop, &step)) return false;
      buf->insert(buf->end(), {uint64_t(cur), uint64_t(stop), uint64_t(step)});
      return true;
    }
    default: return false;
  }
}

}  // namespace

std::string fillResumeBuffer(PypaFrame* frame, const Specialization& s, std::vector<uint64_t>* buf) {
  if (s.resumeExit < 0) return s.noResume.empty() ? "no resume entry" : s.noResume;
  const pypaccel::ir::ExitPoint& x = s.meta.exits[size_t(s.resumeExit)];
  PyObject** localsplus = pypa_frame_localsplus(frame);
  size_t origins = 0;
  // The origin word of a number: its object when that outlives the call, else null where null is allowed.
  auto origin = [&](PyObject* o) {
    bool required = origins < s.resumeOriginRequired.size() && s.resumeOriginRequired[origins];
    origins++;
    if (o && outlivesTheCall(o, frame, s)) {
      buf->push_back(reinterpret_cast<uint64_t>(o));
      return true;
    }
    buf->push_back(0);
    return !required;
  };
  buf->clear();
  for (size_t l = 0; l < x.locals.size(); l++) {
    const auto& sl = x.locals[l];
    PyObject* o = localsplus[l];
    if (sl.def == Def::No) {
      if (o) return "a local the code has unbound there is bound";
      continue;
    }
    if (sl.def == Def::Yes && !o) return "a local the code has bound there is unbound";
    if (sl.def == Def::Maybe) buf->push_back(o != nullptr);
    if (!o) {
      buf->insert(buf->end(), size_t(pypaccel::ir::typeComponents(sl.type)), 0);
    } else if (!unboxInto(sl.type, o, buf)) {
      return "a local of another type than compiled for";
    }
    if (sl.origin && !origin(o)) return "a number whose object the code keeps is not a constant or argument";
  }
  int nlocalsplus = pypa_code_nlocalsplus(pypa_frame_code(frame));
  if (pypa_frame_stack_depth(frame) != int(x.stack.size())) return "another stack depth than compiled for";
  for (size_t d = 0; d < x.stack.size(); d++) {
    PyObject* o = localsplus[nlocalsplus + d];
    Type t = x.stack[d].type;
    if (t == Type::Null) {
      if (o) return "an object where the code has a null";
      continue;
    }
    if (!o || !unboxInto(t, o, buf)) return "a stack entry of another type than compiled for";
    if (x.stack[d].origin >= 0 && !origin(o)) return "a number whose object the code keeps is not a constant or argument";
  }
  if (buf->size() != size_t(exitBufferWords(x))) return "internal: resume buffer layout";
  // Handed over: an object stays the native code's reference; what it holds unboxed is released.
  for (size_t d = 0; d < x.stack.size(); d++) {
    PyObject*& o = localsplus[nlocalsplus + d];
    if (x.stack[d].type != Type::Obj && o) Py_DECREF(o);
    o = nullptr;
  }
  pypa_frame_set_stack_depth(frame, 0);
  return "";
}

}  // namespace pypaccel::deopt

extern "C" PyObject* pypa_rt_exit(NativeCtx* ctx, int32_t exitId, uint64_t* values) {
  // The interpreter takes over at this level: the thread's recursion count is this level's again. (A frame entry
  // keeps the thread's count right itself: it restores it after each direct call.)
  if (!ctx->frame) pypa_tstate_set_recursion_remaining(ctx->tstate, int(ctx->recursion));
  // A direct callee has no frame yet: CPython makes one (hook::exitThroughNewFrame), then the exit proceeds in it.
  if (!ctx->frame) return pypaccel::hook::exitThroughNewFrame(ctx, exitId, values);
  return pypaccel::deopt::exitInFrame(ctx, exitId, values);
}
