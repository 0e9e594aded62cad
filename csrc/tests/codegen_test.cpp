// IR -> LLVM -> machine code: lowered modules verify and use the expected intrinsics and helpers, the engine emits
// ELF objects and links them, and compiled pure functions called the way hook.cpp's runNative calls them (minus
// the frame: the inputs never take an exit) return exactly what the interpreter returns.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>

#include <llvm/IR/Verifier.h>
#include <llvm/Support/raw_ostream.h>

#include "codegen/codegen.h"
#include "codegen/lowerer.h"
#include "deopt/specialization.h"
#include "jit/engine.h"
#include "runtime/native_ctx.h"
#include "support/build_id.h"
#include "test_support.h"

using namespace pypaccel;
using namespace pypaccel::testing;

namespace {

jit::Engine& engine() {
  static std::unique_ptr<jit::Engine> e = must(jit::Engine::Create(jit::EngineOptions{}), "Engine::Create");
  return *e;
}

// One LLVM context for the modules these tests build (the hook uses one per compile).
llvm::LLVMContext& testContext() {
  static llvm::LLVMContext ctx;
  return ctx;
}

std::string moduleText(const llvm::Module& m) {
  std::string s;
  llvm::raw_string_ostream os(s);
  m.print(os, nullptr);
  return os.str();
}

std::unique_ptr<llvm::Module> lower(const ir::Function& fn, llvm::LLVMContext& ctx) {
  auto mod = must(codegen::lowerFunction(fn, ctx), "lowerFunction");
  std::string problems;
  llvm::raw_string_ostream os(problems);
  INFO(moduleText(*mod));
  CHECK_FALSE(llvm::verifyModule(*mod, &os));
  CHECK(os.str() == "");
  return mod;
}

// A compiled specialization of `f` from `src`, callable without a frame as long as no exit is taken.
struct Native {
  std::unique_ptr<Built> built;
  deopt::Specialization spec;
  int zero = 0;
  void* prevInstr = nullptr;

  Native(const std::string& src, const std::string& sig, const std::string& symbol) {
    built = tryBuild(src, sig, "f", symbol);
    if (!built->fn) FAIL("buildFunction: " << built->error);
    auto mod = lower(*built->fn, testContext());
    std::string obj = must(engine().compile(*mod), "compile");
    spec.meta = deopt::metaFromIR(*built->fn);
    auto linked = must(engine().link(obj, symbol), "link");
    spec.entry = reinterpret_cast<runtime::NativeEntry>(linked.address);
    spec.codeOwner = linked.owner;
    std::string why;
    if (!deopt::linkSlots(spec, built->code.get(), built->globals.get(), builtinsDict().get(), &why))
      FAIL("linkSlots: " << why);
  }

  // Calls the native entry with borrowed arguments; returns a new reference.
  Ref call(std::vector<PyObject*> args) {
    runtime::NativeCtx ctx{};
    ctx.tstate = PyThreadState_Get();
    ctx.slots = spec.slotWords.data();
    ctx.evalBreaker = &zero;
    ctx.stress = spec.stressFlags.data();
    ctx.globals = built->globals.get();
    ctx.builtins = builtinsDict().get();
    ctx.spec = &spec;
    ctx.prevInstrAddr = &prevInstr;
    ctx.firstInstr = nullptr;
    args.resize(built->info.nlocalsplus + 8, nullptr);
    PyObject* r = spec.entry(args.data(), &ctx);
    REQUIRE(ctx.exited == 0);
    REQUIRE(r);
    return Ref::steal(r);
  }

