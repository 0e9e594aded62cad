# Large functions: EXTENDED_ARG prefixes (more than 128 global names, jumps farther than 255 code units, more
# than 256 locals) with exits right at the prefixed instructions, and the time the first call spends compiling.
import json
import subprocess
import sys

import pytest

from conftest import report_stress
from harness import STRESS, run_steps


def many_globals_source(n):
    lines = ["def f(a, k):", "    s = 0", "    late = 0", "    for j in range(k):", "        if j % 2 == 0:"]
    lines += [f"            s = s + a * G{i}" for i in range(n)]
    lines += ["        else:", "            s = s * 3 + late", "        if j == 2:", "            del late",
              "        if j == 4:", "            late = s * a"]
    lines += [f"    return s, a * G{n - 1}"]
    return "\n".join(lines) + "\n"


def test_extended_arg_global_names_and_long_jumps():
    # 130 names: LOAD_GLOBAL's argument (index * 2) needs EXTENDED_ARG past name 127; the if-body is far longer
    # than 255 code units, so the jumps around it need EXTENDED_ARG too. Exits: overflow of `a * G129`, the
    # unbound `late` after `del`, and rebound far globals.
    n = 130
    src = many_globals_source(n)
    glb = {f"G{i}": i for i in range(n)}
    # One pair (compiling this function takes seconds, see below): calls, then rebinding far globals.
    steps = [("call", (1, 1)), ("call", (1, 2)), ("call", (1, 4)), ("call", (1, 6)), ("call", (2**56, 1)),
             ("call", (2**62, 1)), ("set", "G129", 2.5), ("call", (1, 2)), ("set", "G120", 2**70),
             ("call", (3, 2)), ("del", "G125"), ("call", (1, 1))]
    run_steps(src, steps, glb=glb)


MANY_LOCALS = r'''
import json, sys, time
sys.path.insert(0, sys.argv[1])
from harness import check
import pypaccel
n = int(sys.argv[2])
lines = ["def f(a, k):"]
lines += [f"    v{i} = a + {i}" for i in range(n)]
lines += ["    s = 0", "    for j in range(k):", "        s = s * 3 + v%d - v0" % (n - 1), "        if j == 1:",
          "            del v%d" % (n - 2), "    return s, v%d" % (n - 2)]
src = "\n".join(lines) + "\n"
t0 = time.perf_counter()
check(src, [(1, 1), (1, 2), (2**62, 1), (1.5, 1)])
print(json.dumps({"seconds": time.perf_counter() - t0,
                  "compile_seconds": pypaccel.stats()["totals"]["compile_seconds"]}))
'''


@pytest.mark.skipif(STRESS, reason="compile time does not depend on the stress mode")
def test_many_locals_compile_in_reasonable_time(tmp_path, scratch_env):
    # 300 locals also put EXTENDED_ARG in front of LOAD_FAST/STORE_FAST/DELETE_FAST, with exits there.
    script = tmp_path / "many_locals.py"
    script.write_text(MANY_LOCALS)
    from conftest import HERE
    try:
        r = subprocess.run([sys.executable, str(script), str(HERE), "300"], env=scratch_env, capture_output=True,
                           text=True, timeout=10)
    except subprocess.TimeoutExpired:
        pytest.fail("a 300-local function did not compile and run 4 calls within 10 s")
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout.splitlines()[-1])
    assert out["compile_seconds"] < 5, out


def test_stress_mode():
    report_stress(__file__)


def test_functions_too_large_to_compile_run_interpreted_and_say_why():
    # A namedtuple of 5000 fields has a __new__ with 5000 arguments: compiling it would take minutes and GBs (every
    # exit spills every local). It stays interpreted, and stats say why.
    from harness import Pair, compare
    n = 500
    src = "def f(%s):\n    return (%s)\n" % (", ".join(f"a{i}" for i in range(n)), ", ".join(f"a{i}" for i in range(n)))
    pair = Pair(src)
    problems = compare(pair, tuple(range(n)), native=False)
    assert not problems, problems
    st = pair.stats()
    assert st["native_calls"] == 0 and st["compiled"] == 0, st
    assert any("too many local variables (500 > 400)" in r for r in st["fallback_reasons"]), st
