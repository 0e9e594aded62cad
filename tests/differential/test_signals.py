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


def plain_and_fast(tmp_path, scratch_env, name, source, timeout):
    """Runs `source` as a script plainly (MODE_FAST=0) and accelerated (MODE_FAST=1): {"0": lines, "1": lines}."""
    script = tmp_path / name
    script.write_text(source)
    out = {}
    for fast in ("0", "1"):
        r = subprocess.run([sys.executable, str(script)], env=dict(scratch_env, MODE_FAST=fast), capture_output=True,
                           text=True, timeout=timeout)
        assert r.returncode == 0, r.stderr[-3000:]
        out[fast] = r.stdout.splitlines()
    return out


def test_python_signal_handler_rebinds_global_seen_by_native_loop(tmp_path, scratch_env):
    out = plain_and_fast(tmp_path, scratch_env, "handler.py", HANDLER_SCRIPT, 30)
    assert out["1"][:2] == out["0"][:2], out
    assert out["0"][1] == "True True", out
    assert json.loads(out["1"][2])["native_calls"] >= 2, out


CALL_SCRIPT = """
import json, operator, os, signal, sys, traceback, _thread
import pypaccel

EVENTS = []

def raising(signum, frame):
    EVENTS.append("handler")
    1/0

def quiet(signum, frame):
    EVENTS.append("handler")

class Catch:
    # test_threading's `with self.assertRaises(ZeroDivisionError): _thread.interrupt_main()`, in short.
    def __enter__(self):
        return self
    def __exit__(self, tp, exc, tb):
        EVENTS.append("exit " + (tp.__name__ if tp else "None"))
        return tp is ZeroDivisionError

# _thread.interrupt_main() trips SIGINT and returns without running the handler (os.kill and signal.raise_signal
# run it themselves): CPython's CALL runs it as soon as the call returns, and raises its exception at that CALL.
def caught(obj):
    try:
        items = [obj, _thread.interrupt_main(), obj]  # the result and obj on the stack when the handler raises
        EVENTS.append("after the call")
    except ZeroDivisionError:
        return "caught"
    return "missed"

def in_with(obj):
    with Catch():
        _thread.interrupt_main()
        EVENTS.append("after the call")
    return "after with"

def uncaught(obj):
    x = obj
    _thread.interrupt_main()
    EVENTS.append("after the call")
    return x

def handler_runs_at_the_call(obj):
    _thread.interrupt_main()
    EVENTS.append("after the call")
    return obj

# The same inside a callee that a method call site compiled for a direct callee (Quiet.poke) calls through
# vectorcall (Tripper.poke runs other Python code: no direct entry): the handler runs at the callee's CALL, and
# its exception comes out of the site's CALL, not the next one.
class Quiet:
    def __init__(self):
        self.n = 1
    def poke(self):
        return self.n

class Tripper(Quiet):
    def poke(self):
        _thread.interrupt_main()
        return 2

def via_site(obj):
    out = []
    for o in (Quiet(), Tripper(), Quiet()):
        r = o.poke()
        EVENTS.append(r)
    return out

# A signal still pending when a call starts: CPython's RESUME runs the handler, in the callee's frame (`def` line).
# map() calls the function right after interrupt_main() returned, with no CALL instruction in between. `cold` is
# compiled at its first call (the compiler runs Python code of its own), `warm` already was.
def cold():
    EVENTS.append("cold ran")
    return 1

def warm():
    EVENTS.append("warm ran")
    return 2

def pending_at_compile(obj):
    return list(map(operator.call, [_thread.interrupt_main, COLD]))

def pending_at_native_start(obj):
    return list(map(operator.call, [_thread.interrupt_main, WARM]))

fast = os.environ["MODE_FAST"] == "1"
obj = object()
out = {}
COLD = pypaccel.specialize(cold) if fast else cold
WARM = pypaccel.specialize(warm) if fast else warm
WARM()
cases = ((caught, raising), (in_with, raising), (uncaught, raising), (handler_runs_at_the_call, quiet),
         (pending_at_compile, raising), (pending_at_native_start, raising), (via_site, raising))
first = {f.__name__: f.__code__.co_firstlineno for f in (cold, warm) + tuple(f for f, _ in cases)}
for f, handler in cases:
    signal.signal(signal.SIGINT, handler)
    fn = pypaccel.specialize(f) if fast else f
    for call in range(3):  # the second call takes each guard's stress exit (PYPACCEL_STRESS_EXITS=1)
        del EVENTS[:]
        refs = sys.getrefcount(obj)
        try:
            r = fn(obj)
            r = "obj" if r is obj else r
        except ZeroDivisionError as e:
            r = [(fr.name, fr.lineno - first[fr.name]) for fr in traceback.extract_tb(e.__traceback__)
                 if fr.name in first]
        out.setdefault(f.__name__, []).append([r, EVENTS[:], sys.getrefcount(obj) - refs])
signal.signal(signal.SIGINT, signal.default_int_handler)
out["native_calls"] = {x["qualname"]: x["native_calls"] for x in pypaccel.stats()["functions"]}
print(json.dumps(out))
"""


def test_signal_tripped_by_a_call_is_handled_at_that_call(tmp_path, scratch_env):
    # test_threading's InterruptMainTests: a handler's exception must come out of the CALL that tripped the
    # signal, as in CPython, where the function's own except or with sees it; not at a later poll or call.
    out = {mode: json.loads(lines[-1])
           for mode, lines in plain_and_fast(tmp_path, scratch_env, "call_signal.py", CALL_SCRIPT, 60).items()}
    plain, fast = out["0"], out["1"]
    assert plain["caught"][0] == ["caught", ["handler"], 0], plain
    assert plain["in_with"][0] == ["after with", ["handler", "exit ZeroDivisionError"], 0], plain
    assert plain["uncaught"][0] == [[["uncaught", 2]], ["handler"], 0], plain
    assert plain["handler_runs_at_the_call"][0] == ["obj", ["handler", "after the call"], 0], plain
    assert plain["pending_at_compile"][0] == [[["pending_at_compile", 1], ["cold", 0]], ["handler"], 0], plain
    assert plain["pending_at_native_start"][0] == [[["pending_at_native_start", 1], ["warm", 0]], ["handler"], 0]
    assert plain["via_site"][0] == [[["via_site", 3]], [1, "handler"], 0], plain
    calls = fast.pop("native_calls")
    plain.pop("native_calls")
    assert fast == plain
    for name in ("caught", "in_with", "uncaught", "handler_runs_at_the_call", "pending_at_compile",
                 "pending_at_native_start", "via_site"):
        assert calls.get(name, 0) == 3, calls
    assert calls.get("warm", 0) >= 1, calls  # compiled and run natively before the signal


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
    out = {mode: json.loads(lines[-1])
           for mode, lines in plain_and_fast(tmp_path, scratch_env, "async_exc.py", ASYNC_SCRIPT, 60).items()}
    assert out["0"] == {"result": "Stop", "function": "spin", "alive": False, "native": False}, out
    assert out["1"] == dict(out["0"], native=True), out


def test_stress_mode():
    report_stress(__file__)
