// Checks a block makes twice on the same value, made once (specialize/repeated_checks.cpp): a GuardType of an
// object already guarded the same way, a SeqIndex of a list and index already tested while nothing could change a
// list's length. Run on the emitted IR before it is verified.
#pragma once

#include "ir/ir.h"

namespace pypaccel::specialize {

void removeRepeatedChecks(ir::Function& fn);

}  // namespace pypaccel::specialize
