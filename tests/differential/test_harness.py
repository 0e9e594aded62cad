# The harness itself: it must notice every kind of difference it claims to check (value, type, sign of zero,
# exception type/message, traceback line, mutated arguments), calls that did not run natively, and missing exits.
import pypaccel
import pytest

from conftest import report_stress
from harness import Pair, check, compare


def swapped(src, other_src):
    """A pair whose specialized side runs `other_src` (compiled under the same file name)."""
    pair = Pair(src)
    g = {"__name__": "other"}
    exec(compile(other_src, pair.filename, "exec"), g)
    pair.fast = pypaccel.specialize(g[pair.name])
    pair.raw_fast = g[pair.name]
    return pair


@pytest.mark.parametrize("src,other,args", [
    ("def f(a):\n    return a + 0.0\n", "def f(a):\n    return a - 0.0\n", (-0.0,)),       # sign of zero
    ("def f(a):\n    return a * 2\n", "def f(a):\n    return a * 2.0\n", (3,)),            # type
    ("def f(a):\n    return a > 1\n", "def f(a):\n    return a >= 1\n", (1,)),             # value
    ("def f(a):\n    return 1 // a\n", "def f(a):\n    return 1 % a\n", (0,)),             # message
    ("def f(a):\n    return 1 // a\n", "def f(a):\n    return 1.0 // a\n", (0,)),          # message
    ("def f(a):\n    x = 1\n    return x // a\n", "def f(a):\n    return 1 // a\n", (0,)),  # traceback line
    ("def f(a):\n    a.append(1)\n    return 0\n", "def f(a):\n    return 0\n", ([],)),    # mutated argument
])
def test_differences_are_reported(src, other, args):
    pair = swapped(src, other)
    problems = compare(pair, args, native=False)
    assert problems and "CPython" in problems[0], problems


def test_same_function_passes():
    pair = Pair("def f(a, b):\n    return a * b, a / b\n")
    assert compare(pair, (3, 4)) == []


def test_interpreted_call_is_reported():
    src = "def f(a):\n    yield a\n"  # generators are never compiled
    with pytest.raises(AssertionError, match="did not run natively"):
        check(src, [(1,)])


def test_missing_exit_is_reported():
    with pytest.raises(AssertionError, match="expected an exit"):
        check("def f(a, b):\n    return a & b\n", [(6, 3)], expect_exit=True)  # nothing can fail: no exit


def test_stress_mode():
    report_stress(__file__)
