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


OBJECT_HELPERS = """
from fractions import Fraction
from decimal import Decimal

LOG = []

class Num:
    def __init__(self, v):
        self.v = v
    def __repr__(self):
        return "Num(%r)" % (self.v,)
    def __add__(self, o):
        LOG.append("add")
        return Num(self.v + (o.v if isinstance(o, Num) else o))
    __radd__ = __add__
    def __mul__(self, o):
        LOG.append("mul")
        if o == 13:
            raise ValueError("unlucky")
        return Num(self.v * (o.v if isinstance(o, Num) else o))
    def __lt__(self, o):
        LOG.append("lt")
        return self.v < (o.v if isinstance(o, Num) else o)
    def __bool__(self):
        LOG.append("bool")
        return bool(self.v)
    def __neg__(self):
        LOG.append("neg")
        return Num(-self.v)
    def __index__(self):
        LOG.append("index")
        return int(self.v)

class MyInt(int):
    def __add__(self, o):
        LOG.append("myint-add")
        return MyInt(int(self) + int(o) + 1000)

class MyFloat(float):
    pass
"""


@pytest.mark.parametrize("make", ["Num(3)", "Num(0)", "MyInt(5)", "MyFloat(2.5)", "Fraction(7, 3)",
                                  "Decimal('1.1')", "complex(1, 2)", "Num(2**70)", "'str'", "None"])
def test_user_defined_and_other_numbers(make):
    # Generic objects go through CPython's own protocols: every special method runs exactly once per operation
    # (the log records them), results and exceptions are the same.
    src = OBJECT_HELPERS + f"""
def f(n, k):
    LOG.clear()
    x = {make}
    s = x
    for i in range(n):
        s = s + i
        s = s * k
        if s < 100:
            s = -s
        if not s:
            s = s + 1
    r = 0
    try:
        for j in range(x):
            r = r + j
            if j > 5:
                break
    except TypeError as e:
        r = str(e)
    return repr(s), r, list(LOG)
"""
    check(src, [(n, k) for n in (0, 1, 3) for k in (1, 2, 13)], name="f")


def test_stress_mode():
    report_stress(__file__)
