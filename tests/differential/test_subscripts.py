# Subscripts of user classes and arrays (csrc/specialize/ops/globals_calls.cpp callSubscript,
# csrc/runtime/object_ops.cpp pypa_rt_getitem_in_place, csrc/specialize/ops/exceptions.cpp): `a[k]` on an instance
# whose class has a Python __getitem__ calls it directly with (a, k), as slot_mp_subscript would, whatever k is and
# whatever it returns (NotImplemented too), under the class's version tag; an array.array is read and written in
# place by direct entries (its subscripts run no Python code for an int or slice key and an int, float or bool
# value); a raise statement in a direct entry leaves for the interpreter, which raises it with CPython's traceback.
import array

from harness import check, check_runs_without_exits, run_steps

GRID = """
from array import array

class Grid:
    def __init__(self, w, h):
        self.w = w
        self.h = h
        self.data = array('d', [0.0]) * (w * h)
        for i in range(w * h):
            self.data[i] = i * 0.5

    def _idx(self, x, y):
        if 0 <= x < self.w and 0 <= y < self.h:
            return y * self.w + x
        raise IndexError("grid index out of range")

    def __getitem__(self, xy):
        x, y = xy
        return self.data[self._idx(x, y)]

    def __setitem__(self, xy, v):
        x, y = xy
        self.data[self._idx(x, y)] = v
"""

# The grids exist when `smooth` compiles (at its first call), so its subscripts have an example to go by.
SMOOTH = GRID + """
GRIDS = {n: Grid(n, n) for n in range(1, 9)}

def smooth(n, rounds):
    g = GRIDS[n]
    g.__init__(n, n)
    for r in range(rounds):
        for y in range(1, n - 1):
            for x in range(1, n - 1):
                g[x, y] = 0.25 * (g[x, y - 1] + g[x, y + 1] + g[x - 1, y] + g[x + 1, y])
    return list(g.data)
"""


def test_user_getitem_called_directly_with_cpythons_results():
    check(SMOOTH, [(6, 2), (3, 1), (2, 3), (1, 1)], name="smooth")
    check_runs_without_exits(SMOOTH, "smooth", [(8, 2), (5, 3)])


def test_getitem_errors_and_tracebacks():
    src = GRID + """
def read(g, points):
    out = []
    for x, y in points:
        try:
            out.append(g[x, y])
        except Exception as e:
            out.append((type(e).__name__, str(e)))
    return out

def f(case):
    g = Grid(3, 2)
    pts = {"in": [(0, 0), (2, 1), (1, 1)], "out": [(0, 0), (3, 0), (-1, 0), (0, 2)],
           "bad": [(0, 0), (1.5, 0), ("a", 0)], "short": [(0, 0)]}[case]
    if case == "short":
        return read(g, pts) + read_short(g)
    return read(g, pts)

def read_short(g):
    try:
        return [g[(1,)]]
    except ValueError as e:
        return [("ValueError", str(e))]

def uncaught(g):
    t = 0.0
    for i in range(5):
        t += g[i, 0]
    return t
"""
    check(src, [("in",), ("out",), ("bad",), ("short",)], name="f")
    # An IndexError raised in __getitem__'s callee (a direct call two levels down) reaches the caller with
    # CPython's traceback: the same frames and lines.
    check(src + "\ndef h():\n    return uncaught(Grid(3, 1))\n", [()], name="h")


def test_getitem_returning_anything_and_any_key():
    src = """
class Any:
    def __getitem__(self, k):
        if k == "ni":
            return NotImplemented
        if k == "none":
            return None
        if isinstance(k, slice):
            return (k.start, k.stop, k.step)
        if isinstance(k, tuple):
            return len(k)
        return k * 2

def f(keys):
    a = Any()
    out = []
    for k in keys:
        out.append(a[k])
    return out
"""
    check(src, [(["ni", "none", 3, 2.5, (1, 2, 3), "ab"],), ([1, 2, 3],), ([2 ** 64, -0.0, float("nan")],)],
          name="f")
    check(src + "\ndef g(n):\n    a = Any()\n    return [a[1:n], a[::n], a[n, n]]\n", [(3,), (0,)], name="g")


def test_getitem_class_changed_while_hot():
    src = GRID + """
def total(g, n):
    t = 0.0
    for i in range(n):
        t += g[i % g.w, 0]
    return t
"""
    # (`total` is what runs natively: f's call of it is direct, with G as its example.)

    def replace(g):
        g["Grid"].__getitem__ = lambda self, xy: 100.0 + xy[0]

    def drop(g):
        del g["Grid"].__getitem__

    def as_builtin(g):
        g["Grid"].__getitem__ = dict.get   # not a Python function: the generic path calls it

    run_steps(src + "\nG = Grid(4, 2)\ndef f(n):\n    return total(G, n)\n",
              [("call", (10,)), ("do", replace), ("call", (10,)), ("do", drop), ("call", (3,)),
               ("do", as_builtin), ("call", (1,))], name="f")


