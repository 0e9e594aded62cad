# The hook's gate (csrc/cpython/hook_entry.c): calls of code that stays interpreted skip the C++ hook. What it must
# not change: call counts and the call at which a function compiles, exits of direct callees (which re-enter through
# a call of the function), @specialize and a new configuration after the gate was armed, and the C stack guard.
import json
import textwrap

import pytest

pytest.importorskip("pypaccel", reason="the pypaccel extension is not built")

REPORT = """
import json, pypaccel
def report(*names):
    fs = {f["qualname"]: f for f in pypaccel.stats()["functions"]}
    print(json.dumps({n: {k: fs[n][k] for k in ("calls", "compiled", "loaded", "native_calls", "state")}
                      if n in fs else None for n in names}))
"""


def run(run_python, tmp_path, body, *args):
    script = tmp_path / "prog.py"
    script.write_text(REPORT + textwrap.dedent(body))
    r = run_python(script, *args, timeout=300)
    assert r.returncode == 0, r.stderr
    return r.stdout.splitlines()


def last_json(lines):
    return json.loads(lines[-1])


def test_calls_are_counted_and_the_threshold_call_compiles(run_python, tmp_path):
    out = run(run_python, tmp_path, """
        # (Enough native work to be worth entering natively: specialize/profitability.cpp, kEntryWeight;
        # compile_all: no trial against the interpreter after compiling (hook.cpp, runMeasured), whose calls run
        # natively or interpreted at random: the counts here are the threshold's.)
        pypaccel.enable(threshold=50, compile_all=True)
        def g(x): return (x * 3 + 1) ^ (x - 7)
        def cold(x): return (x - 1) * 5 + (x ^ 3)
        for i in range(120): g(i)
        for i in range(5000): cold(i)
        report("g", "cold")
    """)
    # cold: 50 calls to its compile, each later one native (listed: it has events).
    st = last_json(out)
    # The 50th call compiles and runs natively, and so does every later one.
    assert st["g"] == {"calls": 120, "compiled": 1, "loaded": 0, "native_calls": 71, "state": "native"}
    assert st["cold"]["calls"] == 5000 and st["cold"]["native_calls"] == 4951


def test_calls_of_code_that_never_compiles_are_counted(run_python, tmp_path):
    out = run(run_python, tmp_path, """
        pypaccel.enable(threshold=3)
        def outer(k):
            def g(x): return x * k      # a free variable: never compiled
            return g
        g = outer(3)
        for i in range(3000): g(i)
        report("outer.<locals>.g")
    """)
    assert last_json(out)["outer.<locals>.g"] == {"calls": 3000, "compiled": 0, "loaded": 0, "native_calls": 0,
                                   "state": "interpreted"}


def test_exit_of_a_direct_callee_whose_interpreted_calls_were_gated(run_python, tmp_path):
    # g is called by interpreted code first (its gate holds passes up to the threshold), then directly by compiled
    # code; its native entry exits on a 64-bit overflow, which continues in a new frame made by calling g: that
    # call must reach the hook, not pass the gate and run g from its start with placeholder arguments.
    out = run(run_python, tmp_path, """
        pypaccel.enable(threshold=1000)
        def g(x): return x * 3
        for i in range(5): g(i)
        def caller(n, k):
            t = 0
            for i in range(n):
                t += g(i * k)      # an unboxed int: a direct call
            return t
        print(caller(4, 2**61))    # g(2**62) and g(3 * 2**61) overflow in g
        print(caller(4, 2**61))
        report("g", "caller")
    """)
    assert out[:2] == [str(3 * 6 * 2**61)] * 2
    st = last_json(out)
    assert st["caller"]["native_calls"] == 2 and st["g"]["compiled"] == 1 and st["g"]["native_calls"] >= 6


def test_specialize_after_the_gate_was_armed(run_python, tmp_path):
    out = run(run_python, tmp_path, """
        pypaccel.enable(threshold=10**9)
        def h(x): return x + 1
        for i in range(100): h(i)
        hs = pypaccel.specialize(h)
        print(hs(41))
        report("h")
    """)
    assert out[0] == "42"
    st = last_json(out)["h"]
    assert st["compiled"] == 1 and st["native_calls"] >= 1


def test_a_new_threshold_takes_effect_for_gated_code(run_python, tmp_path):
    out = run(run_python, tmp_path, """
        pypaccel.enable(threshold=10**9)
        def h(x): return (x + 1) * 2 - (x ^ 9)   # worth entering natively (profitability.cpp, kEntryWeight)
        for i in range(100): h(i)
        pypaccel.disable()
        pypaccel.enable(threshold=10, compile_all=True)  # no trial (see above): its 3 calls run natively
        for i in range(3): h(i)
        report("h")
    """)
    st = last_json(out)["h"]
    assert st["calls"] == 103 and st["compiled"] == 1 and st["native_calls"] == 3


@pytest.mark.parametrize("where", ["main", "small-thread"])
def test_deep_interpreted_recursion_does_not_overflow_the_c_stack(run_python, tmp_path, where):
    # Plain CPython runs Python-to-Python calls without C recursion; with a hook every call is C recursion. Below
    # the stack mark the gate does not pass frames and the hook steps aside for the whole call tree.
    out = run(run_python, tmp_path, """
        import sys, threading
        pypaccel.enable(threshold=10**9)
        def down(n): return 0 if n == 0 else 1 + down(n - 1)
        for i in range(50): down(3)
        def main():
            sys.setrecursionlimit(120000)
            print(down(100000))
        if sys.argv[1] == "main":
            main()
        else:
            threading.stack_size(512 << 10)  # 512 KiB: the mark leaves half of it to hooked calls
            t = threading.Thread(target=lambda: print(down(900)))
            t.start(); t.join()
    """, where)
    assert out[0] == ("100000" if where == "main" else "900")
