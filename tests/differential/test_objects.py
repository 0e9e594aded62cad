# Generic operations on objects, run natively through CPython's own protocols: calls of any callable (positional,
# keyword, methods, builtins), attributes, subscripts, list/dict literals, iteration over any iterable, and
# functions made at run time (comprehensions). Results, exceptions and traceback lines must be CPython's, and the
# calls must stay native (no exit) unless an exception is raised.
import collections
import sys

import pytest

from conftest import report_stress
from harness import check, check_runs_without_exits

CALLS = """
def f(a, b):
    def_kw = helper(a, c=b)
    pos = helper(a, b)
    r = max(a, b) + min(a, b, 0) + abs(a - b) + len([a, b, a])
    s = str(a) + repr(b)
    return def_kw, pos, r, s, divmod(a, 7) if b else None, sorted([b, a, 3], reverse=True)

def helper(x, y=2, *, c=3):
    return x * y - c
"""


@pytest.mark.parametrize("a,b", [(1, 2), (-5, 3), (2**62, 1), (7, 0), (2.5, -1.0), (True, 4)])
def test_calls_positional_keyword_builtins(a, b):
    check(CALLS, [(a, b)], name="f", expect_exit=False)


RAISING = """
def f(a, b):
    t = 0
    for i in range(3):
        t += helper(a, i, b)
    return t

def helper(x, i, d):
    if i == 2:
        return x // d
    return x + i
"""


def test_exception_in_callee_has_cpythons_traceback():
    # ZeroDivisionError raised in helper (itself native: an exit there) passes through f's native frame: same
    # type, message and traceback lines in both functions.
    check(RAISING, [(5, 0), (5, 2), (2**63 - 1, 1), (1.5, 0.0)], name="f")


def test_call_of_non_callable_and_bad_keywords():
    src = """
    def f(a, kind):
        if kind == 0:
            return a(1)
        if kind == 1:
            return int(a, nope=3)
        if kind == 2:
            return len(a)
        return abs(a)
    """
    check(src, [(5, 0), ("12", 1), (3, 2), ("x", 3), (-2, 3), (2.5, 3)], name="f")


METHODS = """
class Point:
    def __init__(self, x, y):
        self.x = x
        self.y = y

    def norm1(self, scale=1):
        return (abs(self.x) + abs(self.y)) * scale

def f(a, b):
    p = Point(a, b)
    p.x = p.x + 1
    total = p.norm1() + p.norm1(scale=2)
    items = [p.x, p.y]
    items.append(total)
    items[0] = items[0] * 2
    d = {"x": p.x, "sum": total}
    d["y"] = b
    e = {a: 1, "k": b}
    return items, d, e, items[-1], getattr(p, "y"), p.missing if a == 99 else None
"""


@pytest.mark.parametrize("a,b", [(1, 2), (-3, 4), (99, 0), (2**62, 2**62), (0.5, -0.25)])
def test_attributes_methods_subscripts_literals(a, b):
    check(METHODS, [(a, b)], name="f", expect_exit=lambda args, out: args[0] == 99)


def test_subscript_errors():
    src = """
    def f(xs, i):
        return xs[i] + xs[-1]
    """
    check(src, [([1, 2, 3], 0), ([1, 2, 3], 5), ([], 0), ((4, 5), 1), ({"a": 1}, "b"), ("abc", 1)], name="f")


ITER = """
def f(xs, n):
    s = 0
    for x in xs:
        s = s + x
    for k in {"a": n, "b": 2}:
        s = s + len(k)
    squares = [x * x for x in xs]
    evens = [x for x in range(n) if x % 2 == 0]
    return s, squares, evens, [c for c in "ab"]
"""


@pytest.mark.parametrize("xs", [[1, 2, 3], (4.5, -1.0), [], [2**63 - 1, 1], range(5)], ids=repr)
def test_iteration_over_any_iterable_and_comprehensions(xs):
    check(ITER, [(xs, 5)], name="f", expect_exit=False)


