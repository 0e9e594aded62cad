// NativeCtx: the one argument native code gets besides the frame's locals. Its field order is part of the
// compiled code (and so of the cache format): native code reads fields by index. Append only.
#pragma once
#include <Python.h>
#include <cstddef>
#include <cstdint>

#include "cpython/layout.h"  // PYPA_*_OFFSET: where native code finds the CPython fields it reads

namespace pypaccel::runtime {

// Bump when NativeCtx, a pypa_rt_* helper or the exit-buffer layout changes meaning: it is part of every cache key.
constexpr int kNativeFormat = 8;

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
  // -- Since format 2 (direct calls between compiled functions) ---------------------------------------------------
  PyObject* func;            // 11 the function running (a direct callee has no frame to find it in)
  char* stackLow;            // 12 below this C stack address, direct calls go through the interpreter
  void* lazyPrevInstr;       // 13 prev_instr of a direct callee that has no frame yet (prevInstrAddr points here)
  // 14 a direct callee's tstate->recursion_remaining. Direct calls count depth in a register, not in the thread
  // state (a read-modify-write per call would serialize them); whatever enters the interpreter or runs Python code
  // from a direct callee first writes this back (see pypa_rt_exit). A frame entry keeps the thread's count right
  // instead (it reads it at each direct call and puts it back after), so a call out that moves the limit
  // (sys.setrecursionlimit) is seen.
  int64_t recursion;
  // -- Since format 8 (probes and resume entries) -----------------------------------------------------------------
  // 15 null for an entry at the function's start; else the resume buffer of an entry at its resume header
  // (deopt::fillResumeBuffer), read by IsResuming / ResumeWord at the start only
  uint64_t* resume;
};

// The part of a specialization a direct call needs, at a fixed layout (native code reads it by index): the
// caller's call site holds a pointer to it.
struct SpecHeader {
  void* directEntry;         // 0 DirectEntry, or nullptr once the specialization must no longer be entered
  int64_t* slots;            // 1
  uint8_t* stress;           // 2
  char* firstInstr;          // 3
  void* spec;                // 4 the Specialization
  uint64_t entries;          // 5
  // 6 deopt::irVariant of its IR: a caller holding a compiled copy of an entry with this variant may run that copy
  // instead (ir::Function::inlined). 0: not a direct entry.
  uint64_t variant;
  // 7 nonzero once a specialization with wider operations replaced this one (it exited too often on a type it
  // did not predict): a call site holding this header resolves the callable again instead of calling it
  // generically (kDirectGeneric).
  uint64_t replaced;
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
  kCtxExited,
  kCtxFunc,
  kCtxStackLow,
  kCtxLazyPrevInstr,
  kCtxRecursion,
  kCtxResume,
};

// Native code reads both structs as arrays of 8-byte words, by these indexes: the enums and the field order must
// agree (they are part of the cache format).
#define PYPA_CTX_AT(field, index) \
  static_assert(offsetof(NativeCtx, field) == size_t(index) * 8, "NativeCtx field order vs CtxField")
PYPA_CTX_AT(tstate, kCtxTstate);
PYPA_CTX_AT(frame, kCtxFrame);
PYPA_CTX_AT(slots, kCtxSlots);
PYPA_CTX_AT(evalBreaker, kCtxEvalBreaker);
PYPA_CTX_AT(stress, kCtxStress);
PYPA_CTX_AT(globals, kCtxGlobals);
PYPA_CTX_AT(builtins, kCtxBuiltins);
PYPA_CTX_AT(spec, kCtxSpec);
PYPA_CTX_AT(prevInstrAddr, kCtxPrevInstrAddr);
PYPA_CTX_AT(firstInstr, kCtxFirstInstr);
PYPA_CTX_AT(exited, kCtxExited);
PYPA_CTX_AT(func, kCtxFunc);
PYPA_CTX_AT(stackLow, kCtxStackLow);
PYPA_CTX_AT(lazyPrevInstr, kCtxLazyPrevInstr);
PYPA_CTX_AT(recursion, kCtxRecursion);
PYPA_CTX_AT(resume, kCtxResume);
static_assert(sizeof(NativeCtx) == (size_t(kCtxResume) + 1) * 8, "a NativeCtx field without a CtxField");
#undef PYPA_CTX_AT

enum SpecHeaderField : unsigned { kHdrDirectEntry = 0, kHdrSlots, kHdrStress, kHdrFirstInstr, kHdrSpec, kHdrEntries,
                                     kHdrVariant, kHdrReplaced };
#define PYPA_HDR_AT(field, index) \
  static_assert(offsetof(SpecHeader, field) == size_t(index) * 8, "SpecHeader field order vs SpecHeaderField")
PYPA_HDR_AT(directEntry, kHdrDirectEntry);
PYPA_HDR_AT(slots, kHdrSlots);
PYPA_HDR_AT(stress, kHdrStress);
PYPA_HDR_AT(firstInstr, kHdrFirstInstr);
PYPA_HDR_AT(spec, kHdrSpec);
PYPA_HDR_AT(entries, kHdrEntries);
PYPA_HDR_AT(variant, kHdrVariant);
PYPA_HDR_AT(replaced, kHdrReplaced);
static_assert(sizeof(SpecHeader) == (size_t(kHdrReplaced) + 1) * 8, "a SpecHeader field without a SpecHeaderField");
#undef PYPA_HDR_AT

// What a direct entry returns: `bits` is the result when `obj` is one of the tags below, else `obj` is the result
// (a new reference), or nullptr when an exception is set. With an object, `bits` is 1 when it is what an exit
// returned (Python code ran, which may have switched tracing on: the caller checks), else 0.
inline PyObject* const kTagInt = reinterpret_cast<PyObject*>(uintptr_t(1));
inline PyObject* const kTagFloat = reinterpret_cast<PyObject*>(uintptr_t(2));
inline PyObject* const kTagBool = reinterpret_cast<PyObject*>(uintptr_t(3));
inline bool isResultTag(PyObject* o) { return uintptr_t(o) >= 1 && uintptr_t(o) <= 3; }

// Native entry point: localsplus of the frame (arguments are read from it), and the context.
using NativeEntry = PyObject* (*)(PyObject** localsplus, NativeCtx* ctx);
// Direct entry (a callee compiled for calls from native code): {bits, obj, fbits} in registers (rax, rdx, xmm0),
// see kTagInt. The arguments follow `func`, unboxed as the signature says (i64, double, i1 as i8... see codegen).
struct DirectResult {
  int64_t bits;
  PyObject* obj;
  double fbits;  // a float result again (returned in xmm0, where the caller computes with it); else undefined
};

}  // namespace pypaccel::runtime
