/* Private copies of CPython 3.11's opcode tables (NEED_OPCODE_TABLES gives each includer its own). */
#include "cpython/cpy.h"
#define NEED_OPCODE_TABLES
#include "internal/pycore_opcode.h"

int pypa_opcode_base(int op) { return (op < 0 || op > 255) ? op : _PyOpcode_Deopt[op]; }

int pypa_opcode_cache_entries(int op) { return (op < 0 || op > 255) ? 0 : _PyOpcode_Caches[op]; }

const char *pypa_opcode_name(int op) {
#ifdef Py_DEBUG
    return (op < 0 || op > 255) ? NULL : _PyOpcode_OpName[op];
#else
    (void)op;
    return NULL; /* 3.11 only ships names in debug builds; the C++ side has its own from opcodes.def */
#endif
}
