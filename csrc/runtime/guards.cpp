// Run-time checks called from native code: the eval breaker at backward jumps, and the slow path of a global's
// guard (the dict's version moved: is the name still bound to the same object?).
#include "cpython/cpy.h"
#include "cpython/layout.h"
#include "deopt/specialization.h"
#include "runtime/helpers.h"

using pypaccel::deopt::Specialization;
using pypaccel::runtime::NativeCtx;

extern "C" int32_t pypa_rt_poll(NativeCtx* ctx) {
  // Signal handlers run Python code at this level (a frame entry's count is the thread's already).
  if (!ctx->frame) pypa_tstate_set_recursion_remaining(ctx->tstate, int(ctx->recursion));
  return pypa_cpy_handle_eval_breaker(ctx->tstate);
}

// A dict's version moved (either dict may be another than at link time: versions are unique across dicts).
// The binding still fits if it comes from the same place and, for numbers, has the same type and value (native
// code uses the unboxed value); a generic object may be any object, whose address the slot then takes.
extern "C" int32_t pypa_rt_global_check(NativeCtx* ctx, int32_t guard) {
  auto* spec = static_cast<Specialization*>(ctx->spec);
  const pypaccel::ir::GlobalGuard& g = spec->meta.globals[guard];
  PyObject* name = spec->globalNames[guard].get();
  PyObject* v = PyDict_GetItemWithError(ctx->globals, name);
  bool fromBuiltins = false;
  if (!v && !PyErr_Occurred()) {
    v = PyDict_GetItemWithError(ctx->builtins, name);
    fromBuiltins = true;
  }
  if (PyErr_Occurred()) {
    PyErr_Clear();
    return 0;
  }
  if (!v || fromBuiltins != g.fromBuiltins) return 0;
  int64_t word = 0;
  if (!pypaccel::deopt::valueMatches(g.expect, g.name, v, &word)) return 0;
  if (g.valueSlot >= 0 && word != spec->slotWords[g.valueSlot]) return 0;
  spec->slotWords[g.objSlot] = reinterpret_cast<int64_t>(v);
  spec->slotWords[g.globalsVerSlot] = int64_t(pypa_dict_version(ctx->globals));
  if (g.builtinsVerSlot >= 0)
    spec->slotWords[g.builtinsVerSlot] = int64_t(pypa_dict_version(ctx->builtins));
  return 1;
}
