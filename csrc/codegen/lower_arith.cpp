// Lowering of unboxed int/float/bool arithmetic and comparisons, with the exact CPython semantics: 64-bit
// overflow, zero divisors, negative shifts and inexact conversions leave through the op's exits.
#include <llvm/IR/Intrinsics.h>
#include <llvm/IR/MDBuilder.h>

#include "codegen/lowerer.h"

namespace pypaccel::codegen {

using ir::BinKind;
using ir::CmpKind;
using ir::Op;

namespace {

llvm::Value* overflowOp(Lowerer& l, llvm::Intrinsic::ID id, llvm::Value* a, llvm::Value* c, int exitId) {
  llvm::Value* r = l.b.CreateBinaryIntrinsic(id, a, c);
  l.guard(l.b.CreateExtractValue(r, 1), exitId);
  return l.b.CreateExtractValue(r, 0);
}

// |v| <= 2**53: the int converts to a double exactly.
llvm::Value* exactInDouble(Lowerer& l, llvm::Value* v) {
  llvm::Value* shifted = l.b.CreateAdd(v, l.b.getInt64(int64_t(1) << 53));
  return l.b.CreateICmpULE(shifted, l.b.getInt64(int64_t(1) << 54));
}

llvm::Value* intBin(Lowerer& l, const ir::Instr& in) {
  auto& b = l.b;
  llvm::Value* x = l.val(in.args[0]);
  llvm::Value* y = l.val(in.args[1]);
  llvm::Value* minusOne = b.getInt64(-1);
  llvm::Value* zero = b.getInt64(0);
  switch (BinKind(in.imm)) {
    case BinKind::Add: return overflowOp(l, llvm::Intrinsic::sadd_with_overflow, x, y, in.exit);
    case BinKind::Sub: return overflowOp(l, llvm::Intrinsic::ssub_with_overflow, x, y, in.exit);
    case BinKind::Mul: return overflowOp(l, llvm::Intrinsic::smul_with_overflow, x, y, in.exit);
    case BinKind::FloorDiv:
    case BinKind::Mod: {
      l.guard(b.CreateICmpEQ(y, zero), in.exit);
      l.guard(b.CreateAnd(b.CreateICmpEQ(x, b.getInt64(INT64_MIN)), b.CreateICmpEQ(y, minusOne)), in.exit2);
      llvm::Value* q = b.CreateSDiv(x, y);
      llvm::Value* r = b.CreateSRem(x, y);
      // Python rounds toward negative infinity: adjust when the remainder and divisor differ in sign.
      llvm::Value* adjust =
          b.CreateAnd(b.CreateICmpNE(r, zero), b.CreateICmpSLT(b.CreateXor(r, y), zero));
      if (BinKind(in.imm) == BinKind::FloorDiv) return b.CreateSub(q, b.CreateZExt(adjust, l.i64));
      return b.CreateAdd(r, b.CreateSelect(adjust, y, zero));
    }
    case BinKind::Pow: {
      llvm::Value* out = l.entryAlloca(l.i64);
      llvm::Value* st =
          l.call(runtime::Helper::pypa_rt_ipow, {x, y, out});
      l.guard(b.CreateICmpEQ(st, b.getInt32(1)), in.exit);
      l.guard(b.CreateICmpEQ(st, b.getInt32(2)), in.exit2);
      return b.CreateLoad(l.i64, out);
    }
    case BinKind::LShift: {
      l.guard(b.CreateICmpSLT(y, zero), in.exit);
      llvm::Value* big = b.CreateICmpSGT(y, b.getInt64(63));
      llvm::Value* sh = b.CreateAnd(y, b.getInt64(63));
      llvm::Value* r = b.CreateShl(x, sh);
      llvm::Value* lost = b.CreateICmpNE(b.CreateAShr(r, sh), x);
      // Shifting by 64 or more only fits when x is 0.
      l.guard(b.CreateSelect(big, b.CreateICmpNE(x, zero), lost), in.exit2);
      return b.CreateSelect(big, zero, r);
    }
    case BinKind::RShift: {
      l.guard(b.CreateICmpSLT(y, zero), in.exit);
      llvm::Value* sh = b.CreateSelect(b.CreateICmpSGT(y, b.getInt64(63)), b.getInt64(63), y);
      return b.CreateAShr(x, sh);
    }
    case BinKind::And: return b.CreateAnd(x, y);
    case BinKind::Or: return b.CreateOr(x, y);
    case BinKind::Xor: return b.CreateXor(x, y);
    default: return nullptr;
  }
}

// x ** 0.5 and x ** 2.0 (float.__pow__ calls the libm's pow) as a square root or a product, where that is certainly
// pow's own result: 5 to 20 times faster. The libm's pow (glibc since 2.28 and musl: Arm's optimized routines,
// "worst-case error: 0.54 ULP"; glibc's earlier one was correctly rounded) returns a double within 0.54 ULP of the
// exact value. The correctly rounded square root or square r is the only such double when the exact value lies
// within 0.4 ULP of r: r's neighbours are then 0.6 ULP or more away (not when r is a power of two, whose neighbour
// below is half an ULP away: pow decides there). One fma gives the exact remainder that tells how far the exact
// value is. About four arguments in five qualify; the others call pow (pypa_rt_float_pow), as do the special
// cases (zero, negative roots, NaN, infinities, results near overflow or underflow). Returns whether r (*out) is
// the result. csrc/tests/codegen_test.cpp checks it against pow bit for bit on 10^6 arguments built to sit near
// rounding boundaries too.
llvm::Value* powBySquareOrRoot(Lowerer& l, llvm::Value* x, bool root, llvm::Value** out) {
  auto& b = l.b;
  auto fp = [&](double v) { return llvm::ConstantFP::get(l.f64, v); };
  llvm::Value* r;
  llvm::Value* dist;  // a bound on |exact - r| (times `scale`)
  llvm::Value* scale = nullptr;
  llvm::Value* inRange;
  if (root) {
    inRange = b.CreateAnd(b.CreateFCmpOGE(x, fp(0x1p-900)), b.CreateFCmpOLE(x, fp(0x1p900)));
    r = b.CreateUnaryIntrinsic(llvm::Intrinsic::sqrt, x);
    // x - r*r is exact in one fma; the exact root is r + (x - r*r) / (sqrt(x) + r), and sqrt(x) + r > 1.99 r: so
    // |x - r*r| / (1.99 r) bounds the distance, compared below as |x - r*r| / 1.99 against 0.4 ULP times r (no
    // division on the way: a square root is slow enough).
    llvm::Value* rem = b.CreateIntrinsic(llvm::Intrinsic::fma, {l.f64}, {b.CreateFNeg(r), r, x});
    dist = b.CreateFMul(b.CreateUnaryIntrinsic(llvm::Intrinsic::fabs, rem), fp(1.0 / 1.99));
    scale = r;
  } else {
    llvm::Value* m = b.CreateUnaryIntrinsic(llvm::Intrinsic::fabs, x);
    inRange = b.CreateAnd(b.CreateFCmpOGE(m, fp(0x1p-500)), b.CreateFCmpOLE(m, fp(0x1p500)));
    r = b.CreateFMul(x, x);
    llvm::Value* rem = b.CreateIntrinsic(llvm::Intrinsic::fma, {l.f64}, {x, x, b.CreateFNeg(r)});  // x*x - r
    dist = b.CreateUnaryIntrinsic(llvm::Intrinsic::fabs, rem);
  }
  // r is normal here (2**-450 and up): its ULP is 2**(E - 52), the exponent field less 52.
  llvm::Value* bits = b.CreateBitCast(r, l.i64);
  llvm::Value* exponent = b.CreateAnd(bits, b.getInt64(0x7ff0000000000000LL));
  llvm::Value* ulp = b.CreateBitCast(b.CreateSub(exponent, b.getInt64(int64_t(52) << 52)), l.f64);
  llvm::Value* notPowerOfTwo = b.CreateICmpNE(b.CreateAnd(bits, b.getInt64(0x000fffffffffffffLL)), b.getInt64(0));
  llvm::Value* bound = b.CreateFMul(fp(0.4), ulp);
  llvm::Value* near = b.CreateFCmpOLT(dist, scale ? b.CreateFMul(bound, scale) : bound);
  *out = r;
  return b.CreateAnd(inRange, b.CreateAnd(notPowerOfTwo, near));
}

llvm::Value* floatBin(Lowerer& l, const ir::Instr& in) {
  auto& b = l.b;
  llvm::Value* x = l.val(in.args[0]);
  llvm::Value* y = l.val(in.args[1]);
  llvm::Value* zero = llvm::ConstantFP::get(l.f64, 0.0);
  switch (BinKind(in.imm)) {
    case BinKind::Add: return b.CreateFAdd(x, y);
    case BinKind::Sub: return b.CreateFSub(x, y);
    case BinKind::Mul: return b.CreateFMul(x, y);
    case BinKind::TrueDiv:
      l.guard(b.CreateFCmpOEQ(y, zero), in.exit);
      return b.CreateFDiv(x, y);
    case BinKind::FloorDiv:
      l.guard(b.CreateFCmpOEQ(y, zero), in.exit);
      return l.call(runtime::Helper::pypa_rt_float_floordiv, {x, y});
    case BinKind::Mod:
      l.guard(b.CreateFCmpOEQ(y, zero), in.exit);
      return l.call(runtime::Helper::pypa_rt_float_mod, {x, y});
    case BinKind::Pow: {
      auto* c = llvm::dyn_cast<llvm::ConstantFP>(y);
      llvm::BasicBlock* join = nullptr;
      llvm::Value* quick = nullptr;
      llvm::BasicBlock* quickFrom = nullptr;
      if (c && (c->isExactlyValue(0.5) || c->isExactlyValue(2.0))) {
        llvm::Value* ok = powBySquareOrRoot(l, x, c->isExactlyValue(0.5), &quick);
        quickFrom = b.GetInsertBlock();
        llvm::Function* func = quickFrom->getParent();
        join = llvm::BasicBlock::Create(l.ctx, "pow.done", func);
        llvm::BasicBlock* slow = llvm::BasicBlock::Create(l.ctx, "pow.call", func);
        b.CreateCondBr(ok, join, slow, llvm::MDBuilder(l.ctx).createBranchWeights(4, 1));
        b.SetInsertPoint(slow);
      }
      llvm::Value* out = l.entryAlloca(l.f64);
      llvm::Value* ok = l.call(runtime::Helper::pypa_rt_float_pow, {x, y, out});
      l.guard(b.CreateICmpEQ(ok, b.getInt32(0)), in.exit);
      llvm::Value* r = b.CreateLoad(l.f64, out);
      if (!join) return r;
      llvm::BasicBlock* slowFrom = b.GetInsertBlock();
      b.CreateBr(join);
      b.SetInsertPoint(join);
      llvm::PHINode* phi = b.CreatePHI(l.f64, 2);
      phi->addIncoming(quick, quickFrom);
      phi->addIncoming(r, slowFrom);
      return phi;
    }
    default: return nullptr;
  }
}

llvm::CmpInst::Predicate intPred(CmpKind k) {
  switch (k) {
    case CmpKind::Lt: return llvm::CmpInst::ICMP_SLT;
    case CmpKind::Le: return llvm::CmpInst::ICMP_SLE;
    case CmpKind::Eq: return llvm::CmpInst::ICMP_EQ;
    case CmpKind::Ne: return llvm::CmpInst::ICMP_NE;
    case CmpKind::Gt: return llvm::CmpInst::ICMP_SGT;
    default: return llvm::CmpInst::ICMP_SGE;
  }
}

// Ordered comparisons are false with a NaN operand, and != is true: exactly Python's float semantics.
llvm::CmpInst::Predicate floatPred(CmpKind k) {
  switch (k) {
    case CmpKind::Lt: return llvm::CmpInst::FCMP_OLT;
    case CmpKind::Le: return llvm::CmpInst::FCMP_OLE;
    case CmpKind::Eq: return llvm::CmpInst::FCMP_OEQ;
    case CmpKind::Ne: return llvm::CmpInst::FCMP_UNE;
    case CmpKind::Gt: return llvm::CmpInst::FCMP_OGT;
    default: return llvm::CmpInst::FCMP_OGE;
  }
}

}  // namespace

template <>
void Lowerer::lower<Op::ConstInt>(const ir::Instr& in) {
  def(in.id, b.getInt64(in.imm));
}

template <>
void Lowerer::lower<Op::ConstFloat>(const ir::Instr& in) {
  def(in.id, llvm::ConstantFP::get(f64, in.fimm));
}

template <>
void Lowerer::lower<Op::ConstBool>(const ir::Instr& in) {
  def(in.id, b.getInt1(in.imm != 0));
}

template <>
void Lowerer::lower<Op::IntBin>(const ir::Instr& in) {
  def(in.id, intBin(*this, in));
}

template <>
void Lowerer::lower<Op::FloatBin>(const ir::Instr& in) {
  def(in.id, floatBin(*this, in));
}

template <>
void Lowerer::lower<Op::IntTrueDiv>(const ir::Instr& in) {
  llvm::Value* x = val(in.args[0]);
  llvm::Value* y = val(in.args[1]);
  guard(b.CreateICmpEQ(y, b.getInt64(0)), in.exit);
  // Both operands exact as doubles: one correctly rounded division, as CPython's long_true_divide gives.
  guard(b.CreateNot(b.CreateAnd(exactInDouble(*this, x), exactInDouble(*this, y))), in.exit2);
  def(in.id, b.CreateFDiv(b.CreateSIToFP(x, f64), b.CreateSIToFP(y, f64)));
}

template <>
void Lowerer::lower<Op::BoolBin>(const ir::Instr& in) {
  llvm::Value* x = val(in.args[0]);
  llvm::Value* y = val(in.args[1]);
  BinKind k = BinKind(in.imm);
  def(in.id, k == BinKind::And ? b.CreateAnd(x, y) : k == BinKind::Or ? b.CreateOr(x, y) : b.CreateXor(x, y));
}

template <>
void Lowerer::lower<Op::IntNeg>(const ir::Instr& in) {
  llvm::Value* x = val(in.args[0]);
  guard(b.CreateICmpEQ(x, b.getInt64(INT64_MIN)), in.exit);
  def(in.id, b.CreateNeg(x));
}

template <>
void Lowerer::lower<Op::IntInvert>(const ir::Instr& in) {
  def(in.id, b.CreateNot(val(in.args[0])));
}

template <>
void Lowerer::lower<Op::FloatNeg>(const ir::Instr& in) {
  def(in.id, b.CreateFNeg(val(in.args[0])));
}

template <>
void Lowerer::lower<Op::IntAbs>(const ir::Instr& in) {
  llvm::Value* x = val(in.args[0]);
  guard(b.CreateICmpEQ(x, b.getInt64(INT64_MIN)), in.exit);
  def(in.id, b.CreateSelect(b.CreateICmpSLT(x, b.getInt64(0)), b.CreateNeg(x), x));
}

// Per MathFn (ir/math_fns.def): the LLVM intrinsic (equal to libm's: correctly rounded or exact), or
// not_intrinsic for a call of libm.
#define MATH_INTRINSIC_Intrinsic(py) llvm::Intrinsic::py
#define MATH_INTRINSIC_Libm(py) llvm::Intrinsic::not_intrinsic
const llvm::Intrinsic::ID kMathIntrinsic[] = {
#define MATH_FN(Name, py, arity, result, lowering, onError) MATH_INTRINSIC_##lowering(py),
#define MATH_OTHER(py, arity, op)
#include "ir/math_fns.def"
#undef MATH_OTHER
#undef MATH_FN
};
#undef MATH_INTRINSIC_Libm
#undef MATH_INTRINSIC_Intrinsic

template <>
void Lowerer::lower<Op::FloatMath>(const ir::Instr& in) {
  auto fn = ir::MathFn(in.imm);
  llvm::Value* x = val(in.args[0]);
  std::vector<llvm::Value*> xs = argValues(in);
  llvm::Value* r;
  auto intrinsic = [&](llvm::Intrinsic::ID id, std::vector<llvm::Value*> xs) {
    return b.CreateCall(llvm::Intrinsic::getDeclaration(func->getParent(), id, {f64}), xs);
  };
  if (kMathIntrinsic[unsigned(fn)] != llvm::Intrinsic::not_intrinsic) {
    r = intrinsic(kMathIntrinsic[unsigned(fn)], xs);
  } else {
    // The process's libm, as CPython's math module calls it. nobuiltin: LLVM must not fold or rewrite the call
    // with its own idea of the function (constant folding with the compiler's libm, exp -> exp2, ...).
    std::vector<llvm::Type*> params(xs.size(), f64);
    auto callee =
        func->getParent()->getOrInsertFunction(ir::mathFnName(fn), llvm::FunctionType::get(f64, params, false));
    llvm::CallInst* call = b.CreateCall(callee, xs);
    call->addFnAttr(llvm::Attribute::NoBuiltin);
    r = call;
  }
  if (in.exit >= 0) {
    // CPython's math_1: a nan from a non-nan argument is a domain error, an infinity from a finite one a domain
    // or range error. The interpreter raises it: exit before the call.
    llvm::Value* inf = llvm::ConstantFP::getInfinity(f64);
    llvm::Value* absR = intrinsic(llvm::Intrinsic::fabs, {r});
    llvm::Value* absX = intrinsic(llvm::Intrinsic::fabs, {x});
    llvm::Value* nanFromNumber = b.CreateAnd(b.CreateFCmpUNO(r, r), b.CreateFCmpORD(x, x));
    llvm::Value* infFromFinite = b.CreateAnd(b.CreateFCmpOEQ(absR, inf), b.CreateFCmpOLT(absX, inf));
    guard(b.CreateOr(nanFromNumber, infFromFinite), in.exit);
  }
  def(in.id, r);
}

template <>
void Lowerer::lower<Op::FloatClass>(const ir::Instr& in) {
  llvm::Value* x = val(in.args[0]);
  llvm::Value* absX =
      b.CreateCall(llvm::Intrinsic::getDeclaration(func->getParent(), llvm::Intrinsic::fabs, {f64}), {x});
  llvm::Value* inf = llvm::ConstantFP::getInfinity(f64);
  llvm::Value* r = in.imm == 0   ? b.CreateFCmpUNO(x, x)
                   : in.imm == 1 ? b.CreateFCmpOEQ(absX, inf)
                                 : b.CreateFCmpOLT(absX, inf);
  def(in.id, r);
}

template <>
void Lowerer::lower<Op::FloatAbs>(const ir::Instr& in) {
  llvm::Function* fabs = llvm::Intrinsic::getDeclaration(func->getParent(), llvm::Intrinsic::fabs, {f64});
  def(in.id, b.CreateCall(fabs, {val(in.args[0])}));
}

template <>
void Lowerer::lower<Op::IntMinMax>(const ir::Instr& in) {
  // CPython's min/max keep the first of equal items: b replaces a only when strictly smaller (larger).
  llvm::Value *x = val(in.args[0]), *y = val(in.args[1]);
  llvm::Value* takeB = in.imm ? b.CreateICmpSGT(y, x) : b.CreateICmpSLT(y, x);
  def(in.id, b.CreateSelect(takeB, y, x));
}

template <>
void Lowerer::lower<Op::FloatMinMax>(const ir::Instr& in) {
  // Ordered comparisons: a nan on either side never replaces (as PyObject_RichCompare gives False).
  llvm::Value *x = val(in.args[0]), *y = val(in.args[1]);
  llvm::Value* takeB = in.imm ? b.CreateFCmpOGT(y, x) : b.CreateFCmpOLT(y, x);
  def(in.id, b.CreateSelect(takeB, y, x));
}

template <>
void Lowerer::lower<Op::FloatToInt>(const ir::Instr& in) {
  // int(x): exact truncation for |x| < 2**63; nan, inf (which raise) and larger values (big ints) exit.
  llvm::Value* x = val(in.args[0]);
  llvm::Value* inRange = b.CreateAnd(b.CreateFCmpOGE(x, llvm::ConstantFP::get(f64, -9223372036854775808.0)),
                                     b.CreateFCmpOLT(x, llvm::ConstantFP::get(f64, 9223372036854775808.0)));
  guard(b.CreateNot(inRange), in.exit);
  def(in.id, b.CreateFPToSI(x, i64));
}

template <>
void Lowerer::lower<Op::BoolToInt>(const ir::Instr& in) {
  def(in.id, b.CreateZExt(val(in.args[0]), i64));
}

template <>
void Lowerer::lower<Op::IntToFloat>(const ir::Instr& in) {
  llvm::Value* x = val(in.args[0]);
  if (in.imm) guard(b.CreateNot(exactInDouble(*this, x)), in.exit);
  def(in.id, b.CreateSIToFP(x, f64));
}

template <>
void Lowerer::lower<Op::IntCmp>(const ir::Instr& in) {
  def(in.id, b.CreateICmp(intPred(CmpKind(in.imm)), val(in.args[0]), val(in.args[1])));
}

template <>
void Lowerer::lower<Op::FloatCmp>(const ir::Instr& in) {
  def(in.id, b.CreateFCmp(floatPred(CmpKind(in.imm)), val(in.args[0]), val(in.args[1])));
}

template <>
void Lowerer::lower<Op::IntTruthy>(const ir::Instr& in) {
  def(in.id, b.CreateICmpNE(val(in.args[0]), b.getInt64(0)));
}

template <>
void Lowerer::lower<Op::FloatTruthy>(const ir::Instr& in) {
  def(in.id, b.CreateFCmpUNE(val(in.args[0]), llvm::ConstantFP::get(f64, 0.0)));
}

template <>
void Lowerer::lower<Op::BoolNot>(const ir::Instr& in) {
  def(in.id, b.CreateNot(val(in.args[0])));
}

}  // namespace pypaccel::codegen
