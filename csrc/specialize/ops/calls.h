#pragma once
// The generic call path (globals_calls.cpp), shared with the instructions that call what an object provides
// (BEFORE_WITH's __enter__, WITH_EXCEPT_START's __exit__).
#include "specialize/emitter.h"

namespace pypaccel::specialize {

// What follows the call: CALL tests the eval breaker (pollAfterCall), BEFORE_WITH's call of __enter__ does not.
enum class AfterCall { PollEvalBreaker, Nothing };
// CALL of any callable through vectorcall: the stack holds NULL or a method, then the callable or self, then `n`
// arguments; they are replaced by the result (an object). A raise leaves through a Raise exit at the instruction.
bool callGeneric(Emitter& e, size_t n, AfterCall after);
// The frame's slots get the current values of its bound locals, for a callee that looks at this frame.
void syncFrameLocals(Emitter& e);
// BINARY_OP `a op b` (oparg) where a is predicted to be an instance of a class whose slot for it is a Python function
// (its __add__, ...) and b of the same class or an unboxed number: that function called directly, exactly as
// binary_op1 would (NotImplemented raises its TypeError). False: not such an operation, nothing emitted.
bool callOperator(Emitter& e, int oparg);
// After a call: an exit to the next instruction when the callee switched tracing on.
void exitIfTracingAfterCall(Emitter& e);

}  // namespace pypaccel::specialize
