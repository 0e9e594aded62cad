// pypa_rt_*: the helpers compiled code calls. Their names are part of the cache format (stored objects relink
// by name), so a helper's name and signature never change meaning; add new ones instead.
#pragma once
#include <Python.h>
#include <cstdint>

#include "ir/ir.h"
#include "runtime/native_ctx.h"

extern "C" {
PyObject* pypa_rt_exit(pypaccel::runtime::NativeCtx* ctx, int32_t exitId, uint64_t* values);
int32_t pypa_rt_poll(pypaccel::runtime::NativeCtx* ctx);
int32_t pypa_rt_global_check(pypaccel::runtime::NativeCtx* ctx, int32_t guard);
int64_t pypa_rt_unbox_int(PyObject* o);
int32_t pypa_rt_ipow(int64_t base, int64_t exp, int64_t* out);
double pypa_rt_float_floordiv(double a, double b);
double pypa_rt_float_mod(double a, double b);
// Sets the ZeroDivisionError CPython raises for `which` (ir::ArithError).
void pypa_rt_raise_arith_error(int32_t which);
int32_t pypa_rt_float_pow(double a, double b, double* out);
PyObject* pypa_rt_binop(pypaccel::runtime::NativeCtx* ctx, int32_t nb, PyObject* a, PyObject* b, int32_t unit);
PyObject* pypa_rt_unary(pypaccel::runtime::NativeCtx* ctx, int32_t kind, PyObject* a, int32_t unit);
// len(a) (consumed): -1 with the exception set on error.
int64_t pypa_rt_len(pypaccel::runtime::NativeCtx* ctx, PyObject* a, int32_t unit);
PyObject* pypa_rt_compare(pypaccel::runtime::NativeCtx* ctx, int32_t op, PyObject* a, PyObject* b, int32_t unit);
int32_t pypa_rt_truthy(pypaccel::runtime::NativeCtx* ctx, PyObject* a, int32_t unit);
PyObject* pypa_rt_build_tuple(pypaccel::runtime::NativeCtx* ctx, PyObject** items, int32_t n);
PyObject* pypa_rt_call(pypaccel::runtime::NativeCtx* ctx, PyObject** items, int32_t n, PyObject* kwnames, int32_t unit);
PyObject* pypa_rt_getattr(pypaccel::runtime::NativeCtx* ctx, PyObject* obj, int32_t name, int32_t unit);
int32_t pypa_rt_setattr(pypaccel::runtime::NativeCtx* ctx, PyObject* obj, PyObject* value, int32_t name, int32_t unit);
PyObject* pypa_rt_getitem(pypaccel::runtime::NativeCtx* ctx, PyObject* container, PyObject* key, int32_t unit);
int32_t pypa_rt_setitem(pypaccel::runtime::NativeCtx* ctx, PyObject* container, PyObject* key, PyObject* value,
                        int32_t unit);
PyObject* pypa_rt_build_list(pypaccel::runtime::NativeCtx* ctx, PyObject** items, int32_t n);
// BUILD_SLICE: slice(start, stop[, step]) of the 2 or 3 items (consumed).
PyObject* pypa_rt_build_slice(pypaccel::runtime::NativeCtx* ctx, PyObject** items, int32_t n);
PyObject* pypa_rt_get_iter(pypaccel::runtime::NativeCtx* ctx, PyObject* obj, int32_t unit);
// The next item (owned), nullptr when the iterator is exhausted, or kIterError with the exception set.
PyObject* pypa_rt_iter_next(pypaccel::runtime::NativeCtx* ctx, PyObject* it, int32_t unit);
int32_t pypa_rt_list_append(PyObject* list, PyObject* value);
PyObject* pypa_rt_make_function(pypaccel::runtime::NativeCtx* ctx, PyObject** items, int32_t flags);
int32_t pypa_rt_list_extend(pypaccel::runtime::NativeCtx* ctx, PyObject* list, PyObject* iterable, int32_t unit);
PyObject* pypa_rt_build_map(pypaccel::runtime::NativeCtx* ctx, PyObject** items, int32_t npairs, int32_t unit);
PyObject* pypa_rt_build_const_key_map(pypaccel::runtime::NativeCtx* ctx, PyObject* keys, PyObject** values, int32_t n,
                                      int32_t unit);
// Direct calls (runtime/direct_call.cpp).
// A direct callee's result the site did not expect (*obj a tag or an object): 0 with *out the value as `want`
// (an ir::Type; for Obj the owned object), 1 with *obj an owned object for the exit after the call, -1 on error.
int32_t pypa_rt_direct_convert(PyObject** obj, int64_t bits, int32_t want, int64_t* out);
// Fills a direct call site for `callable` (hook/direct_calls.cpp: it may compile the callee's direct entry).
// Non-zero when the site now matches `callable`.
int32_t pypa_rt_direct_resolve(pypaccel::runtime::NativeCtx* ctx, int32_t site, PyObject* callable);
// Native exception handlers (runtime/exceptions.cpp), frame entries only.
// The pending exception as a handler at `unit`'s try gets it (owned), with this frame's traceback entry added;
// null (exception left pending, for the exit) while tracing is on.
PyObject* pypa_rt_catch(pypaccel::runtime::NativeCtx* ctx, int32_t unit);
// PUSH_EXC_INFO: exc (borrowed) becomes the handled exception; returns the previous one or None (owned).
PyObject* pypa_rt_push_exc_info(pypaccel::runtime::NativeCtx* ctx, PyObject* exc);
// POP_EXCEPT: `previous` (consumed) becomes the handled exception again.
void pypa_rt_pop_except(pypaccel::runtime::NativeCtx* ctx, PyObject* previous);
// CHECK_EXC_MATCH: 1/0, or -1 with TypeError set when `type` (consumed) cannot be caught.
int32_t pypa_rt_check_exc_match(pypaccel::runtime::NativeCtx* ctx, PyObject* exc, PyObject* type, int32_t unit);
// RAISE_VARARGS: sets the exception `raise exc [from cause]` raises (exc and cause, which may be null, consumed).
void pypa_rt_raise(pypaccel::runtime::NativeCtx* ctx, PyObject* exc, PyObject* cause, int32_t unit);
// BEFORE_WITH: mgr's bound __enter__ (which = 0) or __exit__ (1), owned; null with CPython's error set.
PyObject* pypa_rt_with_method(pypaccel::runtime::NativeCtx* ctx, PyObject* mgr, int32_t which, int32_t unit);
// WITH_EXCEPT_START: exitFunc(type(exc), exc, exc.__traceback__) (both borrowed); owned result or null.
PyObject* pypa_rt_with_exit(pypaccel::runtime::NativeCtx* ctx, PyObject* exitFunc, PyObject* exc, int32_t unit);
}

namespace pypaccel::runtime {

struct HelperSymbol {
  const char* name;
  void* address;
};
// Callees (and anything they inspect: tracebacks, sys._getframe) see the frame at code unit `unit`.
inline void atInstruction(NativeCtx* ctx, int32_t unit) { *ctx->prevInstrAddr = ctx->firstInstr + 2 * unit; }

// What pypa_rt_iter_next returns on an error (null means exhausted).
#define PYPA_ITER_ERROR (reinterpret_cast<PyObject*>(uintptr_t(1)))

// Every pypa_rt_* helper, for the JIT's symbol table.
const HelperSymbol* helperSymbols(int* count);

}  // namespace pypaccel::runtime