def test_iteration_errors():
    src = """
    def f(obj):
        t = 0
        for v in obj:
            t += v
        return t
    """
    check(src, [(5,), ([1, "a"],), ([1, 2],), ("",)], name="f")


def test_iterator_raising_inside_the_loop():
    src = """
    def gen(n):
        for i in range(n):
            if i == 3:
                raise ValueError("three")
            yield i

    def f(n):
        t = 0
        for v in gen(n):
            t += v
        return t
    """
    check(src, [(2,), (3,), (10,)], name="f")


SLICES = [(seq, a, b) for seq in ([1, 2, 3, 4, 5], "abcdef", (9, 8, 7), range(10))
          for a, b in ((1, 3), (-2, None), (None, -1), (0, 2**64), (-2**63, 2), (3, 1), (1.5, 2), (1, 0))]


def test_slices():
    # BUILD_SLICE then BINARY_SUBSCR / STORE_SUBSCR: any bounds (None, negative, past 64 bits), a step, a zero step
    # (ValueError), float bounds (TypeError), slice assignment to a list.
    check("""
def f(seq, a, b):
    r = [seq[a:b], seq[a:], seq[:b], seq[::2], seq[a:b:-1]]
    r.append(seq[a:b:b])
    if isinstance(seq, list):
        c = list(seq)
        c[a:b] = "xy"
        r.append(c)
    return r
""", SLICES, name="f", expect_exit=lambda args, outcome: outcome.kind == "raise")


def test_reversed_prefix_in_place():
    # `xs[:k + 1] = xs[k::-1]` runs as one in-place reversal of the first min(k + 1, len) items for k >= 0; k < 0
    # (where the two slices insert a reversed copy instead), a tuple, a list subclass, a float or a huge k give what
    # the interpreter gives. The items are the very objects they were, in the order CPython leaves them.
    src = """
class L(list):
    pass

def f(kind, xs, ks):
    ys = xs[:]
    if kind == "sub":
        ys = L(xs)
    elif kind == "tuple":
        ys = tuple(xs)
    flips = []
    for k in ks:
        ys[:k + 1] = ys[k::-1]
        flips.append(list(ys))
    return flips, type(ys).__name__, sorted(map(id, ys)) == sorted(map(id, xs))
"""
    objs = [(1, 2), "s", 2**70, -0.0, None]
    inputs = [("list", [0, 1, 2, 3, 4], [2, 4, 0, 9, 1]), ("list", list(range(9)), [8, 3, 5, 7]), ("list", [], [0, 3]),
              ("list", [7], [0, 1, 2**40]), ("list", objs, [3, 1, 2]),
              ("list", [1, 2, 3], [2**63 - 1, 0]), ("list", [5, 6, 7], [True, False, 1]), ("list", [1, 2, 3], [-1]),
              ("list", [1, 2, 3], [1, -2, 0]), ("tuple", [1, 2, 3], [1]), ("sub", [1, 2, 3], [2, 0]),
              ("list", [1, 2, 3], [1.0]), ("list", [4, 5, 6], [2**64, 1])]
    check_runs_without_exits(src, "f", inputs[:5])
    check(src, inputs, name="f")


# Containers whose __contains__ raises or answers a non-bool, and an old-style sequence (iteration by index).
CONTAINS_GLB = """
class Boom:
    def __contains__(self, x):
        raise KeyError(x)

class Odd:
    def __contains__(self, x):
        return "yes" if x else 0

class Seq:
    def __getitem__(self, i):
        if i > 3:
            raise IndexError(i)
        return i * 2
"""


