#!/usr/bin/env python3
"""Whole-process benchmarks of pypaccel against plain CPython, timed by pyperf (see bench/README.md).

usage: python bench/run_bench.py [--fast] [--kernels NAME|GROUP[,...]] [--runs N] [--python PATH] [--timeout S]

Kernels: the numeric group (the default), the objects group (issue 17), or all; see KERNEL_TABLE.

For each kernel in bench/kernels/, with one interpreter binary and one child environment, it times N whole
processes of each of:
  plain  python KERNEL.py ARGS
  cold   python -S bench/_cold.py ... -- python -m pypaccel run KERNEL.py ARGS   (fresh empty cache every run)
  warm   python -m pypaccel run KERNEL.py ARGS   (PYPACCEL_CACHE_DIR filled by one earlier run)
plus a launcher calibration (`_cold.py -- python -c pass` against `python -c pass`) whose median difference is
subtracted from the cold times. Runs are interleaved: N rounds, each one pyperf process per variant, in a
shuffled order. Before timing, every variant runs once untimed and its output is compared with plain python's;
the cold launcher also compares the output of every timed cold run. After timing, `pypaccel stats --json` on the
warm cache must show the last warm process compiled nothing and loaded from the cache.

Writes bench/results/<timestamp>.json (and the raw pyperf files in bench/results/<timestamp>.pyperf/), prints a
markdown table on stdout; progress and problems go to stderr. Exit status 0 only when every check passed.
"""
import argparse
import datetime
import hashlib
import json
import os
import pathlib
import random
import shlex
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_DIR = os.path.dirname(BENCH_DIR)
PACKAGE_PARENT = os.path.join(REPO_DIR, "python")
KERNEL_DIR = os.path.join(BENCH_DIR, "kernels")
RESULTS_DIR = os.path.join(BENCH_DIR, "results")
LAUNCHER = os.path.join(BENCH_DIR, "_cold.py")

# One row per kernel in bench/kernels/: its group, its arguments (the kernel's own defaults, spelled out so the
# commands in the results say it all) and the project's bar for it: warm at least this many times faster than
# plain CPython, whole process, by median. The numeric bars are the first issues'; the object bars (issue 17) are
# PyPy 7.3's ratio on the same kind of program, and 1.0x (never slower than plain) where PyPy sets none.
KERNEL_TABLE = (
    ("intloop", "numeric", ["6000"], 5.0),
    ("mandelbrot", "numeric", ["600", "200"], 5.0),
    ("fib", "numeric", ["36"], 8.0),
    ("callloop", "numeric", ["20000000"], 10.0),
    ("callindep", "numeric", ["20000000"], 10.0),
    ("nbody", "objects", ["400000"], 13.0),
    ("spectralnorm", "objects", ["550"], 15.0),
    ("fannkuch", "objects", ["9"], 11.0),
    ("scheduler", "objects", ["400000"], 9.0),
    ("raytrace", "objects", ["360"], 5.0),
    ("sieve", "objects", ["2000000"], 2.0),
    ("strings", "objects", ["700000"], 1.0),
    ("generic", "objects", ["13000"], 1.0),
)
KERNELS = {name: args for name, _, args, _ in KERNEL_TABLE}
WARM_BARS = {name: bar for name, _, _, bar in KERNEL_TABLE}
# --kernels also takes these names; "numeric" is the default, so the commands quoted in bench/README.md before
# the object kernels existed still mean the same set.
GROUPS = {group: [name for name, g, _, _ in KERNEL_TABLE if g == group]
          for group in dict.fromkeys(g for _, g, _, _ in KERNEL_TABLE)}
GROUPS["all"] = list(KERNELS)
DEFAULT_GROUP = "numeric"
VARIANTS = ("plain", "cold", "warm")
DEFAULT_RUNS = 20
FAST_RUNS = 3
# A run can learn something (a widening, a type seen after an exit) that only the next process compiles: the warm
# cache is filled by up to this many runs, until one compiles nothing.
MAX_FILL_RUNS = 3
TOP_REASONS = 3  # exits and fallbacks listed per kernel in the table (all of them are in the results file)


class BenchError(Exception):
    """A step failed; the message says which, with the command and the child's own stderr."""


def log(message):
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def _tail(data, lines=15):
    text = data.decode("utf-8", "replace").rstrip() if isinstance(data, bytes) else (data or "").rstrip()
    kept = text.splitlines()[-lines:]
    return "\n".join("    | " + line for line in kept) if kept else "    (empty)"


