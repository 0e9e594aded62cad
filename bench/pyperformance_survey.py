#!/usr/bin/env python3
"""Survey of pure-Python pyperformance benchmarks: plain CPython against pypaccel, warm and cold (see bench/README.md).

usage: python bench/pyperformance_survey.py [--fast] [--benchmarks NAME[,...]] [--rounds N] [--python PATH]
                                            [--timeout S]

Fetches pyperformance 1.14.0 at run time (`pip download`, the wheel unzipped in a temporary directory; nothing is
kept) and runs each benchmark's workload in-process through a small driver in this file (the `drive` mode below),
not through pyperf's runner. For each benchmark, with one interpreter binary and one child environment:
  plain  python bench/pyperformance_survey.py drive DIR NAME N
  warm   python -m pypaccel run bench/pyperformance_survey.py drive DIR NAME N   (its cache filled by earlier runs)
  cold   the same with a new empty PYPACCEL_CACHE_DIR in every run
Each process prints the seconds of its timed section and a digest of the benchmark's result; the wall time of the
whole process is taken here. Rounds are interleaved (every benchmark and variant once per round, in an order
shuffled per round with a fixed seed); medians are reported. A digest that differs from plain python's, or a
child that fails, makes the exit status 1; a failed download of pyperformance makes it 2.

Writes bench/results/pyperf-<timestamp>.json, prints markdown tables on stdout; progress and problems go to stderr.
"""
# The children run this file too (`drive`), so the part they need comes first and imports only what it uses; the
# harness's imports (and run_bench.py's helpers) are made only when this file is not a driver.
import hashlib
import importlib.util
import io
import json
import os
import sys
import tempfile
import time

PYPERFORMANCE_VERSION = "1.14.0"
# When set in a driver's environment, the driver writes pypaccel.stats() (in-process: every function pypaccel saw,
# including modules in which nothing was compiled, which `python -m pypaccel stats` cannot show) to this path.
STATS_ENV = "PYPERF_SURVEY_STATS"

# -- The drivers (child processes) ---------------------------------------------------------------------------------
#
# One function per benchmark, named b_NAME, registered with its default size N (sized for about 1 s of timed
# section under plain CPython on the project's 2-CPU VM). Each runs pyperformance's own benchmark code N times and
# returns (seconds of the timed section, result); the result's digest is compared between plain and pypaccel runs.
# A result of None means the benchmark gives nothing to compare; most of those check themselves and raise on a
# wrong answer, which fails the run.

DRIVERS = {}
_clock = time.perf_counter
_benchmarks_dir = None  # pyperformance's data-files/benchmarks, set by drive()


def driver(n):
    def register(function):
        DRIVERS[function.__name__[2:]] = (function, n)
        return function
    return register


