# Code loaded from the persistent cache must behave exactly like freshly compiled code: a module in a real file
# is run in four processes sharing one cache directory (compile and store; load and widen what overflowed; load
# everything; stress mode), each comparing the specialized functions with the same module imported a second time
# and run by CPython.
import json
import subprocess
import sys


from conftest import HERE, report_stress

MODULE = '''
K = 7
F = 2.5
BIG = 2**70
NAME = "abc"

def arith(a, b):
    return a * b + K, a // (b or 1), a % (b or 3), a - b * F, -a, ~a if type(a) is int else a

def loop(n, x):
    s = x
    for i in range(n):
        s = s * 3 + K
        if s > BIG:
            s = s % 1000003
    return s, NAME

def floats(x, y):
    r = 0.0
    i = 0
    while i < 10:
        r = r * 0.5 + x / (y + i)
        i += 1
    return r, x ** 2.0 if x > 0 else -0.0

def divide(a, b):
    t = 0
    for i in range(5):
        t = t + a // (b - i)
    return t

def fib(n):
    a, b = 0, 1
    for i in range(n):
        a, b = b, a + b
    return a
'''

SCRIPT = r'''
import importlib.util, json, sys
sys.path.insert(0, sys.argv[1])
from harness import outcome_of
import pypaccel

def load(name):
    spec = importlib.util.spec_from_file_location(name, sys.argv[2])
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod

fast_mod, plain_mod = load("cases_fast"), load("cases_plain")
CALLS = {
    "arith": [(3, 4), (2**62, 3), (-7, 2), (2**63 - 1, -1), (1.5, 2), (True, 0)],
    "loop": [(0, 1), (10, 1), (80, 2), (5, 2.5)],
    "floats": [(1.0, 2.0), (-3.5, 0.5), (0.0, -1.0), (1e308, 1e-308)],
    "divide": [(10, 9), (10, 3), (2**62, 100)],
    "fib": [(10,), (92,), (93,), (150,)],
}
problems = []
for name, calls in CALLS.items():
    fast = pypaccel.specialize(getattr(fast_mod, name))
    for args in calls:
        p = outcome_of(getattr(plain_mod, name), args, sys.argv[2])
        f = outcome_of(fast, args, sys.argv[2])
        if p.key() != f.key():
            problems.append(f"{name}{args}: CPython {p!r}; pypaccel {f!r}")
tot = pypaccel.stats()["totals"]
print(json.dumps({"problems": problems, "compiled": tot["compiled"], "loaded": tot["loaded"],
                  "native_calls": tot["native_calls"]}))
'''


def test_loaded_code_behaves_like_compiled_code(tmp_path, scratch_env):
    mod = tmp_path / "cases_mod.py"
    mod.write_text(MODULE)
    script = tmp_path / "run_cases.py"
    script.write_text(SCRIPT)
    cache = tmp_path / "shared-cache"
    runs = []
    for stress in ("0", "0", "0", "1"):
        env = dict(scratch_env, PYPACCEL_CACHE_DIR=str(cache), PYPACCEL_STRESS_EXITS=stress)
        r = subprocess.run([sys.executable, str(script), str(HERE), str(mod)], env=env, capture_output=True,
                           text=True, timeout=120)
        assert r.returncode == 0, r.stderr[-3000:]
        runs.append(json.loads(r.stdout.splitlines()[-1]))
    for n, run in enumerate(runs):
        assert run["problems"] == [], f"run {n}: " + "\n".join(run["problems"])
        assert run["native_calls"] >= 21, (n, run)
    assert any(p.suffix == ".pyp" for p in cache.rglob("*")), sorted(cache.rglob("*"))
    first, second, third, stress = runs
    if scratch_env.get("PYPACCEL_STRESS_EXITS", "") in ("", "0"):
        assert first["compiled"] > 0 and first["loaded"] == 0, first
        # The second run loads what did not exit, and compiles again, widened, what the first saw outgrow 64 bits
        # (loop, fib: the profiles); from the third on, everything is loaded.
        assert second["loaded"] > 0, second
        assert third["loaded"] > 0 and third["compiled"] == 0, third
        assert stress["compiled"] > 0, stress  # stress-mode code is another build: not loaded from normal code


def test_stress_mode():
    report_stress(__file__)
