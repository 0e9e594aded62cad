# Signals and threads while native loops run: Ctrl-C (SIGINT) interrupts a long native loop with the usual
# KeyboardInterrupt traceback and exit status, exactly as with the plain function; a Python signal handler runs
# and its effect (a rebound global) is seen by the loop; and another thread makes progress while a native loop
# holds the GIL (the loop polls the eval breaker, so GIL hand-off requests are honoured).
import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from conftest import report_stress

LOOPS = {
    "while": """
def spin(n):
    s = 0
    i = 0
    while i < n:
        s = (s + i * 7) % 1000003
        i += 1
    return s
""",
    "for_range": """
def spin(n):
    s = 0.0
    for i in range(n):
        s = s * 0.5 + i
    return s
""",
    "nested": """
def spin(n):
    t = 0
    for i in range(n):
        j = 0
        while j < 1000:
            t = t ^ (i + j)
            j += 1
    return t
""",
}

INTERRUPT_SCRIPT = """
import json, os, sys
import pypaccel
{loop}
fn = pypaccel.specialize(spin) if os.environ["MODE_FAST"] == "1" else spin
fn(1000)  # compile (and warm up) before saying we are ready
print("ready", flush=True)
try:
    fn(10**15)
finally:
    st = [x for x in pypaccel.stats()["functions"] if x["qualname"] == "spin"]
    with open(os.environ["STATS_OUT"], "w") as f:
        json.dump(st, f)
"""

# CPython 3.11 prints "line -1" for an instruction without a line: the `nested` loop's jump back to its `for`
# (JUMP_BACKWARD after the inner `while`) checks the eval breaker too, so a signal noticed there shows -1.
FRAME = re.compile(r'^  File "(.*)", line (-?\d+), in (.*)$')


