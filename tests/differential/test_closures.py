# Cells and free variables compile: a function's own cells (MAKE_CELL: an argument's in the argument's slot, a
# local's past the locals) and its closure's (COPY_FREE_VARS) stay in the frame, LOAD_DEREF reads them at each use
# (another function may have stored since), STORE_DEREF writes one (`nonlocal` too), DELETE_DEREF empties one,
# LOAD_CLOSURE passes one on to a function made here. Exits leave every cell in the frame.
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
    check(src, [()], name="outer")


def test_cells_of_arguments_and_locals():
    # a (an argument) and x (a local) are cells of f: g reads them, f stores x in its loop and reads both; ints past
    # 64 bits, floats, strings and a TypeError (str + int) go through the same cells.
    src = """
def f(a, n):
    x = a
    def g(y):
        return x + a + y
    t = [g(0)]
    for i in range(n):
        x = x + i
        t.append(g(i))
    return t, x, a, g.__closure__[0].cell_contents is a
"""
    check(src, [(1, 5), (-7, 0), (2**62, 3), (2**63 - 1, 1), (-2**63, 2), (2**64, 2), (True, 3), (0.5, 4),
                (-0.0, 1), (float("nan"), 2), ("s", 0), ("s", 2)], name="f")


def test_cell_shared_with_a_function_that_stores_it():
    # inc stores the cell (`nonlocal`) while f's loop reads it at each iteration; f's exit (an int past 64 bits)
    # happens after MAKE_CELL and leaves the cell in place for the interpreter and for inc.
    src = """
def f(n, step):
    count = 0
    def inc():
        nonlocal count
        count += step
    seen = []
    for i in range(n):
        inc()
        seen.append(count * 2)
    inc()
    return count, seen[-3:], len(seen)
"""
    check(src, [(0, 1), (10, 1), (100, 3), (5, 2**61), (3, 2**62), (4, 0.25), (3, -1.5)], name="f")


def test_unbound_and_deleted_cells():
    # Reading an unbound cell in its own function (UnboundLocalError) and in an inner one (NameError), and
    # DELETE_DEREF: its NameError when already empty, and the emptied cell seen from the inner function.
    src = """
def f(flag):
    if flag > 0:
        v = flag
    def h():
        return v
    r = []
    try:
        r.append(h())
    except NameError as e:
        r.append(type(e).__name__ + ": " + str(e))
    try:
        r.append(v)
    except NameError as e:
        r.append(type(e).__name__ + ": " + str(e))
    if flag > 1:
        del v
    try:
        r.append(h())
    except NameError as e:
        r.append(type(e).__name__ + ": " + str(e))
    try:
        del v
    except NameError as e:
        r.append(type(e).__name__ + ": " + str(e))
    return r
"""
    check(src, [(0,), (1,), (2,)], name="f")


def test_cells_captured_in_loops_and_comprehensions():
    # Each lambda made in the loop shares the one cell i (late binding); a comprehension's lambdas share the
    # comprehension's; the default-argument idiom binds early.
    src = """
def f(n):
    fs = []
    for i in range(n):
        fs.append(lambda: i * 2)
    late = [g() for g in fs]
    comp = [(lambda: j) for j in range(n)]
    early = [(lambda k=k: k) for k in range(n)]
    return late, [g() for g in comp], [g() for g in early]
"""
    check(src, [(0,), (1,), (5,)], name="f")


def test_cell_of_an_argument_keeps_the_arguments_identity():
    # The argument's object goes into the cell unchanged (not a re-boxed copy of an unboxed number).
    src = """
def f(a, b):
    g = lambda: a
    return g() is a, g() is b, a is b
"""
    check(src, [(x, x) for x in (2**63, 1.5, 10**30, -2**63, "s")], name="f")


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


def test_cells_keep_reference_counts():
    # An argument's object moves into its cell and back out with the frame: no reference gained or lost, across
    # native returns, exits (an int past 64 bits) and calls with other types.
    import sys
    ns = {}
    exec("""
def f(a, n):
    x = a
    def g(y):
        return x + a + y
    t = 0
    for i in range(n):
        x = x + i
        t = g(i)
    del g
    return t
""", ns)
    f = pypaccel.specialize(ns["f"])
    big = 10**30
    before = sys.getrefcount(big)
    for _ in range(300):
        assert f(big, 5) == big * 2 + 14
        assert f(2**62, 3) == 2**63 + 5
        assert f(1.5, 2) == 5.0
    assert sys.getrefcount(big) == before