  // The interpreter's answer for the same arguments.
  Ref interpret(const std::vector<PyObject*>& args) {
    PyObject* fn = PyDict_GetItemString(built->globals.get(), "f");
    Ref tuple = Ref::steal(PyTuple_New(Py_ssize_t(args.size())));
    for (size_t i = 0; i < args.size(); i++) {
      Py_INCREF(args[i]);
      PyTuple_SET_ITEM(tuple.get(), Py_ssize_t(i), args[i]);
    }
    Ref r = Ref::steal(PyObject_Call(fn, tuple.get(), nullptr));
    if (!r) FAIL("interpreter raised: " << pyErrorText());
    return r;
  }
};

std::string repr(PyObject* o) {
  Ref r = Ref::steal(PyObject_Repr(o));
  return r ? PyUnicode_AsUTF8(r.get()) : "<repr failed>";
}

// Same type and value; floats bit for bit (any NaN equals any NaN), tuples item by item.
bool sameValue(PyObject* a, PyObject* b) {
  if (Py_TYPE(a) != Py_TYPE(b)) return false;
  if (PyTuple_CheckExact(a)) {
    if (PyTuple_GET_SIZE(a) != PyTuple_GET_SIZE(b)) return false;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(a); i++)
      if (!sameValue(PyTuple_GET_ITEM(a, i), PyTuple_GET_ITEM(b, i))) return false;
    return true;
  }
  if (PyFloat_CheckExact(a)) {
    double x = PyFloat_AS_DOUBLE(a), y = PyFloat_AS_DOUBLE(b);
    return (std::isnan(x) && std::isnan(y)) || std::memcmp(&x, &y, sizeof x) == 0;
  }
  return PyObject_RichCompareBool(a, b, Py_EQ) == 1;
}

void checkSame(Native& n, std::vector<PyObject*> args) {
  Ref want = n.interpret(args);
  Ref got = n.call(args);
  std::string argText;
  for (PyObject* a : args) argText += repr(a) + " ";
  INFO("args " << argText << "interpreter " << repr(want.get()) << " native " << repr(got.get()));
  CHECK(sameValue(want.get(), got.get()));
}

const double kInf = INFINITY, kNan = NAN;

}  // namespace

TEST_CASE("int arithmetic lowers to overflow intrinsics and runtime helpers", "[codegen]") {
  llvm::LLVMContext ctx;
  auto add = lower(buildIR("def f(a, b):\n    return a + b\n", "ii", "f", "pypa_t_add"), ctx);
  CHECK(add->getFunction("llvm.sadd.with.overflow.i64") != nullptr);
  llvm::Function* entry = add->getFunction("pypa_t_add");
  REQUIRE(entry);
  CHECK(entry->arg_size() == 2);
  CHECK(entry->getReturnType()->isPointerTy());
  std::string text = moduleText(*add);
  CHECK(text.find("pypa_rt_exit") != std::string::npos);
  CHECK(text.find("pypa_rt_unbox_int") != std::string::npos);

  auto mix = lower(buildIR("def f(a, b):\n    return (a - b) * (a ** b)\n", "ii", "f", "pypa_t_mix"), ctx);
  CHECK(mix->getFunction("llvm.ssub.with.overflow.i64") != nullptr);
  CHECK(mix->getFunction("llvm.smul.with.overflow.i64") != nullptr);
  CHECK(mix->getFunction("pypa_rt_ipow") != nullptr);
}

TEST_CASE("float arithmetic lowers to the float helpers", "[codegen]") {
  llvm::LLVMContext ctx;
  auto m = lower(buildIR("def f(x, y):\n    return x // y + x % y + x ** y\n", "ff", "f", "pypa_t_flt"), ctx);
  for (const char* h : {"pypa_rt_float_floordiv", "pypa_rt_float_mod", "pypa_rt_float_pow"})
    CHECK(m->getFunction(h) != nullptr);
  auto g = lower(buildIR("def f(x, y):\n    return x + y\n", "oo", "f", "pypa_t_obj"), ctx);
  CHECK(g->getFunction("pypa_rt_binop") != nullptr);
}

