// The table of pypa_rt_* helpers the JIT exports to compiled code under their stable names.
#include "runtime/helpers.h"

namespace pypaccel::runtime {

const HelperSymbol* helperSymbols(int* count) {
  static const HelperSymbol kSymbols[] = {
#define HELPER(name) {#name, reinterpret_cast<void*>(&name)}
      HELPER(pypa_rt_exit),          HELPER(pypa_rt_poll),        HELPER(pypa_rt_global_check),
      HELPER(pypa_rt_unbox_int),     HELPER(pypa_rt_ipow),        HELPER(pypa_rt_float_floordiv),
      HELPER(pypa_rt_float_mod),     HELPER(pypa_rt_float_pow),   HELPER(pypa_rt_binop),
      HELPER(pypa_rt_unary),         HELPER(pypa_rt_len),         HELPER(pypa_rt_compare),     HELPER(pypa_rt_truthy),
      HELPER(pypa_rt_build_tuple),   HELPER(pypa_rt_call),        HELPER(pypa_rt_getattr),
      HELPER(pypa_rt_setattr),       HELPER(pypa_rt_getitem),     HELPER(pypa_rt_setitem),
      HELPER(pypa_rt_build_list),    HELPER(pypa_rt_get_iter),    HELPER(pypa_rt_iter_next),
      HELPER(pypa_rt_list_append),   HELPER(pypa_rt_list_extend), HELPER(pypa_rt_build_map),
      HELPER(pypa_rt_build_const_key_map), HELPER(pypa_rt_make_function),
      HELPER(pypa_rt_direct_convert), HELPER(pypa_rt_direct_resolve),
      HELPER(pypa_rt_catch),         HELPER(pypa_rt_push_exc_info), HELPER(pypa_rt_pop_except),
      HELPER(pypa_rt_check_exc_match), HELPER(pypa_rt_raise),   HELPER(pypa_rt_with_method),
      HELPER(pypa_rt_with_exit),     HELPER(pypa_rt_build_slice), HELPER(pypa_rt_raise_arith_error),
#undef HELPER
  };
  *count = int(sizeof(kSymbols) / sizeof(kSymbols[0]));
  return kSymbols;
}

}  // namespace pypaccel::runtime
