# int / float / bool mixing: every operator with one operand of each kind (ints of every size, bools, floats),
# the conversions CPython does (exact int-to-float rounding, TypeErrors of float shifts and bitwise ops), and
# locals that change kind along the way.
import pytest

from conftest import report_stress
from harness import (BINARY_OPS, EDGE_BOOLS, EDGE_FLOATS, EDGE_INTS, OP_NAMES, binop_source, check,
                     exits_unless_small_result, pairs_for)

INTS = EDGE_INTS + EDGE_BOOLS + [2**53 - 1, -(2**53) - 1, 2**63 - 512, 2**63 - 513, -(2**63) + 1]


def mixed_pairs(op):
    return pairs_for(op, INTS, EDGE_FLOATS) + pairs_for(op, EDGE_FLOATS, INTS)


@pytest.mark.parametrize("op", BINARY_OPS, ids=[OP_NAMES[o] for o in BINARY_OPS])
def test_int_float(op):
    check(binop_source(op), mixed_pairs(op), expect_exit=exits_unless_small_result)


@pytest.mark.parametrize("op", BINARY_OPS, ids=[OP_NAMES[o] for o in BINARY_OPS])
def test_int_float_inplace(op):
    check(binop_source(op, inplace=True), mixed_pairs(op), expect_exit=exits_unless_small_result)


@pytest.mark.parametrize("op", BINARY_OPS, ids=[OP_NAMES[o] for o in BINARY_OPS])
def test_bool_bool(op):
    check(binop_source(op), [(a, b) for a in EDGE_BOOLS for b in EDGE_BOOLS], expect_exit=exits_unless_small_result)


def test_int_to_float_rounding():
    # Ints past 2**53 round to nearest-even when they meet a float.
    src = """
    def f(i, x):
        return i + x, i * x, x - i, i / 1.0, (i + 0.0) == i
    """
    ints = [2**53 + k for k in range(-3, 4)] + [2**63 - 1, -2**63, 2**62 + 1, 2**54 + 2, 2**54 + 6, -(2**53) - 3]
    check(src, [(i, x) for i in ints for x in (0.0, -0.0, 0.5, 1.0)])


def test_local_changes_kind():
    src = """
    def f(a, b):
        x = a
        x = x + b
        y = x * 2
        if y > 3:
            x = x / 2
        z = x // 1
        return x, y, z, type(x) is float
    """
    vals = [0, 3, -3, True, 2.5, -0.0, 2**62, 2**63 - 1]
    check(src, [(a, b) for a in vals for b in vals])


def test_int_float_int_chain():
    src = """
    def f(n):
        a = n // 3
        b = a / 7
        c = b * 7
        d = c - a
        e = n % 5 + d
        return a, b, c, d, e, -a, -b
    """
    check(src, [(n,) for n in [0, 1, -1, 7, -7, 10**15, -10**15, 2**53 + 1, 2**62, 2**63 - 1, -2**63, True, False]])


def test_stress_mode():
    report_stress(__file__)