@pytest.mark.parametrize("item,container", [
    (1, [1, 2]), (3, (1, 2)), ("b", "abc"), ("", "abc"), ("x", {"x": 1}), (2, {2, 3}), (2**64, [2**64]),
    (float("nan"), [float("nan")]), (0.0, [-0.0]), (True, [1]), (5, range(10)), (5, range(0, 10, 2)),
    (1, 5), (None, None), ([1], {1: 2}), (1, "abc"), (4, "Boom"), (1, "Odd"), (0, "Odd"), (4, "Seq"), (5, "Seq"),
])
def test_contains(item, container):
    # CONTAINS_OP: `in` and `not in` on any objects through PySequence_Contains (which falls back to iteration):
    # results, and the exceptions of a non-container (TypeError), unhashable keys and a raising __contains__.
    src = CONTAINS_GLB + """
def f(x, c):
    if isinstance(c, str) and c in ("Boom", "Odd", "Seq"):
        c = {"Boom": Boom, "Odd": Odd, "Seq": Seq}[c]()
    hits = 0
    for y in (x, x):
        if y in c:
            hits += 1
    return x in c, x not in c, hits
"""
    check(src, [(item, container)], name="f", expect_exit=lambda args, outcome: outcome.kind == "raise")


def test_stress_mode():
    report_stress(__file__)


FRAMES = """
import sys

def f(a, n):
    x = a * 2
    y = x + 1.5
    t = 0
    for i in range(n):
        t += i
    seen = peek()
    mine = locals()
    return sorted(seen.items()), sorted(k for k in mine), mine["y"], chain()

def peek():
    return {k: v for k, v in sys._getframe(1).f_locals.items() if k not in ("seen", "mine")}

def chain():
    frame = sys._getframe(1)
    names = []
    while frame is not None and len(names) < 3:
        names.append(frame.f_code.co_name)
        frame = frame.f_back
    return names
"""


def test_callee_sees_the_callers_current_locals_and_frames():
    # While native code calls out, its frame shows the current values of its locals (sys._getframe(1).f_locals,
    # locals()), and the frame chain is intact.
    check(FRAMES, [(3, 4), (2.5, 2), (2**62, 1), (-1, 0)], name="f", expect_exit=False)


def test_frame_object_outlives_a_native_call_with_its_back_link():
    src = """
    import sys

    def f(a):
        return g(a)

    def g(a):
        return sys._getframe() if a else None

    def names(frame):
        out = []
        while frame is not None and len(out) < 3:
            out.append(frame.f_code.co_name)
            frame = frame.f_back
        return out
    """
    from harness import Pair
    pair = Pair(src)
    plain = pair.gp["names"](pair.plain(1))
    fast = pair.gf["names"](pair.fast(1))
    assert fast == plain and fast[:2] == ["g", "f"], (plain, fast)


# f-strings: FORMAT_VALUE (conversions !s !r !a, a format spec, a spec built at run time) and BUILD_STRING, on
# numbers unboxed or not, str subclasses, and objects whose __format__/__str__/__repr__ raise.
FSTRINGS_GLB = """
class Loud:
    def __format__(self, spec):
        if spec == "boom":
            raise ValueError("bad spec " + spec)
        return "L" + spec

    def __repr__(self):
        return "Loud()"

class BadStr:
    def __str__(self):
        raise KeyError("no str")

class S(str):
    pass
"""


def test_fstrings():
    src = FSTRINGS_GLB + """
def f(x, k):
    if x == "loud":
        x = Loud()
    elif x == "badstr":
        x = BadStr()
    elif x == "sub":
        x = S("sub")
    w = k + 2
    s = f"{x}|{x!r}|{x!s}|{k:>{w}}|{k * 1.5:.3f}|{k}"
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        s += f"{x:08.2f}"
    if isinstance(x, Loud):
        s += f"{x:abc}{x!a}"
        s += f"{x:boom}"
    return s
"""
    check(src, [(1, 3), (2.5, -1), (-0.0, 0), (float("nan"), 2), (2**70, 1), ("é", 2), ("sub", 1), (None, 0),
                (True, 1), ("badstr", 1), ("loud", 4), (1, -2**63)], name="f")


class PopsLast(list):
    def pop(self, i=-1):
        return ("popped", super().pop())