def test_getitem_of_subclasses_and_instance_attributes():
    src = """
class L(list):
    def __getitem__(self, i):
        return ("L", list.__getitem__(self, i))

class D(dict):
    def __missing__(self, k):
        return "missing"

class P:
    def __getitem__(self, k):
        return "class"

def f(n):
    l = L([1, 2, 3])
    d = D(a=1)
    p = P()
    p.__getitem__ = lambda k: "instance"   # not looked at: the type's slot is
    out = []
    for i in range(n):
        out.append((l[i % 3], l[-1], d["a"], d["b"], p[i]))
    return out
"""
    check(src, [(4,), (0,)], name="f")


def test_arrays_in_direct_calls():
    src = """
from array import array

class Buf:
    def __init__(self, code, items):
        self.a = array(code, items)

    def get(self, i):
        return self.a[i]

    def put(self, i, v):
        self.a[i] = v
        return len(self.a)

def f(code, items, writes):
    b = Buf(code, items)
    out = []
    for i, v in writes:
        try:
            out.append(b.put(i, v))
        except Exception as e:
            out.append((type(e).__name__, str(e)))
        try:
            out.append(b.get(i))
        except Exception as e:
            out.append((type(e).__name__, str(e)))
    return out, b.a.tolist()
"""
    big = 2 ** 64
    check(src, [
        ("d", [0.0, 1.0, 2.0], [(0, 1.5), (2, 7), (-1, True), (3, 1.0), (1, "x"), (0, float("nan")), (1, -0.0)]),
        ("i", [1, 2, 3], [(0, 5), (1, 2.5), (2, big), (-4, 1), (1, False)]),
        ("b", [1, 2], [(0, 127), (1, 128), (0, -129)]),
        ("u", ["a", "b"], [(0, 1), (1, 2.0)]),
        ("d", [], [(0, 1.0)]),
    ], name="f")


def test_array_subclass_and_slices_in_direct_calls():
    src = """
from array import array

class A(array):
    def __getitem__(self, i):
        return ("sub", array.__getitem__(self, i))

class Box:
    def __init__(self, a):
        self.a = a
    def get(self, k):
        return self.a[k]
    def put(self, k, v):
        self.a[k] = v

def f(kind, n):
    a = (A if kind == "sub" else array)("d", [float(i) for i in range(6)])
    b = Box(a)
    out = []
    for i in range(n):
        out.append(b.get(i % 6))
        out.append(b.get(slice(1, i % 6)).tolist() if kind != "sub" else b.get(i % 6))
        try:
            b.put(slice(0, 2), 1.0)
        except TypeError as e:
            out.append(str(e))
        b.put(slice(0, 2), array("d", [9.0, 8.0]))
    return out, list(a)
"""
    check(src, [("plain", 3), ("sub", 3)], name="f")


def test_raise_in_a_direct_call():
    src = """
class Checked:
    def __init__(self, limit):
        self.limit = limit

    def check(self, x):
        if x > self.limit:
            raise ValueError(f"{x} over {self.limit}")
        if x < 0:
            raise IndexError
        return x * 2

def f(xs):
    c = Checked(10)
    out = []
    for x in xs:
        try:
            out.append(c.check(x))
        except (ValueError, IndexError) as e:
            out.append((type(e).__name__, str(e)))
    return out

def g(x):
    c = Checked(3)
    t = 0
    for i in range(3):
        t += c.check(x)      # uncaught: the traceback goes through check's raise line
    return t
"""
    check(src, [([1, 2, 11, -1, 5],), ([],), ([20],)], name="f")
    check(src, [(1,), (4,), (-1,)], name="g")
    check_runs_without_exits(src, "f", [([1, 2, 3],), ([4, 5],)])


def test_user_setitem_called_directly_in_stack_order():
    # STORE_SUBSCR's stack is (value, container, key) and __setitem__ takes (container, key, value): the three must
    # arrive in that order, whatever their types; what __setitem__ returns is dropped; what it raises comes out.
    src = """
class Log:
    def __init__(self):
        self.seen = []
    def __setitem__(self, k, v):
        if v == "boom":
            raise KeyError(k)
        self.seen.append((k, v))
        return "dropped"

class D(dict):
    def __setitem__(self, k, v):
        dict.__setitem__(self, k, (v, "via D"))

def f(pairs):
    log = Log()
    d = D()
    out = []
    for k, v in pairs:
        try:
            log[k] = v
            d[k] = v
        except KeyError as e:
            out.append(("KeyError", e.args))
    return log.seen, sorted(d.items(), key=repr), out
"""
    check(src, [([(1, 2.5), ("a", None), ((1, 2), [3]), (2 ** 64, -0.0)],), ([(1, "boom"), (2, 3)],), ([],)],
          name="f")


def test_setitem_class_changed_while_hot():
    src = GRID + """
G = Grid(4, 2)

def fill(n):
    g = G
    for i in range(n):
        g[i % 4, i % 2] = i * 1.5
    return list(g.data), getattr(g, "extra", None)
"""

    def replace(g):
        def setitem(self, xy, v):
            self.extra = (xy, v)
        g["Grid"].__setitem__ = setitem

    def drop(g):
        del g["Grid"].__setitem__

    run_steps(src, [("call", (10,)), ("do", replace), ("call", (10,)), ("do", drop), ("call", (3,))], name="fill")
