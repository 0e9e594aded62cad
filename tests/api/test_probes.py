# Probes and resume entries (docs/architecture.md, "Probes and resume entries"): a function with a loop is compiled
# at its first call, before the run has shown what its loop works on. When that first compile does generic work,
# it is a probe: after a few hundred back edges it leaves at a loop header, the function is compiled again with the
# frame's values there as examples, and the same call goes on in the new code from that header. Results, exceptions
# and tracebacks are the interpreter's; the recompiled code is stored and loaded by the next run.
import json
import textwrap

import pytest

pytest.importorskip("pypaccel", reason="the pypaccel extension is not built")

PROGRAM = """
import json, sys, traceback, pypaccel
ENABLE

class P:
    def __init__(self, v):
        self.v = v

def make(n):
    return [P(i) for i in range(n)]

def helper(x):
    return x * 2 + 1

def numbers(n):                          # what the loop works on comes from calls: unknown at the first call
    items = make(50)
    total = 0
    acc = 0.0
    k = 10
    flag = False
    last = None
    for i in range(n):
        p = items[i % 50]
        total += helper(p.v) + k
        acc += p.v * 0.5
        flag = not flag
        if i % 7 == 0:
            last = p
    return total, acc, flag, last.v, i

def nested(n):                           # the inner header is where the countdown runs out
    grid = [make(40) for _ in range(3)]
    s = 0
    for row in grid:
        for j in range(n):
            s += row[j % 40].v
    return s

def iterate(n):                          # a generic iterator on the stack at the header
    words = [str(i) for i in range(n)]
    out = []
    for w in words:
        out.append(w + "!")
    return len(out), out[-1]

def grows(n):                            # a local that outgrows 64 bits before the probe leaves
    x = 1
    items = make(10)
    for i in range(n):
        x = x * 3 + items[i % 10].v
    return x % 1000003

def unbinds(n):                          # a local deleted and bound again in the loop
    items = make(10)
    s = 0
    for i in range(n):
        t = items[i % 10].v
        s += t
        if i % 3 == 0:
            del t
    return s

def raises(n):                           # an exception after the new code took over: the interpreter's traceback
    items = make(10)
    s = 0
    for i in range(n):
        s += items[i % 10].v
        if i == n - 5:
            items[i % 10].v = "x"
    return s

SENTINEL = object()

def counts(n):                           # references: what the frame held at the header is held the same after
    items = make(10)
    keep = SENTINEL
    x = 0.5
    j = 0
    while j < n:                         # a while loop's header
        try:
            x += items[j % 10].v / (j % 5)
        except ZeroDivisionError:        # a handler inside the loop
            x -= 1.0
        j += 1
    return x, sys.getrefcount(SENTINEL), keep is SENTINEL, [sys.getrefcount(p) for p in items[:3]]

r = [numbers(3000), nested(2000), iterate(3000), grows(3000), unbinds(3000), counts(3000)]
try:
    raises(3000)
except TypeError:
    et, ev, tb = sys.exc_info()
    r.append([str(ev), [(f.name, f.lineno) for f in traceback.extract_tb(tb)]])
stats = pypaccel.stats()
fs = {f["qualname"]: f for f in stats["functions"] if f["file"] == __file__}
funcs = {q: {"compiled": f["compiled"], "loaded": f["loaded"], "native_calls": f["native_calls"],
             "probes": f["probes"], "resumed": f["resumed"],
             "exits": [x["reason"] for x in f["exits"]], "reasons": [x["reason"] for x in f["fallbacks"]]}
         for q, f in fs.items()}
import io
from pypaccel import _stats_report
human = io.StringIO()
_stats_report.format_human(_stats_report.from_process(stats), human)
print(json.dumps({"r": r, "funcs": funcs, "totals": stats["totals"], "human": human.getvalue()}))
"""

LOOPS = ("numbers", "nested", "iterate", "grows", "unbinds", "raises", "counts")


def run(run_python, tmp_path, enable, env=None):
    script = tmp_path / "prog.py"
    script.write_text(textwrap.dedent(PROGRAM).replace("ENABLE", enable))
    r = run_python(script, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.splitlines()[-1])


def reprofiled(f):
    return [x for x in f["exits"] if "ran long enough to be compiled again" in x]


def test_a_probe_is_compiled_again_and_the_call_goes_on_natively(run_python, tmp_path):
    plain = run(run_python, tmp_path, "pass")["r"]
    out = run(run_python, tmp_path, "pypaccel.enable()")
    assert out["r"] == plain
    funcs = out["funcs"]
    for name in ("numbers", "nested", "unbinds", "raises", "counts"):
        f = funcs[name]
        # The probe, then the code compiled from the frame at its header; one exit (the probe's), and the call
        # entered twice: at its start (the probe), at the header (the new code).
        assert f["compiled"] == 2, (name, f)
        assert len(reprofiled(f)) == 1, (name, f)
        assert f["native_calls"] == 2, (name, f)
        # stats: one probe, and the call went on in the recompiled code from the header.
        assert (f["probes"], f["resumed"]) == (1, 1), (name, f)
    assert out["totals"]["probes"] >= 5 and out["totals"]["resumed"] >= 5, out["totals"]
    assert "probe x1: compiled at a first call, to be compiled again at a loop header once the loop has run; 1 call" \
        " went on in the recompiled code from that header" in out["human"], out["human"]
    # After the probe the new code runs to the end: the only other exit is raises' TypeError.
    assert [x for x in funcs["numbers"]["exits"] if x not in reprofiled(funcs["numbers"])] == []


def test_a_frame_the_new_code_cannot_take_goes_on_in_the_interpreter(run_python, tmp_path):
    out = run(run_python, tmp_path, "pypaccel.enable()")
    f = out["funcs"]["grows"]
    # x no longer fits 64 bits at the header: the new code (which learned x is an object there, or an int) either
    # takes it as an object or leaves the rest to the interpreter, saying why.
    assert f["compiled"] == 2, f
    assert f["native_calls"] == 2 or any("not entered at its loop header" in x for x in f["reasons"]), f


def test_the_recompiled_code_is_stored_and_the_next_run_loads_it(run_python, tmp_path):
    first = run(run_python, tmp_path, "pypaccel.enable()")
    second = run(run_python, tmp_path, "pypaccel.enable()")
    assert second["r"] == first["r"]
    f = second["funcs"]["numbers"]
    assert f["compiled"] == 0 and f["loaded"] == 1, f
    assert reprofiled(f) == [], f
    assert (f["probes"], f["resumed"]) == (0, 0), f


def test_no_probe_where_everything_is_compiled_on_purpose(run_python, tmp_path):
    out = run(run_python, tmp_path, "pypaccel.enable(threshold=0)")
    for name in LOOPS:
        assert reprofiled(out["funcs"][name]) == [], (name, out["funcs"][name])
        assert out["funcs"][name]["probes"] == 0, (name, out["funcs"][name])
