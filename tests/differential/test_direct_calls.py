# Direct calls between compiled functions (unboxed arguments and results, no interpreter frame until an exit):
# recursion, results of another type than compiled for (an int that outgrew 64 bits), exceptions raised in a
# callee and passing through native callers (tracebacks compared line by line), the recursion limit, rebinding
# the callee or replacing its __code__ while the caller is hot, and callees that cannot be called directly.
import math
import sys
import textwrap
import traceback
import types

import pytest

from harness import check, register_source

pypaccel = pytest.importorskip("pypaccel")

FIB = """
def fib(n):
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)
"""


def test_recursive_fib():
    check(FIB, [(n,) for n in (0, 1, 2, 10, 20, 24)] + [(2.0,), (True,), (-3,)])


GROW = """
def grow(n):
    # From n = 40 on the result outgrows 64 bits: the callee's results come back as objects, and the callers go on
    # with exact big ints.
    if n == 0:
        return 1
    return grow(n - 1) * 3 + 0
"""


def test_results_outgrowing_64_bits():
    check(GROW, [(n,) for n in (0, 1, 5, 39, 40, 41, 100)])


CALL_LOOP = """
def f(x, y):
    return x * y + 1.0

def loop(n):
    total = 0.0
    x = 0.5
    for i in range(n):
        total += f(x, 1.0001)
        x = total * 1e-9
    return total
"""


def test_float_call_loop():
    check(CALL_LOOP, [(n,) for n in (0, 1, 100, 5000)], name="loop")


MIXED = """
def g(a, b):
    return a // b + a % b

def h(n, d):
    s = 0
    for i in range(n):
        s += g(i * 7 - 50, d)
    return s
"""


def test_exceptions_from_callee_pass_through_native_callers():
    # ZeroDivisionError raised in g (run natively, exited to the interpreter) with h's line in the traceback.
    check(MIXED, [(10, 3), (10, -3), (5, 0), (0, 0), (3, 2**63), (4, 2.5)], name="h")


CHAIN = """
def a(n):
    return b(n) + 1

def b(n):
    return c(n) * 2

def c(n):
    return 10 // n

def top(n):
    t = 0
    for i in range(3):
        t += a(n - i)
    return t
"""


def two_modules(src, filename):
    """The source exec'd twice: a namespace that stays interpreted, and one whose functions pypaccel compiles."""
    src = textwrap.dedent(src)
    register_source(filename, src)
    plain, fast = {"__name__": "plain_case"}, {"__name__": "fast_case"}
    exec(compile(src, filename, "exec"), plain)
    exec(compile(src, filename, "exec"), fast)
    for v in plain.values():
        if isinstance(v, types.FunctionType):
            pypaccel.exclude(v)
    return plain, fast


def outcome(fn, *args):
    try:
        return ("ok", fn(*args), None)
    except BaseException as e:  # noqa: BLE001
        frames = [(f.name, f.lineno, f.line) for f in traceback.extract_tb(e.__traceback__)][1:]
        return ("raised", f"{type(e).__name__}: {e}", frames)


def test_traceback_through_a_chain_of_direct_calls():
    plain, fast = two_modules(CHAIN, "<direct-chain>")
    top = pypaccel.specialize(fast["top"])
    # Three rounds: in stress mode every guard of the chain fails once first, and each failure sends the rest of
    # that call to the interpreter.
    for n in (5, 2, 1, 0, -1) * 3:
        assert outcome(top, n) == outcome(plain["top"], n)
    st = pypaccel.stats("<direct-chain>")
    names = {f["qualname"]: f for f in st["functions"]}
    assert names["c"]["native_calls"] > 0, names


SELF_EXITS = """
def down(n, k):
    # Raises at depth k; from depth 64 on (k = -1, n >= 64) the result outgrows 64 bits on the way up. The direct
    # entry inlines one level of its own recursion: exits and tracebacks at even and odd depths must look alike.
    if n == k:
        return 1 // (n - k)
    if n == 0:
        return 1
    return down(n - 1, k) * 2 + 0
"""


