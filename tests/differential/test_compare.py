# Comparisons: every operator over every kind of operand pair (int/bool/float, ints beyond 2**53 against floats,
# which CPython compares exactly), chained comparisons, `is` / `is not`, and comparisons used as conditions.
import math

import pytest

from conftest import report_stress
from harness import COMPARE_OPS, EDGE_VALUES, OP_NAMES, check, pypaccel

EXTRA = [2**53 - 1, 2**53 + 2, -(2**53) - 1, 9007199254740992.0, 9007199254740994.0, 9223372036854775808.0,
         -9223372036854775808.0, 9223372036854774784.0, 1.0, -1.0, 7.0, 2147483648.0]
VALUES = EDGE_VALUES + EXTRA


@pytest.mark.parametrize("op", COMPARE_OPS, ids=[OP_NAMES[o] for o in COMPARE_OPS])
def test_compare_values(op):
    check(f"def f(a, b):\n    return a {op} b\n", [(a, b) for a in VALUES for b in VALUES])


@pytest.mark.parametrize("op", COMPARE_OPS, ids=[OP_NAMES[o] for o in COMPARE_OPS])
def test_compare_as_condition(op):
    src = f"""
    def f(a, b):
        if a {op} b:
            return 1
        elif not (a {op} b):
            return 2
        return 3
    """
    check(src, [(a, b) for a in VALUES[::2] for b in VALUES[1::2]])


def test_chained():
    src = """
    def f(a, b, c):
        return (a < b < c, a <= b == c, a != b > c, a == b == c, 0 <= a < 10, c > b >= a)
    """
    vals = [0, 1, -1, 2**53 + 1, 2**63 - 1, -2**63, 2**64, True, False, 0.0, -0.0, 1.5, math.inf, math.nan]
    check(src, [(a, b, c) for a in vals for b in vals for c in vals[::3]])


def test_is_operator():
    src = """
    def f(a, b):
        return (a is None, a is not None, a is True, b is False, a is not False, (a + 0) is None, a is 1 - 1)
    """
    vals = [0, 1, -1, 2**63 - 1, 2**64, True, False, 0.0, math.nan]
    check(src, [(a, b) for a in vals for b in vals])


def test_is_distinct_objects():
    src = """
    def f(a, b):
        return a is b, a is not b
    """
    check(src, [(1000, 1000.0), (2.5, -2.5), (0, False), (1, True), (2**64, 2**64 + 1), (True, False)])


def test_is_same_object():
    # Arguments the function never reassigns keep their identity: `is` compares the objects the frame holds.
    src = """
    def f(a, b):
        return a is b, a is not b
    """
    inputs = _same_object_twice([10**6, 2.5, 2**62, True])
    assert all(a is b for a, b in inputs)
    check(src, inputs)


@pypaccel.exclude
def _same_object_twice(values):
    # Interpreted for good: compiled (the whole-process runs of scripts/test.sh), this very function would unbox
    # each value and box it twice, and hand the test two distinct objects (the bug the test is about).
    # No comprehension: its code object would not be excluded.
    out = []
    for v in values:
        out.append((v, v))
    return out


def test_is_after_local_copy():
    # b and c hold a's object: natively, and after an exit (k * 2**64 outgrows 64 bits) in the interpreter.
    # (A copy on only some paths, `c = a if k else 0`: test_returned_argument_is_the_same_object.)
    src = """
    def f(a, k):
        b = a
        c = b
        r = (b is a, a is a, c is a, c is b)
        big = k * 2**62 * 4
        return r, big, b is a, c is a
    """
    check(src, [(x, k) for x in (2.5, -0.0, 10**6, 2**62, 7, True) for k in (0, 1)],
          expect_exit=lambda args, out: args[1] != 0)


def test_compare_with_constants():
    src = """
    def f(x):
        return (x < 0, x == 0, x >= 1.5, x != -0.0, x > 2**53, x <= 9007199254740993, x == 9007199254740993.0,
                x < 1e308, x > -(1e308 * 10), x == x, 2**63 > x)
    """
    check(src, [(v,) for v in VALUES])


def test_returned_argument_is_the_same_object():
    # A copy on only some paths: the merged local's origin is the argument or the constant 0, decided at run time.
    from harness import Pair
    pair = Pair("def f(a, b):\n    c = a if b else 0\n    return c\n")
    problems = []
    for x in [2.5, -0.0, 10**6, 2**62, 7, True]:
        plain, fast = pair.plain(x, 1) is x, pair.fast(x, 1) is x
        if plain != fast:
            problems.append(f"f({x!r}) is {x!r}: CPython {plain}, pypaccel {fast}")
    assert pair.stats()["native_calls"] == 6
    assert not problems, problems


def test_stress_mode():
    report_stress(__file__)


def test_argument_passed_on_and_returned_keeps_its_identity():
    from harness import Pair
    pair = Pair("def f(a, b):\n    r = g(a)\n    return a, r is a, b is a\n\ndef g(x):\n    return x\n")
    for x in [2.5, -0.0, 10**6, 2**62, 7, True]:
        for fn in (pair.plain, pair.fast):
            got, same, other = fn(x, x)
            assert got is x and same and other, (fn, x)
    assert pair.stats()["native_calls"] >= 6
