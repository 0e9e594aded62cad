#!/usr/bin/env python3
"""CPython's own regression tests as an oracle for pypaccel.

Runs each CPython 3.11 `Lib/test` module listed in scripts/cpython_tests.txt (or given with --modules) in its own
process, once plainly and once with the whole process accelerated and every eligible function compiled at its
first call (`python -m pypaccel run`, PYPACCEL_THRESHOLD=0, PYPACCEL_COMPILE_ALL=1), then compares the outcome of
every test case.
Optional extra modes: --warm (accelerated again, loading from the cache the accelerated run filled) and --stress
(accelerated with PYPACCEL_STRESS_EXITS=1). The bar is zero new failures: the exit status is 0 only when no test
that passes (or is skipped, or is an expected failure) in the plain run fails, errors, succeeds unexpectedly or
goes missing in an accelerated run, and no run crashed or timed out. See docs/cpython-tests.md.

    python scripts/cpython_tests.py                       # every module of scripts/cpython_tests.txt
    python scripts/cpython_tests.py --modules test_int,test_long --stress --json out.json --keep runs/

Each run is `python [-m pypaccel run] scripts/cpython_tests.py --child EVENTS -- MODULE REGRTEST-ARGS`: the child
installs a recorder on regrtest's result class (one JSON line per test start, subtest failure and outcome,
written unbuffered so a crash still leaves every finished test and names the one that was running) and then runs
regrtest in-process (`python -m test MODULE ...` sequentially, no -j), so under `pypaccel run` the whole test
process is accelerated. Subprocesses the tests spawn themselves run plain.
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_LIST = os.path.join(HERE, "cpython_tests.txt")
SCRIPT = os.path.abspath(__file__)

GOOD = ("pass", "xfail", "skip")          # outcomes that are not failures
BAD = ("fail", "error", "xpass", "crash", "missing", "unknown")
TOTAL_KEYS = ("compiled", "loaded", "native_calls", "exits", "fallbacks", "disabled")


# ----------------------------------------------------------------------------------------------------------------
# Child: record every test outcome, then run regrtest in this process.
# ----------------------------------------------------------------------------------------------------------------

def _child(argv):
    memory_mb = 0
    if argv[1:2] == ["--memory-mb"] and len(argv) > 2:
        memory_mb = int(argv[2])
        del argv[1:3]
    if len(argv) < 2 or argv[1] != "--":
        sys.stderr.write("usage: cpython_tests.py --child EVENTS.jsonl [--memory-mb N] -- MODULE [REGRTEST-ARGS...]\n")
        return 2
    events_path, regrtest_args = argv[0], argv[2:]
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        # Started from a background job, python leaves SIGINT ignored, and tests that look at or use the SIGINT
        # handler (unittest's TestBreak, ...) would not run as from a terminal. Make every run a foreground one.
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if memory_mb > 0:
        # A runaway compile (or test) fails with MemoryError / an LLVM abort instead of taking the machine's memory.
        import resource
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    fd = os.open(events_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o644)

    import traceback
    import unittest
    from test.libregrtest import testresult

    cls = testresult.RegressionTestResult
    subtest_type = unittest.case._SubTest
    current = {}  # the running test: id, start time, outcome (once known), failed subtests

    def emit(record):
        os.write(fd, (json.dumps(record) + "\n").encode())

    def test_id(test):
        try:
            return test.id()
        except Exception:  # noqa: BLE001 - _ErrorHolder and friends
            return str(test)

    def describe(err):
        try:
            text = "".join(traceback.format_exception(*err))
        except Exception as exc:  # noqa: BLE001
            text = f"<could not format the exception: {exc!r}>"
        return text[-6000:]

    def outcome(test, kind, msg=None):
        if isinstance(test, subtest_type):  # a skip inside a subTest: the test itself goes on
            emit({"e": "sub", "id": test_id(test.test_case), "sub": test._subDescription(), "o": kind,
                  "msg": msg})
            return
        tid = test_id(test)
        if current.get("id") == tid:
            current["o"], current["msg"] = kind, msg
        else:  # setUpClass/setUpModule errors come without startTest
            emit({"e": "end", "id": tid, "o": kind, "msg": msg, "dt": 0.0})

    orig = {name: getattr(cls, name) for name in (
        "startTest", "stopTest", "addSuccess", "addFailure", "addError", "addSkip", "addExpectedFailure",
        "addUnexpectedSuccess", "addSubTest")}

    def startTest(self, test):
        current.clear()
        current.update(id=test_id(test), t=time.perf_counter(), subfail=None)
        emit({"e": "start", "id": current["id"]})
        orig["startTest"](self, test)

    def stopTest(self, test):
        orig["stopTest"](self, test)
        tid = test_id(test)
        if current.get("id") == tid:
            kind = current.get("o") or current.get("subfail") or "unknown"
            if current.get("o") == "pass" and current.get("subfail"):
                kind = current["subfail"]
            emit({"e": "end", "id": tid, "o": kind, "msg": current.get("msg"),
                  "dt": round(time.perf_counter() - current["t"], 6)})
            current.clear()

    def addSuccess(self, test):
        outcome(test, "pass")
        orig["addSuccess"](self, test)

    def addFailure(self, test, err):
        outcome(test, "fail", describe(err))
        orig["addFailure"](self, test, err)

    def addError(self, test, err):
        outcome(test, "error", describe(err))
        orig["addError"](self, test, err)

    def addSkip(self, test, reason):
        outcome(test, "skip", str(reason))
        orig["addSkip"](self, test, reason)

    def addExpectedFailure(self, test, err):
        outcome(test, "xfail")
        orig["addExpectedFailure"](self, test, err)

    def addUnexpectedSuccess(self, test):
        outcome(test, "xpass")
        orig["addUnexpectedSuccess"](self, test)

    def addSubTest(self, test, subtest, err):
        if err is not None:
            kind = "fail" if issubclass(err[0], test.failureException) else "error"
            emit({"e": "sub", "id": test_id(test), "sub": subtest._subDescription(), "o": kind,
                  "msg": describe(err)})
            if current.get("id") == test_id(test) and current.get("subfail") != "error":
                current["subfail"] = kind
        orig["addSubTest"](self, test, subtest, err)

    recorder = (emit, test_id, describe, outcome, startTest, stopTest, addSuccess, addFailure, addError, addSkip,
                addExpectedFailure, addUnexpectedSuccess, addSubTest)
    pypaccel = sys.modules.get("pypaccel")
    if pypaccel is not None and pypaccel.is_enabled():
        for func in recorder:  # the oracle's own bookkeeping stays interpreted: it is not what is under test
            pypaccel.exclude(func)
    for func in recorder[4:]:
        setattr(cls, func.__name__, func)

    emit({"e": "begin", "pid": os.getpid(), "accelerated": bool(pypaccel and pypaccel.is_enabled())})
    sys.argv[1:] = regrtest_args
    from test.libregrtest.main import main
    main()  # parses sys.argv[1:]; ends with sys.exit(regrtest's status)
    return 0


# ----------------------------------------------------------------------------------------------------------------
# Parent: run the modules, compare, report.
# ----------------------------------------------------------------------------------------------------------------

def read_module_list(path, sections=None):
    """Module names of the list file, in order; with `sections`, only those under a matching [section] line."""
    modules, section = [], None
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line.startswith("[") and line.endswith("]"):
                section = line[1:-1].strip()
            elif line and (not sections or section in sections):
                modules.append(line)
    return modules


def read_events(path):
    """Per test id: {"o": outcome, "msg", "dt", "subs": [...]}; a test started but never ended is "crash"."""
    tests, order, running, begun = {}, [], None, False
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        lines = []
    for line in lines:
        try:
            ev = json.loads(line)
        except ValueError:
            continue  # a line cut by a crash
        kind = ev.get("e")
        if kind == "begin":
            begun = True
        elif kind == "start":
            running = ev["id"]
        elif kind == "sub":
            entry = tests.setdefault(ev["id"], {"o": None, "subs": []})
            entry.setdefault("subs", []).append({k: ev.get(k) for k in ("sub", "o", "msg")})
        elif kind == "end":
            tid = ev["id"]
            entry = tests.get(tid)
            if entry is not None and entry.get("o") is not None:  # the same id twice (a rerun): keep both
                n = 2
                while f"{tid} #{n}" in tests:
                    n += 1
                tid = f"{tid} #{n}"
                entry = None
            if entry is None:
                entry = tests[tid] = {"subs": []}
            entry.update(o=ev["o"], msg=ev.get("msg"), dt=ev.get("dt", 0.0))
            order.append(tid)
            if running == ev["id"]:
                running = None
    if running is not None and tests.get(running, {}).get("o") is None:
        entry = tests.setdefault(running, {"subs": []})
        entry.update(o="crash", msg="the process ended while this test was running", dt=None)
        order.append(running)
    return tests, begun


def tail(path, n=40, limit=6000):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-n:])[-limit:]


def crash_excerpt(text, limit=4000):
    """What to show of a dead process's stderr: the fatal error and the first frames, else the last lines."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith(("Fatal Python error", "Timeout (")):
            return "\n".join(lines[max(0, i - 3):i + 12])[:limit]
    return "\n".join(lines[-40:])[-limit:]