def _load(directory):
    """Import bm_DIRECTORY/run_benchmark.py as a module (its directory first on sys.path, for its data and
    sibling modules)."""
    path = os.path.join(_benchmarks_dir, "bm_" + directory)
    sys.path.insert(0, path)
    spec = importlib.util.spec_from_file_location("bm_" + directory, os.path.join(path, "run_benchmark.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _loop(function, n, *args):
    """pyperf's bench_func: n calls of function(*args) timed together; (seconds, the last result)."""
    result = None
    start = _clock()
    for _ in range(n):
        result = function(*args)
    return _clock() - start, result


def _timed(function, *args):
    start = _clock()
    result = function(*args)
    return _clock() - start, result


def _temp_file(suffix):
    fd, path = tempfile.mkstemp(suffix=suffix, prefix="pyperf-survey-")
    os.close(fd)
    return path


def _read_and_remove(path):
    with open(path, "rb") as f:
        data = f.read()
    os.unlink(path)
    return data


@driver(32)
def b_richards(n):
    m = _load("richards")
    seconds, result = _loop(m.Richards().run, n, 1)
    return seconds, (result, m.taskWorkArea.holdCount, m.taskWorkArea.qpktCount)


@driver(26)
def b_richards_super(n):
    m = _load("richards_super")
    seconds, result = _loop(m.Richards().run, n, 1)
    return seconds, (result, m.taskWorkArea.holdCount, m.taskWorkArea.qpktCount)


@driver(10)
def b_go(n):
    m = _load("go")
    return _loop(m.versus_cpu, n)


@driver(16)
def b_chaos(n):
    m = _load("chaos")
    v = m.GVector
    splines = [
        m.Spline([v(1.597350, 3.304460, 0.0), v(1.575810, 4.123260, 0.0), v(1.313210, 5.288350, 0.0),
                  v(1.618900, 5.329910, 0.0), v(2.889940, 5.502700, 0.0), v(2.373060, 4.381830, 0.0),
                  v(1.662000, 4.360280, 0.0)], 3, [0, 0, 0, 1, 1, 1, 2, 2, 2]),
        m.Spline([v(2.804500, 4.017350, 0.0), v(2.550500, 3.525230, 0.0), v(1.979010, 2.620360, 0.0),
                  v(1.979010, 2.620360, 0.0)], 3, [0, 0, 0, 1, 1, 1]),
        m.Spline([v(2.001670, 4.011320, 0.0), v(2.335040, 3.312830, 0.0), v(2.366800, 3.233460, 0.0),
                  v(2.366800, 3.233460, 0.0)], 3, [0, 0, 0, 1, 1, 1]),
    ]
    game = m.Chaosgame(splines, m.DEFAULT_THICKNESS)
    path = _temp_file(".ppm")
    seconds, _ = _loop(game.create_image_chaos, n, m.DEFAULT_WIDTH, m.DEFAULT_HEIGHT, m.DEFAULT_ITERATIONS, path,
                       m.DEFAULT_RNG_SEED)
    return seconds, _read_and_remove(path)


@driver(400)
def b_deltablue(n):
    m = _load("deltablue")  # raises on a wrong answer
    seconds, _ = _loop(m.delta_blue, n, 100)
    return seconds, None


@driver(15)
def b_nqueens(n):
    m = _load("nqueens")
    seconds, _ = _loop(m.bench_n_queens, n, 8)
    return seconds, list(m.n_queens(8))


@driver(16)
def b_float(n):
    m = _load("float")
    return _loop(m.benchmark, n, m.POINTS)


@driver(5)
def b_raytrace(n):
    m = _load("raytrace")
    path = _temp_file(".ppm")
    seconds = m.bench_raytrace(n, m.DEFAULT_WIDTH, m.DEFAULT_HEIGHT, path)
    return seconds, _read_and_remove(path)


@driver(15)
def b_spectral_norm(n):
    m = _load("spectral_norm")
    seconds, _ = _timed(m.bench_spectral_norm, n)
    u = [1] * m.DEFAULT_N  # one loop of the benchmark again, for its vectors
    for _ in range(10):
        v = m.eval_AtA_times_u(u)
        u = m.eval_AtA_times_u(v)
    return seconds, (u, v)


@driver(225)
def b_hexiom(n):
    m = _load("hexiom")  # main() raises on a wrong answer
    seconds, _ = _timed(m.main, n, m.DEFAULT_LEVEL)
    return seconds, None


@driver(4)
def b_fannkuch(n):
    m = _load("fannkuch")
    return _loop(m.fannkuch, n, m.DEFAULT_ARG)


@driver(17)
def b_nbody(n):
    m = _load("nbody")
    seconds, _ = _timed(m.bench_nbody, n, m.DEFAULT_REFERENCE, m.DEFAULT_ITERATIONS)
    return seconds, (m.report_energy(), m.SYSTEM)


@driver(3)
def b_pyflate(n):
    m = _load("pyflate")  # raises on a wrong md5
    seconds, _ = _timed(m.bench_pyflake, n, os.path.join(_benchmarks_dir, "bm_pyflate", "data",
                                                          "interpreter.tar.bz2"))
    return seconds, None


@driver(120000)
def b_unpack_sequence(n):
    m = _load("unpack_sequence")
    seconds, _ = _timed(m.bench_all, n)
    return seconds, None


@driver(100)
def b_json_dumps(n):
    import json as json_module
    m = _load("json_dumps")
    data = [(getattr(m, case)[0], range(getattr(m, case)[1])) for case in m.CASES]
    seconds, _ = _loop(m.bench_json_dumps, n, data)
    return seconds, [json_module.dumps(getattr(m, case)[0]) for case in m.CASES]


def _pure_python_pickle():
    sys.modules["_pickle"] = None  # pickle falls back to its Python implementation
    sys.modules.pop("pickle", None)
    import pickle
    assert pickle.Pickler.__module__ == "pickle", pickle.Pickler
    return pickle


class _PickleOptions:
    protocol = None


@driver(250)
def b_pickle_pure_python(n):
    pickle = _pure_python_pickle()
    m = _load("pickle")
    options = _PickleOptions()
    options.protocol = pickle.HIGHEST_PROTOCOL
    seconds, _ = _timed(m.bench_pickle, n, pickle, options)
    return seconds, [pickle.dumps(x, options.protocol) for x in (m.DICT, m.TUPLE, m.DICT_GROUP)]


@driver(300)
def b_unpickle_pure_python(n):
    pickle = _pure_python_pickle()
    m = _load("pickle")
    options = _PickleOptions()
    options.protocol = pickle.HIGHEST_PROTOCOL
    seconds, _ = _timed(m.bench_unpickle, n, pickle, options)
    return seconds, [pickle.loads(pickle.dumps(x, options.protocol)) for x in (m.DICT, m.TUPLE, m.DICT_GROUP)]


@driver(10000)
def b_logging(n):
    import logging
    m = _load("logging")
    stream = io.StringIO()
    logger = logging.getLogger("benchlogger")
    logger.propagate = False
    logger.addHandler(logging.StreamHandler(stream=stream))
    logger.setLevel(logging.WARNING)
    seconds, outputs = 0.0, []
    for name in sorted(m.BENCHMARKS):  # silent, simple_output, formatted_output: n loops each
        part, _ = _timed(m.BENCHMARKS[name], n, logger, stream)
        seconds += part
        outputs.append(stream.getvalue())
    return seconds, outputs


@driver(20)
def b_generators(n):
    m = _load("generators")
    seconds, _ = _timed(m.bench_generators, n)
    return seconds, list(m.tree(range(1000)))


@driver(55)
def b_coroutines(n):
    m = _load("coroutines")
    seconds, _ = _timed(m.bench_coroutines, n)
    coroutine = m.fibonacci(20)
    try:
        while True:
            coroutine.send(None)
    except StopIteration as stop:
        return seconds, stop.value


@driver(1850)
def b_deepcopy(n):
    import copy
    m = _load("deepcopy")
    seconds = 0.0
    for function, loops in ((m.benchmark, n), (m.benchmark_reduce, 60 * n), (m.benchmark_memo, 6 * n)):
        part, _ = _timed(function, loops)
        seconds += part
    a = {"list": [1, 2, 3, 43], "t": (1, 2, 3), "str": "hello", "subdict": {"a": True}}
    return seconds, (copy.deepcopy(a), repr(copy.deepcopy(m.A("hello", [1, 2, 3], True))))


@driver(11)
def b_regex_compile(n):
    import re
    m = _load("regex_compile")
    regexes = m.capture_regexes()
    seconds, _ = _timed(m.bench_regex_compile, n, regexes)
    compiled = []
    for pattern, flags in regexes[:200]:
        re.purge()
        p = re.compile(pattern, flags)
        compiled.append((p.pattern, p.flags, p.groups, sorted(p.groupindex.items())))
    return seconds, compiled


def _scimark(name, args):
    m = _load("scimark")
    seconds, _ = _timed(m.BENCHMARKS[name][0], *args(m))
    return seconds, m


@driver(13)
def b_scimark_sor(n):
    seconds, m = _scimark("sor", lambda m: (n, 100, 10, m.Array2D))
    grid = m.Array2D(30, 30)
    m.Random(7).RandomMatrix(grid)
    m.SOR_execute(1.25, grid, 5, m.Array2D)
    return seconds, list(grid.data)


@driver(300)
def b_scimark_sparse(n):
    seconds, _ = _scimark("sparse_mat_mult", lambda m: (n, 1000, 50 * 1000))
    return seconds, None  # the benchmark multiplies zeros: nothing to compare


@driver(21)
def b_scimark_monte_carlo(n):
    seconds, m = _scimark("monte_carlo", lambda m: (n, 100 * 1000))
    return seconds, m.MonteCarlo(20000)


@driver(13)
def b_scimark_lu(n):
    from array import array
    seconds, m = _scimark("lu", lambda m: (n, 100))
    a = m.Random(7).RandomMatrix(m.ArrayList(30, 30))
    lu = m.ArrayList(30, 30)
    pivot = array("i", [0]) * 30
    m.LU(lu, a, pivot)
    return seconds, ([list(row) for row in lu], list(pivot))


@driver(5)
def b_scimark_fft(n):
    seconds, m = _scimark("fft", lambda m: (n, 1024, 50))
    x = m.Random(7).RandomVector(256)
    m.FFT_transform(256, x)
    return seconds, list(x)


@driver(560000)
def b_sqlite_synth(n):
    m = _load("sqlite_synth")  # asserts its results
    seconds, _ = _timed(m.bench_sqlite, n)
    return seconds, None


@driver(1)
def b_mdp(n):
    # pyperformance's bench_mdp without its own timer, to keep the result. One loop is about 3 s here, the
    # smallest unit of this benchmark.
    m = _load("mdp")

    def evaluate():
        return m.Battle().evaluate(0.192)
    return _loop(evaluate, n)


@driver(60000)
def b_comprehensions(n):
    m = _load("comprehensions")
    seconds, _ = _timed(m.bench_comprehensions, n)
    return seconds, repr(m.WidgetTray(1, m.make_some_widgets()).sorted_widgets)


@driver(13)
def b_meteor_contest(n):
    m = _load("meteor_contest")  # raises on wrong solutions
    board, cti, pieces = m.get_puzzle(m.WIDTH, m.HEIGHT)
    footprints = m.get_footprints(board, cti, pieces)
    se_nh = m.get_senh(board, cti)
    seconds, _ = _timed(m.bench_meteor_contest, n, board, pieces, m.SOLVE_ARG, footprints, se_nh)
    return seconds, None


@driver(7)
def b_pidigits(n):
    m = _load("pidigits")
    return _loop(m.calc_ndigits, n, m.DEFAULT_DIGITS)


def digest(result):
    """16 hex digits of sha1 over the result's repr (bytes and str as they are); "none" for no result."""
    if result is None:
        return "none"
    data = result if isinstance(result, (bytes, str)) else repr(result)
    if isinstance(data, str):
        data = data.encode("utf-8", "backslashreplace")
    return hashlib.sha1(data).hexdigest()[:16]


def drive(argv):
    """`drive BENCHMARKS_DIR NAME N`: run one benchmark, print `TIME seconds` and `CHECK digest`."""
    global _benchmarks_dir
    if len(argv) != 3 or argv[1] not in DRIVERS:
        sys.stderr.write("usage: pyperformance_survey.py drive BENCHMARKS_DIR NAME N\n")
        return 2
    _benchmarks_dir, name, n = argv[0], argv[1], int(argv[2])
    seconds, result = DRIVERS[name][0](n)
    sys.stdout.write(f"TIME {seconds:.6f}\nCHECK {digest(result)}\n")
    sys.stdout.flush()
    stats_path = os.environ.get(STATS_ENV)
    if stats_path and "pypaccel" in sys.modules:
        with open(stats_path, "w") as f:
            json.dump(sys.modules["pypaccel"].stats(), f, default=str)
    return 0


if __name__ == "__main__" and sys.argv[1:2] == ["drive"]:
    _status = drive(sys.argv[2:])
    if _status:
        sys.exit(_status)
else:
    import argparse
    import random
    import shlex
    import shutil
    import statistics
    import zipfile

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from run_bench import (BenchError, RESULTS_DIR, begin_run, build_fingerprint, cache_stats, git_info, log,
                           machine_info, preflight, run)

# -- The harness ---------------------------------------------------------------------------------------------------

SCRIPT = os.path.abspath(__file__)
# The 32 pure-Python benchmarks that ran under both plain CPython and pypaccel in the first survey.
DEFAULT_BENCHMARKS = list(DRIVERS)
FAST_BENCHMARKS = ["richards", "nbody", "go"]
VARIANTS = ("plain", "warm", "cold")
DEFAULT_ROUNDS = 3
MAX_FILL_RUNS = 3  # a warm run that still compiles (something learned by the previous run) counts as a fill run
TOP = 3            # fallbacks and exits per benchmark in the table (20 of each in the results file)
REASON_CHARS = 110


def fetch_pyperformance(python, scratch, timeout):
    """pip download the wheel into scratch and unzip it there; pyperformance's benchmarks directory."""
    download = os.path.join(scratch, "download")
    os.makedirs(download)
    # The caller's whole environment: pip may need its proxy or index settings.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    run([python, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--disable-pip-version-check",
         f"pyperformance=={PYPERFORMANCE_VERSION}", "-d", download], env, timeout,
        f"downloading pyperformance {PYPERFORMANCE_VERSION} with pip")
    wheels = [n for n in os.listdir(download) if n.endswith(".whl")]
    if len(wheels) != 1:
        raise BenchError(f"pip download left {os.listdir(download)} in {download}, expected one wheel")
    wheel = os.path.join(download, wheels[0])
    with open(wheel, "rb") as f:
        sha256 = hashlib.sha256(f.read()).hexdigest()
    unpacked = os.path.join(scratch, "pyperformance")
    with zipfile.ZipFile(wheel) as z:
        z.extractall(unpacked)
    benchmarks_dir = os.path.join(unpacked, "pyperformance", "data-files", "benchmarks")
    if not os.path.isdir(benchmarks_dir):
        raise BenchError(f"{wheels[0]} has no pyperformance/data-files/benchmarks")
    return benchmarks_dir, {"version": PYPERFORMANCE_VERSION, "wheel": wheels[0], "sha256": sha256}


