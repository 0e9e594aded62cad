// f-strings: FORMAT_VALUE and BUILD_STRING, each one call of ceval's own code for them (runtime/object_ops.cpp),
// so the exit that used to end native code at every f-string is gone.
#include "specialize/emitter.h"

namespace pypaccel::specialize {

bool handle_FORMAT_VALUE(Emitter& e, const Instruction& in) {
  // TOS is the format spec when the oparg says so, the value below it.
  size_t n = (in.arg & 4) ? 2 : 1;
  std::vector<int> items;
  if (!e.popBoxed(n, "FORMAT_VALUE", &items)) return false;
  int ex = e.makeExit(ir::ExitKind::Raise, deopt::Reason::Raised, "FORMAT_VALUE");
  e.push(Type::Obj, e.emit(Op::FormatValue, Type::Obj, items, in.arg & 7, ex));
  return true;
}

bool handle_BUILD_STRING(Emitter& e, const Instruction& in) {
  return e.buildFromStack(Op::BuildString, size_t(in.arg), "BUILD_STRING");
}

}  // namespace pypaccel::specialize