def test_exits_at_every_depth_of_a_self_recursive_function():
    plain, fast = two_modules(SELF_EXITS, "<direct-self-exits>")
    down = pypaccel.specialize(fast["down"])
    for n, k in [(12, -1)] * 3 + [(12, k) for k in range(13)] + [(70, -1), (70, 65), (70, 66), (12, -1)]:
        assert outcome(down, n, k) == outcome(plain["down"], n, k), (n, k)
    st = [f for f in pypaccel.stats("<direct-self-exits>")["functions"] if f["state"] != "excluded"]
    assert st[0]["native_calls"] > 50, st  # direct calls, not only the 20 from the test


DEPTH = """
def depth(n):
    if n == 0:
        return 0
    return depth(n - 1) + 1
"""


@pytest.mark.parametrize("n", [10, 500, 5000])
def test_recursion_limit(n):
    plain, fast = two_modules(DEPTH, f"<direct-depth-{n}>")
    fd = pypaccel.specialize(fast["depth"])
    p, f = outcome(plain["depth"], n), outcome(fd, n)
    assert p[:2] == f[:2]
    if p[0] == "raised":
        assert len(p[2]) == len(f[2]) and p[2][-3:] == f[2][-3:]
    # Warm: the specializations exist now; the same again.
    assert outcome(fd, n)[:2] == p[:2]


def test_deep_recursion_with_a_raised_limit():
    plain, fast = two_modules(DEPTH, "<direct-deep>")
    fd = pypaccel.specialize(fast["depth"])
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(60000)
    try:
        assert fd(50000) == plain["depth"](50000) == 50000
    finally:
        sys.setrecursionlimit(old)


LIMIT_MOVED = """
import sys

def step(k):
    return k + 1

def f(k):
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(old + 3000)   # shifts the thread's remaining count by 3000
    s = step(k * 1)                     # a direct call from this frame entry (not the argument itself)
    sys.setrecursionlimit(old)          # 'cannot set the recursion limit' if the count came back stale
    return s + step(s)
"""


def test_recursion_limit_moved_by_a_call_before_a_direct_call():
    check(LIMIT_MOVED, [(1,), (2**62,), (-5,)], name="f")
    assert sys.getrecursionlimit() > 0


CALLER = """
def g(x):
    return x + 1

def other(x):
    return x * 100

def f(n):
    s = 0
    for i in range(n):
        s += g(i)
    return s
"""


def test_rebinding_the_callee_while_hot():
    plain, fast = two_modules(CALLER, "<direct-rebind>")
    f = pypaccel.specialize(fast["f"])
    assert f(1000) == plain["f"](1000)
    fast["g"], plain["g"] = fast["other"], plain["other"]
    assert f(1000) == plain["f"](1000)
    fast["g"] = lambda x: -x  # not compilable as a direct callee: the call leaves to the interpreter
    plain["g"] = lambda x: -x
    assert f(1000) == plain["f"](1000)
    del fast["g"], plain["g"]
    assert outcome(f, 3)[:2] == outcome(plain["f"], 3)[:2]


def test_replacing_the_callees_code_while_hot():
    plain, fast = two_modules(CALLER, "<direct-code>")
    f = pypaccel.specialize(fast["f"])
    assert f(1000) == plain["f"](1000)
    fast["g"].__code__ = fast["other"].__code__
    plain["g"].__code__ = plain["other"].__code__
    assert f(1000) == plain["f"](1000)


EARLY = """
LIMIT = 2

def h(n, x):
    # Early returns before any call (the entry's frame-free front), a global read there, an overflow (n = 2**62)
    # and floats that become inf on the way.
    if n < LIMIT:
        return x * 0.5
    if x > 1e300:
        return x
    if n * 4 > 4 * 10**18:
        return -x
    return h(n - 1, x + 1.0) + h(n - 2, x * 2.0)
"""


def test_early_returns_of_a_recursive_function():
    check(EARLY, [(n, x) for n in (0, 1, 2, 3, 12) for x in (0.0, -0.0, 1.5, 1e300, math.inf, math.nan)] +
          [(10**18 + 1, 1.0), (2**62, 1.0), (2, 2), (3, True)], name="h")


def test_global_read_before_any_call_rebound_while_hot():
    plain, fast = two_modules(EARLY, "<direct-early>")
    h = pypaccel.specialize(fast["h"])
    for limit in (2, 5, 1, 2.5, "x"):
        plain["LIMIT"] = fast["LIMIT"] = limit
        for n in (0, 4, 9):
            assert outcome(h, n, 1.0) == outcome(plain["h"], n, 1.0), (limit, n)