def parse_output(out, what):
    fields = dict(line.split(" ", 1) for line in out.decode("utf-8", "replace").splitlines() if " " in line)
    try:
        return float(fields["TIME"]), fields["CHECK"].strip()
    except (KeyError, ValueError):
        raise BenchError(f"{what}: no TIME and CHECK lines in its output: {out[-300:]!r}") from None


def short_path(path, benchmarks_dir):
    if path.startswith(benchmarks_dir + os.sep):
        return os.path.relpath(path, benchmarks_dir).replace("/run_benchmark.py", "")
    marker = f"{os.sep}lib{os.sep}python3.11{os.sep}"
    return "stdlib:" + path.split(marker, 1)[1] if marker in path else path


def summarize_stats(stats, benchmarks_dir):
    """The benchmark's part of an in-process pypaccel.stats() (the driver and pypaccel itself left out): the
    functions left to the interpreter with a fallback, ranked by the calls they ran interpreted, and the exits by
    count, with the totals and refusals of the whole process."""
    fallbacks, exits = [], []
    for f in stats["functions"]:
        if f["file"] == SCRIPT or f"{os.sep}pypaccel{os.sep}" in f["file"]:
            continue
        where = f"{short_path(f['file'], benchmarks_dir)}:{f['qualname']}"
        if f["fallbacks"]:
            top = max(f["fallbacks"], key=lambda e: (e["calls"] or 0, e["count"]))
            fallbacks.append({"function": where, "state": f["state"], "calls": f["calls"],
                              "interpreted_calls": f["calls"] - f["native_calls"], "refusal": top["refusal"],
                              "reason": top["reason"], "line": top["line"], "fallbacks": len(f["fallbacks"]),
                              "all": f["fallbacks"]})
        for e in f["exits"]:
            exits.append({"function": where, "line": e["line"], "reason": e["reason"], "count": e["count"],
                          "native_calls": f["native_calls"]})
    fallbacks.sort(key=lambda e: (-e["interpreted_calls"], -e["calls"]))
    exits.sort(key=lambda e: -e["count"])
    return {"totals": stats["totals"], "refusals": stats["refusals"], "notes": stats.get("notes", []),
            "fallbacks": fallbacks[:20], "exits": exits[:20]}