def regrtest_result(stdout_path):
    try:
        with open(stdout_path, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        return None, False
    result = None
    for line in text.splitlines():
        if line.startswith("Result: "):
            result = line[len("Result: "):].strip()
    env_changed = "(env changed)" in text or "altered the execution environment" in text
    return result, env_changed


def describe_status(rc):
    if rc is None:
        return "timeout"
    if rc < 0:
        try:
            return f"killed by {signal.Signals(-rc).name}"
        except ValueError:
            return f"killed by signal {-rc}"
    return f"exit {rc}"


class Runner:
    def __init__(self, args, workdir):
        self.args = args
        self.workdir = workdir
        self.lock = threading.Lock()
        self.base_env = dict(os.environ)
        self.base_env.pop("PYTHONDONTWRITEBYTECODE", None)  # it makes pypaccel's caches read-only
        for name in ("PYPACCEL_THRESHOLD", "PYPACCEL_STRESS_EXITS", "PYPACCEL_CACHE_DIR", "PYPACCEL_DISABLE",
                     "PYPACCEL_COMPILE_ALL"):
            self.base_env.pop(name, None)

    def log(self, msg):
        with self.lock:
            sys.stderr.write(msg + "\n")
            sys.stderr.flush()

    def env_for(self, mode, cache_dir):
        env = dict(self.base_env)
        if mode == "plain":
            for name in list(env):
                if name.startswith("PYPACCEL_"):
                    del env[name]
            return env
        env["PYPACCEL_THRESHOLD"] = str(self.args.threshold)
        env["PYPACCEL_COMPILE_ALL"] = "1"  # an oracle for compiled code: compile what can be, profitable or not
        env["PYPACCEL_CACHE_DIR"] = cache_dir
        if mode == "stress":
            env["PYPACCEL_STRESS_EXITS"] = "1"
        return env

    def regrtest_args(self, module):
        a = [module, "--randseed", str(self.args.randseed), "--timeout", str(self.args.timeout)]
        if self.args.use:
            a += ["-u", self.args.use]
        if self.args.verbose_tests:
            a.append("-v")
        return a + list(self.args.regrtest_arg)

    def run_one(self, module, mode):
        """One mode of one module. When the process dies inside a test (crash, timeout), that test is recorded as
        "crash" and the module is run again with it ignored (up to --reruns times), so the tests after it are
        still compared; their outcomes are merged into the first run's."""
        run = self.run_process(module, mode, 0, [])
        ignored = []
        latest = run
        run["attempts"] = [self.attempt_summary(run, [])]
        while (latest["crash"] or latest["timeout"]) and len(ignored) < self.args.reruns:
            culprit = next((tid for tid, t in latest["tests"].items() if t.get("o") == "crash"), None)
            if culprit is None or culprit in ignored:
                break  # died outside a test (import, setUpModule, exit): nothing to skip
            ignored.append(culprit)
            latest = self.run_process(module, mode, len(ignored), list(ignored))
            for tid, t in latest["tests"].items():
                if tid not in run["tests"]:
                    run["tests"][tid] = t
            run["seconds"] = round(run["seconds"] + latest["seconds"], 2)
            run["attempts"].append(self.attempt_summary(latest, ignored))
            if "stats" in latest and "totals" in latest["stats"]:
                mine = run.setdefault("stats", {})
                for part in ("totals", "test_module"):
                    into = mine.setdefault(part, dict.fromkeys(TOTAL_KEYS, 0))
                    for key in TOTAL_KEYS:
                        into[key] = into.get(key, 0) + latest["stats"][part][key]
        return run

    @staticmethod
    def attempt_summary(run, ignored):
        return {"status": run["status"], "seconds": run["seconds"], "ignored": list(ignored), "dir": run["dir"],
                "crash": run["crash"], "timeout": run["timeout"]}

    def run_process(self, module, mode, attempt, ignored):
        rundir = os.path.join(self.workdir, module, mode + (f"-rerun{attempt}" if attempt else ""))
        os.makedirs(rundir, exist_ok=True)
        # warm reuses the cache the cold accelerated run of this module filled; the others start empty.
        cache_dir = os.path.join(self.workdir, module, "cache-" + ("accel" if mode == "warm" else mode))
        if mode in ("accel", "stress"):
            shutil.rmtree(cache_dir, ignore_errors=True)  # cold: nothing left from an earlier run or attempt
        if mode != "plain":
            os.makedirs(cache_dir, exist_ok=True)
        events = os.path.join(rundir, "events.jsonl")
        stdout_path, stderr_path = os.path.join(rundir, "stdout.txt"), os.path.join(rundir, "stderr.txt")
        cmd = [self.args.python]
        if mode != "plain":
            cmd += ["-m", "pypaccel", "run"]
        cmd += [SCRIPT, "--child", events, "--memory-mb", str(self.args.memory_mb), "--",
                *self.regrtest_args(module)]
        for tid in ignored:
            cmd += ["--ignore", tid]
        env = self.env_for(mode, cache_dir)
        start = time.monotonic()
        with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
            proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env, cwd=rundir,
                                    start_new_session=True)
            try:
                rc = proc.wait(timeout=self.args.timeout + 60)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait()
                rc = None
        elapsed = time.monotonic() - start
        tests, begun = read_events(events)
        result, env_changed = regrtest_result(stdout_path)
        run = {
            "mode": mode, "cmd": cmd, "returncode": rc, "status": describe_status(rc), "seconds": round(elapsed, 2),
            "regrtest_result": result, "env_changed": env_changed, "tests": tests, "dir": rundir,
        }
        # regrtest exits 0 (success), 2 (a test failed), 3 (env changed, with --fail-env-changed), 4 (no tests
        # ran); 1 is faulthandler's exit after --timeout; anything else, or a signal, is a crash.
        stderr_text = tail(stderr_path, 100000, 10**7)
        timed_out = rc is None or (rc == 1 and "Timeout (" in stderr_text)
        crashed = not timed_out and (rc < 0 or rc not in (0, 2, 3, 4) or not begun)
        if rc is None:
            run["status"] = f"killed after {self.args.timeout + 60} s"
        run["timeout"], run["crash"] = timed_out, crashed
        if timed_out or crashed or rc != 0:
            run["stderr_tail"] = crash_excerpt(stderr_text)
            run["stdout_tail"] = tail(stdout_path, 25)
        if mode != "plain":
            run["stats"] = self.stats(cache_dir, proc.pid, module)
        return run

    def stats(self, cache_dir, pid, module):
        """Totals of what this run's process recorded in the caches (and of the test module's own code)."""
        try:
            proc = subprocess.run([self.args.python, "-m", "pypaccel", "stats", "--json", cache_dir],
                                  capture_output=True, text=True, env=self.base_env, timeout=300)
            report = json.loads(proc.stdout)
        except (OSError, ValueError, subprocess.SubprocessError) as exc:
            return {"error": f"pypaccel stats failed: {exc}"}
        totals = dict.fromkeys(TOTAL_KEYS, 0)
        own = dict.fromkeys(TOTAL_KEYS, 0)
        databases = 0
        for mod in report.get("modules", []):
            run = mod.get("run") or {}
            if run.get("pid") != pid:
                continue  # a database this run did not use (warm mode shares the cache of the cold run)
            databases += 1
            path = mod.get("module_path") or ""
            is_own = (os.path.basename(path) == module + ".py"
                      or os.sep + module + os.sep in path) and os.sep + "test" + os.sep in path
            for key in TOTAL_KEYS:
                value = (mod.get("totals") or {}).get(key, 0) or 0
                totals[key] += value
                if is_own:
                    own[key] += value
        return {"totals": totals, "test_module": own, "databases": databases}

    def run_module(self, module):
        self.log(f"[{module}] starting")
        runs = {}
        for mode in self.args.modes:
            runs[mode] = self.run_one(module, mode)
            r = runs[mode]
            counts = count_outcomes(r["tests"])
            extra = ""
            if "stats" in r and "totals" in r["stats"]:
                extra = f", native_calls={r['stats']['totals']['native_calls']}"
            self.log(f"[{module}] {mode}: {r['status']} in {r['seconds']} s, pass={counts['pass']} "
                     f"fail={counts['fail']} skip={counts['skip']}{extra}"
                     + (" TIMEOUT" if r["timeout"] else "") + (" CRASH" if r["crash"] else ""))
        return module, runs


