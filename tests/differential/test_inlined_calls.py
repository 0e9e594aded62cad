# Callees compiled into their callers: a direct callee that is small and calls nothing gets a private copy in each
# caller's native code, run while the callee's linked entry has the very IR the copy was made from (its variant).
# What must not change: the callee's own guards (its globals rebound while hot, in the middle of the caller's
# loop), a callee rebound or given another __code__ (the copy no longer applies), another code with the same IR
# (the copy applies to it), errors raised inside the copy (tracebacks line by line), the recursion limit at a
# copy's entry, and PYPACCEL_OPT=0 (no copies).
import json
import subprocess
import sys

import pytest

from harness import check

pypaccel = pytest.importorskip("pypaccel")

from test_direct_calls import CALL_LOOP, outcome, two_modules  # noqa: E402


SCALED = """
SCALE = 2.0

def f(x, y):
    return x * y * SCALE + 1.0

def set_scale(v):
    global SCALE
    SCALE = v

def loop(n, at, value):
    total = 0.0
    for i in range(n):
        if i == at:
            set_scale(value)
        total += f(i * 0.5, 1.5)
    return total
"""


@pytest.mark.parametrize("value", [3.0, 2.0, 4, True, "x", None, -0.0, float("nan")])
def test_callees_global_rebound_in_the_middle_of_the_loop(value):
    # The copy's guard on SCALE is the callee's (its slots): rebinding it from the loop itself must be seen at the
    # next call (a float of another value, an int, a str that makes f raise TypeError inside the copy).
    plain, fast = two_modules(SCALED, "<inline-scale-%r>" % (value,))
    loop = pypaccel.specialize(fast["loop"])
    for n, at in [(50, -1), (2000, -1), (2000, 1000), (2000, 1999), (2000, 0)]:
        plain["SCALE"] = fast["SCALE"] = 2.0
        # (repr: a nan result compares unequal to itself)
        assert repr(outcome(loop, n, at, value)) == repr(outcome(plain["loop"], n, at, value)), (n, at)


def test_callees_global_rebound_between_calls():
    plain, fast = two_modules(SCALED, "<inline-scale-between>")
    loop = pypaccel.specialize(fast["loop"])
    for value in (2.0, 5.0, 7, "s", 2.0, 1e308, 2.0):
        plain["SCALE"] = fast["SCALE"] = value
        assert outcome(loop, 3000, -1, 0) == outcome(plain["loop"], 3000, -1, 0), value


SWAPPED = """
def f(x, y):
    return x * y + 1.0

def g(x, y):
    return x * y + 1.0

def h(x, y):
    return x - y

def rebind(which):
    global f
    f = which

def loop(n, at, which):
    total = 0.0
    x = 0.5
    for i in range(n):
        if i == at:
            rebind(which)
        total += f(x, 1.0001)
        x = total * 1e-9
    return total
"""


@pytest.mark.parametrize("which", ["g", "h", "lam", "seven"])
def test_callee_rebound_in_the_middle_of_the_loop(which):
    # The loop's own guard on f and the call site's check see the rebinding: another function with the same IR
    # (g: the copy applies to it), one with other IR (h), one that is not a direct callee (a lambda: the generic
    # call) and no function at all (TypeError at the call, on the loop's line).
    for n, at in [(100, -1), (5000, 2500), (5000, 4999), (5000, 1)]:
        plain, fast = two_modules(SWAPPED, "<inline-swap-%s-%d-%d>" % (which, n, at))
        loop = pypaccel.specialize(fast["loop"])
        for ns in (plain, fast):
            ns["lam"] = eval("lambda x, y: x + y", ns)
            ns["seven"] = 7
        assert outcome(loop, n, at, fast[which]) == outcome(plain["loop"], n, at, plain[which]), (n, at)


def test_other_code_with_the_same_ir_runs_the_copy():
    # g's code replaced by an equal code object of another name: a new code object (the site resolves again),
    # compiled to the same IR, so the caller's copy applies to it (on its own header). And by h's code, whose IR
    # differs: the linked entry runs.
    plain, fast = two_modules(SWAPPED, "<inline-same-ir>")
    loop = pypaccel.specialize(fast["loop"])
    assert outcome(loop, 3000, -1, None) == outcome(plain["loop"], 3000, -1, None)
    for ns in (plain, fast):
        ns["f"].__code__ = ns["f"].__code__.replace(co_name="renamed")
    assert outcome(loop, 3000, -1, None) == outcome(plain["loop"], 3000, -1, None)
    for ns in (plain, fast):
        ns["f"].__code__ = ns["h"].__code__
    assert outcome(loop, 3000, -1, None) == outcome(plain["loop"], 3000, -1, None)


DIVIDE = """
def f(x, y):
    return x / y + 1.0

def loop(n, y0):
    total = 0.0
    y = y0
    for i in range(n):
        total += f(i * 1.5, y)
        y = y - 1.0
    return total
"""


def test_errors_raised_inside_the_copy():
    # y reaches 0.0 after y0 iterations: ZeroDivisionError from f's line, then loop's, as in CPython.
    check(DIVIDE, [(100, 50.0), (100, 0.0), (100, -3.0), (10, 9.0), (0, 0.0), (100, 0.5)], name="loop")


LEAF_AT_THE_BOTTOM = """
def leaf(x):
    return x * 2.0 + 1.0

def rec(n, x):
    if n == 0:
        return leaf(x)
    return rec(n - 1, x) + leaf(x)
"""


@pytest.mark.parametrize("n", [10, 900, 990, 995, 1000, 3000])
def test_recursion_limit_at_the_copys_entry(n):
    # rec's native code holds a copy of leaf: the copy's start checks the recursion budget as leaf's entry would.
    plain, fast = two_modules(LEAF_AT_THE_BOTTOM, f"<inline-limit-{n}>")
    rec = pypaccel.specialize(fast["rec"])
    for _ in range(2):
        p, f = outcome(plain["rec"], n, 0.5), outcome(rec, n, 0.5)
        assert p[:2] == f[:2]
        if p[0] == "raised":
            assert len(p[2]) == len(f[2]) and p[2][-3:] == f[2][-3:]


# The call kernel of bench/ and test_direct_calls, as a script whose loop is compiled at its first call.
DUMP_SCRIPT = ("import json\nimport pypaccel\n" + CALL_LOOP.replace("def loop", "@pypaccel.specialize\ndef loop") +
               "\nprint(json.dumps(loop(100000)))\n")


@pytest.mark.parametrize("opt", ["2", "0"])
def test_the_call_loops_callee_is_compiled_in(tmp_path, scratch_env, opt):
    script = tmp_path / "inline_dump.py"
    script.write_text(DUMP_SCRIPT)
    dump = tmp_path / "ir"
    dump.mkdir()
    env = dict(scratch_env, PYPACCEL_DUMP_IR=str(dump), PYPACCEL_OPT=opt)
    env.pop("PYPACCEL_TEST_ENABLE", None)
    r = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    plain = subprocess.run([sys.executable, "-c", DUMP_SCRIPT.replace("@pypaccel.specialize", "")],
                           env=env, capture_output=True, text=True, timeout=300)
    assert json.loads(r.stdout) == json.loads(plain.stdout)
    loops = [p for p in dump.glob("*.ll") if not p.name.endswith(".opt.ll") and "localsplus" in p.read_text()]
    assert len(loops) == 1, sorted(p.name for p in dump.iterdir())
    has_copy = "define internal" in loops[0].read_text() and ".inline" in loops[0].read_text()
    assert has_copy == (opt != "0")