class Benchmark:
    """One benchmark's commands, its untimed runs' facts and its timed values."""

    def __init__(self, name, n, python, env, benchmarks_dir, scratch):
        self.name, self.n = name, n
        self.drive = [SCRIPT, "drive", benchmarks_dir, name, str(n)]
        self.plain_cmd = [python, *self.drive]
        self.pypaccel_cmd = [python, "-m", "pypaccel", "run", *self.drive]
        self.scratch = scratch
        self.warm_dir = os.path.join(scratch, "warm", name)
        self.cold_parent = os.path.join(scratch, "cold")
        self.stats_dir = os.path.join(scratch, "stats")
        self.env, self.warm_env = env, dict(env, PYPACCEL_CACHE_DIR=self.warm_dir)
        self.values = {v: {"timed_s": [], "wall_s": []} for v in VARIANTS}
        self.digests = {v: [] for v in VARIANTS}
        self.untimed = []  # fill and check runs: variant, seconds, digest, stats totals
        self.fill_stats = self.warm_stats = None
        self.fill_runs = 1  # untimed runs before the warm cache stopped changing
        self.error = None
        self.stderr = {}

    def command(self, variant):
        return self.plain_cmd if variant == "plain" else self.pypaccel_cmd

    def run_once(self, variant, env, timeout, what):
        out, err, wall = run(self.command(variant), env, timeout, f"{self.name} {what}", cwd=self.scratch)
        timed, check = parse_output(out, f"{self.name} {what}")
        if err.strip() and variant not in self.stderr:
            self.stderr[variant] = err.decode("utf-8", "replace").strip()[-500:]
        return timed, wall, check

    def stats_run(self, tag, timeout, benchmarks_dir):
        """An untimed pypaccel run into the warm cache that dumps its in-process stats."""
        path = os.path.join(self.stats_dir, f"{self.name}.{tag}.json")
        timed, wall, check = self.run_once("warm", dict(self.warm_env, **{STATS_ENV: path}), timeout, tag)
        with open(path) as f:
            stats = json.load(f)
        self.untimed.append({"run": tag, "timed_s": timed, "wall_s": wall, "digest": check,
                             "totals": stats["totals"]})
        return timed, wall, check, summarize_stats(stats, benchmarks_dir)

    def prepare(self, timeout, benchmarks_dir, warnings):
        """Fill the warm cache (a run with it empty), then warm runs until one compiles nothing (up to
        MAX_FILL_RUNS): that run's stats are the warm stats."""
        os.makedirs(self.warm_dir)
        timed, wall, check, self.fill_stats = self.stats_run("fill", timeout, benchmarks_dir)
        log(f"{self.name}: fill run {timed:.3f} s timed, {wall:.3f} s wall, compiled "
            f"{self.fill_stats['totals']['compiled']}, digest {check}")
        for attempt in range(1, MAX_FILL_RUNS + 1):
            timed, wall, check, self.warm_stats = self.stats_run(f"warm{attempt}", timeout, benchmarks_dir)
            totals = self.warm_stats["totals"]
            if totals["compiled"] == 0:
                break
            # Usual: the second run compiles what the first one learned (a widening, a type seen after an exit).
            if attempt < MAX_FILL_RUNS:
                self.fill_runs += 1
                log(f"  warm run {attempt} still compiled {totals['compiled']}: it counts as fill run "
                    f"{self.fill_runs}")
            else:
                warnings.append(f"{self.name}: warm run {attempt} still compiled {totals['compiled']}: timed warm "
                                f"runs may compile too")
                log("  warning: " + warnings[-1])
        if self.fill_stats["totals"]["compiled"] > 0 and self.warm_stats["totals"]["loaded"] == 0:
            warnings.append(f"{self.name}: the warm run loaded nothing from the cache ({self.warm_stats['totals']})")
            log("  warning: " + warnings[-1])
        log(f"  warm run {timed:.3f} s timed, {wall:.3f} s wall, loaded {self.warm_stats['totals']['loaded']}, "
            f"digest {check}")

    def timed_run(self, variant, timeout):
        if variant == "plain":
            timed, wall, check = self.run_once(variant, self.env, timeout, variant)
        elif variant == "warm":
            timed, wall, check = self.run_once(variant, self.warm_env, timeout, variant)
        else:
            cache = tempfile.mkdtemp(prefix=self.name + "-", dir=self.cold_parent)  # made and removed untimed
            try:
                timed, wall, check = self.run_once(variant, dict(self.env, PYPACCEL_CACHE_DIR=cache), timeout,
                                                   variant)
            finally:
                shutil.rmtree(cache, ignore_errors=True)
        self.values[variant]["timed_s"].append(timed)
        self.values[variant]["wall_s"].append(wall)
        self.digests[variant].append(check)

    def result_check(self):
        """"same", "n/a" (nothing to compare) or "DIFFERENT" over every run's digest, plain's first as reference."""
        plain = self.digests["plain"]
        every = plain + self.digests["warm"] + self.digests["cold"] + [u["digest"] for u in self.untimed]
        if not plain:
            return "n/a"
        if any(d != plain[0] for d in every):
            return "DIFFERENT"
        return "n/a" if plain[0] == "none" else "same"


