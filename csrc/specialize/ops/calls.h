#pragma once
// The generic call path (globals_calls.cpp), shared with the instructions that call what an object provides
// (BEFORE_WITH's __enter__, WITH_EXCEPT_START's __exit__).
#include "cpython/cpy.h"
#include "specialize/emitter.h"

namespace pypaccel::specialize {

// What follows the call: CALL tests the eval breaker (pollAfterCall), BEFORE_WITH's call of __enter__ does not.
enum class AfterCall { PollEvalBreaker, Nothing };
// CALL of any callable through vectorcall: the stack holds NULL or a method, then the callable or self, then `n`
// arguments; they are replaced by the result (an object). A raise leaves through a Raise exit at the instruction.
bool callGeneric(Emitter& e, size_t n, AfterCall after);
// The frame's slots get the current values of its bound locals, for a callee that looks at this frame.
void syncFrameLocals(Emitter& e);
// BINARY_OP `a op b` (`which` = its oparg; COMPARE_OP's oparg + kCompareOperator for an ordering) where a is
// predicted to be an instance of a class whose slot for it calls a Python function (its __add__, __lt__, ...) and b
// of the same class or a number: that function called directly, exactly as binary_op1 / do_richcompare would
// (NotImplemented raises their TypeError). False: not such an operation, nothing emitted.
constexpr int kCompareOperator = PYPA_COMPARE_BASE;
bool callOperator(Emitter& e, int which);
// BINARY_SUBSCR `a[k]` (which = PYPA_SUBSCR_GET) where a is predicted to be an instance of a class whose mapping
// slot calls a Python __getitem__: that function called directly with (a, k), as slot_mp_subscript would, its result
// taken as it is (unboxed when the callee returns a number); STORE_SUBSCR `a[k] = v` (PYPA_SUBSCR_SET) likewise with
// __setitem__(a, k, v), its result dropped. False: not such a subscript, nothing emitted.
bool callSubscriptMethod(Emitter& e, int which);
// After a call: an exit to the next instruction when the callee switched tracing on.
void exitIfTracingAfterCall(Emitter& e);

}  // namespace pypaccel::specialize