def count_outcomes(tests):
    c = {"pass": 0, "fail": 0, "skip": 0}
    for t in tests.values():
        o = t.get("o")
        if o in ("pass", "xfail"):
            c["pass"] += 1
        elif o == "skip":
            c["skip"] += 1
        else:
            c["fail"] += 1
    return c


def compare(plain, other):
    """Per test: what changed between the plain run and an accelerated one."""
    diff = {"new_failures": [], "new_skips": [], "fixed": [], "unskipped": [], "still_failing": [], "same": 0}
    p, o = plain["tests"], other["tests"]
    for tid in sorted(set(p) | set(o)):
        po = p.get(tid, {}).get("o", "missing")
        ao = o.get(tid, {}).get("o", "missing")
        if po == "missing" and ao in GOOD:
            diff["same"] += 1  # e.g. a test only the accelerated run reached: nothing wrong with it
            continue
        entry = {"id": tid, "plain": po, "accel": ao}
        if ao in BAD and po not in BAD:
            t = o.get(tid, {})
            entry["msg"] = t.get("msg")
            if t.get("subs"):
                entry["subtests"] = [s for s in t["subs"] if s.get("o") in BAD][:20]
            if ao == "missing":
                entry["msg"] = "not run (the process ended before reaching it)"
            diff["new_failures"].append(entry)
        elif ao in BAD and po in BAD:
            diff["still_failing"].append(entry)
        elif po in BAD and ao in GOOD:
            diff["fixed"].append(entry)
        elif po != "skip" and ao == "skip":
            entry["reason"] = o.get(tid, {}).get("msg")
            diff["new_skips"].append(entry)
        elif po == "skip" and ao != "skip":
            diff["unskipped"].append(entry)
        else:
            diff["same"] += 1
    module_level = []
    for key in ("crash", "timeout"):
        if other.get(key) and not plain.get(key):
            module_level.append(f"{key} ({other['status']})")
    if other.get("env_changed") and not plain.get("env_changed"):
        diff["env_changed"] = True
    diff["module_level"] = module_level
    return diff


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        return _child(argv[1:])
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--modules", help="comma-separated test modules (default: the list file)")
    ap.add_argument("--list", default=DEFAULT_LIST, help="file of test modules, one a line, '#' comments "
                    "(default: %(default)s)")
    ap.add_argument("--section", action="append", metavar="NAME",
                    help="only the modules of this [NAME] section of the list file (repeatable), e.g. core")
    ap.add_argument("--jobs", "-j", type=int, default=2, help="modules run in parallel (default 2)")
    ap.add_argument("--json", metavar="OUT", help="write the full results (every differing test) as JSON")
    ap.add_argument("--markdown", metavar="OUT", help="write the results table as Markdown")
    ap.add_argument("--stress", action="store_true", help="also run accelerated with PYPACCEL_STRESS_EXITS=1")
    ap.add_argument("--warm", action="store_true",
                    help="also run accelerated a second time, loading from the cache the first one filled")
    ap.add_argument("--no-accel", dest="accel", action="store_false",
                    help="skip the cold accelerated run (with --stress: only plain and stress)")
    ap.add_argument("--keep", metavar="DIR", help="keep logs, event files and caches under DIR")
    ap.add_argument("--timeout", type=int, default=600,
                    help="seconds per module and mode (regrtest --timeout; killed 60 s later; default 600)")
    ap.add_argument("--memory-mb", type=int, default=4096,
                    help="address-space limit (RLIMIT_AS) of every test process, in MiB; 0 = none (default 4096)")
    ap.add_argument("--reruns", type=int, default=3,
                    help="after a crash or timeout inside a test, run the module again without that test, up to "
                         "this many times, to compare the rest (default 3)")
    ap.add_argument("--threshold", type=int, default=0, help="PYPACCEL_THRESHOLD for accelerated runs (0)")
    ap.add_argument("--randseed", type=int, default=20231125, help="regrtest --randseed, the same for all runs")
    ap.add_argument("--use", "-u", default="", help="regrtest resources, e.g. cpu (default: none)")
    ap.add_argument("--verbose-tests", action="store_true", help="regrtest -v (output in the kept stdout.txt)")
    ap.add_argument("--regrtest-arg", action="append", default=[], metavar="ARG",
                    help="extra regrtest argument (repeatable), e.g. --regrtest-arg=-m --regrtest-arg='test_x*'")
    ap.add_argument("--python", default=sys.executable, help="interpreter (default: this one)")
    ap.add_argument("--render", metavar="JSON", help="print the Markdown report of an earlier --json file; run nothing")
    args = ap.parse_args(argv)
    if args.render:
        with open(args.render, encoding="utf-8") as f:
            report = json.load(f)
        text = render_markdown(report)
        sys.stdout.write(text)
        if args.markdown:
            with open(args.markdown, "w", encoding="utf-8") as f:
                f.write(text)
        return 0 if report["ok"] else 1

    modules = [m.strip() for m in args.modules.split(",") if m.strip()] if args.modules else \
        read_module_list(args.list, args.section)
    if not modules:
        ap.error("no module selected")
    modules = list(dict.fromkeys(modules))  # each once: a module's runs share a directory
    args.modes = ["plain"] + (["accel"] if args.accel or args.warm else []) + (["warm"] if args.warm else []) \
        + (["stress"] if args.stress else [])
    if len(args.modes) == 1:
        ap.error("nothing to compare: no accelerated mode selected")

    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    check = subprocess.run([args.python, "-c", "import sys, pypaccel; print(sys.version_info[:2], pypaccel.__file__)"],
                           capture_output=True, text=True, env=env)
    if check.returncode != 0:
        sys.stderr.write(f"cpython_tests: cannot import pypaccel with {args.python}:\n{check.stderr}")
        return 2
    sys.stderr.write(f"cpython_tests: {args.python} {check.stdout.strip()}; modes {', '.join(args.modes)}; "
                     f"{len(modules)} modules, {args.jobs} at a time\n")
    if os.environ.get("PYPACCEL_DISABLE", "") not in ("", "0"):
        sys.stderr.write("cpython_tests: PYPACCEL_DISABLE is set in this environment; it is removed for the "
                         "children\n")

    workdir = os.path.abspath(args.keep) if args.keep else tempfile.mkdtemp(prefix="pypaccel-cpython-tests-")
    os.makedirs(workdir, exist_ok=True)
    runner = Runner(args, workdir)
    t0 = time.monotonic()
    results = {}
    try:
        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            for module, runs in pool.map(runner.run_module, modules):
                results[module] = runs
    finally:
        wall = time.monotonic() - t0
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)

    report = build_report(modules, results, args, wall)
    text = render_markdown(report)
    sys.stdout.write(text)
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as f:
            f.write(text)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=1)
    return 0 if report["ok"] else 1