def ratio(a, b):
    return a / b if a is not None and b else None


def median(values):
    return statistics.median(values) if values else None


def geomean(values):
    values = [v for v in values if v]
    return statistics.geometric_mean(values) if values else None


def timed_rounds(benchmarks, rounds, timeout):
    jobs = [(b, v) for b in benchmarks for v in VARIANTS]
    start = time.monotonic()
    for index in range(rounds):
        order = list(jobs)
        random.Random(index).shuffle(order)
        for bench, variant in order:
            if bench.error:
                continue
            try:
                bench.timed_run(variant, timeout)
            except BenchError as exc:
                bench.error = f"round {index + 1}, {variant}: {exc}"
                log(f"FAILED: {bench.error}")
        elapsed = time.monotonic() - start
        log(f"round {index + 1}/{rounds} done, {elapsed:.0f} s elapsed, about "
            f"{elapsed / (index + 1) * (rounds - index - 1):.0f} s to go")


def analyse(bench):
    entry = {"n": bench.n, "error": bench.error,
             "commands": {"plain": shlex.join(bench.plain_cmd), "warm": shlex.join(bench.pypaccel_cmd)
                          + " (PYPACCEL_CACHE_DIR: filled by the untimed runs)",
                          "cold": shlex.join(bench.pypaccel_cmd) + " (PYPACCEL_CACHE_DIR: new and empty each run)"},
             "values": bench.values, "digests": bench.digests, "untimed_runs": bench.untimed,
             "result": bench.result_check(), "stderr": bench.stderr, "fill_runs": bench.fill_runs,
             "fill_stats": bench.fill_stats, "warm_stats": bench.warm_stats}
    for kind in ("timed_s", "wall_s"):
        med = {v: median(bench.values[v][kind]) for v in VARIANTS}
        entry["median_" + kind] = med
        entry["plain/warm " + kind[:-2]] = ratio(med["plain"], med["warm"])
        entry["plain/cold " + kind[:-2]] = ratio(med["plain"], med["cold"])
    return entry


