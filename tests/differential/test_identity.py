# Identity and lifetime of values in compiled code: a number that never changes stays the object it was (a
# constant of the code, an argument, a value copied or carried round a loop, passed to a compiled callee and
# back), and a local rebound or deleted releases its old value where CPython does (__del__, weakref callbacks,
# sys.getrefcount seen from the function).
import math

import pytest

from conftest import report_stress
from harness import STRESS, Pair, left, pypaccel, summary

NAN = math.nan
BIG = 2**70 + 5


@pypaccel.exclude
def identity_pattern(fn, args, result):
    """For each item of `result` (a tuple, or the result itself), which argument or constant of `fn` it *is* (its
    position among args + co_consts), or -1: the same on both sides when identity is kept as in CPython."""
    refs = list(args) + list(fn.__code__.co_consts)
    items = result if type(result) is tuple else (result,)
    out = []
    for item in items:  # no comprehension: its code object would not be excluded
        where = -1
        for i, r in enumerate(refs):
            if item is r:
                where = i
                break
        out.append(where)
    return out


@pypaccel.exclude
def check_identity(src, inputs, name=None, glb=None):
    """Both sides of each call return objects that are the same arguments / constants (and the same values)."""
    pair = Pair(src, name=name, glb=glb)
    problems = []
    for args in inputs:
        rp = pair.plain(*args)
        rf = pair.fast(*args)
        pp = identity_pattern(pair.plain, args, rp)
        pf = identity_pattern(pair.raw_fast, args, rf)
        if pp != pf or repr(rp) != repr(rf):
            problems.append(f"{pair.name}{args!r}: CPython {rp!r} is {pp}, pypaccel {rf!r} is {pf}")
    assert pair.stats()["native_calls"] >= len(inputs), pair.stats()
    assert not problems, "\n".join([src] + problems)


@pypaccel.exclude
def check_same(src, inputs, name=None, glb=None):
    """Both sides return equal results (booleans of `is` tests, counts of __del__ calls...)."""
    pair = Pair(src, name=name, glb=glb)
    problems = []
    for args in inputs:
        rp = pair.plain(*args)
        rf = pair.fast(*args)
        if repr(rp) != repr(rf):
            problems.append(f"{pair.name}{args!r}: CPython {rp!r}, pypaccel {rf!r}")
    st = pair.stats()
    assert st["native_calls"] >= len(inputs), summary(st)
    # The whole call natively: an exit would hand the rest to the interpreter, which gets it right anyway.
    assert STRESS or left(st) == 0, summary(st)
    assert not problems, "\n".join([src] + problems)


@pypaccel.exclude
def values():
    # Fresh objects of every kind the hook unboxes (and a big int it does not), made here so that no constant of
    # this module is shared with the cases' code.
    return [float("1.5"), float("-0.0"), float("nan"), int("7"), int("1000000"), int(str(2**62)),
            int(str(BIG)), True, False]


# ---------------------------------------------------------------------------------------------------------------
# Constants

def test_constants_box_to_the_code_objects_constants():
    src = """
    def f(k):
        a = 0.0
        b = -0.0
        c = 1.5
        d = 1000000
        e = 2**70
        g = (1e308 * 10 - 1e308 * 10)
        h = 7
        i = 2**62
        if k:
            a = a
        return a, b, c, d, e, g, h, i, 0.0, 2.5
    """
    check_identity(src, [(0,), (1,)])


def test_constants_compared_with_is():
    src = """
    def f(k):
        x = 0.0
        y = x
        z = 1000000
        w = (1e308 * 10 - 1e308 * 10)
        v = w
        return x is 0.0, y is x, z is 1000000, v is w, w is w, x is -0.0, 0.5 is 0.5
    """
    check_same(src, [(0,), (1,)])


def test_match_on_constants():
    # test_patma: `match x: case 0.0:` and then assertIs(x, 0.0) in the same code.
    src = """
    def f(k):
        x = 0.0 if k else -0.0
        match x:
            case 0.0:
                y = x
            case _:
                y = None
        z = 1000000
        match z:
            case 1000000:
                w = z
            case _:
                w = None
        return x, y, z, w, y is 0.0, w is 1000000
    """
    check_identity(src, [(0,), (1,)])


def test_match_on_an_argument():
    src = """
    def f(x):
        match x:
            case 0.0 | 1.5:
                y = x
            case 7:
                y = x
            case True:
                y = x
            case _:
                y = x
        return y, x
    """
    check_identity(src, [(v,) for v in values()])


# ---------------------------------------------------------------------------------------------------------------
# Arguments, copies, values carried round loops and through merges