def build_report(modules, results, args, wall):
    report = {"python": args.python, "modes": args.modes, "threshold": args.threshold, "randseed": args.randseed,
              "use": args.use, "wall_seconds": round(wall, 1), "modules": [], "ok": True}
    for module in modules:
        runs = results[module]
        plain = runs["plain"]
        entry = {"module": module, "plain": summarize(plain), "modes": {}}
        if plain["crash"] or plain["timeout"]:
            report["ok"] = False
        if not plain["tests"] and plain["regrtest_result"] not in ("SUCCESS", "NO TESTS RAN"):
            entry["plain_problem"] = f"the plain run recorded no test ({plain['status']}, {plain['regrtest_result']})"
            report["ok"] = False
        for mode in args.modes[1:]:
            run = runs[mode]
            diff = compare(plain, run)
            m = summarize(run)
            m["diff"] = diff
            entry["modes"][mode] = m
            if diff["new_failures"] or diff["module_level"] or run["crash"] or run["timeout"]:
                report["ok"] = False
        report["modules"].append(entry)
    return report


def summarize(run):
    s = {k: run[k] for k in ("status", "seconds", "regrtest_result", "env_changed", "timeout", "crash")}
    s["counts"] = count_outcomes(run["tests"])
    s["tests"] = len(run["tests"])
    for k in ("stderr_tail", "stdout_tail", "stats", "attempts"):
        if k in run:
            s[k] = run[k]
    skips = {}
    for tid, t in run["tests"].items():
        if t.get("o") == "skip":
            skips[tid] = t.get("msg")
    s["skips"] = skips
    failing = {tid: t.get("o") for tid, t in run["tests"].items() if t.get("o") in BAD}
    s["failing"] = failing
    return s


