# Binary arithmetic on ints (and bools used as ints): every operator and its in-place form over the edge values,
# shifts over the edge shift counts, and constant operands folded into the compiled code.
import pytest

from conftest import report_stress
from harness import (BINARY_OPS, EDGE_BOOLS, EDGE_INTS, OP_NAMES, SHIFT_COUNTS, binop_source, check,
                     exits_unless_small_result, literal, pairs_for)

INT_OPS = BINARY_OPS


@pytest.mark.parametrize("op", INT_OPS, ids=[OP_NAMES[o] for o in INT_OPS])
def test_int_int(op):
    check(binop_source(op), pairs_for(op, EDGE_INTS, EDGE_INTS), expect_exit=exits_unless_small_result)


@pytest.mark.parametrize("op", INT_OPS, ids=[OP_NAMES[o] for o in INT_OPS])
def test_int_int_inplace(op):
    check(binop_source(op, inplace=True), pairs_for(op, EDGE_INTS, EDGE_INTS), expect_exit=exits_unless_small_result)


@pytest.mark.parametrize("op", INT_OPS, ids=[OP_NAMES[o] for o in INT_OPS])
def test_bool_operands(op):
    values = EDGE_INTS + EDGE_BOOLS
    inputs = [(a, b) for a, b in pairs_for(op, values, values) if type(a) is bool or type(b) is bool]
    check(binop_source(op), inputs, expect_exit=exits_unless_small_result)


@pytest.mark.parametrize("op", ["<<", ">>"], ids=["lshift", "rshift"])
def test_shift_counts(op):
    inputs = pairs_for(op, EDGE_INTS + EDGE_BOOLS, SHIFT_COUNTS + [2**62, 2**63 - 1])
    check(binop_source(op), inputs, expect_exit=exits_unless_small_result)


@pytest.mark.parametrize("op", INT_OPS, ids=[OP_NAMES[o] for o in INT_OPS])
@pytest.mark.parametrize("side", ["left", "right"])
def test_constant_operand(op, side):
    # One function per constant: the constant is part of the compiled code.
    for c in [0, 1, -1, 2, 7, -7, 63, 64, 2**62, 2**63 - 1, -2**63, 2**63, True, False]:
        expr = f"{literal(c)} {op} x" if side == "right" else f"x {op} {literal(c)}"
        src = f"def f(x):\n    return {expr}\n"
        xs = [x for x in EDGE_INTS + EDGE_BOOLS
              if pairs_for(op, *([[c], [x]] if side == "right" else [[x], [c]]))]
        check(src, [(x,) for x in xs],
              expect_exit=lambda args, out, c=c: exits_unless_small_result(args + (c,), out))


# Ints at the digit boundaries of CPython's representation (30-bit digits: one below 2**30, two below 2**60), both
# signs: an int of at most two digits is unboxed inline, a larger one through the C API; the ints a list holds too.
DIGIT_EDGES = [v * s for v in [2**30 - 1, 2**30, 2**30 + 1, 2**60 - 1, 2**60, 2**60 + 1] for s in (1, -1)] + [0, 1, -1]


@pytest.mark.parametrize("op", ["+", "-", "//", "^"], ids=[OP_NAMES[o] for o in ["+", "-", "//", "^"]])
def test_digit_boundaries(op):
    check(binop_source(op), pairs_for(op, DIGIT_EDGES, DIGIT_EDGES), expect_exit=exits_unless_small_result)


def test_digit_boundaries_of_list_items():
    src = """
    def f(xs):
        t = 0
        for x in xs:
            t = t ^ (x + 1)
        return t
    """
    check(src, [(DIGIT_EDGES,), ([v for v in DIGIT_EDGES if abs(v) < 2**60],), ([2**30, -2**30 + 1, 2**60 - 1],)])


def test_chained_expression():
    src = """
    def f(a, b, c):
        t = a * b + c
        u = (t // 3) % 1000003 - (a ^ c) + (b << 2) - (c >> 1)
        return t, u, -t, ~u
    """
    vals = [0, 1, -1, 7, -7, 2**31, 2**62, -2**63, 2**63 - 1]
    check(src, [(a, b, c) for a in vals for b in vals for c in vals[:5]])


def test_stress_mode():
    report_stress(__file__)
