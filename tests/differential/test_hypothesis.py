# Hypothesis-generated differential tests:
#  - every operator over ints in [-2**64-5, 2**64+5] (weighted to the 32/53/63/64-bit boundaries, 0 and -1),
#    floats (signed zeros, nan, infinities, 1e308, 5e-324 and arbitrary doubles) and bools;
#  - small random functions: expression trees over int/float locals, straight-line statement lists, if/else, and
#    bounded while/for loops with break/continue, rendered to source and run compiled and plain.
# Examples are derandomized (conftest.py); PYPACCEL_DIFF_RANDOM=1 explores fresh ones, PYPACCEL_DIFF_EXAMPLES
# scales how many.
import math
import os

import pytest
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st

from conftest import report_stress
from harness import BINARY_OPS, COMPARE_OPS, OP_NAMES, Pair, PairPool, binop_source, compare, fail, safe_operands

SCALE = float(os.environ.get("PYPACCEL_DIFF_EXAMPLES", "1"))


NOSHRINK = os.environ.get("PYPACCEL_DIFF_NOSHRINK") == "1"  # report the first failing example as it was found


def examples(n):
    extra = {"phases": [Phase.explicit, Phase.reuse, Phase.generate]} if NOSHRINK else {}  # no explain: conftest
    return settings(max_examples=max(1, int(n * SCALE)), suppress_health_check=list(HealthCheck), **extra)


BOUNDARIES = sorted({s * 2**k + d for k in (31, 32, 53, 62, 63, 64) for s in (1, -1) for d in (-5, -2, -1, 0, 1, 2, 5)}
                    | {0, 1, -1, 2, -2, 3, -3, 7, -7, 2**64 + 5, -2**64 - 5})
ints = st.one_of(st.sampled_from(BOUNDARIES), st.integers(-2**64 - 5, 2**64 + 5), st.integers(-300, 300))
SPECIAL_FLOATS = [0.0, -0.0, 1.0, -1.0, 0.5, 1.5, -2.5, 1e308, -1e308, 5e-324, -5e-324, 2.2250738585072014e-308,
                  math.inf, -math.inf, math.nan, 9007199254740992.0, 9223372036854775808.0, 18446744073709551616.0]
floats = st.one_of(st.sampled_from(SPECIAL_FLOATS), st.floats(allow_nan=True, allow_infinity=True),
                   st.floats(-1e6, 1e6))
numbers = st.one_of(ints, ints, floats, st.booleans())

POOL = PairPool()


@pytest.mark.parametrize("op", BINARY_OPS + COMPARE_OPS, ids=[OP_NAMES[o] for o in BINARY_OPS + COMPARE_OPS])
@examples(120)
@given(a=numbers, b=numbers)
def test_operator(op, a, b):
    assume(safe_operands(op, a, b))
    src = binop_source(op) if op in BINARY_OPS else f"def f(a, b):\n    return a {op} b\n"
    POOL.check(src, (a, b))


@pytest.mark.parametrize("op", ["-", "+", "~", "not "], ids=["neg", "pos", "invert", "not"])
@examples(60)
@given(a=numbers)
def test_unary_operator(op, a):
    POOL.check(f"def f(a):\n    return {op}a\n", (a,))


# ---------------------------------------------------------------------------------------------------------------
# Random functions

INT_CONSTS = [0, 1, 2, 3, 7, -1, -7, 100, 2**31, 2**53 + 1, 2**62, 2**63 - 1, -2**63, 2**64]
FLOAT_CONSTS = [0.0, -0.0, 0.5, 1.5, -2.5, 1e308, 5e-324, 3.0]


def render_const(v):
    return f"({v!r})"


@st.composite
def expressions(draw, names, depth=3, in_loop=False, floats=True):
    """Source of an expression over `names`. Exponents and left shifts use small constants (CPython must stay fast);
    everything else can raise, overflow 64 bits or mix ints with floats (floats=False: no float constants and no
    true division, so int-only functions mostly run to the end)."""
    if depth <= 0 or draw(st.integers(0, 3)) == 0:
        kind = draw(st.sampled_from(["name", "name", "name", "int", "int", "bool"] + (["float"] if floats else [])))
        if kind == "name":
            return draw(st.sampled_from(names))
        if kind == "int":
            return render_const(draw(st.sampled_from(INT_CONSTS)))
        if kind == "float":
            return render_const(draw(st.sampled_from(FLOAT_CONSTS)))
        return draw(st.sampled_from(["True", "False"]))
    kind = draw(st.sampled_from(["bin"] * 6 + ["unary", "cmp", "ifexp", "boolop"]))
    sub = expressions(names, depth - 1, in_loop, floats)
    if kind == "bin":
        ops = ["+", "-", "*", "+", "-", "*", "//", "%", ">>", "&", "|", "^", "<<"] + ([] if in_loop else ["**"]) + \
            (["/"] if floats else [])
        op = draw(st.sampled_from(ops))
        left = draw(sub)
        if op == "**":
            right = str(draw(st.integers(-1, 3)))
        elif op == "<<":
            right = str(draw(st.sampled_from([0, 1, 3, 31, 63, 64, 65])))
        else:
            right = draw(sub)
        return f"({left} {op} {right})"
    if kind == "unary":
        return f"({draw(st.sampled_from(['-', '+', '~', 'not ']))}{draw(sub)})"
    if kind == "cmp":
        return f"({draw(sub)} {draw(st.sampled_from(COMPARE_OPS))} {draw(sub)})"
    if kind == "ifexp":
        return f"({draw(sub)} if {draw(sub)} else {draw(sub)})"
    return f"({draw(sub)} {draw(st.sampled_from(['and', 'or']))} {draw(sub)})"