def _pfs(summary):
    c = summary["counts"]
    return f"{c['pass']}/{c['fail']}/{c['skip']}"


def _stats(summary, part="totals"):
    return (summary.get("stats") or {}).get(part) or {}


def render_markdown(report):
    out = []
    w = out.append
    modes = report["modes"][1:]
    w(f"Modes: {', '.join(report['modes'])}; PYPACCEL_THRESHOLD={report['threshold']}; "
      f"randseed {report['randseed']}; resources: {report['use'] or 'none'}; wall time {report['wall_seconds']} s\n\n")
    first = modes[0]
    # One row per module. pass counts expected failures, fail counts errors, unexpected successes and crashes.
    head = ["module", "tests", "plain pass/fail/skip", f"{first} pass/fail/skip"]
    head += [f"new failures {m}" for m in modes] + ["plain s"] + [f"{m} s" for m in modes]
    head += [f"{first} compiled", f"{first} native calls (in the test module)", f"{first} exits",
             f"{first} fallbacks"]
    if "warm" in modes:
        head.append("warm loaded")
    w("| " + " | ".join(head) + " |\n|" + "---|" * len(head) + "\n")
    tot = {"tests": 0, "plain s": 0.0}
    for entry in report["modules"]:
        p = entry["plain"]
        a = entry["modes"][first]
        flag = ""
        if a["crash"] or a["timeout"]:
            flag = f" **{a['status']}**"
        if entry.get("plain_problem"):
            flag += " **plain run broken**"
        st, own = _stats(a), _stats(a, "test_module")
        row = [entry["module"] + flag, p["tests"], _pfs(p), _pfs(a)]
        for m in modes:
            d = entry["modes"][m]["diff"]
            n = len(d["new_failures"]) + len(d["module_level"])
            row.append(f"**{n}**" if n else "0")
            tot[m] = tot.get(m, 0) + n
        row.append(p["seconds"])
        tot["plain s"] += p["seconds"]
        for m in modes:
            row.append(entry["modes"][m]["seconds"])
            tot[m + " s"] = tot.get(m + " s", 0.0) + entry["modes"][m]["seconds"]
        row += [st.get("compiled", "?"), f"{st.get('native_calls', '?')} ({own.get('native_calls', '?')})",
                st.get("exits", "?"), st.get("fallbacks", "?")]
        for key in ("compiled", "native_calls", "exits", "fallbacks"):
            tot["s_" + key] = tot.get("s_" + key, 0) + (st.get(key) or 0)
        tot["own"] = tot.get("own", 0) + (own.get("native_calls") or 0)
        if "warm" in modes:
            row.append(_stats(entry["modes"]["warm"]).get("loaded", "?"))
            tot["loaded"] = tot.get("loaded", 0) + (_stats(entry["modes"]["warm"]).get("loaded") or 0)
        tot["tests"] += p["tests"]
        w("| " + " | ".join(str(x) for x in row) + " |\n")
    row = ["**total**", tot["tests"], "", ""] + [tot[m] for m in modes] + [round(tot["plain s"], 1)]
    row += [round(tot[m + " s"], 1) for m in modes]
    row += [tot["s_compiled"], f"{tot['s_native_calls']} ({tot['own']})", tot["s_exits"], tot["s_fallbacks"]]
    if "warm" in modes:
        row.append(tot["loaded"])
    w("| " + " | ".join(str(x) for x in row) + " |\n\n")

    for mode in modes:
        lines_all = []
        for entry in report["modules"]:
            a = entry["modes"][mode]
            d = a["diff"]
            lines = []
            if entry.get("plain_problem"):
                lines.append(f"- ORACLE PROBLEM: {entry['plain_problem']}")
            for item in d["module_level"]:
                lines.append(f"- module: {item}")
            not_reached = [nf["id"] for nf in d["new_failures"] if nf["accel"] == "missing"]
            if not_reached:
                lines.append(f"- {len(not_reached)} tests not reached (the process ended first): "
                             + ", ".join(f"`{t}`" for t in not_reached[:3]) + (", ..." if len(not_reached) > 3 else ""))
            for nf in d["new_failures"]:
                if nf["accel"] == "missing":
                    continue
                msg = (nf.get("msg") or "").strip().splitlines()
                if nf.get("subtests"):
                    msg = (nf["subtests"][0].get("msg") or "").strip().splitlines()
                last = msg[-1].strip() if msg else ""
                lines.append(f"- NEW FAILURE `{nf['id']}`: {nf['plain']} -> {nf['accel']}: {last[:300]}")
            for ns in d["new_skips"]:
                lines.append(f"- new skip `{ns['id']}`: {ns.get('reason')}")
            for fx in d["fixed"]:
                lines.append(f"- fixed `{fx['id']}`: {fx['plain']} -> {fx['accel']}")
            for sf in d["still_failing"]:
                lines.append(f"- failing in both `{sf['id']}`: {sf['plain']} -> {sf['accel']}")
            if d.get("env_changed"):
                lines.append("- regrtest reports the environment altered (only in this mode)")
            if (a["crash"] or a["timeout"]) and a.get("stderr_tail"):
                lines.append("- stderr:\n\n```\n" + a["stderr_tail"] + "\n```")
            for att in a.get("attempts", [])[1:]:
                lines.append(f"- re-run ignoring {', '.join('`%s`' % t for t in att['ignored'])}: {att['status']}"
                             f" in {att['seconds']} s")
            if lines:
                lines_all.append(f"**{entry['module']}**:\n\n" + "\n".join(lines) + "\n\n")
        w(f"### {mode} vs plain\n\n")
        w("".join(lines_all) if lines_all else "No difference.\n\n")

    skips = {}
    for entry in report["modules"]:
        for tid, reason in entry["plain"]["skips"].items():
            skips.setdefault(reason, []).append(tid)
    if skips:
        w("### Skipped in the plain run (CPython's own skips)\n\n")
        for reason, tids in sorted(skips.items(), key=lambda kv: (-len(kv[1]), str(kv[0]))):
            w(f"- {reason!s} ({len(tids)}): " + ", ".join(f"`{t}`" for t in tids[:4])
              + (", ..." if len(tids) > 4 else "") + "\n")
        w("\n")
    w(f"**Verdict: {'OK, zero new failures' if report['ok'] else 'NEW FAILURES (or crash/timeout)'}**\n")
    return "".join(out)


if __name__ == "__main__":
    sys.exit(main())