class Splits(str):
    def split(self, sep=None):
        return ["overridden", sep]


class StrSub(str):
    pass


def test_str_built_up_in_a_local():
    # `s += t` and `s = s + t` on a str local, followed by the store back into it: the local's own str is extended
    # (CPython's BINARY_OP_INPLACE_ADD_UNICODE). Another reference to it (kept in a list), a str subclass, a non-str
    # operand (TypeError, CPython's message and line) and a local that is no longer the left operand all give
    # CPython's answers; the kept copies must not change under the in-place extension.
    src = """
class S(str):
    pass


def f(n, t, keep):
    s = ""
    kept = []
    for i in range(n):
        s += t
        if keep and i % 3 == 0:
            kept.append(s)
        s = s + "|"
        if i == 5:
            s = S(s)
    r = s
    r += "end"
    return s, r, kept, len(s)
"""
    check(src, [(0, "ab", False), (4, "ab", False), (12, "xyz", True), (12, "é", True), (3, StrSub("q"), False),
                (2, 5, False), (7, "", True), (300, "abcdefgh", False)], name="f")


def test_str_length_character_and_ord():
    # len(), s[i] and ord() of what is predicted a str (the example of the first call): the length field, the
    # character (unicode_getitem's, cached for latin-1), its code point. Negative and out-of-range indexes
    # (IndexError: CPython's message), non-ASCII and astral characters, ord() of a longer str (TypeError), a str
    # subclass, a list and a tuple in its place, bytes (ord of bytes of length 1 is CPython's too) and an int.
    src = """
def f(s, i):
    n = len(s)
    c = s[i]
    o = ord(c)
    t = 0
    for k in range(n):
        t += ord(s[k]) * (k + 1) + len(s[k])
    return n, c, o, t, ord(s[-1]), len(s[0:2])
"""
    cases = [("abc", 0), ("abc", -1), ("abc", 2), ("abc", 3), ("abc", -4), ("é€😀", 2), ("é€😀", -3),
             ("x", 0), ("", 0), (StrSub("hello"), 1), (["ab", "c"], 1), (("d", "ef"), 0), (["ab", "c"], 0),
             (b"ab", 0), (12, 0), ("a" * 1000, 999)]
    check(src, cases, name="f")


def test_methods_of_builtin_types_called_as_descriptors():
    # s.split(), xs.append(), d.get(), t.count() on what the first call shows to be an exact str, list, dict and
    # tuple: the method descriptor called with the object first. A subclass overriding the method, another type
    # with a method of that name, a wrong argument (TypeError: CPython's message) and a missing method
    # (AttributeError) each give CPython's answer.
    src = """
def f(s, xs, d, t):
    parts = s.split(",")
    xs.append(len(parts))
    return parts, xs, d.get(parts[0], -1), t.count(1), s.upper()
"""
    cases = [("a,b", [], {"a": 1}, (1, 2, 1)), ("x", [0], {}, ()),
             (Splits("p,q"), [], {"p": 2}, (1,)), (b"a,b", [], {b"a": 3}, [1, 1]),
             ("a,b", (), {"a": 1}, (1,)), ("a,b", [], [1], (1,)), (5, [], {}, ())]
    check(src, cases, name="f")


def test_list_pop_insert_append_in_place():
    # xs.pop(), xs.pop(i), xs.insert(i, v) and xs.append(v) on what the first call shows is an exact list: changed
    # in place. Empty lists and indexes out of range (IndexError: CPython's message), negative and huge indexes
    # (insert clamps them), bools as indexes, a list subclass overriding pop, a deque in its place, and items kept
    # elsewhere (identity and reference counts after the pops) give CPython's answers.
    src = """
import sys


def f(xs, i, v):
    out = []
    keep = ["keep", i]
    xs.append(keep)
    xs.insert(i, v)
    xs.insert(-1, i)
    for k in range(3):
        out.append(xs.pop(0))
    last = xs.pop()
    out.append(last is keep)
    out.append(sys.getrefcount(keep))
    out.append(xs.pop(i))
    return out, xs
"""
    cases = [([1, 2, 3, 4, 5, 6], 1, "v"), ([1, 2, 3, 4, 5, 6], -2, 7), ([1, 2, 3, 4, 5, 6], 2**40, 8),
             ([1, 2, 3], 0, 9), ([1], 0, 9), ([1, 2, 3, 4, 5, 6], True, None), ([1, 2, 3, 4, 5, 6], 10, 1.5),
             (PopsLast([1, 2, 3, 4, 5, 6]), 1, 2), (collections.deque([1, 2, 3, 4, 5]), 1, 2), ((1, 2), 0, 0)]
    check(src, cases, name="f")


