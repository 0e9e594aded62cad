// Whether compiled code would beat the interpreter at all: code whose work is mostly generic operations (each a call
// of the C API the interpreter makes too, which 3.11's specialized instructions often make faster) gains nothing
// from native code and pays the hook's entry on every call. Such code stays interpreted, with a named refusal.
#pragma once
#include <string>

#include "ir/ir.h"

namespace pypaccel::specialize {

// The operations of `fn` by its ir_ops.def Work column, weighted by how deep in loops they are.
struct WorkCount {
  long native = 0;
  long generic = 0;
  long overhead = 0;  // the Overhead ops' weight (already taken off native)
  bool loops = false;  // some block is inside a loop
  long calls = 0;      // direct calls (Work `Call`), unweighted
  std::string genericOps;  // the generic ops with the most weight, for the refusal ("GetAttr 12, CallObj 4")
};
WorkCount countWork(const ir::Function& fn);

// The refusal text (deopt::Refusal::Unprofitable) when `fn`'s generic work outweighs its native work (by
// kGenericPerNative), when the guards of its predictions leave no native work, or when a loop-free function's native
// work does not pay for the hook's entry into native code (kEntryWeight), else "". For frame entries.
std::string whyUnprofitable(const ir::Function& fn);

}  // namespace pypaccel::specialize
