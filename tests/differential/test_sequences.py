# Lists and tuples in place, and predicted types (csrc/specialize/samples.h, ops/sequences.cpp): `x[i]`, `x[i] = v`
# and unpacking read and write an exact list's or tuple's items under a type guard, and a value read from them (or
# from an attribute) whose example was a float or small int is guarded and computed unboxed. Every other case (a
# dict, a str, a subclass of list, an index out of range, the wrong length, a non-float arriving in the middle of
# a hot loop) must give CPython's result, exception, message and traceback: an exit, or the generic path.
import sys

import pytest

from harness import EDGE_INTS, Pair, check, check_runs_without_exits, outcome_of

SUBSCR = """
def f(seq, i):
    a = seq[i]
    b = seq[-1]
    return a + b, a * 2, seq[i] < b
"""


class FloatList(list):
    def __getitem__(self, i):
        return 1.5 if isinstance(i, int) else list.__getitem__(self, i)


SUBSCR_INPUTS = [
    ([1.5, 2.5, -0.0], 0), ([1.5, 2.5, -0.0], -3), ([1.5, 2.5, float("nan")], 1), ([1.5, 2.5], 2),
    ([1.5, 2.5], -3), ([1, 2, 3], 1), ([2**62, 2**62], 0), ([2**63, 1], 0), ([-2**63, 5], 0),
    ((0.5, 0.25), 1), ((1, 2**64), 0), ([True, False], 0), ([1.5, 2], 1), (["a", "b"], 0),
    ({0: 1.0, -1: 2.0}, 0), ("xy", 1), (FloatList([9.0, 8.0]), 0), ([1.5, None], 0), ([[1.0]], 0),
    ([1.5, 2.5], True), ([1.5, 2.5], 2**64), ([1.5, 2.5], 1.0),
] + [([float(k), 2.0], 0) for k in EDGE_INTS[:6]]


def test_subscript_reads_every_container_and_index():
    check(SUBSCR, SUBSCR_INPUTS, name="f")


STORE = """
def f(seq, i, v):
    seq[i] = v
    seq[-1] = v * 2
    return seq, seq[i]
"""


@pytest.mark.parametrize("seq,i,v", [
    ([1.0, 2.0, 3.0], 0, 4.5), ([1.0, 2.0, 3.0], -2, 4.5), ([1.0, 2.0], 2, 1.0), ([1.0, 2.0], -3, 1.0),
    ([1, 2], 1, 7), ([1, 2], 0, 2**63), ((1.0, 2.0), 0, 3.0), ({0: 1}, 0, 2.0), ([1.0], 2**64, 1.0),
    (FloatList([1.0, 2.0]), 0, 3.0), (bytearray(b"ab"), 0, 65), ([1.0, 2.0], True, 0.5), ([1.0, 2.0], 0, "s"),
])
def test_subscript_stores(seq, i, v):
    check(STORE, [(seq, i, v)], name="f")


UNPACK = """
def f(seq):
    a, b, c = seq
    x, y = b, a
    return x, y, c
"""


class BadIter:
    def __iter__(self):
        return self

    def __next__(self):
        raise KeyError("boom")


class OldSeq:
    def __getitem__(self, i):
        if i < 3:
            return i * 1.5
        raise IndexError(i)


@pytest.mark.parametrize("seq", [
    (1.0, 2.0, 3.0), [1, "a", None], (1, 2), [1, 2, 3, 4], (), "abc", "ab", {1: 2, 3: 4, 5: 6}, 5, 2.5, None,
    BadIter(), OldSeq(), range(3), range(4), b"xyz",
], ids=repr)
def test_unpack_any_value(seq):
    check(UNPACK, [(seq,)], name="f")


def test_unpack_generators_and_iterators():
    # Each side makes its own iterator (a shared one would be consumed by the first side).
    src = """
def gen(n):
    yield from range(n)

def f(n, kind):
    seq = gen(n) if kind == 0 else iter(list(range(n))) if kind == 1 else zip("abcd"[:n], "cdef", "efgh")
    a, b, c = seq
    return a, b, c
"""
    check(src, [(n, kind) for kind in range(3) for n in (2, 3, 4)], name="f")


NESTED = """
def f(pairs):
    total = 0.0
    for ((x1, y1), v1, m1), ((x2, y2), v2, m2) in pairs:
        dx = x1 - x2
        dy = y1 - y2
        v1[0] -= dx * m2
        v2[1] += dy * m1
        total += dx * dy + m1 * m2
    return total
"""


def bodies(n, value=0.5):
    return [([k + value, k * value], [0.0, 0.0], 1.0 + k) for k in range(n)]


