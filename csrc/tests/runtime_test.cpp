// The exact numeric helpers of runtime/numeric.cpp against the interpreter's own results on edge values (signed
// zeros, NaN, infinities, huge and subnormal magnitudes, negative operands): bit for bit, or a refusal.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>

#include "runtime/helpers.h"
#include "test_support.h"

using namespace pypaccel::testing;
using namespace pypaccel::runtime;  // the pypa_rt_* helpers (runtime/helpers.h)

namespace {

const double kInf = std::numeric_limits<double>::infinity();
const double kNan = std::numeric_limits<double>::quiet_NaN();
const double kValues[] = {0.0,   -0.0,  1.0,     -1.0,    0.5,    -0.5,   2.5,        -2.5,   3.0,     -3.0,
                          7.0,   -7.0,  0.1,     1.0 / 3, 1e-300, -1e-300, 5e-324,    -5e-324, 1e300,  -1e300,
                          1.7976931348623157e308, -1.7976931348623157e308, 9007199254740993.0, 2.0, 10.0, 1e16,
                          -1e16, kInf, -kInf,   kNan};

// Python's result for `a OP b` per pair: a float, or None when it raises or is not a float.
std::vector<std::optional<double>> pythonFloats(const char* op, const std::vector<std::pair<double, double>>& pairs) {
  std::string defs = std::string("def run(pairs):\n    out = []\n    for a, b in pairs:\n        try:\n"
                                 "            r = a ") + op + " b\n" +
                     "        except (ZeroDivisionError, OverflowError, ValueError):\n            r = None\n"
                     "        out.append(r if type(r) is float else None)\n    return out\n";
  Ref list = Ref::steal(PyList_New(0));
  for (auto [a, b] : pairs) {
    Ref t = Ref::steal(Py_BuildValue("(dd)", a, b));
    PyList_Append(list.get(), t.get());
  }
  Ref args = Ref::steal(PyTuple_Pack(1, list.get()));
  Ref r = callPy(defs, "run", args.get());
  std::vector<std::optional<double>> out;
  for (Py_ssize_t i = 0; i < PyList_GET_SIZE(r.get()); i++) {
    PyObject* v = PyList_GET_ITEM(r.get(), i);
    out.push_back(v == Py_None ? std::nullopt : std::optional<double>(PyFloat_AS_DOUBLE(v)));
  }
  return out;
}

bool sameBits(double x, double y) { return (std::isnan(x) && std::isnan(y)) || std::memcmp(&x, &y, sizeof x) == 0; }

std::vector<std::pair<double, double>> allPairs(bool nonzeroDivisor) {
  std::vector<std::pair<double, double>> out;
  for (double a : kValues)
    for (double b : kValues)
      if (!nonzeroDivisor || b != 0.0) out.emplace_back(a, b);
  return out;
}

}  // namespace

TEST_CASE("pypa_rt_float_floordiv and pypa_rt_float_mod match Python", "[runtime]") {
  auto pairs = allPairs(true);  // the helpers are only called with b != 0 (native code exits first)
  auto div = pythonFloats("//", pairs);
  auto mod = pythonFloats("%", pairs);
  for (size_t i = 0; i < pairs.size(); i++) {
    auto [a, b] = pairs[i];
    INFO("a=" << a << " b=" << b);
    REQUIRE(div[i].has_value());
    REQUIRE(mod[i].has_value());
    double d = pypa_rt_float_floordiv(a, b), m = pypa_rt_float_mod(a, b);
    INFO("floordiv " << d << " vs " << *div[i] << ", mod " << m << " vs " << *mod[i]);
    CHECK(sameBits(d, *div[i]));
    CHECK(sameBits(m, *mod[i]));
  }
}