TEST_CASE("the engine compiles an ELF object and links it", "[codegen][jit]") {
  jit::Engine& e = engine();
  CHECK(e.buildIdentity().find("py=") == 0);
  CHECK(e.buildIdentity().find(";llvm=") != std::string::npos);
  CHECK(e.buildIdentity().find(";opt=2") != std::string::npos);
  // The binary's own build ID (SHA-1: 40 hex digits), so objects of another build of the same version never link.
  CHECK(support::ownBuildId().size() == 40);
  CHECK(e.buildIdentity().find(";build=" + support::ownBuildId() + ";") != std::string::npos);
  CHECK(e.cpu().rfind("x86-64", 0) == 0);
  auto mod = lower(buildIR("def f(a, b):\n    return a * b\n", "ii", "f", "pypa_t_link"), testContext());
  std::string obj = must(e.compile(*mod), "compile");
  REQUIRE(obj.size() > 64);
  CHECK(obj.compare(0, 4, "\x7f" "ELF") == 0);
  CHECK(obj[4] == 2);                          // ELFCLASS64
  CHECK(uint8_t(obj[16]) == 1);                // ET_REL
  auto linked = must(e.link(obj, "pypa_t_link"), "link");
  void* addr = linked.address;
  CHECK(addr != nullptr);
  CHECK(must(e.link(obj, "pypa_t_link"), "relink").address == addr);  // linked once per symbol while owned
  CHECK(e.isLinked("pypa_t_link"));
  linked.owner.reset();
  CHECK_FALSE(e.isLinked("pypa_t_link"));  // the last owner gone, the code is freed
  auto missing = e.link(obj, "pypa_t_no_such_symbol");
  CHECK_FALSE(bool(missing));
  if (!missing) llvm::consumeError(missing.takeError());
}

TEST_CASE("a quick compile leaves the next compile's code generation as it was", "[codegen][jit]") {
  // Code generation at None switches LLVM's target machine to the fast instruction selector for good unless the
  // engine puts it back: the same module must compile to the same object before and after a quick (probe) compile.
  jit::Engine& e = engine();
  const char* src = "def f(n, x):\n    s = 0\n    for i in range(n):\n        s += i * x - (i >> 2)\n    return s\n";
  auto compileOnce = [&](bool quick) {
    llvm::LLVMContext ctx;
    auto mod = lower(buildIR(src, "ii", "f", "pypa_t_isel"), ctx);
    return must(e.compile(*mod, 0, true, nullptr, quick), "compile");
  };
  std::string before = compileOnce(false);
  std::string quick = compileOnce(true);
  CHECK(quick != before);
  CHECK(compileOnce(false) == before);
}

TEST_CASE("native int arithmetic matches the interpreter", "[codegen][native]") {
  Native n("def f(a, b):\n    return (a * b + 7) - a // b + a % b - (-a) + (a << 3) - (b >> 1) + (a & b ^ b | 5)\n",
           "ii", "pypa_t_int");
  for (long long a : {-1000000007LL, -100LL, -7LL, -1LL, 0LL, 1LL, 3LL, 7LL, 99LL, 123456789LL})
    for (long long b : {-13LL, -7LL, -2LL, -1LL, 1LL, 2LL, 3LL, 7LL, 1000LL}) {
      Ref x = Ref::steal(PyLong_FromLongLong(a)), y = Ref::steal(PyLong_FromLongLong(b));
      checkSame(n, {x.get(), y.get()});
    }
  Native p("def f(a, b):\n    return a ** b\n", "ii", "pypa_t_ipow");
  for (long long a : {-3LL, -2LL, -1LL, 0LL, 1LL, 2LL, 10LL})
    for (long long b : {0LL, 1LL, 2LL, 5LL, 13LL}) {
      Ref x = Ref::steal(PyLong_FromLongLong(a)), y = Ref::steal(PyLong_FromLongLong(b));
      checkSame(p, {x.get(), y.get()});
    }
}

TEST_CASE("native range loop with globals matches the interpreter", "[codegen][native]") {
  Native n("K = 3\ndef f(n):\n    t = 0\n    for i in range(1, n, 2):\n        t += i * i + K\n    return t\n", "i",
           "pypa_t_loop");
  for (long long v : {-5LL, 0LL, 1LL, 2LL, 10LL, 1001LL, 100000LL}) {
    Ref x = Ref::steal(PyLong_FromLongLong(v));
    checkSame(n, {x.get()});
  }
}