SWAP = """
def other(n):
    return -n

def swap(n):
    rec.__code__ = other.__code__
    return 0

def hook(n):
    return 0

def rec(n):
    if n == 0:
        return hook(n)
    return rec(n - 1) + rec(n - 1) * 2 + n
"""


def test_code_replaced_by_an_exit_inside_a_self_recursive_chain():
    # Deep in the native recursion an exit (hook rebound to swap) runs Python code that replaces rec.__code__: the
    # calls of rec made after it, by native callers that started with the old code, must run the new code.
    for depth in (1, 2, 5):
        plain, fast = two_modules(SWAP, "<direct-swap-%d>" % depth)
        rec = pypaccel.specialize(fast["rec"])
        for _ in range(30):
            assert rec(6) == plain["rec"](6)
        plain["hook"], fast["hook"] = plain["swap"], fast["swap"]
        assert outcome(rec, depth) == outcome(plain["rec"], depth)
        assert fast["rec"].__code__ is fast["other"].__code__


TRACED = """
import sys

def start(n):
    sys.settrace(TRACER)
    return n

def hook(n):
    return n

def rec(n):
    if n == 0:
        return hook(n)
    return rec(n - 1) + rec(n - 1) + 1
"""


def test_tracing_switched_on_inside_a_direct_call_chain():
    # Python code run by an exit deep in the native recursion turns tracing on: from then on CPython reports the
    # 'call', 'line' and 'return' events of every new frame, and so must the accelerated side (the native callers
    # leave for the interpreter when the boxed result comes back).
    results = {}
    for side in ("plain", "fast"):
        events = []
        filename = "<direct-traced-%s>" % side

        def tracer(frame, event, arg, events=events, filename=filename):
            if frame.f_code.co_filename == filename:
                events.append((event, frame.f_code.co_name, frame.f_lineno))
            return tracer

        plain, fast = two_modules(TRACED, filename)
        ns = plain if side == "plain" else fast
        ns["TRACER"] = tracer
        rec = ns["rec"] if side == "plain" else pypaccel.specialize(ns["rec"])
        for _ in range(30):
            rec(5)
        ns["hook"] = ns["start"]
        old = sys.gettrace()
        try:
            out = outcome(rec, 3)
        finally:
            sys.settrace(old)
        results[side] = (out, events)
    assert results["fast"] == results["plain"]
    assert any(ev[0] == "call" and ev[1] == "rec" for ev in results["plain"][1])


DEFAULTS = """
def g(x, y=2):
    return x * y + 1

def f(n):
    s = 0
    for i in range(n):
        s += g(i) + g(i, 3)      # with and without the default
    return s
"""


def test_replacing_the_callees_defaults_while_hot():
    plain, fast = two_modules(DEFAULTS, "<direct-defaults>")
    f = pypaccel.specialize(fast["f"])
    assert f(1000) == plain["f"](1000)
    for side in (plain, fast):
        side["g"].__defaults__ = (10,)
    assert f(1000) == plain["f"](1000)
    for side in (plain, fast):
        side["g"].__defaults__ = None      # g(i) is now a TypeError, raised from the native caller's frame
    p, q = outcome(plain["f"], 10), outcome(f, 10)
    assert p == q and p[0] == "raised"


MUTUAL = """
def is_even(n):
    if n == 0:
        return True
    return is_odd(n - 1)

def is_odd(n):
    if n == 0:
        return False
    return is_even(n - 1)
"""


def test_mutual_recursion():
    check(MUTUAL, [(n,) for n in (0, 1, 2, 7, 100, 501)])


INTROSPECT = """
import sys, traceback

def inner(x):
    return len(traceback.extract_stack()), sys._getframe(1).f_code.co_name, x + 1

def outer(x):
    return inner(x)

def main(n):
    r = None
    for i in range(n):
        r = outer(i)
    return r
"""


def test_frames_seen_from_a_callee():
    # A callee that looks at frames is not called directly (it calls other Python code); what it sees is the same.
    plain, fast = two_modules(INTROSPECT, "<direct-introspect>")
    m = pypaccel.specialize(fast["main"])
    assert m(50) == plain["main"](50)


