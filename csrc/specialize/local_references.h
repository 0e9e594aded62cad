// References of a local's object taken and given back within one block, never taken
// (specialize/local_references.cpp). Run on the emitted IR before it is verified.
#pragma once

#include "ir/ir.h"

namespace pypaccel::specialize {

void dropLocalReferencePairs(ir::Function& fn);

}  // namespace pypaccel::specialize