def pairs_of(bs):
    return [(bs[i], bs[j]) for i in range(len(bs)) for j in range(i + 1, len(bs))]


def test_nested_unpacking_loop_with_floats_in_lists():
    bs = bodies(5)
    ints = bodies(4, 1)
    mixed = bodies(4)
    mixed[2][0][1] = 2**70  # a big int in the middle of the loop
    odd = bodies(4)
    odd[1] = ([1.0, 2.0, 3.0], [0.0, 0.0], 1.0)  # the wrong length in the middle
    strs = bodies(3)
    strs[2][1][0] = "s"  # a str in a velocity list: TypeError from `-=`
    check_runs_without_exits(NESTED, "f", [(pairs_of(bs),), (pairs_of(bodies(3)),)])
    check(NESTED, [(pairs_of(bs),), (pairs_of(ints),), (pairs_of(mixed),), (pairs_of(odd),), (pairs_of(strs),)],
          name="f")


HOT = """
def f(xs):
    s = 0.0
    n = 0
    for x in xs:
        s += x * 0.5
        if x > 1.0:
            n += 1
    return s, n
"""


def test_non_float_arrives_in_the_middle_of_a_hot_loop():
    floats = [k * 0.25 for k in range(2000)]
    with_int = list(floats)
    with_int[1500] = 3
    with_big = list(floats)
    with_big[700] = 2**80
    with_obj = list(floats)
    with_obj[100] = None
    check_runs_without_exits(HOT, "f", [(floats,), (floats[::-1],)])
    # Compiled for floats (the first call's list), so the int is met under the float guard: an exit.
    check(HOT, [(floats,), (with_int,)], name="f", expect_exit=lambda args, _: args[0] is with_int)
    check(HOT, [(floats,), (with_int,), (with_big,), (with_obj,), (floats,), ([],), ((1.0, 2.0),)], name="f")


ATTRS = """
def f(cls, x, y, z, k):
    p = cls(x, y, z)  # each side its own instance (the loop changes it)
    total = 0.0
    for i in range(k):
        total += p.x * p.y - p.z
        p.x = p.x + 1.0
    return total, p.x
"""


class P:
    def __init__(self, x, y, z):
        self.x, self.y, self.z = x, y, z


class SlotP:
    __slots__ = ("x", "y", "z")

    def __init__(self, x, y, z):
        self.x, self.y, self.z = x, y, z


class PropP(P):
    @property
    def y(self):
        return self._y * 2

    @y.setter
    def y(self, v):
        self._y = v


READ_ATTRS = """
def f(p, k):
    total = 0.0
    for i in range(k):
        total += p.x * p.y - p.z * i
    return total
"""


def test_attributes_read_from_an_argument():
    # The argument is the example: its attributes predict float (or int) arithmetic under guards.
    check(READ_ATTRS, [(P(1.0, 2.0, 0.5), 10), (P(1, 2, 3), 10), (SlotP(1.5, 2.0, 0.25), 10),
                       (PropP(1.0, 0.5, 0.5), 10), (P(1.0, "a", 0.5), 3), (P(1.0, 2.0, None), 3),
                       (P(2**62, 2, 0), 5), (P(2**62, 2**3, 1), 5)], name="f")
    check_runs_without_exits(READ_ATTRS, "f", [(P(1.0, 2.0, 0.5), 100), (P(3.0, -2.0, 0.25), 100)])


def test_attributes_predicted_from_instances():
    check(ATTRS, [(P, 1.0, 2.0, 0.5, 10), (P, 1, 2, 3, 10), (SlotP, 1.5, 2.0, 0.25, 10), (PropP, 1.0, 0.5, 0.5, 10),
                  (P, 1.0, "a", 0.5, 3), (P, 1.0, 2.0, None, 3), (P, 2**62, 2, 0, 5), (PropP, 1.0, "s", 0.5, 2)],
          name="f")


def test_items_keep_their_identity_and_reference_counts():
    src = """
def f(seq, i):
    a = seq[i]
    b, c = seq
    return a is seq[i], b is seq[0], c is seq[1], a
"""
    pair = Pair(src, name="f")
    item = 12345.5
    lst = [item, 2.5]
    before = sys.getrefcount(item)
    for _ in range(100):
        p = outcome_of(pair.plain, (lst, 0), pair.filename)
        f = outcome_of(pair.fast, (lst, 0), pair.filename)
        assert p.key() == f.key()
        del p, f
    assert sys.getrefcount(item) == before
    lst[0] = 1.0  # the list releases it: only `item` holds it now
    assert sys.getrefcount(item) == before - 1