TEST_CASE("pypa_rt_float_pow is exact or declines", "[runtime]") {
  auto pairs = allPairs(false);
  for (double a : {2.0, 10.0, 0.5, 1.5, 1e-10})
    for (double b : {-1074.0, -1080.0, -1022.5, 1023.0, 1024.0, 0.5, -0.5, 1e-300, 53.0, -310.0})
      pairs.emplace_back(a, b);
  for (double a : {-2.0, -10.0, -0.5, -1.5, -1.0, -1e-10})  // float_pow's |a| and sign for integral exponents
    for (double b : {3.0, 4.0, -3.0, 2.0, 53.0, 1024.0, 1023.0, -1075.0, -1074.0, 0.5, 1e300, -1e300, 9007199254740993.0})
      pairs.emplace_back(a, b);
  auto py = pythonFloats("**", pairs);
  int fast = 0;
  for (size_t i = 0; i < pairs.size(); i++) {
    auto [a, b] = pairs[i];
    double out = -12345.0;
    int ok = pypa_rt_float_pow(a, b, &out);
    INFO("a=" << a << " b=" << b << " helper " << ok << " " << out);
    if (ok) {
      fast++;
      REQUIRE(py[i].has_value());  // the interpreter does not raise where the helper answered
      CHECK(sameBits(out, *py[i]));
    }
    // Finite nonzero operands (a negative base with an integral exponent) with a normal (or zero) finite result
    // always take the fast path.
    if (a != 0 && (a > 0 || b == std::floor(b)) && std::isfinite(a) && std::isfinite(b) && py[i] && std::isfinite(*py[i]) &&
        (*py[i] == 0.0 || std::fabs(*py[i]) >= std::numeric_limits<double>::min()))
      CHECK(ok == 1);
  }
  CHECK(fast > 100);
}

TEST_CASE("pypa_rt_ipow matches Python ints or reports why not", "[runtime]") {
  std::vector<long long> bases;
  for (long long b = -40; b <= 40; b++) bases.push_back(b);
  for (long long b : std::initializer_list<long long>{std::numeric_limits<long long>::min(), std::numeric_limits<long long>::max(), 1LL << 31,
                      -(1LL << 31), 3037000499LL, 3037000500LL, -3037000499LL, -3037000500LL, 1LL << 32})
    bases.push_back(b);
  std::vector<long long> exps;
  for (long long e = -3; e <= 70; e++) exps.push_back(e);
  exps.push_back(1000);
  exps.push_back(std::numeric_limits<long long>::max());

  // Python's answer: the value when it fits in 64 bits, else None (only asked for exps where it is cheap).
  const char* defs =
      "def run(pairs):\n"
      "    out = []\n"
      "    for b, e in pairs:\n"
      "        if abs(b) >= 2 and e > 70:\n"
      "            out.append(None)\n"
      "            continue\n"
      "        r = pow(b, e)\n"
      "        out.append(r if -2**63 <= r < 2**63 else None)\n"
      "    return out\n";
  Ref list = Ref::steal(PyList_New(0));
  std::vector<std::pair<long long, long long>> pairs;
  for (long long b : bases)
    for (long long e : exps)
      if (e >= 0) {
        pairs.emplace_back(b, e);
        Ref t = Ref::steal(Py_BuildValue("(LL)", b, e));
        PyList_Append(list.get(), t.get());
      }
  Ref args = Ref::steal(PyTuple_Pack(1, list.get()));
  Ref want = callPy(defs, "run", args.get());
  for (size_t i = 0; i < pairs.size(); i++) {
    auto [b, e] = pairs[i];
    int64_t out = 0;
    int st = pypa_rt_ipow(b, e, &out);
    PyObject* w = PyList_GET_ITEM(want.get(), Py_ssize_t(i));
    INFO("base " << b << " exp " << e << " status " << st);
    if (w == Py_None) {
      CHECK(st == 2);
    } else {
      REQUIRE(st == 0);
      CHECK(out == PyLong_AsLongLong(w));
    }
  }
  for (long long b : bases) {
    int64_t out = 77;
    CHECK(pypa_rt_ipow(b, -1, &out) == 1);
    CHECK(out == 77);
  }
}
