// NativeCtx: the one argument native code gets besides the frame's locals. Its field order is part of the
// compiled code (and so of the cache format): native code reads fields by index. Append only.
#pragma once
#include <Python.h>
#include <cstdint>

namespace pypaccel::runtime {

// Bump when NativeCtx, a pypa_rt_* helper or the exit-buffer layout changes meaning: it is part of every cache key.
constexpr int kNativeFormat = 2;

struct NativeCtx {
  PyThreadState* tstate;     // 0
  void* frame;               // 1  PypaFrame*
  int64_t* slots;            // 2  per-run slot words (see ir::Slot)
  const int* evalBreaker;    // 3
  uint8_t* stress;           // 4  per-exit "already forced once" flags (stress mode)
  PyObject* globals;         // 5
  PyObject* builtins;        // 6
  void* spec;                // 7  the running Specialization
  void** prevInstrAddr;      // 8  &frame->prev_instr
  char* firstInstr;          // 9  first code unit of the code object
  int exited;                // 10 set when an exit handed the frame to the interpreter
};

enum CtxField : unsigned {
  kCtxTstate = 0,
  kCtxFrame,
  kCtxSlots,
  kCtxEvalBreaker,
  kCtxStress,
  kCtxGlobals,
  kCtxBuiltins,
  kCtxSpec,
  kCtxPrevInstrAddr,
  kCtxFirstInstr,
};

// Native entry point: localsplus of the frame (arguments are read from it), and the context.
using NativeEntry = PyObject* (*)(PyObject** localsplus, NativeCtx* ctx);

}  // namespace pypaccel::runtime