def run(cmd, env, timeout, what, cwd=None):
    """Run `cmd` to completion with stdout/stderr captured; (stdout, stderr, seconds) when it exits with 0.

    The child gets its own session so that on a timeout (or Ctrl-C here) its whole process group is killed:
    nothing is left running and nothing hangs."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        raise BenchError(f"{what}: no result after {timeout:.0f} s, killed\n  command: {shlex.join(cmd)}") from None
    except BaseException:
        _kill_group(proc)
        raise
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        status = (f"killed by signal {-proc.returncode}" if proc.returncode < 0
                  else f"exit status {proc.returncode}")
        failure = BenchError(f"{what}: {status}\n  command: {shlex.join(cmd)}\n  stderr (last lines):\n{_tail(err)}"
                             + (f"\n  stdout (last lines):\n{_tail(out)}" if out.strip() else ""))
        failure.stderr = err
        raise failure
    return out, err, seconds


def _kill_group(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the group of the child we started (start_new_session): only ours
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()
    for pipe in (proc.stdout, proc.stderr):
        if pipe:
            pipe.close()


# -- Environment, interpreter, machine -----------------------------------------------------------------------------

def child_environment():
    """The one environment every child gets (pyperf is told to pass it through unchanged with --copy-env).

    Deliberately minimal: PATH, HOME, PYTHONPATH (this checkout's package first if built in place) and any PYPACCEL_* setting of the
    caller except PYPACCEL_CACHE_DIR, which the benchmark sets itself. PYTHONDONTWRITEBYTECODE is never passed:
    under it pypaccel opens its cache read-only, so warm runs would find nothing and cold runs would store nothing."""
    env = {name: os.environ[name] for name in ("PATH", "HOME") if name in os.environ}
    # This checkout's package when it holds a built extension (a build in place); else the installed one, which
    # scripts/install.sh builds from this checkout.
    built_here = any(n.startswith("_pypaccel.") for n in os.listdir(os.path.join(PACKAGE_PARENT, "pypaccel")))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (PACKAGE_PARENT if built_here else "",
                                                    os.environ.get("PYTHONPATH", "")) if p)
    if not env["PYTHONPATH"]:
        del env["PYTHONPATH"]
    for name, value in os.environ.items():
        if name.startswith("PYPACCEL_") and name != "PYPACCEL_CACHE_DIR":
            env[name] = value
    return env


def begin_run(script, argv):
    """What every benchmark script does first: the command line as run (for the results file), the UTC time and
    its file stamp, and the child environment, logged (PYTHONDONTWRITEBYTECODE noted: it is never passed on)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    invocation = shlex.join([sys.executable, os.path.relpath(os.path.abspath(script), os.getcwd()), *argv])
    now = datetime.datetime.now(datetime.timezone.utc)
    env = child_environment()
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        log("note: PYTHONDONTWRITEBYTECODE is set here; it is NOT passed to any benchmark child "
            "(it would make pypaccel's cache read-only)")
    log("child environment: " + " ".join(f"{k}={shlex.quote(v)}" for k, v in sorted(env.items())
                                           if k != "PATH") + " PATH=(inherited)")
    return invocation, now, now.strftime("%Y%m%dT%H%M%SZ"), env


PREFLIGHT = r"""
import json, os, sys
info = {"executable": sys.executable, "version": sys.version, "implementation": sys.implementation.name,
        "version_info": list(sys.version_info[:3])}
import pyperf
info["pyperf"] = pyperf.__version__
import pypaccel, pypaccel._pypaccel as ext
info["pypaccel"] = {"version": pypaccel.__version__, "package": os.path.dirname(pypaccel.__file__),
                    "extension": os.path.realpath(ext.__file__)}
print(json.dumps(info))
"""


def preflight(python, env, timeout):
    out, _, _ = run([python, "-c", PREFLIGHT], env, timeout, f"checking the interpreter {python}")
    info = json.loads(out)
    if info["implementation"] != "cpython" or info["version_info"][:2] != [3, 11]:
        raise BenchError(f"{python} is {info['implementation']} {info['version']}; pypaccel needs CPython 3.11")
    return info


def build_fingerprint(pypaccel_info):
    """sha256 over the package's .py files and the extension binary: what the children ran, to spot a rebuild
    (or edit) in the middle of a benchmark."""
    digest = hashlib.sha256()
    package = pypaccel_info["package"]
    paths = sorted(os.path.join(package, n) for n in os.listdir(package) if n.endswith(".py"))
    for path in paths + [pypaccel_info["extension"]]:
        digest.update(path.encode() + b"\0")
        try:
            with open(path, "rb") as f:
                digest.update(f.read())
        except OSError as exc:
            digest.update(repr(exc).encode())
    return digest.hexdigest()


def machine_info():
    model = None
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return {"nproc": usable, "cpu_count": os.cpu_count(), "cpu_model": model, "platform": sys.platform,
            "kernel": os.uname().release, "loadavg_start": list(os.getloadavg())}


def git_info():
    try:
        head = subprocess.run(["git", "-C", REPO_DIR, "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=30).stdout.strip()
        dirty = subprocess.run(["git", "-C", REPO_DIR, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=30).stdout.strip()
        return {"commit": head or None, "tracked_files_modified": bool(dirty)}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "tracked_files_modified": None}


# -- pypaccel cache inspection -------------------------------------------------------------------------------------

def cache_stats(python, env, cache_dir, timeout):
    """`python -m pypaccel stats --json CACHE_DIR`, parsed."""
    out, _, _ = run([python, "-m", "pypaccel", "stats", "--json", cache_dir], env, timeout,
                    f"python -m pypaccel stats --json {cache_dir}")
    return json.loads(out)


def module_report(report, source, required=True):
    """The kernel's own module in `report`; None (unless required) when it has no database: everything in it was
    declined without anything stored (code left to the interpreter as unprofitable, say)."""
    for module in report["modules"]:
        if module.get("module_path") == source:
            return module
    if not required:
        return None
    raise BenchError(f"pypaccel stats found no cache database for {source} (modules: "
                     f"{[m.get('module_path') for m in report['modules']]})")


def stats_summary(report, source):
    """What `pypaccel stats` shows for the kernel's own module in the run `report` is about: its counters, and its
    exits and fallbacks by site, most frequent first (what keeps the kernel slow). Other modules (threading's
    shutdown, say) only in the totals over all modules."""
    module = module_report(report, source, required=False)
    if module is None:
        # Its counters are not on record (nothing was stored for it): zeros, and the note says why.
        return {"run_id": None, "totals": {k: 0 for k in report["totals"]}, "exits": [], "fallbacks": [],
                "disabled": [], "functions": {}, "all_modules_totals": report["totals"],
                "note": "no database: nothing compiled or stored (declined code is not stored)"}
    exits, fallbacks, disabled = [], [], []
    for f in module["functions"]:
        where = f"{f['qualname']}"
        if f["disabled"]:
            disabled.append(where)
        for e in f["exits"]:
            exits.append({"function": where, "line": e["line"], "offset": e["offset"], "reason": e["reason"],
                          "count": e["count"]})
        for e in f["fallbacks"]:
            fallbacks.append({"function": where, "line": e["line"], "offset": e["offset"], "refusal": e["refusal"],
                              "reason": e["reason"], "count": e["count"], "calls": e["calls"]})
    exits.sort(key=lambda e: -e["count"])
    fallbacks.sort(key=lambda e: (-(e["calls"] or 0), -e["count"]))
    functions = {f["qualname"]: {k: f[k] for k in ("compiled", "loaded", "native_calls", "disabled")}
                 for f in module["functions"]}
    return {"run_id": (module["run"] or {}).get("run_id"), "totals": module["totals"], "exits": exits,
            "fallbacks": fallbacks, "disabled": disabled, "functions": functions,
            "all_modules_totals": report["totals"]}


def stored_specializations(report):
    return sum(m.get("specializations", 0) for m in report["modules"])


def kept_compiled(report):
    """How many functions the run compiled and did not then disable: what a warm run has to load."""
    return sum(1 for m in report["modules"] for f in m.get("functions", ())
               if f.get("compiled", 0) > 0 and not f.get("disabled", 0))


def recorded_compile_seconds(report):
    """Sum of compile_ms that pypaccel stored with each specialization (informational; None if unreadable).

    Read straight from the databases, read-only: `pypaccel stats` does not report it."""
    total = 0.0
    try:
        for module in report["modules"]:
            con = sqlite3.connect(pathlib.Path(module["database"]).as_uri() + "?mode=ro", uri=True)
            try:
                total += con.execute("SELECT COALESCE(SUM(compile_ms), 0) FROM specializations").fetchone()[0]
            finally:
                con.close()
    except (sqlite3.Error, KeyError, TypeError):
        return None
    return total / 1000.0


# -- Timing with pyperf --------------------------------------------------------------------------------------------

def pyperf_once(python, name, cmd, env, json_path, timeout):
    """One pyperf-timed execution of `cmd`, appended to json_path (pyperf creates the file the first time).

    pyperf's worker times the child from fork to exit with perf_counter; stdout goes to /dev/null there, so a
    failure says no more than the status: on failure run the command again outside pyperf to show its stderr."""
    pyperf_cmd = [python, "-m", "pyperf", "command", "--quiet", "--processes", "1", "--values", "1",
                  "--warmups", "0", "--loops", "1", "--copy-env", "--append", json_path, "--name", name, "--", *cmd]
    try:
        run(pyperf_cmd, env, timeout, f"pyperf timing {name}")
    except BenchError as failure:
        # pyperf's stderr is mostly its own traceback; the line that matters is its worker's verdict.
        stderr = getattr(failure, "stderr", b"").decode("utf-8", "replace")
        verdict = [line.strip() for line in stderr.splitlines() if "Command failed with exit code" in line]
        summary = (f"pyperf timing {name}: {verdict[-1]}\n  command: {shlex.join(pyperf_cmd)}" if verdict
                   else str(failure))
        try:
            run(cmd, env, timeout, f"{name}, rerun outside pyperf to diagnose")
        except BenchError as again:
            raise BenchError(f"{summary}\n{again}") from None
        raise BenchError(f"{failure}\n  (the same command succeeded when rerun outside pyperf)") from None


def summarize(json_path):
    import pyperf  # same interpreter as the children, normally; it reads the files pyperf wrote
    values = list(pyperf.Benchmark.load(json_path).get_values())
    return {"runs": len(values), "median_s": statistics.median(values), "best_s": min(values),
            "mean_s": statistics.fmean(values), "stdev_s": statistics.stdev(values) if len(values) > 1 else 0.0,
            "values_s": values}


# -- The benchmark -------------------------------------------------------------------------------------------------

def check_output(what, got, expected):
    if got != expected:
        raise BenchError(f"{what}: output differs from plain python's\n  plain: {expected[:300]!r}\n"
                         f"  got:   {got[:300]!r}")


def prepare_kernel(name, python, env, scratch, timeout, warnings):
    """Untimed runs of every variant: outputs compared, the warm cache filled and checked. Returns the kernel's
    commands, environments and facts for the timed rounds."""
    source = os.path.join(KERNEL_DIR, name + ".py")
    if not os.path.isfile(source):
        raise BenchError(f"no kernel {source}")
    args = KERNELS[name]
    plain_cmd = [python, source, *args]
    pypaccel_cmd = [python, "-m", "pypaccel", "run", source, *args]
    expected_file = os.path.join(scratch, name + ".expected")
    warm_dir = os.path.join(scratch, "warm-" + name)
    cold_parent = os.path.join(scratch, "cold")
    os.makedirs(cold_parent, exist_ok=True)
    cold_cmd = [python, "-S", LAUNCHER, "--parent", cold_parent, "--expect", expected_file, "--", *pypaccel_cmd]
    warm_env = dict(env, PYPACCEL_CACHE_DIR=warm_dir)

    def note_stderr(what, err):
        if err.strip():
            warnings.append(f"{name} {what}: wrote to stderr: {err.decode('utf-8', 'replace').strip()[:500]}")
            log(f"  warning: {warnings[-1]}")

    log(f"{name}: untimed check runs")
    expected, err, t_plain = run(plain_cmd, env, timeout, f"{name}: plain python", cwd=scratch)
    note_stderr("plain", err)
    with open(expected_file, "wb") as f:
        f.write(expected)
    log(f"  plain  {t_plain:7.3f} s  output {expected.decode('utf-8', 'replace').strip()!r}")

    # A cold run into the empty warm directory: checks a cold run and fills the cache the warm runs will use.
    os.makedirs(warm_dir)
    out, err, t_fill = run(pypaccel_cmd, warm_env, timeout, f"{name}: pypaccel, empty cache (filling {warm_dir})",
                           cwd=scratch)
    check_output(f"{name}: pypaccel with an empty cache", out, expected)
    note_stderr("cold (fill run)", err)
    filled = cache_stats(python, env, warm_dir, timeout)
    # A kernel that pypaccel leaves wholly to the interpreter is still measured (that is a result: what the hook
    # costs it), but its warm runs have nothing to load: the fill run compiled nothing, or everything it compiled
    # was then given up on (an entry trial that measured it slower, exits on most entries), and that decision is
    # what the warm runs load instead.
    expect_loaded = kept_compiled(filled) > 0
    if not expect_loaded:
        warnings.append(f"{name}: the run with an empty cache kept nothing compiled (totals {filled['totals']}): "
                        f"it runs in the interpreter, and warm runs load nothing")
        log(f"  warning: {warnings[-1]}")
    fill_totals = filled["totals"]
    # The first run's exits are what the warm runs' "exits on most entries" fallbacks were decided from.
    fill_stats = stats_summary(filled, source)
    log(f"  cold   {t_fill:7.3f} s  same output; stats: {filled['totals']}")

    # Warm runs until one compiles nothing: a run that still compiled (something learned by the previous one)
    # counts as one more fill run.
    for fill_runs in range(1, MAX_FILL_RUNS + 1):
        previous = module_report(filled, source, required=False)
        previous_run_id = (previous["run"] or {}).get("run_id") if previous else None
        out, err, t_warm = run(pypaccel_cmd, warm_env, timeout, f"{name}: pypaccel, warm cache", cwd=scratch)
        check_output(f"{name}: pypaccel with a warm cache", out, expected)
        note_stderr("warm", err)
        warm_report = cache_stats(python, env, warm_dir, timeout)
        problem = warm_problem(warm_report, source, previous_run_id, stored_specializations(filled), expect_loaded)
        if problem is None:
            break
        if warm_report["totals"]["compiled"] <= 0 or fill_runs == MAX_FILL_RUNS:
            raise BenchError(f"{name}: untimed warm run: {problem}")
        warnings.append(f"{name}: warm run {fill_runs} still compiled ({warm_report['totals']}); "
                        f"it counts as a fill run")
        log(f"  warning: {warnings[-1]}")
        filled = warm_report
    log(f"  warm   {t_warm:7.3f} s  same output; stats: {warm_report['totals']}")
    warm_stats = stats_summary(warm_report, source)

    _, err, t_cold = run(cold_cmd, env, timeout, f"{name}: cold launcher", cwd=scratch)
    note_stderr("cold (launcher)", err)
    log(f"  cold via launcher {t_cold:7.3f} s  same output (checked by the launcher)")

    return {
        "name": name, "source": source, "args": args, "output": expected.decode("utf-8", "replace"),
        "warm_dir": warm_dir, "stored": stored_specializations(filled), "expect_loaded": expect_loaded,
        "last_checked_run_id": warm_stats["run_id"], "warm_stats": warm_stats,
        "fill_stats": fill_stats,
        "fill_totals": fill_totals, "fill_runs": fill_runs, "compile_s_recorded": recorded_compile_seconds(filled),
        "commands": {
            "plain": (plain_cmd, env, t_plain),
            "cold": (cold_cmd, env, t_cold),
            "warm": (pypaccel_cmd, warm_env, t_warm),
        },
    }


def warm_problem(report, source, previous_run_id, stored_before, expect_loaded=True):
    """Why `report` (stats of a warm cache) does not show a warm process, or None if it does (with nothing to
    load when the fill run compiled nothing: `expect_loaded` False)."""
    totals = report["totals"]
    module = module_report(report, source, required=False)
    if module is None and not expect_loaded and totals["compiled"] == 0:
        return None  # nothing to store, nothing stored: no database, and nothing to check in one
    run_record = module["run"] if module else None
    if run_record is None or run_record["run_id"] == previous_run_id:
        return "the warm process left no run record in the cache (is the cache read-only?)"
    if totals["compiled"] != 0:
        return f"pypaccel stats reports compiled = {totals['compiled']} for the latest run, expected 0 ({totals})"
    if expect_loaded and totals["loaded"] <= 0:
        return f"nothing was loaded from the cache ({totals})"
    if stored_specializations(report) != stored_before:
        return (f"stored specializations changed from {stored_before} to {stored_specializations(report)}: "
                f"some warm process compiled and stored new code")
    return None


def timed_rounds(python, kernels, calibration, runs, pyperf_dir):
    """`runs` rounds; each times every job once through pyperf, in an order shuffled per round (seeded)."""
    jobs = list(calibration)
    for k in kernels:
        for variant in VARIANTS:
            cmd, env, seconds = k["commands"][variant]
            jobs.append((f"{k['name']}-{variant}", cmd, env, seconds))
    start = time.monotonic()
    for index in range(runs):
        order = list(jobs)
        random.Random(index).shuffle(order)
        for name, cmd, env, seconds in order:
            limit = 60 + max(60.0, 10 * seconds)  # pyperf's own start-up, plus ten times the untimed run
            pyperf_once(python, name, cmd, env, os.path.join(pyperf_dir, name + ".json"), limit)
        elapsed = time.monotonic() - start
        log(f"round {index + 1}/{runs} done, {elapsed:.0f} s elapsed, about {elapsed / (index + 1) * (runs - index - 1):.0f} s to go")


def ratio(a, b):
    return a / b if b and b > 0 else None


def analyse(kernel, pyperf_dir, overhead_s):
    name = kernel["name"]
    plain = summarize(os.path.join(pyperf_dir, name + "-plain.json"))
    cold_raw = summarize(os.path.join(pyperf_dir, name + "-cold.json"))
    warm = summarize(os.path.join(pyperf_dir, name + "-warm.json"))
    cold = {"runs": cold_raw["runs"], "median_s": cold_raw["median_s"] - overhead_s,
            "best_s": cold_raw["best_s"] - overhead_s,
            "note": "cold_raw minus the launcher overhead (median of the calibration difference)"}
    compile_s = kernel["compile_s_recorded"]
    result = {
        "source": os.path.relpath(kernel["source"], REPO_DIR), "args": kernel["args"], "output": kernel["output"],
        "commands": {v: shlex.join(kernel["commands"][v][0]) for v in VARIANTS},
        "plain": plain, "cold_raw": cold_raw, "cold": cold, "warm": warm,
        "ratios": {
            "plain/cold median": ratio(plain["median_s"], cold["median_s"]),
            "plain/cold best": ratio(plain["best_s"], cold["best_s"]),
            "plain/cold_raw median": ratio(plain["median_s"], cold_raw["median_s"]),
            "plain/warm median": ratio(plain["median_s"], warm["median_s"]),
            "plain/warm best": ratio(plain["best_s"], warm["best_s"]),
        },
        "cold_minus_warm_median_s": cold["median_s"] - warm["median_s"],
        "compile_s_recorded": compile_s,
        "fill_run_totals": kernel["fill_totals"],
        "fill_runs": kernel["fill_runs"],
        "fill_run_stats": kernel["fill_stats"],
        "bars": {
            "warm_bar": WARM_BARS[name],
            "warm_meets_bar": ratio(plain["median_s"], warm["median_s"]) >= WARM_BARS[name],
            "cold_within_plain_plus_compile": (None if compile_s is None
                                               else cold["median_s"] <= plain["median_s"] + compile_s),
        },
    }
    return result


def final_warm_check(python, env, kernel, timeout):
    """After the timed rounds: the latest run recorded in the warm cache is a timed warm run that compiled nothing,
    loaded from the cache, and no timed warm run stored anything new. Failures are reported, not raised, so that
    the timings are still written."""
    try:
        report = cache_stats(python, env, kernel["warm_dir"], timeout)
        problem = warm_problem(report, kernel["source"], kernel["last_checked_run_id"], kernel["stored"],
                               kernel["expect_loaded"])
        stats = stats_summary(report, kernel["source"])
    except (BenchError, KeyError, TypeError, ValueError) as exc:
        return {"passed": False, "problem": f"could not read the warm cache's stats: {exc}",
                "totals": {"compiled": None, "loaded": None}, "stored_specializations": None,
                "stats": kernel["warm_stats"], "stats_from": "the untimed warm run"}
    return {"passed": problem is None, "problem": problem, "totals": report["totals"],
            "stored_specializations": stored_specializations(report), "stats": stats,
            "stats_from": "the last timed warm run"}


# -- Output --------------------------------------------------------------------------------------------------------

def fmt_s(x):
    return "n/a" if x is None else f"{x:.3f}"


def fmt_x(x):
    return "n/a" if x is None else f"{x:.2f}x"


def describe_sites(sites, kind):
    """The first TOP_REASONS exit or fallback sites as one table cell: `function:line reason xCOUNT`."""
    if not sites:
        return "none"
    cells = []
    for e in sites[:TOP_REASONS]:
        reason = (e["reason"] or "").replace("|", "/").replace("\n", " ")
        if kind == "fallback":
            label = f"[{e['refusal']}] {reason}" if e.get("refusal") else reason
            count = (f"{e['calls']} call{'' if e['calls'] == 1 else 's'}" if e["calls"] is not None
                     else f"x{e['count']}")
        else:
            label, count = reason, f"x{e['count']}"
        has_line = e["line"] is not None and e["line"] >= 0 and f"line {e['line']}" not in reason
        line = f":{e['line']}" if has_line else ""
        cells.append(f"`{e['function']}{line}` {label} ({count})")
    more = f"; +{len(sites) - TOP_REASONS} more" if len(sites) > TOP_REASONS else ""
    return "; ".join(cells) + more


def markdown(results):
    o = results["launcher_overhead"]
    lines = [
        f"pypaccel whole-process benchmark, {results['date']}, {results['runs_per_variant']} runs per variant, "
        f"{results['machine']['nproc']} CPUs ({results['machine']['cpu_model']}), "
        f"Python {results['python']['version'].split()[0]}",
        "",
        "| kernel | variant | runs | median (s) | best (s) | plain/variant (median) | plain/variant (best) |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for name, k in results["kernels"].items():
        p = k["plain"]
        for label, key in (("plain", "plain"), ("cold", "cold"), ("cold, raw (incl. launcher)", "cold_raw"),
                           ("warm", "warm")):
            s = k[key]
            lines.append(f"| {name} | {label} | {s['runs']} | {fmt_s(s['median_s'])} | {fmt_s(s['best_s'])} | "
                         f"{fmt_x(ratio(p['median_s'], s['median_s']))} | {fmt_x(ratio(p['best_s'], s['best_s']))} |")
    lines += [
        "",
        f"Launcher overhead subtracted from cold: {o['overhead_s'] * 1000:.1f} ms (median of `_cold.py -- python -c "
        f"pass` {o['launcher']['median_s'] * 1000:.1f} ms minus median of `python -c pass` "
        f"{o['plain']['median_s'] * 1000:.1f} ms).",
        "",
        "| kernel | warm speed-up (median) | warm meets its bar | cold - warm (s) | compile time recorded (s) "
        "| cold <= plain + compile | warm cache check |",
        "|---|---:|---|---:|---:|---|---|",
    ]
    for name, k in results["kernels"].items():
        bars = k["bars"]
        cold_ok = bars["cold_within_plain_plus_compile"]
        check = k["warm_check"]
        lines.append(
            f"| {name} | {fmt_x(k['ratios']['plain/warm median'])} | {'yes' if bars['warm_meets_bar'] else 'NO'} (>= {bars['warm_bar']:g}x) "
            f"| {fmt_s(k['cold_minus_warm_median_s'])} | {fmt_s(k['compile_s_recorded'])} "
            f"| {'n/a' if cold_ok is None else 'yes' if cold_ok else 'NO'} "
            f"| {'ok' if check['passed'] else 'FAILED: ' + check['problem']} "
            f"(compiled {check['totals']['compiled']}, loaded {check['totals']['loaded']}) |")
    lines += [
        "",
        "What `pypaccel stats` shows for each kernel's own module, in the last timed warm run and in the run that "
        "filled the cache (its exits and fallbacks are what the warm runs' `exits-on-most-entries` fallbacks were "
        "decided from); "
        f"exits by count, fallbacks by the calls they concern, the {TOP_REASONS} most frequent (all of them in the "
        "results file):",
        "",
        "| kernel | warm: loaded | warm: native calls | warm: exits | warm: fallbacks (calls) | warm: top exits "
        "| warm: top fallbacks | fill run: compiled, exits, disabled | fill run: top exits; top fallbacks |",
        "|---|---:|---:|---:|---:|---|---|---|---|",
    ]
    for name, k in results["kernels"].items():
        st = k["warm_check"]["stats"]
        t = st["totals"]
        fs = k["fill_run_stats"]
        ft = fs["totals"]
        # The fill run's fallbacks are often the warm run's own: say so rather than repeat them.
        fill_fallbacks = ("same as warm" if fs["fallbacks"] and fs["fallbacks"] == st["fallbacks"]
                          else describe_sites(fs["fallbacks"], "fallback"))
        lines.append(f"| {name} | {t['loaded']} | {t['native_calls']} | {t['exits']} | {t['fallbacks']} "
                     f"({t['fallback_calls']}) | {describe_sites(st['exits'], 'exit')} "
                     f"| {describe_sites(st['fallbacks'], 'fallback')} "
                     f"| {ft['compiled']}, {ft['exits']}, {ft['disabled']} | {describe_sites(fs['exits'], 'exit')}; "
                     f"{fill_fallbacks} |")
    if results["warnings"]:
        lines += ["", "Warnings:"] + [f"- {w}" for w in results["warnings"]]
    return "\n".join(lines) + "\n"


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="run_bench.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--fast", action="store_true", help=f"smoke test: {FAST_RUNS} runs per variant")
    parser.add_argument("--kernels", nargs="+", metavar="NAME", default=None,
                        help="kernels or groups to run, comma or space separated; groups: "
                             + "; ".join(g + " (" + ",".join(names) + ")" for g, names in GROUPS.items()
                                         if g != "all")
                             + f"; all (every kernel). Default: {DEFAULT_GROUP}")
    parser.add_argument("--runs", type=int, default=None,
                        help=f"timed runs per variant (default {DEFAULT_RUNS}, or {FAST_RUNS} with --fast)")
    parser.add_argument("--python", default=sys.executable,
                        help="interpreter for every child (default: the one running this script)")
    parser.add_argument("--timeout", type=float, default=600.0,
                        help="seconds an untimed check run may take before it is killed (default 600)")
    args = parser.parse_args(argv)
    names = [n for item in (args.kernels or [DEFAULT_GROUP]) for n in item.split(",") if n]
    names = [k for n in names for k in GROUPS.get(n, [n])]
    unknown = [n for n in names if n not in KERNELS]
    if unknown or not names:
        parser.error(f"unknown kernel(s) {unknown}; choose from {', '.join(KERNELS)} or a group: "
                     f"{', '.join(GROUPS)}")
    args.kernels = list(dict.fromkeys(names))
    args.runs = args.runs if args.runs is not None else (FAST_RUNS if args.fast else DEFAULT_RUNS)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    invocation, now, stamp, env = begin_run(sys.argv[0], argv)
    warnings = []

    scratch = tempfile.mkdtemp(prefix="pypaccel-bench-")
    try:
        info = preflight(args.python, env, args.timeout)
        info["pypaccel"]["fingerprint"] = build_fingerprint(info["pypaccel"])
        python = info["executable"]  # the real binary, even if --python named a wrapper such as a pyenv shim
        log(f"interpreter: {python} ({info['version'].split()[0]}), pyperf {info['pyperf']}, "
            f"pypaccel {info['pypaccel']['version']} from {info['pypaccel']['package']}")
        machine = machine_info()
        if machine["loadavg_start"][0] > 0.5 * (machine["nproc"] or 1):
            warnings.append(f"machine busy at start: load average {machine['loadavg_start'][0]:.2f} "
                            f"on {machine['nproc']} CPUs; numbers are noisier than usual")
            log("warning: " + warnings[-1])

        kernels = [prepare_kernel(name, python, env, scratch, args.timeout, warnings) for name in args.kernels]

        empty = os.path.join(scratch, "empty.expected")
        open(empty, "wb").close()
        calib_plain = [python, "-c", "pass"]
        calib_launcher = [python, "-S", LAUNCHER, "--parent", os.path.join(scratch, "cold"), "--expect", empty,
                          "--", *calib_plain]
        run(calib_launcher, env, args.timeout, "launcher calibration", cwd=scratch)
        calibration = [("launcher-calibration-plain", calib_plain, env, 1.0),
                       ("launcher-calibration-launcher", calib_launcher, env, 1.0)]

        pyperf_dir = os.path.join(RESULTS_DIR, stamp + ".pyperf")
        os.makedirs(pyperf_dir)
        log(f"timing: {args.runs} rounds; pyperf files in {os.path.relpath(pyperf_dir, os.getcwd())}")
        timed_rounds(python, kernels, calibration, args.runs, pyperf_dir)

        overhead = {"plain": summarize(os.path.join(pyperf_dir, "launcher-calibration-plain.json")),
                    "launcher": summarize(os.path.join(pyperf_dir, "launcher-calibration-launcher.json"))}
        overhead["overhead_s"] = overhead["launcher"]["median_s"] - overhead["plain"]["median_s"]
        overhead["commands"] = {"plain": shlex.join(calib_plain), "launcher": shlex.join(calib_launcher)}

        results = {
            "schema": 1,
            "date": now.isoformat(timespec="seconds"),
            "command": invocation,
            "runs_per_variant": args.runs,
            "python": {k: info[k] for k in ("executable", "version")},
            "pyperf": info["pyperf"],
            "pypaccel": info["pypaccel"],
            "git": git_info(),
            "machine": machine,
            "child_environment": {k: v for k, v in env.items() if k != "PATH"},
            "not_passed_to_children": ["PYTHONDONTWRITEBYTECODE"],
            "launcher_overhead": overhead,
            "kernels": {},
            "warnings": warnings,
        }
        for kernel in kernels:
            entry = analyse(kernel, pyperf_dir, overhead["overhead_s"])
            entry["warm_check"] = final_warm_check(python, env, kernel, args.timeout)
            results["kernels"][kernel["name"]] = entry
        machine["loadavg_end"] = list(os.getloadavg())
        if build_fingerprint(info["pypaccel"]) != info["pypaccel"]["fingerprint"]:
            warnings.append(f"pypaccel (package in {info['pypaccel']['package']} or its extension) changed during "
                            f"the benchmark: the results may mix builds")
            log("warning: " + warnings[-1])
        if overhead["overhead_s"] < 0:
            warnings.append("launcher overhead came out negative: the calibration is noise-dominated")
        results["checks_passed"] = all(k["warm_check"]["passed"] for k in results["kernels"].values())

        out_path = os.path.join(RESULTS_DIR, stamp + ".json")
        with open(out_path, "w") as f:
            json.dump(results, f, indent=2)
            f.write("\n")
        sys.stdout.write(markdown(results))
        log(f"results: {os.path.relpath(out_path, os.getcwd())}")
        if not results["checks_passed"]:
            log("FAILED: the warm cache check did not pass (see the table)")
            return 1
        return 0
    except BenchError as exc:
        log(f"run_bench: FAILED: {exc}")
        return 1
    except KeyboardInterrupt:
        log("run_bench: interrupted")
        return 130
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
