# Free variables: a function with a closure (and no cells of its own) is compiled; its cells stay in the frame's
# last slots (COPY_FREE_VARS natively), LOAD_DEREF reads them at each use (another function may have stored since),
# STORE_DEREF writes a `nonlocal`, LOAD_CLOSURE passes one on. Functions with cells of their own stay interpreted.
import pytest

from harness import check, run_steps

pypaccel = pytest.importorskip("pypaccel")


def test_closure_reads_its_free_variables():
    src = """
def outer(k, scale):
    def f(n):
        t = 0
        for i in range(n):
            t += i * k + scale
        return t, k, scale
    return f
f = outer(3, 0.5)
"""
    check(src, [(0,), (10,), (1000,)], name="f")
    check(src.replace("outer(3, 0.5)", "outer(2**62, 1)"), [(5,), (1,)], name="f")  # overflows: exits, exact
    check(src.replace("outer(3, 0.5)", "outer('ab', 'c')"), [(0,), (3,)], name="f")  # a TypeError on str + ...


def test_nonlocal_store_and_a_sibling_closure():
    # f stores the shared cell; g (interpreted or compiled) sees each new value, and f reads g's stores.
    src = """
def outer():
    total = 0
    def f(a):
        nonlocal total
        for i in range(a):
            total = total + i
        return total
    def g(v):
        nonlocal total
        total = v
        return total
    return f, g
f, g = outer()
def h(n):
    r = []
    for i in range(n):
        r.append(f(i))
        if i % 3 == 0:
            r.append(g(i * 10))
    return r
"""
    check(src, [(12,), (30,)], name="h")
    check(src, [(5,), (20,)], name="f")


def test_empty_cell_raises_cpythons_name_error():
    src = """
def outer():
    def f(n):
        return [x + n for _ in range(2)]
    r = []
    try:
        r.append(f(1))
    except NameError as e:
        r.append(str(e))
    x = 5
    r.append(f(2))
    del x
    try:
        r.append(f(3))
    except NameError as e:
        r.append(str(e))
    return r
"""
    check(src, [()], name="outer", native=False)


def test_closures_made_and_passed_on():
    # LOAD_CLOSURE of a free variable into a lambda made in the compiled function; the lambda sees later stores.
    src = """
def outer(base):
    def f(n):
        adders = [lambda v: v + base for _ in range(n)]
        return [a(1) for a in adders], (lambda: base)()
    return f
f = outer(10)
"""
    check(src, [(0,), (3,)], name="f")


def test_zero_argument_super_in_compiled_methods():
    # super() reads the method's `__class__` cell and its first argument from the frame.
    src = """
class Base:
    def __init__(self, x):
        self.x = x
    def value(self):
        return self.x * 2

class Child(Base):
    def __init__(self, x, y):
        super().__init__(x)
        self.y = y
    def value(self):
        return super().value() + self.y

def f(n):
    t = 0
    for i in range(n):
        c = Child(i, 0.5)
        t += c.value()
    return t
"""
    check(src, [(1,), (200,)], name="f")


def test_free_variable_rebound_while_hot():
    src = """
def outer():
    state = [1]
    scale = 2
    def f(n):
        t = 0
        for i in range(n):
            t += scale * i + state[0]
        return t
    def set_scale(v):
        nonlocal scale
        scale = v
    return f, set_scale
f, set_scale = outer()
"""
    run_steps(src, [("call", (50,)), ("do", lambda g: g["set_scale"](2.5)), ("call", (50,)),
                    ("do", lambda g: g["set_scale"]("x")), ("call", (0,)), ("call", (2,)),
                    ("do", lambda g: g["set_scale"](2**70)), ("call", (30,))], name="f")