PARAMS = ["a", "b", "c"]
LOCALS = ["t0", "t1", "t2"]
NAMES = PARAMS + LOCALS


@st.composite
def statements(draw, indent, depth, in_loop=False, loop_var=None, floats=True):
    names = NAMES + ([loop_var] if loop_var else [])
    pad = "    " * indent
    n = draw(st.integers(1, 4))
    lines = []
    for _ in range(n):
        kind = draw(st.sampled_from(["assign"] * 4 + ["augassign", "if"] + (["loop"] if depth > 0 and not in_loop
                                                                             else [])
                                    + (["break", "continue"] if in_loop else [])))
        if kind == "assign":
            lines.append(f"{pad}{draw(st.sampled_from(LOCALS))} = {draw(expressions(names, 3, in_loop, floats))}")
        elif kind == "augassign":
            op = draw(st.sampled_from(["+", "-", "*", "//", "%", "&", "|", "^", ">>"]))
            lines.append(f"{pad}{draw(st.sampled_from(LOCALS))} {op}= {draw(expressions(names, 2, in_loop, floats))}")
        elif kind == "if":
            lines.append(f"{pad}if {draw(expressions(names, 2, in_loop, floats))}:")
            lines += draw(statements(indent + 1, depth - 1, in_loop, loop_var, floats))
            if draw(st.booleans()):
                lines.append(f"{pad}else:")
                lines += draw(statements(indent + 1, depth - 1, in_loop, loop_var, floats))
        elif kind in ("break", "continue"):
            lines.append(f"{pad}if {draw(expressions(names, 2, in_loop, floats))}:")
            lines.append(f"{pad}    {kind}")
        else:  # a bounded loop (no nesting: values must not grow without limit)
            if draw(st.booleans()):
                lo = draw(st.integers(-4, 4))
                hi = lo + draw(st.integers(-6, 6))
                step = draw(st.sampled_from([1, 2, 3, -1, -2]))
                lines.append(f"{pad}for k in range({lo}, {hi}, {step}):")
                lines += draw(statements(indent + 1, depth - 1, True, "k", floats))
            else:
                bound = draw(st.integers(0, 6))
                lines.append(f"{pad}w = 0")
                lines.append(f"{pad}while w < {bound}:")
                lines.append(f"{pad}    w += 1")
                lines += draw(statements(indent + 1, depth - 1, True, "w", floats))
            if draw(st.booleans()):
                lines.append(f"{pad}else:")
                lines.append(f"{pad}    t2 = t2 + 1")
    return lines


@st.composite
def functions(draw, floats=True):
    body = [f"    t0 = {draw(expressions(PARAMS, 1, False, floats))}", "    t1 = b", "    t2 = 1"]
    body += draw(statements(1, 2, floats=floats))
    body.append("    return t0, t1, t2")
    return "def f(a, b, c):\n" + "\n".join(body) + "\n"


small_numbers = st.one_of(st.sampled_from([0, 1, -1, 2, 3, -5, 2**31, 2**62, 2**63 - 1, -2**63, 2**64, 0.0, -0.0, 1.5,
                                           -2.5, math.inf, math.nan, 1e308, True, False]),
                          st.integers(-1000, 1000), st.floats(-1e3, 1e3))


def run_generated(src, arg_lists):
    problems = []
    pairs = {}
    for args in arg_lists:
        sig = "".join(type(a).__name__[0] for a in args)
        pair = pairs.get(sig) or pairs.setdefault(sig, Pair(src, tag="gen"))
        problems += compare(pair, args)
    if problems:
        fail(src, problems, len(arg_lists))


small_ints = st.one_of(st.sampled_from([0, 1, -1, 2, 3, -5, 2**31, 2**62, 2**63 - 1, -2**63, 2**64, True, False]),
                       st.integers(-1000, 1000), st.integers(-2**64, 2**64))


@examples(120)
@given(src=functions(), arg_lists=st.lists(st.tuples(small_numbers, small_numbers, small_numbers), min_size=1,
                                            max_size=4))
def test_generated_functions(src, arg_lists):
    run_generated(src, arg_lists)


@examples(120)
@given(src=functions(floats=False), arg_lists=st.lists(st.tuples(small_ints, small_ints, small_ints), min_size=1,
                                                        max_size=4))
def test_generated_int_functions(src, arg_lists):
    run_generated(src, arg_lists)


@examples(150)
@given(expr=expressions(PARAMS, 4), arg_lists=st.lists(st.tuples(numbers, numbers, numbers), min_size=1, max_size=4))
def test_generated_expressions(expr, arg_lists):
    run_generated(f"def f(a, b, c):\n    return {expr}\n", arg_lists)


def test_stress_mode():
    report_stress(__file__)
