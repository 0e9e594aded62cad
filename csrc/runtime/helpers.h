// The helpers compiled code calls, declared from their rows in runtime/helpers.def (which says what each does):
// pypa_rt_* names are part of the cache format (stored objects relink by name).
#pragma once
#include <Python.h>
#include <cstdint>
#include <string>

#include "ir/ir.h"
#include "runtime/native_ctx.h"

namespace pypaccel::runtime {

// The pypa_rt_* helpers. C linkage: declared here inside the namespace, they are the same functions as the
// definitions at global scope in runtime/*.cpp.
extern "C" {
#define HELPER(ret, name, params, attr, fails) ret name params;
#define CPYTHON_API(name, attr, fails)
#include "runtime/helpers.def"
#undef HELPER
#undef CPYTHON_API
}

// Every row of helpers.def, by name (Helper::pypa_rt_exit, Helper::PyLong_FromLongLong).
enum class Helper : uint8_t {
#define HELPER(ret, name, params, attr, fails) name,
#define CPYTHON_API(name, attr, fails) name,
#include "runtime/helpers.def"
#undef HELPER
#undef CPYTHON_API
};
inline constexpr int kHelpers = 0
#define HELPER(ret, name, params, attr, fails) +1
#define CPYTHON_API(name, attr, fails) +1
#include "runtime/helpers.def"
#undef HELPER
#undef CPYTHON_API
    ;
// The Attr and Fails columns.
enum class HelperAttr : uint8_t { Plain, Cold, ReadOnly };
enum class HelperFails : uint8_t { Never, Null, Negative, NonZero, Custom };
const char* helperName(Helper h);
HelperAttr helperAttr(Helper h);
HelperFails helperFails(Helper h);
bool helperFromName(const std::string& name, Helper* out);

struct HelperSymbol {
  const char* name;
  void* address;
};
// Callees (and anything they inspect: tracebacks, sys._getframe) see the frame at code unit `unit`.
inline void atInstruction(NativeCtx* ctx, int32_t unit) { *ctx->prevInstrAddr = ctx->firstInstr + 2 * unit; }

// What pypa_rt_iter_next returns on an error (null means exhausted).
#define PYPA_ITER_ERROR (reinterpret_cast<PyObject*>(uintptr_t(1)))

// Every HELPER row of helpers.def, for the JIT's symbol table.
const HelperSymbol* helperSymbols(int* count);

}  // namespace pypaccel::runtime