TEST_CASE("native float division modulo and comparisons match the interpreter", "[codegen][native]") {
  Native fd("def f(x, y):\n    return x // y\n", "ff", "pypa_t_fdiv");
  Native fm("def f(x, y):\n    return x % y\n", "ff", "pypa_t_fmod");
  Native td("def f(x, y):\n    return x / y - x * y + y\n", "ff", "pypa_t_ftd");
  Native cmp("def f(a, x):\n    return (a < x, a == x, a >= x, x != a)\n", "if", "pypa_t_cmp");
  const double values[] = {0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 3.0, -7.0, 1e-300, 5e-324, 1e300, -1.7976931348623157e308,
                           0.1, 9007199254740992.0, kInf, -kInf, kNan};
  for (double a : values)
    for (double b : values) {
      Ref x = Ref::steal(PyFloat_FromDouble(a)), y = Ref::steal(PyFloat_FromDouble(b));
      if (b == 0.0) continue;  // ZeroDivisionError: an exit, which needs a real frame
      checkSame(fd, {x.get(), y.get()});
      checkSame(fm, {x.get(), y.get()});
      checkSame(td, {x.get(), y.get()});
    }
  for (long long a : {-(1LL << 53), -3LL, -1LL, 0LL, 2LL, 9007199254740991LL, 1LL << 53})
    for (double b : values) {
      Ref x = Ref::steal(PyLong_FromLongLong(a)), y = Ref::steal(PyFloat_FromDouble(b));
      checkSame(cmp, {x.get(), y.get()});
    }
}

TEST_CASE("every function the specializer builds lowers verifies compiles and links", "[codegen][corpus]") {
  // Snippets covering the supported opcode families and the control flow shapes CPython 3.11 emits.
  const char* corpus[] = {
      "def f(a, b):\n    return a + b * 2 - (a // 3) % 5\n",
      "def f(a, b):\n    return a < b < 10\n",
      "def f(a, b):\n    return a if a > b else b\n",
      "def f(a, b):\n    x = a and b\n    y = a or b\n    return x, y, not a\n",
      "def f(a, b):\n    t = 0\n    for i in range(10):\n        for j in range(i, 0, -1):\n            t += i * j\n"
      "    return t + a\n",
      "def f(a, b):\n    n = 0\n    while a > 0:\n        a -= 1\n        if a == 5:\n            continue\n"
      "        if a == b:\n            break\n        n += 1\n    return n\n",
      "def f(a, b):\n    for i in range(3):\n        if i == 2:\n            return i\n    return -1\n",
      "def f(a, b):\n    if a:\n        c = a\n    return c\n",
      "def f(a, b):\n    try:\n        x = a / b\n    except ZeroDivisionError:\n        x = 0\n    return x\n",
      "def f(a, b):\n    x, y = a, b\n    return y, x\n",
      "def f(a, b):\n    del a\n    return b\n",
      "def f(a, b):\n    return abs(a) + len(str(b))\n",
      "def f(a, b):\n    return [a, b][0]\n",
      "def f(a, b):\n    a += 1.5\n    b **= 2\n    return a ** 0.5 + b\n",
      "def f(a, b):\n    return a is None or b is not None\n",
      "def f(a, b):\n    return -a, +b, ~(a if a == a else 0)\n",
      "def f(a, b):\n    x = 1\n    for i in range(a if a == a else 0):\n        x = x * 1.0001 if i % 2 else x + i\n"
      "    return x\n",
      "def f(a, b):\n    s = 0\n    i = 0\n    while i < 100:\n        s = s ^ (i << 2) | (i >> 1) & 7\n        i += 1\n"
      "    return s\n",
      "def f(a, b):\n    return (a == b, a != b, a <= b, a >= b)\n",
      "def f(a, b):\n    assert a\n    return b\n",
      "def f(a, b):\n    with a:\n        return b\n",
      "def f(a, b):\n    return f'{a}{b}'\n",
  };
  jit::Engine& e = engine();
  int built = 0, declined = 0, n = 0;
  for (const char* src : corpus)
    for (const char* sig : {"ii", "ff", "io", "oo", "bf", "fi", "bb"}) {
      std::string symbol = "pypa_corpus_" + std::to_string(n++);
      INFO(src << "signature " << sig);
      auto b = tryBuild(src, sig, "f", symbol);
      if (!b->fn) {
        declined++;
        CHECK(b->error.find("internal") == std::string::npos);
        continue;
      }
      built++;
      CHECK(ir::verify(*b->fn) == "");
      auto mod = lower(*b->fn, testContext());
      std::string obj = must(e.compile(*mod), "compile");
      CHECK(must(e.link(obj, symbol), "link").address != nullptr);
    }
  CHECK(built > declined * 4);
}