# -- Output --------------------------------------------------------------------------------------------------------

def fmt_s(x):
    return "n/a" if x is None else f"{x:.3f}"


def fmt_x(x):
    return "n/a" if x is None else f"{x:.2f}x"


def fmt_count(n):
    return f"{n / 1e6:.1f}M" if n >= 1e6 else f"{n / 1e3:.0f}k" if n >= 1e4 else str(n)


def cell(text):
    text = (text or "").replace("|", "/").replace("\n", " ")
    return text if len(text) <= REASON_CHARS else text[:REASON_CHARS - 3] + "..."


def describe_fallbacks(summary):
    if not summary or not summary["fallbacks"]:
        return "none"
    return "; ".join(f"`{e['function']}` [{e['refusal']}] {cell(e['reason'])} ({fmt_count(e['interpreted_calls'])}"
                     f" calls interpreted)" for e in summary["fallbacks"][:TOP])


def describe_exits(summary):
    if not summary or not summary["exits"]:
        return "none"
    return "; ".join(f"`{e['function']}:{e['line']}` {cell(e['reason'])} (x{fmt_count(e['count'])})"
                     for e in summary["exits"][:TOP])


def markdown(results):
    m = results["machine"]
    lines = [f"pyperformance {results['pyperformance']['version']} survey, {results['date']}, "
             f"{results['rounds']} round{'s' if results['rounds'] != 1 else ''} (medians), {m['nproc']} CPUs "
             f"({m['cpu_model']}), Python {results['python']['version'].split()[0]}, pypaccel "
             f"{results['pypaccel']['version']} (commit {(results['git']['commit'] or 'unknown')[:10]})", ""]
    benches = results["benchmarks"]
    for kind, title in (("timed", "Timed section (in-process), seconds"), ("wall", "Whole process (wall), seconds")):
        lines += [f"{title}:", "",
                  "| benchmark | plain s | warm s | plain/warm | cold s | plain/cold |"
                  + (" n | result |" if kind == "timed" else ""),
                  "|---|---:|---:|---:|---:|---:|" + ("---:|---|" if kind == "timed" else "")]
        for name, b in benches.items():
            med = b[f"median_{kind}_s"]
            lines.append(f"| {name} | {fmt_s(med['plain'])} | {fmt_s(med['warm'])} | {fmt_x(b['plain/warm ' + kind])} "
                         f"| {fmt_s(med['cold'])} | {fmt_x(b['plain/cold ' + kind])} |"
                         + (f" {b['n']} | {b['result'] if not b['error'] else 'FAILED'} |" if kind == "timed" else ""))
        g = results["geometric_means"]
        lines += [f"| geometric mean ({g['benchmarks']}) | | | {fmt_x(g['plain/warm ' + kind])} | | "
                  f"{fmt_x(g['plain/cold ' + kind])} |" + (" | |" if kind == "timed" else ""), ""]
    lines.append("result: digests of the benchmark's result in every run (timed and untimed) equal plain python's "
                 "(`same`), differ (`DIFFERENT`), or the benchmark gives nothing to compare (`n/a`; most of those "
                 "raise on a wrong answer, which fails the run).")
    slow = results["below_1x_warm"]
    lines += ["", f"Below 1.0x warm (timed section): {len(slow)}. Top {TOP} fallbacks (functions left to the "
              "interpreter, by the calls they ran interpreted) and exits, from `pypaccel.stats()` in the process: "
              "the untimed warm run, and the run that filled the cache (whose exits decided the warm runs' "
              "`exits-on-most-entries`):", ""]
    if slow:
        lines += ["| benchmark | plain/warm timed | plain/warm wall | warm run: top fallbacks | warm run: top exits "
                  "| fill run: top exits |", "|---|---:|---:|---|---|---|"]
        for name in slow:
            b = benches[name]
            lines.append(f"| {name} | {fmt_x(b['plain/warm timed'])} | {fmt_x(b['plain/warm wall'])} "
                         f"| {describe_fallbacks(b['warm_stats'])} | {describe_exits(b['warm_stats'])} "
                         f"| {describe_exits(b['fill_stats'])} |")
    mismatches = [n for n, b in benches.items() if b["result"] == "DIFFERENT"]
    if mismatches:
        lines += ["", "Result mismatches (digests by variant, untimed runs last):"]
        for name in mismatches:
            b = benches[name]
            lines.append(f"- {name}: " + "; ".join(f"{v} {', '.join(b['digests'][v])}" for v in VARIANTS)
                         + "; untimed " + ", ".join(f"{u['run']} {u['digest']}" for u in b["untimed_runs"]))
    failed = [n for n, b in benches.items() if b["error"]]
    if failed:
        lines += ["", "Failed:"] + [f"- {n}: {cell(benches[n]['error'].splitlines()[0])}" for n in failed]
    if results["warnings"]:
        lines += ["", "Warnings:"] + [f"- {w}" for w in results["warnings"]]
    return "\n".join(lines) + "\n"


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="pyperformance_survey.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--fast", action="store_true",
                        help=f"smoke test: {', '.join(FAST_BENCHMARKS)} (unless --benchmarks), 1 round "
                             f"(unless --rounds)")
    parser.add_argument("--benchmarks", nargs="+", metavar="NAME", default=None,
                        help="benchmarks to run, comma or space separated (default: all "
                             f"{len(DEFAULT_BENCHMARKS)}: {','.join(DEFAULT_BENCHMARKS)})")
    parser.add_argument("--rounds", type=int, default=None,
                        help=f"timed runs per benchmark and variant, interleaved (default {DEFAULT_ROUNDS}, 1 with "
                             f"--fast)")
    parser.add_argument("--python", default=sys.executable,
                        help="interpreter for every child (default: the one running this script; a wrapper such "
                             "as a pyenv shim is replaced by the binary it runs)")
    parser.add_argument("--timeout", type=float, default=600.0,
                        help="seconds any one child may take before it is killed (default 600)")
    args = parser.parse_args(argv)
    if args.benchmarks:
        names = [n for item in args.benchmarks for n in item.split(",") if n]
    else:
        names = FAST_BENCHMARKS if args.fast else DEFAULT_BENCHMARKS
    unknown = [n for n in names if n not in DRIVERS]
    if unknown or not names:
        parser.error(f"unknown benchmark(s) {unknown}; choose from {', '.join(DRIVERS)}")
    args.benchmarks = list(dict.fromkeys(names))
    args.rounds = args.rounds if args.rounds is not None else (1 if args.fast else DEFAULT_ROUNDS)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    invocation, now, stamp, env = begin_run(SCRIPT, argv)
    warnings = []
    scratch = tempfile.mkdtemp(prefix="pypaccel-pyperf-")
    try:
        try:
            benchmarks_dir, pyperformance = fetch_pyperformance(args.python, scratch, args.timeout)
        except (BenchError, OSError, zipfile.BadZipFile) as exc:
            log(f"pyperformance_survey: could not fetch pyperformance {PYPERFORMANCE_VERSION} (needs PyPI through "
                f"pip): {exc}")
            return 2
        log(f"pyperformance {pyperformance['wheel']} unpacked in {benchmarks_dir}")
        try:
            info = preflight(args.python, env, args.timeout)
        except BenchError as exc:
            raise BenchError(f"{exc}\n  (the benchmarks need pyperf and pypaccel in that interpreter)") from None
        info["pypaccel"]["fingerprint"] = build_fingerprint(info["pypaccel"])
        python = info["executable"]  # the real binary, even if --python named a wrapper such as a pyenv shim
        log(f"interpreter: {python} ({info['version'].split()[0]}), pyperf {info['pyperf']}, "
            f"pypaccel {info['pypaccel']['version']} from {info['pypaccel']['package']}")
        machine = machine_info()
        if machine["loadavg_start"][0] > 0.5 * (machine["nproc"] or 1):
            warnings.append(f"machine busy at start: load average {machine['loadavg_start'][0]:.2f} "
                            f"on {machine['nproc']} CPUs; numbers are noisier than usual")
            log("warning: " + warnings[-1])
        for sub in ("warm", "cold", "stats"):
            os.makedirs(os.path.join(scratch, sub))

        benches = []
        for name in args.benchmarks:
            bench = Benchmark(name, DRIVERS[name][1], python, env, benchmarks_dir, scratch)
            benches.append(bench)
            try:
                bench.prepare(args.timeout, benchmarks_dir, warnings)
            except (BenchError, OSError, ValueError, KeyError) as exc:
                bench.error = f"untimed runs: {exc}"
                log(f"FAILED: {name}: {bench.error}")
        log(f"timing: {args.rounds} round(s) of {sum(not b.error for b in benches)} benchmarks x {len(VARIANTS)} "
            f"variants")
        timed_rounds(benches, args.rounds, args.timeout)

        for bench in benches:  # the warm caches, after timing: the latest run compiled nothing
            if bench.error or not os.path.isdir(bench.warm_dir):
                continue
            try:
                totals = cache_stats(python, env, bench.warm_dir, args.timeout)["totals"]
                if totals["compiled"] != 0:
                    warnings.append(f"{bench.name}: `pypaccel stats` on the warm cache after timing reports "
                                    f"compiled {totals['compiled']} in the latest run: timed warm runs compiled")
            except (BenchError, KeyError, ValueError) as exc:
                warnings.append(f"{bench.name}: could not read the warm cache's stats after timing: {exc}")
        machine["loadavg_end"] = list(os.getloadavg())
        if build_fingerprint(info["pypaccel"]) != info["pypaccel"]["fingerprint"]:
            warnings.append(f"pypaccel (package in {info['pypaccel']['package']} or its extension) changed during "
                            f"the survey: the results may mix builds")

        entries = {b.name: analyse(b) for b in benches}
        complete = [e for e in entries.values() if not e["error"]]
        results = {
            "schema": 1,
            "date": now.isoformat(timespec="seconds"),
            "command": invocation,
            "rounds": args.rounds,
            "python": {k: info[k] for k in ("executable", "version")},
            "pyperf": info["pyperf"],
            "pypaccel": info["pypaccel"],
            "pyperformance": pyperformance,
            "git": git_info(),
            "machine": machine,
            "child_environment": {k: v for k, v in env.items() if k != "PATH"},
            "not_passed_to_children": ["PYTHONDONTWRITEBYTECODE"],
            "benchmarks": entries,
            "geometric_means": {"benchmarks": len(complete),
                                **{f"{r} {k}": geomean([e[f"{r} {k}"] for e in complete])
                                   for r in ("plain/warm", "plain/cold") for k in ("timed", "wall")}},
            "below_1x_warm": [n for n, e in entries.items()
                              if not e["error"] and e["plain/warm timed"] is not None and e["plain/warm timed"] < 1.0],
            "warnings": warnings,
        }
        results["checks_passed"] = all(not e["error"] and e["result"] != "DIFFERENT" for e in entries.values())
        os.makedirs(RESULTS_DIR, exist_ok=True)
        out_path = os.path.join(RESULTS_DIR, f"pyperf-{stamp}.json")
        with open(out_path, "w") as f:
            json.dump(results, f, indent=2)
            f.write("\n")
        sys.stdout.write(markdown(results))
        log(f"results: {os.path.relpath(out_path, os.getcwd())}")
        if not results["checks_passed"]:
            log("FAILED: a benchmark failed or its result differed from plain python's (see the tables)")
            return 1
        return 0
    except BenchError as exc:
        log(f"pyperformance_survey: FAILED: {exc}")
        return 1
    except KeyboardInterrupt:
        log("pyperformance_survey: interrupted")
        return 130
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__" and sys.argv[1:2] != ["drive"]:
    sys.exit(main())