DISPLAYS = """
def f(n, v):
    flags = [True] * (n + 1)
    acc = [0.0, v] * 2
    both = acc + [v]
    t = (v, n)
    for i in range(2, n + 1):
        if flags[i]:
            for m in range(i * i, n + 1, i):
                flags[m] = False
        acc[i % 4] += v * i
        both[-1] = both[-1] + t[0]
    return sum(flags), acc, both, t[1] * t[0]
"""


def test_displays_and_their_repetitions_predict_lists():
    # `[True] * n`, `[0.0, v] * 2`, `xs + ys` and `(v, n)` are lists and tuples whose items are examples too.
    check(DISPLAYS, [(30, 1.5), (30, 2), (10, 2**70), (5, "s"), (1, 0.0), (0, -1.0), (40, None)], name="f")
    check_runs_without_exits(DISPLAYS, "f", [(50, 0.25), (20, -3.0)])


TRUTH = """
def f(xs):
    n = 0
    for x in xs:
        if x:
            n += 1
        if not x:
            n -= 2
        n += 1 if (x or n) else 0
    return n
"""


class Falsy:
    def __bool__(self):
        return False


class Raises:
    def __bool__(self):
        raise RuntimeError("no truth")


def test_predicted_truth_of_bools_none_and_numbers():
    # Compiled for the first list's items (a bool, None, a float or an int): other objects in the middle exit,
    # and their truth is CPython's (a __bool__ that raises included).
    # Tuples: both sides get the very objects (lists would be deep-copied, and the copies compared by address).
    bools = (True, False) * 20
    check(TRUTH, [(bools,), (bools + (0, 1, 2.5, None, "", "s", Falsy(), [], [0]),), ((None,) * 5 + (1, Falsy()),),
                  ((0.0, -0.0, float("nan"), 1e-300),), ((0, 1, -1, 2**62, 2**64),), (bools + (Raises(),),)], name="f")
    check_runs_without_exits(TRUTH, "f", [(bools,), (bools[::-1],)])


RANGES_PASSED = """
def f(a, b, c):
    xs = list(range(a, b, c))
    t = tuple(range(b))
    total = sum(range(a)) + len(xs)
    for i in range(len(xs)):
        xs[i] = xs[i] * 2 + t[i % len(t)] if t else xs[i]
    r = range(a, b)
    return xs, t[-1:] , total, sorted(range(c, a), reverse=True), r == range(a, b), repr(range(b))
"""


def test_virtual_ranges_passed_to_calls():
    # A range kept in registers is passed as a range object equal to it (repr, ==, len); list(...) and tuple(...)
    # of it are predicted lists and tuples of ints.
    check(RANGES_PASSED, [(0, 10, 1), (2, 20, 3), (5, -5, -2), (3, 3, 1), (0, 10, 0), (-2**62, -2**62 + 5, 1),
                          (1, 2**63 - 1, 2**62)], name="f")


class F(float):
    pass


def test_float_stores_in_place_only_where_nothing_else_sees_the_old_item():
    # ListStoreFloat: the old item's value is replaced when only the list holds it; a float held elsewhere too (a
    # local, another list, the caller), a float subclass or an int there gets a new float, as in CPython.
    src = """
def f(xs, k):
    keep = xs[0]
    other = [xs[2]]
    for i in range(k):
        xs[0] += 1.0
        xs[1] = xs[1] * -2.0
        xs[2] = xs[2] - 0.5
        xs[3] = xs[3] / 3.0
    return keep, other[0], xs, keep is xs[0]
"""
    shared = 7.25
    check(src, [([1.5, 2.5, shared, 4.0], 3), ([1.5, -0.0, 0.0, float("nan")], 2), ([1.5, F(2.5), 3.0, 1], 2),
                ([1.5, 2.5, 3.0, 4.0], 0), ([float("inf"), 1e308, -1e308, 5e-324], 4)], name="f")
    check_runs_without_exits("""
def f(xs, k):
    for i in range(k):
        for j in range(len(xs)):
            xs[j] = xs[j] * 0.5 + 1.0
    return xs
""", "f", [([1.0, 2.0, 3.0], 10), ([0.5] * 8, 3)])


class SubList(list):
    def __getitem__(self, k):
        return ("sub", list.__getitem__(self, k))

    def __setitem__(self, k, v):
        list.__setitem__(self, k, ["set", v])


# BUILD_SLICE of ints and Nones then the subscript (ops/sequences.cpp sliceInPlace): one SeqSlice or
# ListAssignSlice, no slice object, on an exact list, tuple (read) or str (read, no step).
SLICE_READS = """
def f(seq, a, b, step):
    r = [seq[a:b], seq[a:], seq[:b], seq[:], seq[b::-1], seq[a:b:2], seq[a::step], seq[True:a]]
    return r, seq[:] is seq
"""