TEST_CASE("native generic object code keeps reference counts balanced", "[codegen][native]") {
  Native n("def f(a, b):\n    x = a * b\n    y = x or a\n    if y is None:\n        return a\n"
           "    z = -y if a < b else y\n    return z + a\n",
           "oo", "pypa_t_refs");
  for (double av : {1.5, -2.0, 1e300}) {
    // Fresh float objects nobody else holds, so their counts are exactly ours.
    Ref a = Ref::steal(PyFloat_FromDouble(av)), b = Ref::steal(PyFloat_FromDouble(av * 3 + 1));
    Py_ssize_t ra = Py_REFCNT(a.get()), rb = Py_REFCNT(b.get());
    Ref got = n.call({a.get(), b.get()});
    CHECK(Py_REFCNT(a.get()) == ra);
    CHECK(Py_REFCNT(b.get()) == rb);
    CHECK(Py_REFCNT(got.get()) == 1);
    Ref want = n.interpret({a.get(), b.get()});
    CHECK(sameValue(want.get(), got.get()));
  }
  Native t("def f(a, b):\n    return (a, b, a + 1)\n", "oi", "pypa_t_tuple");
  Ref a = Ref::steal(PyFloat_FromDouble(0.25)), b = Ref::steal(PyLong_FromLong(41));
  Py_ssize_t ra = Py_REFCNT(a.get());
  {
    Ref got = t.call({a.get(), b.get()});
    CHECK(Py_REFCNT(a.get()) == ra + 1);  // the tuple holds one
    CHECK(sameValue(t.interpret({a.get(), b.get()}).get(), got.get()));
  }
  CHECK(Py_REFCNT(a.get()) == ra);
}