def test_keep_through_a_for_loop():
    src = """
    def keep(a, n):
        for _ in range(n):
            a = a
        return a
    """
    check_identity(src, [(v, n) for v in values() for n in (0, 1, 2)])


def test_keep_is_the_argument():
    src = """
    def f(a, n):
        b = a
        for _ in range(n):
            b = b
        return b is a
    """
    check_same(src, [(v, n) for v in values() for n in (0, 1, 2)])


def test_keep_through_a_while_loop():
    src = """
    def keep(a, n):
        i = 0
        while i < n:
            b = a
            a = b
            i += 1
        return a
    """
    check_identity(src, [(v, n) for v in values() for n in (0, 1, 2)])


def test_merges_of_arguments_and_constants():
    src = """
    def f(a, k):
        if k == 0:
            b = a
        elif k == 1:
            b = 2.5
        else:
            b = 1000000
        c = a if k else 0
        return b, c
    """
    check_identity(src, [(v, k) for v in values() for k in (0, 1, 2)])


def test_carried_value_computed_on_some_iterations():
    src = """
    def f(a, n):
        b = a
        for i in range(n):
            if i == 2:
                b = b * 2
        return b, a
    """
    check_identity(src, [(v, n) for v in values() if type(v) is not bool for n in (0, 1, 2, 3)])


def test_accumulator_untouched_by_an_empty_loop():
    src = """
    def f(n):
        s = 0.0
        t = 1000000
        for i in range(n):
            s = s + i
            t += 1
        return s, t
    """
    check_identity(src, [(0,), (1,), (3,)])


def test_identity_survives_an_exit():
    # k * 2**62 * 4 outgrows 64 bits: the rest runs in the interpreter with the objects put back.
    src = """
    def f(a, k):
        b = a
        for _ in range(k):
            b = b
        c = 1.5
        big = k * 2**62 * 4
        return b, c, a, big
    """
    check_identity(src, [(v, k) for v in values() for k in (0, 1, 2)])


def test_argument_rebound_then_returned_copy():
    src = """
    def f(a, k):
        b = a
        a = k * 0.5
        s = str(k)
        return b, a, s is None
    """
    check_identity(src, [(v, k) for v in values() for k in (0, 3)])


# ---------------------------------------------------------------------------------------------------------------
# Compiled callees

def test_value_passed_to_a_compiled_callee_and_returned():
    src = """
    def f(a, n):
        b = a
        for _ in range(n):
            b = ident(b)
        r = ident(b)
        return r, b, ident(a) is a
    def ident(x):
        return x
    """
    check_identity(src, [(v, n) for v in values() for n in (0, 1, 2)])


# ---------------------------------------------------------------------------------------------------------------
# Lifetime: a local's old value is released where CPython releases it

LIFETIME = """
import sys
import weakref
LOG = []
HITS = []
class T:
    def __del__(self):
        LOG.append(1)
class W:
    pass
def cb(_):
    HITS.append(1)
"""


def test_del_runs_at_rebind():
    src = LIFETIME + """
def f(k):
    LOG.clear()
    t = T()
    t = object()
    r = len(LOG)
    t = k
    return r, len(LOG)
"""
    check_same(src, [(0,), (1.5,), (2,)], name="f")


def test_del_runs_at_rebind_in_a_loop():
    src = LIFETIME + """
def f(n):
    LOG.clear()
    out = []
    t = None
    for i in range(n):
        t = T()
        out.append(len(LOG))
    t = i
    out.append(len(LOG))
    return out
"""
    check_same(src, [(1,), (3,)], name="f")


def test_del_runs_at_del_statement():
    src = LIFETIME + """
def f(k):
    LOG.clear()
    t = T()
    u = t
    del t
    r = len(LOG)
    del u
    return r, len(LOG)
"""
    check_same(src, [(0,), (1,)], name="f")


def test_weakref_callback_at_rebind():
    src = LIFETIME + """
def f(k):
    HITS.clear()
    w = W()
    r = weakref.ref(w, cb)
    w = None
    n = len(HITS)
    return n, r() is None
"""
    check_same(src, [(0,), (1,)], name="f")


def test_getrefcount_of_arguments_and_locals():
    src = LIFETIME + """
def f(a, k):
    x = W()
    y = x
    n1 = sys.getrefcount(a)
    n2 = sys.getrefcount(x)
    y = None
    n3 = sys.getrefcount(x)
    b = a
    n4 = sys.getrefcount(a)
    return n1, n2, n3, n4
"""
    obj = "a string object of its own " + str(BIG)
    other = object()
    check_same(src, [(obj, 0), (obj, 1), (other, 2), (1.5, 3), (BIG, 4)], name="f")


def test_stress_mode():
    report_stress(__file__)