SLICE_STORES = """
def f(xs, a, b, v):
    xs[a:b] = v
    xs[:a] = xs
    return xs
"""


@pytest.mark.parametrize("seq", [[1, 2, 3, 4, 5], (9.5, 8, 7, "x"), "abcdef", "", [], (),
                                 SubList([1, 2, 3]), range(6), {0: 1}])
def test_slices_in_place_read(seq):
    bounds = [(1, 3, 1), (-2, 4, -1), (0, 2**63 - 1, 3), (-2**63, 2, -2), (3, 1, 2), (7, -7, -3), (-1, 0, 1)]
    check(SLICE_READS, [(seq, a, b, s) for a, b, s in bounds], name="f")
    # A zero step, and the most negative one (clamped by PySlice_Unpack).
    check(SLICE_READS, [(seq, 1, 2, 0), (seq, 0, -1, -2**63), (seq, 0, 3, 2**63 - 1)], name="f")


@pytest.mark.parametrize("value", [[10, 20], (10,), [], [1, 2, 3, 4, 5, 6], "ab", range(7, 9), {7}, None, 5])
def test_slices_in_place_stored(value):
    for xs in ([1, 2, 3, 4], [], SubList([1, 2, 3])):
        inputs = [(list(xs) if type(xs) is list else SubList(xs), a, b,
                   value) for a, b in ((1, 3), (-1, 10), (3, 1), (-2**63, 2**63 - 1))]
        check(SLICE_STORES, inputs, name="f")


def test_slice_in_place_reverses_a_prefix_without_exits():
    # fannkuch's flip: a stepped read and a store of the same list, in a hot loop, with no exit.
    check_runs_without_exits("""
def f(t, k):
    xs = list(t)
    n = 0
    first = xs[0]
    while first:
        xs[:first + 1] = xs[first::-1]
        n += 1
        first = xs[0]
    return n, xs, xs[1:-1], tuple(xs)[::2], "abcd"[k:]
""", "f", [((3, 1, 0, 2), 1), ((2, 0, 1), -3), ((0, 1), 9)])


def test_slice_store_of_a_fresh_list_releases_the_old_items_after_the_store():
    # A store of a list nothing else holds, as long as the slice (the flip's): the items change places and the
    # old ones go with the value list, released last first once the list has its new items, as list_ass_slice
    # does. A finalizer sees the list already changed, and the order of finalizers is CPython's.
    src = """
LOG = []

class Tracked:
    def __init__(self, name, seen):
        self.name = name
        self.seen = seen
    def __del__(self):
        LOG.append((self.name, list(map(str, self.seen))))
    def __repr__(self):
        return self.name

def f(k, keep):
    LOG.clear()
    xs = []
    for i in range(4):
        xs.append(Tracked("t%d" % i, xs))
    kept = xs[:]
    if not keep:
        kept = None
    zs = ["a", "b", "c", "d"]
    xs[:k] = zs[:k]
    xs[1:3] = xs[2:0:-1]
    xs[2:4] = zs[k - 2:k]
    ys = [1, 2, 3]
    xs[:3] = ys
    xs[:2] = [str(x) for x in xs[:2]]
    return list(map(str, xs)), list(LOG), ys
"""
    check(src, [(2, False), (3, False), (0, False), (4, True), (2, True)], name="f")


def _raises_after_two():
    yield 1
    yield 2
    raise KeyError("third")


STARRED = """
def f(x):
    a, *b, c = x
    *d, e = x
    g, *h = x
    [*i] = x
    j, k, *m, n, o = x
    return a, b, c, d, e, g, h, i, j, k, m, n, o, b is not i
"""


@pytest.mark.parametrize("value", [[1, 2, 3, 4, 5, 6], (1.5, 2.5, 3.5, 4.5), "abcdefg", range(9), {3: 4, 5: 6},
                                   [1, 2, 3], (1,), [], "ab", 5, None])
def test_starred_unpacking_of_anything(value):
    # UNPACK_EX: ceval's own unpacking (its ValueError and TypeError messages), the middle a new list every time.
    check(STARRED, [(value,), (value,)], name="f")


def test_starred_unpacking_of_iterators_that_end_or_raise():
    src = """
def f(make):
    try:
        first, *rest, last = make()
    except (ValueError, KeyError) as e:
        return type(e).__name__, str(e)
    return first, rest, last
"""
    check(src, [(lambda: iter([1, 2, 3, 4]),), (lambda: (i * i for i in range(5)),), (_raises_after_two,),
                (lambda: iter([1]),), (lambda: iter(()),)], name="f")

