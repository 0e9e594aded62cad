#pragma once
// The GNU build ID of the binary this code is linked into (the extension module, or the Catch2 test program): a
// hash the linker computes over the whole output, so any change to the code generator or the runtime helpers changes
// it. It is part of the cache's build identity: native code compiled by one build is never linked by another, even
// when both carry the same version number.
#include <string>

namespace pypaccel::support {

// Lower-case hex of the NT_GNU_BUILD_ID note; empty when the binary has none (linked without --build-id).
const std::string& ownBuildId();

}  // namespace pypaccel::support