def default_sigint():
    # A test run started in the background (`cmd &` in a shell script) ignores SIGINT, and a Python started with
    # SIGINT ignored installs no KeyboardInterrupt handler: give the child the default disposition.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def interrupt(tmp_path, scratch_env, loop, fast, source=None):
    """Runs the script (INTERRUPT_SCRIPT with LOOPS[loop], or `source`), sends SIGINT 0.3 s after it says it is
    ready, and returns (exit status, stderr, the stats of the function it wrote)."""
    script = tmp_path / f"interrupt_{loop}.py"
    script.write_text(source or INTERRUPT_SCRIPT.format(loop=LOOPS[loop]))
    stats_out = tmp_path / f"stats_{loop}_{fast}.json"
    env = dict(scratch_env, MODE_FAST="1" if fast else "0", STATS_OUT=str(stats_out))
    proc = subprocess.Popen([sys.executable, str(script)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=default_sigint,
                            text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"the {loop} did not stop within 20 s of SIGINT (fast={fast})\n{err[-3000:]}")
    stats = json.loads(stats_out.read_text()) if stats_out.exists() else None
    return proc.returncode, err, stats


def traceback_shape(err):
    """(frames as (file, function), line numbers, last line) of the traceback on stderr."""
    lines = err.rstrip("\n").splitlines()
    frames, numbers = [], []
    for line in lines:
        m = FRAME.match(line)
        if m:
            frames.append((os.path.basename(m.group(1)), m.group(3)))
            numbers.append(int(m.group(2)))
    return frames, numbers, lines[-1] if lines else ""


@pytest.mark.parametrize("loop", sorted(LOOPS))
def test_ctrl_c_interrupts_native_loop_like_plain_python(loop, tmp_path, scratch_env):
    rc_plain, err_plain, _ = interrupt(tmp_path, scratch_env, loop, fast=False)
    rc_fast, err_fast, stats = interrupt(tmp_path, scratch_env, loop, fast=True)
    # CPython prints the traceback, then kills itself with SIGINT (status -2) so the shell sees the interrupt.
    assert rc_plain == -signal.SIGINT and err_plain.startswith("Traceback (most recent call last):"), err_plain
    assert rc_fast == rc_plain, err_fast
    frames_p, lines_p, last_p = traceback_shape(err_plain)
    frames_f, lines_f, last_f = traceback_shape(err_fast)
    assert last_f == last_p == "KeyboardInterrupt", err_fast
    assert frames_f == frames_p, f"plain:\n{err_plain}\npypaccel:\n{err_fast}"
    # The script's own line is the same; the loop's line depends on where the signal was noticed: it must be a
    # line of the loop (after the `def` line and the initialisation).
    assert lines_f[:-1] == lines_p[:-1], f"plain:\n{err_plain}\npypaccel:\n{err_fast}"
    def_line = INTERRUPT_SCRIPT.format(loop=LOOPS[loop]).splitlines().index("def spin(n):") + 1
    body = LOOPS[loop].strip().splitlines()
    first_loop_line = def_line + next(i for i, text in enumerate(body) if text.lstrip().startswith(("while", "for")))
    assert lines_f[-1] == -1 or first_loop_line <= lines_f[-1] < def_line + len(body) - 1, err_fast
    assert stats and stats[0]["native_calls"] >= 2 and stats[0]["state"] == "native", stats


RECURSION_SCRIPT = """
import json, os, sys
import pypaccel

def fib(n):
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)

fn = pypaccel.specialize(fib) if os.environ["MODE_FAST"] == "1" else fib
fn(20)  # compile before saying we are ready
print("ready", flush=True)
try:
    fn(60)  # hours, even native
finally:
    st = [x for x in pypaccel.stats()["functions"] if x["qualname"] == "fib"]
    with open(os.environ["STATS_OUT"], "w") as f:
        json.dump(st, f)
"""


def test_ctrl_c_interrupts_native_recursion(tmp_path, scratch_env):
    # A recursion has no loop to poll: the eval breaker is tested at the entries of the calls that go past the
    # frame-free front (not at a leaf's, which returns at once, nor in the level inlined into its caller).
    # Ctrl-C must still stop it, with CPython's traceback: the script's line, then fib's frames down to the one
    # that noticed the signal (how deep depends on the moment), on lines of fib's body.
    rc_p, err_p, _ = interrupt(tmp_path, scratch_env, "recursion", fast=False, source=RECURSION_SCRIPT)
    rc_f, err_f, stats = interrupt(tmp_path, scratch_env, "recursion", fast=True, source=RECURSION_SCRIPT)
    assert rc_p == -signal.SIGINT and err_p.startswith("Traceback (most recent call last):"), err_p
    assert rc_f == rc_p, err_f
    frames_p, lines_p, last_p = traceback_shape(err_p)
    frames_f, lines_f, last_f = traceback_shape(err_f)
    assert last_f == last_p == "KeyboardInterrupt", err_f
    assert frames_f[0] == frames_p[0] and lines_f[0] == lines_p[0], f"plain:\n{err_p}\npypaccel:\n{err_f}"
    assert len(frames_f) >= 2 and all(f == ("interrupt_recursion.py", "fib") for f in frames_f[1:]), err_f
    # (A signal noticed where a call starts shows the `def` line, as in CPython: its RESUME has that line.)
    def_line = RECURSION_SCRIPT.splitlines().index("def fib(n):") + 1
    assert all(def_line <= n <= def_line + 3 for n in lines_f[1:]), err_f
    assert stats and stats[0]["native_calls"] >= 1000 and stats[0]["state"] == "native", stats


HANDLER_SCRIPT = """
import os, signal, sys, json
import pypaccel

STOP = False

def handler(signum, frame):
    global STOP
    STOP = True

def spin():
    i = 0
    while not STOP:
        i += 1
    return i > 0

signal.signal(signal.SIGUSR1, handler)
fn = pypaccel.specialize(spin) if os.environ["MODE_FAST"] == "1" else spin
os.kill(os.getpid(), signal.SIGUSR1)  # pending when the call starts: CPython runs the handler at function entry
print(fn(), STOP)
STOP = False
import threading
threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGUSR1)).start()
print(fn(), STOP)
st = [x for x in pypaccel.stats()["functions"] if x["qualname"] == "spin"]
print(json.dumps({"native_calls": st[0]["native_calls"] if st else 0}))
"""


def test_python_signal_handler_rebinds_global_seen_by_native_loop(tmp_path, scratch_env):
    script = tmp_path / "handler.py"
    script.write_text(HANDLER_SCRIPT)
    out = {}
    for fast in ("0", "1"):
        r = subprocess.run([sys.executable, str(script)], env=dict(scratch_env, MODE_FAST=fast), capture_output=True,
                           text=True, timeout=30)
        assert r.returncode == 0, r.stderr[-3000:]
        out[fast] = r.stdout.splitlines()
    assert out["1"][:2] == out["0"][:2], out
    assert out["0"][1] == "True True", out
    assert json.loads(out["1"][2])["native_calls"] >= 2, out


THREAD_SCRIPT = """
import json, sys, threading, time
import pypaccel

def spin(n):
    s = 0
    for i in range(n):
        s = (s ^ i) + 1
    return s

fn = pypaccel.specialize(spin)
fn(1000)
# Calibrate: about 1.5 s of native looping.
t0 = time.perf_counter(); fn(10**7); dt = time.perf_counter() - t0
n = max(10**7, int(10**7 * 1.5 / max(dt, 1e-9)))

ticks = 0
running = True
def worker():
    global ticks
    while running:
        ticks += 1

sys.setswitchinterval(0.005)
{body}
"""

MAIN_NATIVE = """
th = threading.Thread(target=worker)
th.start()
time.sleep(0.05)
before = ticks
t0 = time.perf_counter()
fn(n)
elapsed = time.perf_counter() - t0
during = ticks - before
running = False
th.join()
st = [x for x in pypaccel.stats()["functions"] if x["qualname"] == "spin"][0]
print(json.dumps({"during": during, "elapsed": elapsed, "native_calls": st["native_calls"]}))
"""

THREAD_NATIVE = """
done = []
th = threading.Thread(target=lambda: done.append(fn(n)))
progress = 0
th.start()
t0 = time.perf_counter()
while th.is_alive():
    progress += 1
elapsed = time.perf_counter() - t0
th.join()
running = False
st = [x for x in pypaccel.stats()["functions"] if x["qualname"] == "spin"][0]
print(json.dumps({"during": progress, "elapsed": elapsed, "native_calls": st["native_calls"]}))
"""


@pytest.mark.parametrize("where", ["native_in_main_thread", "native_in_second_thread"])
def test_other_thread_progresses_during_native_loop(where, tmp_path, scratch_env):
    script = tmp_path / "threads.py"
    script.write_text(THREAD_SCRIPT.format(body=MAIN_NATIVE if where == "native_in_main_thread" else THREAD_NATIVE))
    r = subprocess.run([sys.executable, str(script)], env=scratch_env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout.splitlines()[-1])
    assert out["native_calls"] >= 3, out
    # With GIL hand-offs every 5 ms over about a second, the pure-Python loop runs for roughly half of it:
    # hundreds of thousands of iterations. Without them it would not run at all until the native loop ended.
    assert out["elapsed"] > 0.3, out
    assert out["during"] > 10_000, out


ASYNC_SCRIPT = """
import ctypes, json, os, sys, threading, time
import pypaccel

class Stop(Exception):
    pass

def spin(n):
    s = 0
    for i in range(n):
        s = (s * 31 + i) % 1000000007
    return s

fn = pypaccel.specialize(spin) if os.environ["MODE_FAST"] == "1" else spin
fn(1000)
out = {}
started = threading.Event()

def worker():
    started.set()
    try:
        fn(10**14)
        out["result"] = "finished"
    except Stop as e:
        out["result"] = "Stop"
        tb = e.__traceback__
        while tb.tb_next:
            tb = tb.tb_next
        out["function"] = tb.tb_frame.f_code.co_name

th = threading.Thread(target=worker)
th.start()
started.wait()
time.sleep(0.3)
ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(th.ident), ctypes.py_object(Stop))
th.join(20)
out["alive"] = th.is_alive()
st = [x for x in pypaccel.stats()["functions"] if x["qualname"] == "spin"]
out["native"] = bool(st) and st[0]["native_calls"] >= 2
print(json.dumps(out), flush=True)
os._exit(0)
"""


def test_async_exception_stops_native_loop_in_thread(tmp_path, scratch_env):
    script = tmp_path / "async_exc.py"
    script.write_text(ASYNC_SCRIPT)
    out = {}
    for fast in ("0", "1"):
        r = subprocess.run([sys.executable, str(script)], env=dict(scratch_env, MODE_FAST=fast), capture_output=True,
                           text=True, timeout=60)
        assert r.returncode == 0, r.stderr[-3000:]
        out[fast] = json.loads(r.stdout.splitlines()[-1])
    assert out["0"] == {"result": "Stop", "function": "spin", "alive": False, "native": False}, out
    assert out["1"] == dict(out["0"], native=True), out


def test_stress_mode():
    report_stress(__file__)
