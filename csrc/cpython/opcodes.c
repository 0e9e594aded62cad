/* Private copies of CPython 3.11's opcode tables (NEED_OPCODE_TABLES gives each includer its own). */
#include "cpython/cpy.h"
#define NEED_OPCODE_TABLES
#include "internal/pycore_opcode.h"

int pypa_opcode_base(int op) { return (op < 0 || op > 255) ? op : _PyOpcode_Deopt[op]; }

int pypa_opcode_cache_entries(int op) { return (op < 0 || op > 255) ? 0 : _PyOpcode_Caches[op]; }