TEST_CASE("x ** 0.5 and x ** 2.0 computed without pow give pow's own result", "[codegen][native]") {
  // The shortcut (lower_arith.cpp, powBySquareOrRoot) against the libm's pow, which float.__pow__ calls, bit for
  // bit: log-uniform arguments over the range it takes, and squares and roots built to sit next to a rounding
  // boundary, where it must leave the answer to pow.
  Native root("def f(x):\n    return x ** 0.5\n", "f", "pypa_t_root");
  Native square("def f(x):\n    return x ** 2.0\n", "f", "pypa_t_square");
  uint64_t state = 0x9E3779B97F4A7C15ull;
  auto next = [&] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  auto same = [](double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; };
  // Not constants: the C++ compiler would make std::pow(a, 2.0) a * a, which is what is under test.
  volatile double half = 0.5, two = 2.0;
  int bad = 0;
  for (int i = 0; i < 400000; i++) {
    double mant = 1.0 + double(next() >> 12) * 0x1p-52;
    double a = std::ldexp(mant, int(next() % 1000) - 500);
    if (i % 3 == 1) {
      double r = std::sqrt(a);
      double mid = r + (std::nextafter(r, kInf) - r) / 2;  // (r + ULP/2)**2: the root next to a midpoint
      a = mid * mid;
    } else if (i % 3 == 2) {
      a = std::sqrt(a) * (1.0 + double(next() % 64) * 0x1p-53);  // squares next to a midpoint, now and then
    }
    Ref x = Ref::steal(PyFloat_FromDouble(a));
    Ref r = root.call({x.get()});
    Ref s = square.call({x.get()});
    bool ok = same(PyFloat_AS_DOUBLE(r.get()), std::pow(a, half)) && same(PyFloat_AS_DOUBLE(s.get()), std::pow(a, two));
    if (!ok && bad++ < 5) FAIL_CHECK("x = " << repr(x.get()));
    if (i % 2 == 0) {  // negative bases: the square only
      Ref nx = Ref::steal(PyFloat_FromDouble(-a));
      Ref ns = square.call({nx.get()});
      if (!same(PyFloat_AS_DOUBLE(ns.get()), std::pow(-a, two)) && bad++ < 5) FAIL_CHECK("x = " << repr(nx.get()));
    }
  }
  CHECK(bad == 0);
  // Against the interpreter too, on the edges of the range (powers of two, the limits, 1.0).
  for (double a : {1.0, 4.0, 2.0, 0.5, 0x1p-900, 0x1p900, 0x1.8p-900, 0x1.fffffffffffffp899, 1e-300, 1e300, 3.0,
                   0.1, 1e-150, 1e150, 0x1p-500, 0x1.0000000000001p500}) {
    Ref x = Ref::steal(PyFloat_FromDouble(a));
    checkSame(root, {x.get()});
    if (std::fabs(a) <= 1e150 && std::fabs(a) >= 1e-150) checkSame(square, {x.get()});
  }
}

TEST_CASE("native bool int and float mixes match the interpreter", "[codegen][native]") {
  Native bools("def f(p, q):\n    return (p + q, p & q, p | q, p ^ q, -p, +q, ~q, p < q, p == q, p * 2.5, not p,\n"
               "            p and q, p or q, p - True, q // True, p % True)\n",
               "bb", "pypa_t_bools");
  for (PyObject* p : {Py_False, Py_True})
    for (PyObject* q : {Py_False, Py_True}) checkSame(bools, {p, q});

  Native mix("def f(a, x):\n    return (a + x, x - a, a * x, a / x, x / a if a else 0.0, a // x, a % x, x // a if a else 1,\n"
             "            a < x, x >= a, a == x, -x, not x, x != x, -a, a >> 3, a & 0xff)\n",
             "if", "pypa_t_mix");
  // No input takes an exit (zero divisor, overflow, inexact int->float comparison): there is no frame to exit to.
  for (long long a : {-5LL, 0LL, 3LL, 1LL << 40, -(1LL << 52)})
    for (double x : {0.5, -2.25, 1e10, 3.0, -1e-3, kInf, -kInf, kNan}) {
      Ref ra = Ref::steal(PyLong_FromLongLong(a)), rx = Ref::steal(PyFloat_FromDouble(x));
      checkSame(mix, {ra.get(), rx.get()});
    }
}

TEST_CASE("a direct entry's calls of itself go through an always-inline copy", "[codegen]") {
  // f(n) = n < 2 ? n : f(n - 1): the copy keeps calling f, so inlining it unrolls exactly one level.
  llvm::LLVMContext& ctx = testContext();
  llvm::Module m("self", ctx);
  llvm::IRBuilder<> b(ctx);
  auto* i64 = b.getInt64Ty();
  auto* f = llvm::Function::Create(llvm::FunctionType::get(i64, {i64}, false), llvm::GlobalValue::ExternalLinkage,
                                   "f", m);
  auto* entry = llvm::BasicBlock::Create(ctx, "entry", f);
  auto* leaf = llvm::BasicBlock::Create(ctx, "leaf", f);
  auto* rec = llvm::BasicBlock::Create(ctx, "rec", f);
  b.SetInsertPoint(entry);
  b.CreateCondBr(b.CreateICmpSLT(f->getArg(0), b.getInt64(2)), leaf, rec);
  b.SetInsertPoint(leaf);
  b.CreateRet(f->getArg(0));
  b.SetInsertPoint(rec);
  b.CreateRet(b.CreateCall(f, {b.CreateSub(f->getArg(0), b.getInt64(1))}));

  codegen::unrollSelfRecursion(*f);
  llvm::Function* copy = m.getFunction("f.inline");
  REQUIRE(copy != nullptr);
  CHECK(copy->hasInternalLinkage());
  CHECK(copy->hasFnAttribute(llvm::Attribute::AlwaysInline));
  auto calleeOf = [](llvm::Function& fn) -> llvm::Function* {
    for (llvm::BasicBlock& bb : fn)
      for (llvm::Instruction& i : bb)
        if (auto* c = llvm::dyn_cast<llvm::CallInst>(&i)) return c->getCalledFunction();
    return nullptr;
  };
  CHECK(calleeOf(*f) == copy);
  CHECK(calleeOf(*copy) == f);
  CHECK_FALSE(llvm::verifyModule(m, &llvm::errs()));
}

