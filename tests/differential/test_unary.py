# Unary operators: - + ~ not over every kind of value, nested, and on results of arithmetic.
import pytest

from conftest import report_stress
from harness import EDGE_VALUES, check, exits_unless_small_result

VALUES = EDGE_VALUES + [-2**63 + 1, 2**63 - 1, -(2**64) - 5, 2**64 + 5]


@pytest.mark.parametrize("op", ["-", "+", "~", "not "], ids=["neg", "pos", "invert", "not"])
def test_unary(op):
    check(f"def f(a):\n    return {op}a\n", [(v,) for v in VALUES], expect_exit=exits_unless_small_result)


@pytest.mark.parametrize("expr", ["-(-a)", "~~a", "not not a", "-~a", "~-a", "+-a", "-(a + 0)", "not (a - a)",
                                  "-a * -1", "(-a) // 1", "-(a * 1.0)", "~(a & 1)", "not -a"])
def test_nested(expr):
    check(f"def f(a):\n    return {expr}\n", [(v,) for v in VALUES], expect_exit=exits_unless_small_result)


def test_unary_in_loop():
    src = """
    def f(n, a):
        s = a
        for i in range(n):
            s = -s
            s = ~s if i % 3 == 0 else s
            if not s:
                s = 1
        return s
    """
    check(src, [(n, a) for n in (0, 1, 2, 3, 10) for a in (0, 1, -1, 2**63 - 1, -2**63, True, False)])


def test_stress_mode():
    report_stress(__file__)