DICT_CALLEES = """
LOG = []

class Key:
    # Hashes as its int: a lookup of that int compares with it and runs this __eq__.
    def __init__(self, k):
        self.k = k
    def __hash__(self):
        return hash(self.k)
    def __eq__(self, other):
        LOG.append(("eq", self.k, other))
        return other == self.k
    def __repr__(self):
        return "Key(%r)" % self.k

class Spoiler:
    # Replaced in the dict, its finalizer adds a key whose comparisons run Python code.
    def __init__(self, d):
        self.d = d
    def __del__(self):
        self.d[Key(20)] = "spoiled"
    def __repr__(self):
        return "Spoiler"

class Missing(dict):
    def __missing__(self, k):
        return ("missing", k)

def get(d, k):
    return d[k]

def put(d, k, v):
    d[k] = v * 2 - v
    return v + 1

def f(d, keys, n):
    out = []
    for i in range(n):
        for k in keys:
            try:
                out.append(get(d, k))
            except KeyError as e:
                out.append(("KeyError", e.args))
            out.append(put(d, k, i))
    return out, sorted(map(repr, d.items())), LOG
"""


def test_dict_subscripts_in_direct_callees():
    # get() and put() are direct callees: a dict whose keys compare in C (exact str, int, float, bool, None) is read
    # and written in place; one holding a key whose __eq__ is Python code (there from the start, or added by a
    # finalizer during a store) leaves that lookup to the interpreter, which runs the __eq__ as CPython does.
    check(DICT_CALLEES, [({1: "a", 2: "b", "x": 3.5}, [1, 2, "x"], 4), ({1: "a"}, [1, 5, 1.0, True], 3),
                         ({None: 0, 2.5: 1}, [None, 2.5, "y"], 3), ({}, ["a", "b", "a"], 3),
                         ({"k": 1, 2: 2}, [2, "k", 3], 40)], name="f")
    src = DICT_CALLEES + """
def g(n):
    d = {1: "a", 2: "b"}
    r = f(d, [1, 2], n)
    d[1] = Spoiler(d)
    r2 = f(d, [1, 2], n)
    d[Key(7)] = "seven"
    return r, r2, f(d, [7, 1, 8], n)
"""
    check(src, [(3,), (30,)], name="g")


def test_dict_subscripts_in_direct_callees_keep_reference_counts():
    # Subscripts of a dict in direct callees (in place) and in the caller leave the dict, the key and the value with
    # the reference counts CPython leaves them with, in every test mode (in stress mode the forced Reexec exit of an
    # in-place subscript comes before its helper runs: after it, its operands are consumed).
    src = DICT_CALLEES + """
import sys

def h(n):
    d = {1: "a", 2: "b", "x": 3.5}
    key = 10 ** 6 + 1
    value = [7]
    before = sys.getrefcount(d), sys.getrefcount(key), sys.getrefcount(value)
    f(d, [1, "x", key], 2)             # (stress mode's forced exits happen in the first calls)
    for i in range(n):
        put(d, key, i)
        get(d, key)
        d[key] = value
        get(d, key)
    d.pop(key)
    return [a - b for a, b in zip((sys.getrefcount(d), sys.getrefcount(key), sys.getrefcount(value)), before)]
"""
    check(src, [(3,), (20,)], name="h")


def test_operand_without_example_predicted_from_the_other_operand():
    # g is inferred with p = None (the first item), so p.n has no example; a direct entry may not add generically
    # (it could run Python code), so `p.n * 3 + 1` and `p.n < 10` predict small ints like the constants next to
    # them: guarded, and an exit where p.n is a float, a big int, a str or an object with __mul__.
    src = """
class P:
    def __init__(self, n):
        self.n = n

class Weird:
    def __mul__(self, k):
        return 5
    def __lt__(self, k):
        return True

def g(p):
    if p is None:
        return 0
    if p.n < 10:
        return p.n * 3 + 1
    return p.n

def f(ns):
    vals = [None if n == "none" else P(Weird() if n == "weird" else n) for n in ns]
    t = 0
    for p in vals:
        t += g(p)
    return t
"""
    check(src, [(["none", 1, 2, 30],),
                (["none", 1.5, 2 ** 70, -4],),
                ([3, "weird", 4],),
                (["ab", "none"],)], name="f")


