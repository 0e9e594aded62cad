# Builtins compiled natively on unboxed numbers (abs, min, max, float, int), checked on the edge values against
# CPython, and the guard on their identity: rebinding or shadowing a builtin while a function is hot, and
# deleting the shadow again, must give what CPython gives.
import math

import pytest

from conftest import report_stress
from harness import EDGE_FLOATS, EDGE_INTS, check, fits64, run_steps

NUMBERS = EDGE_INTS + EDGE_FLOATS + [True, False, 0.5, -3.75, 2.0**63, -2.0**63, 9.2e18, -9.3e18]


def test_abs():
    check("def f(x):\n    return abs(x)\n", [(v,) for v in NUMBERS],
          expect_exit=lambda args, out: type(args[0]) is int and args[0] == -2**63)


@pytest.mark.parametrize("name", ["min", "max"])
def test_min_max_pairs(name):
    src = f"def f(a, b):\n    return {name}(a, b), {name}(b, a)\n"
    ints = [0, 1, -1, 2**62, -2**63, 2**63 - 1, 7, True, False]
    floats = [0.0, -0.0, 1.5, -2.5, math.inf, -math.inf, math.nan]
    pairs = [(a, b) for a in ints for b in ints] + [(a, b) for a in floats for b in floats] + \
            [(1, 1.0), (2.5, 2), (True, 1.0), (2**64, 1), (-0.0, 0)]
    # nan_bits: which of two nans (or of -0.0 and 0.0) comes back is the point here.
    check(src, pairs, nan_bits=True)


def test_float_and_int_conversions():
    src = "def f(x):\n    return float(x), int(x) if type(x) is not float or math.isfinite(x) else None\n"
    check(src, [(v,) for v in NUMBERS], glb={"math": math})


def test_int_of_non_finite_float_raises_like_cpython():
    check("def f(x):\n    return int(x)\n", [(math.nan,), (math.inf,), (-math.inf,), (1e300,), (-2.0**63,), (2.0**63,)])


def test_builtins_in_a_hot_loop():
    src = """
    def f(n, x):
        s = 0
        t = 0.0
        for i in range(n):
            s = s + abs(i - 50) + max(i, 10) - min(i, 20)
            t = t + abs(x - i) + float(i) + int(x * i) % 3
        return s, t
    """
    check(src, [(100, 0.5), (0, 1.0), (1000, -2.25), (10, 1e19)], expect_exit=lambda args, out: args[1] == 1e19)


READER = """
def f(x):
    return abs(x) + max(x, 3)
"""


def test_rebinding_a_builtin_while_hot():
    steps = [("call", (-5,), False), ("call", (2,), False),
             ("set_builtin", "abs", lambda v: 1000), ("call", (-5,), True), ("call", (7,)),
             ("set_builtin", "abs", abs), ("call", (-5,), False),
             ("set_builtin", "max", min), ("call", (9,), True)]
    run_steps(READER, steps, own_builtins=True)


def test_shadowing_a_builtin_with_a_module_global_and_deleting_it():
    steps = [("call", (-5,), False), ("set", "abs", lambda v: -1), ("call", (-5,), True), ("call", (4,)),
             ("del", "abs"), ("call", (-6,), False), ("call", (2.5,))]
    run_steps(READER, steps)


def test_isinstance_len_and_bool_of_unboxed_numbers():
    src = """
def f(x, seq):
    return (isinstance(x, int), isinstance(x, float), isinstance(x, bool), bool(x), len(seq),
            isinstance(x, (int, float)), isinstance(x, str))
"""
    check(src, [(v, s) for v in NUMBERS for s in ([], (1, 2), "abc")] + [(0.0, {1: 2}), (-0.0, range(5))])


def test_len_errors_and_user_len():
    src = """
class Sized:
    def __init__(self, n):
        self.n = n
    def __len__(self):
        return self.n

def f(k, obj):
    return len(obj) + len(Sized(k))
"""
    # A plain __len__, ValueError (negative), OverflowError (too big), TypeError (no len(), a non-int __len__).
    check(src, [(1, [1, 2]), (2**62, ()), (-1, ""), (2**70, []), (0, 5), (3, None), (1.5, [])], name="f")


def test_a_builtin_alias_rebound_while_hot():
    # `myabs = abs` is compiled as abs; the alias rebound to anything else must be called as that.
    src = """
myabs = abs
def f(x):
    return myabs(x) + 1
"""
    steps = [("call", (-5,), False), ("call", (3.5,), False), ("set", "myabs", lambda v: 42), ("call", (-5,)),
             ("call", (2,)), ("set", "myabs", len), ("call", (-5,))]
    run_steps(src, steps)


def test_is_a_global_that_was_none():
    src = """
SENTINEL = None
def f(x):
    return x is SENTINEL
"""
    steps = [("call", (5,), False), ("set", "SENTINEL", 5), ("call", (5,)), ("call", (6,))]
    run_steps(src, steps)


def test_isinstance_with_a_rebound_type_name():
    src = """
def f(x):
    return isinstance(x, float), bool(x)
"""
    steps = [("call", (1.5,), False), ("call", (0,), False), ("set", "float", int), ("call", (1.5,)),
             ("call", (3,)), ("del", "float"), ("call", (2.5,), False), ("set", "bool", str), ("call", (0,))]
    run_steps(src, steps)


def test_stress_mode():
    report_stress(__file__)


ISINSTANCE_GLB = """
import abc

class Base:
    pass

class Sub(Base):
    pass

class Meta(type):
    def __instancecheck__(cls, obj):
        CHECKED.append(type(obj).__name__)
        return obj == 3

class Odd(metaclass=Meta):
    pass

class Abstract(abc.ABC):
    pass

Abstract.register(int)

class Liar:
    @property
    def __class__(self):
        CHECKED.append("liar")
        return Sub

class Raising:
    @property
    def __class__(self):
        raise KeyError("no class")

CHECKED = []
"""


@pytest.mark.parametrize("obj", ["Base()", "Sub()", "3", "4", "Liar()", "Raising()", "None", "[1]", "True"])
def test_isinstance_and_type_of_objects(obj):
    # IsInstance: the exact type and a subclass of a plain class answer without Python code; a metaclass's
    # __instancecheck__, an ABC's registry, a __class__ property (called, or raising), a tuple of classes and a
    # non-class second argument (TypeError) go through PyObject_IsInstance, as the builtin does. TypeOf: type(x).
    src = ISINSTANCE_GLB + f"""
def f(n):
    x = {obj}
    r = []
    for C in (Base, Sub, Odd, Abstract, int, object, (Sub, int), 5):
        try:
            r.append(isinstance(x, C))
        except (TypeError, KeyError) as e:
            r.append((type(e).__name__, str(e)))
    for i in range(n):
        r.append((isinstance(x, Base), type(x) is Sub, type(x).__name__, type(x) is not type(r)))
    return r, CHECKED
"""
    check(src, [(1,), (3,)], name="f")
