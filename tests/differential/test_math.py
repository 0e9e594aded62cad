# Functions of the math module compiled natively on unboxed numbers (math_calls.cpp): the same libm as CPython's
# math module, checked on the edge values against CPython (results bit for bit, the same ValueError/OverflowError
# where CPython raises), and the guard on the module: math.sqrt replaced, or `math` rebound, while a function is hot.
import math

import pytest

from conftest import report_stress
from harness import EDGE_FLOATS, EDGE_INTS, check, run_steps

NUMBERS = EDGE_INTS + EDGE_FLOATS + [True, False, 0.5, -0.5, 2.0, -3.75, 1e-310, 710.0, -745.5, 1e16, 0.999999]
ONE_ARG = ["sqrt", "exp", "log", "log2", "log10", "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh",
           "tanh", "expm1", "log1p", "fabs", "floor", "ceil", "trunc", "isnan", "isinf", "isfinite"]


@pytest.mark.parametrize("name", ONE_ARG)
def test_one_argument_functions(name):
    # Big ints (2**63, 2**64) reach the generic call; every other value must run natively and agree bit for bit.
    check(f"def f(x):\n    return math.{name}(x)\n", [(v,) for v in NUMBERS], glb={"math": math}, nan_bits=True)


def test_copysign_and_a_hot_loop():
    src = """
def f(n, x):
    s = 0.0
    for i in range(n):
        s += math.sqrt(i * x) + math.copysign(1.0, x - i) + math.floor(x * i) % 7 - math.log1p(i)
        if math.isfinite(s) and math.isnan(x):
            return -1.0
    return s
"""
    check(src, [(0, 1.0), (100, 0.5), (1000, 2.5), (10, -1.0), (5, math.inf), (5, math.nan)], glb={"math": math})


def test_attribute_loaded_then_called():
    src = """
def f(x):
    sq = math.sqrt
    return sq(x) * 2.0
"""
    check(src, [(4.0,), (2,), (-1.0,), (0.0,)], glb={"math": math})


def test_math_function_replaced_while_hot():
    src = """
def f(x):
    return math.sqrt(x) + 1.0
"""
    real_sqrt = math.sqrt
    steps = [("call", (4.0,), False), ("call", (9,), False),
             ("do", lambda g: setattr(math, "sqrt", lambda v: -7.0)), ("call", (4.0,)), ("call", (-1.0,)),
             ("do", lambda g: setattr(math, "sqrt", real_sqrt)), ("call", (16.0,)),
             ("set", "math", None), ("call", (4.0,))]
    try:
        run_steps(src, steps, glb={"math": math})
    finally:
        math.sqrt = real_sqrt


def test_math_rebound_to_another_module():
    import cmath
    src = """
def f(x):
    return math.sqrt(x)
"""
    steps = [("call", (4.0,), False), ("set", "math", cmath), ("call", (-4.0,)), ("set", "math", math),
             ("call", (-4.0,))]
    run_steps(src, steps, glb={"math": math})


def test_function_imported_by_name_and_rebound():
    # `from math import sqrt`: the global is guarded as math's own sqrt, so rebinding it is noticed.
    src = """
def f(x):
    return sqrt(x) + floor(x)
"""
    steps = [("call", (4.0,), False), ("call", (2,), False), ("call", (-1.0,)),
             ("set", "sqrt", lambda v: -7.0), ("call", (4.0,)), ("set", "sqrt", math.sqrt), ("call", (9.0,)),
             ("set", "floor", math.ceil), ("call", (2.5,))]
    run_steps(src, steps, glb={"sqrt": math.sqrt, "floor": math.floor})


def test_stress_mode():
    report_stress(__file__)