def test_len_and_comparisons_in_a_direct_entry():
    # A direct entry has no frame: len() and comparisons of objects run there only where CPython does them in C
    # (exact list, tuple, str, dict, set, bytes; str, int, float, bytes, bool and None compared), else they exit
    # and the interpreter does them: a user __len__ or __eq__ (which could look at frames), `"a" < 1`'s TypeError.
    src = """
class Sized:
    def __len__(self):
        return 42

class Eq:
    def __eq__(self, other):
        return "eq"
    __hash__ = None

class Item:
    def __init__(self, kind, data):
        self.kind = kind
        self.data = data

def g(it):
    n = len(it.data)
    if it.kind == "work":
        return n + 1
    if it.kind < 3:
        return -n
    return n

def f(spec):
    items = []
    for kind, data in spec:
        items.append(Item(Eq() if kind == "eq" else kind, Sized() if data == "sized" else data))
    t = 0
    for it in items:
        t += g(it)
    return t
"""
    check(src, [([("work", [1, 2]), ("other", (1,)), (1, "abc"), (2.5, {1: 2}), (None, {3}), (b"x", b"yz")],),
                ([("work", "sized"), ("eq", [1])],),
                ([("work", []), ("a", [1])],),
                ([(True, [1, 2, 3]), (float("nan"), "")],)], name="f")


VEC_OF_EITHER_KIND = """
class Vec:
    def __init__(self, x, y):
        self.x = x
        self.y = y

    def dot(self, o):
        return self.x * o.x + self.y * o.y

    def scale(self, k):
        return Vec(self.x * k, self.y * k)

    def inverse_x(self):
        return 1 / self.x

def f(coords, k):
    vs = [Vec(x, y) for x, y in coords]
    t = 0
    for v in vs:
        for w in vs:
            t = t + v.dot(w)
        t = t + v.scale(k).dot(v)
    return t, vs[-1].inverse_x()
"""


def test_operands_of_either_kind_in_a_direct_entry():
    # Coordinates that are ints in some vectors and floats in others: the direct entries predicted from the first
    # example keep exiting, are compiled again with those operations computed in place among ints and floats
    # (BinaryInPlace) and then stay native. Other operands (a str, a big int past 2**64, a bool) and a zero
    # divisor inside a direct entry give CPython's results, exceptions and tracebacks.
    coords = [(1.5, 2.0), (3, 4), (0.5, -1), (2, 2.25)] * 8
    check(VEC_OF_EITHER_KIND, [(coords, 3), (coords, 0.5),
                               ([(2**63, 2**64), (1.0, -0.0), (True, 2)] * 6, 3),
                               ([(1, 2), ("ab", 2)], 2),
                               ([(1.0, 2), (0, 1)], 2),
                               ([(1, 2), (0.0, 1)], 2),
                               ([(float("inf"), float("nan")), (-1, 3)] * 4, -1)], name="f")


def test_direct_entry_that_keeps_exiting_on_types_is_replaced_not_disabled():
    # In one process: Vec.dot's direct entry, predicted from float vectors, exits on int ones; past one exit in
    # eight entries it is retired, its call sites resolve it again, and the wider entry runs the rest natively.
    # Its caller, whose loop got another type back than inferred, is compiled again too (a function with a loop
    # at its first such exit) and takes any result: the third call runs natively throughout.
    from harness import Pair, STRESS
    src = VEC_OF_EITHER_KIND + """
def total(vs, k):
    t = 0
    for v in vs:
        for w in vs:
            t = t + v.dot(w) * k
    return t
"""
    pair = Pair(src, name="total")
    coords = [(1.5, 2.0), (0.25, 1.0)] * 4 + [(3, 4), (5, 6)] * 12
    for k in (2, 2, 2):
        plain = pair.plain([pair.gp["Vec"](x, y) for x, y in coords], k)
        fast = pair.fast([pair.gf["Vec"](x, y) for x, y in coords], k)
        assert fast == plain and type(fast) is type(plain)
    if STRESS:
        return  # stress-mode code is never retired
    stats = {fn["qualname"]: fn for fn in pypaccel.stats(pair.filename)["functions"]
             if fn["file"] == pair.filename and fn["state"] != "excluded"}
    dot, total = stats["Vec.dot"], stats["total"]
    for fn in (dot, total):
        assert fn["state"] == "native", fn
        assert any("re-specialized" in x["reason"] for x in fn["fallbacks"]), fn
    assert sum(x["count"] for x in dot["exits"]) < 100, dot
    assert sum(x["count"] for x in total["exits"]) <= 2, total
    assert dot["native_calls"] > len(coords) ** 2, dot  # the last call's, and some of the first two
