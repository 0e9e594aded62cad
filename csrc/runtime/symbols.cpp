// The tables generated from helpers.def: the pypa_rt_* helpers the JIT exports to compiled code under their stable
// names, and every row's name and attributes.
#include "runtime/helpers.h"

namespace pypaccel::runtime {

namespace {
struct HelperRow {
  const char* name;
  HelperAttr attr;
  HelperFails fails;
};
const HelperRow kHelperRows[] = {
#define HELPER(ret, name, params, attr, fails) {#name, HelperAttr::attr, HelperFails::fails},
#define CPYTHON_API(name, attr, fails) {#name, HelperAttr::attr, HelperFails::fails},
#include "runtime/helpers.def"
#undef HELPER
#undef CPYTHON_API
};
}  // namespace

const char* helperName(Helper h) { return kHelperRows[int(h)].name; }
HelperAttr helperAttr(Helper h) { return kHelperRows[int(h)].attr; }
HelperFails helperFails(Helper h) { return kHelperRows[int(h)].fails; }

bool helperFromName(const std::string& name, Helper* out) {
  for (size_t i = 0; i < sizeof(kHelperRows) / sizeof(kHelperRows[0]); i++) {
    if (name == kHelperRows[i].name) {
      *out = Helper(i);
      return true;
    }
  }
  return false;
}

const HelperSymbol* helperSymbols(int* count) {
  // Taking each helper's address: a row without a body fails to link.
  static const HelperSymbol kSymbols[] = {
#define HELPER(ret, name, params, attr, fails) {#name, reinterpret_cast<void*>(&name)},
#define CPYTHON_API(name, attr, fails)
#include "runtime/helpers.def"
#undef HELPER
#undef CPYTHON_API
  };
  *count = int(sizeof(kSymbols) / sizeof(kSymbols[0]));
  return kSymbols;
}

}  // namespace pypaccel::runtime
