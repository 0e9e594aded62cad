#pragma once
// Functions of the math module on unboxed numbers, compiled to native code (math_calls.cpp).
#include "specialize/emitter.h"

namespace pypaccel::specialize {

// LOAD_METHOD / LOAD_ATTR of a math function on the math module: a guard on the module and its dict, and the
// function as a known callable. False: not such a load (the caller emits the generic one).
bool loadModuleFunction(Emitter& e, const Instruction& in);
// CALL of a known math function with unboxed number arguments. False: not such a call.
bool callModuleFunction(Emitter& e, const StackEntry& callable, size_t n);

}  // namespace pypaccel::specialize