def test_item_updated_in_place_with_one_index_test():
    # `xs[i] op= v` tests xs's type and i's range once (specialize/repeated_checks.cpp) where nothing between the
    # read and the write can change the list's length; where something can (a call that pops from it, an item whose
    # operator runs Python code, a float's release that is its last reference), the write tests again, and every
    # answer (IndexError included) is CPython's.
    src = """
def shrink(xs):
    xs.pop()
    return 1.0


class Sub:
    def __init__(self, xs):
        self.xs = xs

    def __sub__(self, other):
        self.xs.clear()
        return 0.0


def f(xs, i, d):
    for k in range(3):
        xs[i] -= d
        xs[-1] += d * 2.0
    t = 0.0
    try:
        xs[i] += shrink(xs)
    except IndexError as e:
        t = -1.0
    return t, xs
"""
    cases = [([1.0, 2.0, 3.0], 0, 0.5), ([1.0, 2.0, 3.0], -1, 0.25), ([1.0, 2.0, 3.0], 2, 1.5), ([1.0, 2.0], 1, 1.0),
             ([1.0, 2.0, 3.0], 3, 0.5), ([1.0, 2, 3.0], 1, 0.5), ([1.0, 2.0, 3.0], 2**63, 0.5)]
    check(src, cases, name="f")
    # An item whose operator empties the list between the read and the write.
    src2 = src + """

def g(xs, i):
    xs[i] -= 1.0
    return xs
"""
    pair_cases = [([1.0, 2.0], 0), ([1.0, 2.0], 1)]
    check(src2, pair_cases, name="g")
    from harness import Pair
    pair = Pair(src2, name="g")
    for side in (pair.plain, pair.fast):
        xs = []
        xs.append(side.__globals__["Sub"](xs))
        try:
            side(xs, 0)
            side.result = ("ok", list(xs) == [0.0])
        except IndexError as e:
            side.result = ("IndexError", str(e))
    assert pair.plain.result == pair.fast.result


def test_local_references_taken_and_given_back_in_a_block():
    # A local's object used only by operations that borrow it (is, None tests, guards, item reads, len, pop/insert
    # in place, reversal) and released in the same block takes no reference (specialize/local_references.cpp);
    # rebinding the local in that block (x = x.pop(), del, a swap) keeps them. The list's reference count after the
    # calls, and every answer, are CPython's.
    src = """
def f(xs, k):
    t = 0
    for i in range(k):
        a = xs
        if a is None or a is not xs:
            return -1
        n = len(a)
        t += a[i % n] + a[-1]
        a.insert(0, a.pop())
        a[:2] = a[1::-1]
        b = a
        a = b.pop()
        b.append(a)
        del a
    return t
"""
    check(src, [([1, 2, 3, 4], 5), ([7, 8], 3), ([1.5, 2.5, 3.5], 4), ([2**70, 3], 2)], name="f")
    from harness import Pair
    pair = Pair(src, name="f")
    for side in (pair.plain, pair.fast):
        xs = [1, 2, 3, 4]
        before = sys.getrefcount(xs)
        for _ in range(20):
            side(xs, 50)
        side.after = sys.getrefcount(xs) - before
    assert pair.plain.after == pair.fast.after == 0