TEST_CASE("skippable prologue tests fold to false and the others stay", "[codegen]") {
  // f(n, p) = (n < 0 | *p != 0 [skippable]) ? -1 : n: the dropped test takes its load with it, the kept one stays.
  llvm::LLVMContext& ctx = testContext();
  llvm::Module m("skip", ctx);
  llvm::IRBuilder<> b(ctx);
  auto* i64 = b.getInt64Ty();
  auto* f = llvm::Function::Create(llvm::FunctionType::get(i64, {i64, b.getPtrTy()}, false),
                                   llvm::GlobalValue::ExternalLinkage, "f", m);
  auto* entry = llvm::BasicBlock::Create(ctx, "entry", f);
  auto* bad = llvm::BasicBlock::Create(ctx, "bad", f);
  auto* good = llvm::BasicBlock::Create(ctx, "good", f);
  b.SetInsertPoint(entry);
  llvm::Value* kept = b.CreateICmpSLT(f->getArg(0), b.getInt64(0));
  llvm::Value* pending = codegen::markFrontSkippable(b.CreateICmpNE(b.CreateLoad(b.getInt32Ty(), f->getArg(1)),
                                                                    b.getInt32(0)));
  b.CreateCondBr(b.CreateOr(kept, pending), bad, good);
  b.SetInsertPoint(bad);
  b.CreateRet(b.getInt64(-1));
  b.SetInsertPoint(good);
  b.CreateRet(f->getArg(0));

  codegen::dropSkippableTests(*f);
  CHECK_FALSE(llvm::verifyModule(m, &llvm::errs()));
  size_t loads = 0;
  llvm::Value* cond = nullptr;
  for (llvm::BasicBlock& bb : *f)
    for (llvm::Instruction& i : bb) {
      loads += llvm::isa<llvm::LoadInst>(i);
      if (auto* br = llvm::dyn_cast<llvm::BranchInst>(&i); br && br->isConditional()) cond = br->getCondition();
    }
  CHECK(loads == 0);
  CHECK(cond == kept);
}

TEST_CASE("every helpers.def row resolves to its function in the JIT", "[codegen]") {
  // HELPER rows through the export table (their own address), CPYTHON_API rows from the process: a stored object
  // that names any of them links.
  int n = 0;
  const runtime::HelperSymbol* exported = runtime::helperSymbols(&n);
  std::map<std::string, void*> table;
  for (int i = 0; i < n; i++) table[exported[i].name] = exported[i].address;
  for (int i = 0; i < runtime::kHelpers; i++) {
    const char* name = runtime::helperName(runtime::Helper(i));
    INFO(name);
    runtime::Helper back;
    CHECK((runtime::helperFromName(name, &back) && back == runtime::Helper(i)));
    auto addr = engine().resolve(name);
    if (!addr) FAIL(llvm::toString(addr.takeError()));
    CHECK(*addr != nullptr);
    if (table.count(name)) CHECK(*addr == table[name]);
  }
  CHECK(runtime::kHelpers > n);  // every exported helper, and the CPython functions besides
}
