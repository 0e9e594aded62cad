#!/usr/bin/env python3
"""What pypaccel's eval-frame hook costs code it leaves to the interpreter, whole process (see bench/README.md).

usage: python bench/hook_cost.py [--runs N] [--fast] [--python PATH]

Programs (nothing in them is compiled: PYPACCEL_THRESHOLD=1000000000, they have no loop outside generators, and
generators never are; what `pypaccel run` compiles of the standard library's start-up code, the functions with a
loop, is stored by the untimed check run and loaded by the timed ones, as in any warm process):
  fib      bench/kernels/fib.py 30       recursive calls, each one a frame through the hook
  genpipe  bench/kernels/genpipe.py      three chained generators, each resumption a frame through the hook
Variants, one interpreter binary, one environment:
  plain        PY PROGRAM
  passthrough  PY bench/_passthrough.py PROGRAM      a PEP 523 hook that only calls _PyEval_EvalFrameDefault
  pypaccel     PY -m pypaccel run PROGRAM
N rounds, each one pyperf-timed process per variant in a shuffled order; medians and ratios. Before timing, every
variant's output is compared with plain's, and nothing of the program may have been compiled or loaded. The bar
(issue 15): pypaccel at most 1.35x of plain on fib(30), by median. Writes bench/results/hook-<UTC timestamp>.json
(every value, the commands, machine, interpreter, commit). Exit status 0 when every check passed; missing the bar
does not change it (read it from the table).
"""
import argparse
import datetime
import json
import os
import random
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run_bench import (BENCH_DIR, RESULTS_DIR, BenchError, child_environment, git_info, log,  # noqa: E402
                       machine_info, preflight, pyperf_once, run, summarize)

PROGRAMS = {"fib": ["fib.py", "30"], "genpipe": ["genpipe.py", "3000000"]}
VARIANTS = ("plain", "passthrough", "pypaccel")
BAR = {"fib": 1.35}
NOTHING_COMPILED = "1000000000"

CHECK_NOTHING_COMPILED = r"""
import runpy, sys, json, pypaccel
pypaccel.enable()
sys.argv = sys.argv[1:]
try:
    runpy.run_path(sys.argv[0], run_name="__main__")
finally:
    mine = [f for f in pypaccel.stats()["functions"] if f["file"] == sys.argv[0] and (f["compiled"] or f["loaded"])]
    sys.stderr.write("NATIVE " + json.dumps(mine) + "\n")
"""


def commands(python, program):
    path = [os.path.join(BENCH_DIR, "kernels", program[0]), *program[1:]]
    return {"plain": [python, *path],
            "passthrough": [python, os.path.join(BENCH_DIR, "_passthrough.py"), *path],
            "pypaccel": [python, "-m", "pypaccel", "run", *path]}


def check(python, env, name, cmds):
    expected, _, _ = run(cmds["plain"], env, 600, f"{name} plain")
    for variant in VARIANTS[1:]:
        out, _, _ = run(cmds[variant], env, 600, f"{name} {variant}")
        if out != expected:
            raise BenchError(f"{name} {variant}: printed {out!r}, plain printed {expected!r}")
    path = cmds["plain"][1:]
    _, err, _ = run([python, "-c", CHECK_NOTHING_COMPILED, *path], env, 600, f"{name}: what pypaccel compiled")
    native = json.loads(err.decode().split("NATIVE ", 1)[1])
    if native:
        raise BenchError(f"{name}: pypaccel compiled or loaded the program's code ({native}); this benchmark needs none")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--fast", action="store_true", help="3 runs")
    ap.add_argument("--python", default=sys.executable)
    args = ap.parse_args(argv)
    runs = 3 if args.fast else args.runs
    env = child_environment()
    env["PYPACCEL_THRESHOLD"] = NOTHING_COMPILED
    info = preflight(args.python, env, 120)
    python = info["executable"]
    scratch = tempfile.mkdtemp(prefix="hook-cost-")
    env["PYPACCEL_CACHE_DIR"] = os.path.join(scratch, "cache")
    jobs = []
    for name, program in PROGRAMS.items():
        cmds = commands(python, program)
        check(python, env, name, cmds)
        jobs += [(name, variant, cmds[variant]) for variant in VARIANTS]
    for index in range(runs):
        order = list(jobs)
        random.Random(index).shuffle(order)
        for name, variant, cmd in order:
            pyperf_once(python, f"{name}-{variant}", cmd, env, os.path.join(scratch, f"{name}-{variant}.json"), 600)
        log(f"round {index + 1}/{runs} done")
    results = {"runs": runs, "python": info, "machine": machine_info(), "git": git_info(), "programs": {}}
    print("| program | plain (s) | pass-through (s) | pypaccel (s) | pass-through / plain | pypaccel / plain "
          "| pypaccel / pass-through | bar |")
    print("|---|---|---|---|---|---|---|---|")
    for name in PROGRAMS:
        values = {v: summarize(os.path.join(scratch, f"{name}-{v}.json")) for v in VARIANTS}
        med = {v: values[v]["median_s"] for v in VARIANTS}
        ours = med["pypaccel"] / med["plain"]
        bar = BAR.get(name)
        verdict = "" if bar is None else (f"<= {bar}x: " + ("met" if ours <= bar else "MISSED"))
        print(f"| {name} | {med['plain']:.3f} | {med['passthrough']:.3f} | {med['pypaccel']:.3f} "
              f"| {med['passthrough'] / med['plain']:.2f}x | {ours:.2f}x "
              f"| {med['pypaccel'] / med['passthrough']:.2f}x | {verdict} |")
        results["programs"][name] = {"commands": commands(python, PROGRAMS[name]), "values": values, "bar": bar}
    print(f"\n{runs} runs per variant, medians of whole-process wall time (pyperf), {python}")
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    os.makedirs(RESULTS_DIR, exist_ok=True)
    with open(os.path.join(RESULTS_DIR, f"hook-{stamp}.json"), "w") as f:
        json.dump(results, f, indent=2)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as failure:
        log(f"hook_cost: {failure}")
        sys.exit(1)
