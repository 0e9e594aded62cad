# `python -m pypaccel bisect [options] -- CMD...`: name the function whose native code changes what CMD does.
# CMD runs once with pypaccel off (the reference) and once as is, listing every function that ran natively
# (PYPACCEL_NATIVE_LOG, written at exit); then delta debugging over that list, with PYPACCEL_EXCLUDE, finds a
# smallest set that changes the outcome when it alone is native. "Alone native" (exclude everything else)
# rather than "exclude this half": a failure that needs two functions is then still found, and the final set is
# exactly what ran natively in the run that failed. Never imports the extension: CMD does.
import contextlib
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile

FOUND, NOT_ISOLATED, USAGE = 0, 1, 2
NO_LOG_HINT = ("either CMD does not turn pypaccel on (run it through `python -m pypaccel run`, or call"
               " pypaccel.enable()), or it exits without running Python's exit handlers (os._exit, a fatal signal,"
               " a timeout), which is when the list is written")


def _say(message):
    sys.stderr.write(f"pypaccel bisect: {message}\n")
    sys.stderr.flush()


def _key_sort(key):
    file, line, qualname = key.rsplit(":", 2)  # FILE may contain ':'; a qualname does not
    return file, int(line) if line.isdigit() else 0, qualname


def _display(key):
    file, line, qualname = key.rsplit(":", 2)
    return f"{file}:{line} {qualname}"


class Run:
    """The outcome of one run of CMD, and the functions that ran natively in it."""

    def __init__(self, status, stdout, natives, logged, compare):
        self.status, self.stdout, self.natives, self.logged = status, stdout, natives, logged
        # A hang is its own outcome whatever is compared: its partial output means nothing.
        self.key = (status,) if status == "timeout" else {
            "status": (status,), "stdout": (stdout,), "both": (status, stdout)}[compare]

    def describe(self):
        if self.status == "timeout":
            return "timeout"
        text = self.stdout.decode("utf-8", "replace")
        shown = repr(text if len(text) <= 60 else text[:57] + "...")
        return f"{self.status}, stdout {shown}" + (f" ({len(self.stdout)} bytes)" if len(text) > 60 else "")


class Runner:
    """Runs CMD in an environment of ours; each run's files (exclude list, native log, cache) go in `workdir`."""

    def __init__(self, cmd, args, workdir):
        self.cmd, self.args, self.workdir, self.count = cmd, args, workdir, 0
        self.env = dict(os.environ)
        self.env.pop("PYPACCEL_DISABLE", None)  # the runs that must use pypaccel must not inherit the kill switch
        # What the user already keeps interpreted (a known workaround, say) stays so in every run.
        self.user_excluded = _read_lines(self.env.pop("PYPACCEL_EXCLUDE", ""))

    def run(self, *, disable=False, excluded=None, extra_env=None):
        self.count += 1
        stem = os.path.join(self.workdir, f"run{self.count:03d}")
        env = dict(self.env, **(extra_env or {}))
        if disable:
            env["PYPACCEL_DISABLE"] = "1"
        log = stem + "-native.log"
        env["PYPACCEL_NATIVE_LOG"] = log
        if excluded is not None or self.user_excluded:
            env["PYPACCEL_EXCLUDE"] = write_exclude(stem + "-exclude.txt", set(excluded or ()) | self.user_excluded)
        cache = None
        if not self.args.keep_cache:
            # Code compiled by an earlier run, loaded from the cache, would run natively whatever we exclude now.
            cache = env["PYPACCEL_CACHE_DIR"] = stem + "-cache"
        status, stdout = self._execute(env)
        logged = os.path.exists(log)
        natives = _read_lines(log) | (_compiled_in(cache) if cache else set())
        return Run(status, stdout, natives, logged, self.args.compare)

    def _execute(self, env):
        # Its own session, so that a timeout (or our Ctrl-C) ends CMD together with every process it started.
        proc = subprocess.Popen(self.cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            stdout, _ = proc.communicate(timeout=self.args.timeout)
        except subprocess.TimeoutExpired:
            return "timeout", b""
        finally:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.communicate()
        if proc.returncode < 0:
            try:
                return f"killed by {signal.Signals(-proc.returncode).name}", stdout
            except ValueError:
                return f"killed by signal {-proc.returncode}", stdout
        return f"exit {proc.returncode}", stdout


def _read_lines(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return {line.rstrip("\n") for line in f if line.strip() and not line.startswith("#")}
    except OSError:
        return set()


def _compiled_in(cache_dir):
    # The log is written at exit, so a run that crashed lists nothing; but its (fresh) cache databases got each
    # specialization as it was compiled. Keyed by the database's module path, which is the code's co_filename for
    # code imported from files; code without a file (frozen modules) has no database and is missed.
    if not os.path.isdir(cache_dir):
        return set()
    from . import _stats_report
    report = _stats_report.collect([cache_dir], warn=lambda message: None)
    return {f"{module['module_path']}:{f['firstlineno']}:{f['qualname']}"
            for module in report["modules"] if module["module_path"] for f in module["functions"]
            if f["specializations"]}


def write_exclude(path, keys):
    with open(path, "w", encoding="utf-8") as f:
        f.write("# PYPACCEL_EXCLUDE file written by `python -m pypaccel bisect`: these functions stay interpreted\n")
        f.writelines(key + "\n" for key in sorted(keys, key=_key_sort))
    return path


class Search:
    """fails(native): does CMD's outcome differ from the reference when only `native` (of the candidates) runs
    natively? Runs are remembered, so the search never repeats one."""

    def __init__(self, runner, candidates, reference):
        self.runner, self.candidates, self.reference = runner, frozenset(candidates), reference
        self.others = set()  # functions outside the candidates seen running natively: excluded from then on
        self.memo = {}

    def fails(self, native, again=False):
        native = frozenset(native)
        if native in self.memo and not again:
            return self.memo[native]
        for _ in range(5):
            excluded = (self.candidates - native) | self.others
            run = self.runner.run(excluded=excluded)
            # Keeping a caller interpreted can make code native that was not before (a function compiled after the
            # point where the first run failed): exclude it too and run again, so the tested set is all that ran.
            new = run.natives - native - excluded
            if not new:
                break
            _say(f"  run {self.runner.count}: {len(new)} more function(s) ran natively; excluding them, again")
            self.others |= new
        fails = run.key != self.reference
        _say(f"run {self.runner.count}: {len(native)} of {len(self.candidates)} candidates native{' again' * again}: "
             f"{run.describe()} -> {'differs' if fails else 'as the reference'}")
        self.memo[native] = fails
        return fails


def minimize(items, fails, background=()):
    """A minimal sublist M of `items` (dropping any element of M makes fails() false) with fails(background + M).

    Assumes fails(background + items) and not fails(background), and that a superset of a failing set fails.
    One culprit costs a binary search; k culprits about k of them (QuickXplain's halving, not ddmin's finer and
    finer chunks, which takes several times more runs as soon as two functions are needed together)."""
    if len(items) == 1:
        return items
    first, second = items[:len(items) // 2], items[len(items) // 2:]
    if fails(background + first):
        return minimize(first, fails, background)
    if fails(background + second):
        return minimize(second, fails, background)
    # Each half needs something of the other: what `first` must add to all of `second`, then what `second` must
    # add to that.
    need_first = minimize(first, fails, background + second)
    return need_first + minimize(second, fails, background + need_first)


def _parser():
    import argparse
    parser = argparse.ArgumentParser(
        prog="python -m pypaccel bisect", usage="%(prog)s [-h] [options] -- CMD...",
        description="Find the function whose native code makes CMD behave differently: run CMD with pypaccel off"
                    " and as is, then keep more and more of the functions that ran natively interpreted"
                    " (PYPACCEL_EXCLUDE) until one function, or the fewest that must be native together, remains."
                    " CMD must turn pypaccel on itself (`python -m pypaccel run script.py`, or a program that calls"
                    " pypaccel.enable()).",
        epilog="exit status: 0 culprit found, 1 could not isolate one, 2 usage error or no difference to find")
    parser.add_argument("--compare", choices=("status", "stdout", "both"), default="both",
                        help="what makes two outcomes differ: exit status, standard output or both (default)")
    parser.add_argument("--timeout", type=float, metavar="S", help="seconds per run; a run that takes longer is"
                        " killed and counts as the outcome 'timeout' (default: no limit)")
    parser.add_argument("--keep", metavar="DIR", help="keep every run's exclude list and native log in DIR")
    parser.add_argument("--keep-cache", action="store_true", help="use the usual pypaccel cache instead of a fresh"
                        " empty one per run (faster, but code compiled before may hide or cause the difference)")
    parser.add_argument("--opt0-check", action="store_true", help="first run CMD with PYPACCEL_OPT=0 and say whether"
                        " the difference persists without LLVM's optimization passes")
    parser.add_argument("command", nargs="...", metavar="CMD", help="the command, after --")
    return parser


def main(argv=None):
    parser = _parser()
    args = parser.parse_args(argv)
    cmd = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not cmd:
        parser.error("no command given: python -m pypaccel bisect [options] -- CMD...")
    if args.timeout is not None and args.timeout <= 0:
        parser.error("--timeout must be positive")
    if args.keep:
        os.makedirs(args.keep, exist_ok=True)
    # Absolute: CMD may change directory before pypaccel reads the files we name.
    workdir = os.path.abspath(args.keep or tempfile.mkdtemp(prefix="pypaccel-bisect-"))
    try:
        return _bisect(Runner(cmd, args, workdir), cmd, args)
    except (FileNotFoundError, PermissionError) as exc:
        _say(f"cannot run {cmd[0]!r}: {exc.strerror}")
        return USAGE
    except KeyboardInterrupt:
        _say("interrupted")
        return 130
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


def _bisect(runner, cmd, args):
    reference = runner.run(disable=True)
    _say(f"reference (PYPACCEL_DISABLE=1): {reference.describe()}")
    first = runner.run()
    _say(f"with pypaccel: {first.describe()}, {len(first.natives)} function(s) ran natively")
    if first.natives and not first.logged:
        _say("  (CMD wrote no list of them at exit: these are what its cache databases recorded as compiled)")
    if first.key == reference.key:
        print("the command gives the same outcome with and without pypaccel")
        return USAGE
    if not first.natives:
        if first.logged:
            _say("no function ran natively (pypaccel was on, but nothing got hot enough to compile?)")
        else:
            _say(f"no process of CMD wrote the list of functions that ran natively: {NO_LOG_HINT}")
        return USAGE
    if args.opt0_check:
        opt0 = runner.run(extra_env={"PYPACCEL_OPT": "0"})
        persists = opt0.key != reference.key
        _say(f"with PYPACCEL_OPT=0: {opt0.describe()} -> " + (
            "still differs: not (only) LLVM's optimization passes" if persists else
            "as the reference: the difference needs LLVM's optimizations (or CMD sets opt_level itself)"))

    search = Search(runner, first.natives, reference.key)
    if search.fails(()):
        _say("the outcome differs even with every candidate kept interpreted: CMD does not give the same outcome"
             " twice, or pypaccel changes it without native code (or a crash hid some natives; " + NO_LOG_HINT + ")")
        return NOT_ISOLATED
    culprits = minimize(tuple(sorted(first.natives, key=_key_sort)), search.fails)
    if not search.fails(culprits, again=True):  # once more: a flaky command can fool the search
        _say("could not isolate: the last step did not give the same outcome again (is CMD deterministic?)")
        return NOT_ISOLATED

    exclude_dir = runner.workdir if args.keep else tempfile.mkdtemp(prefix="pypaccel-bisect-")
    exclude = write_exclude(os.path.join(exclude_dir, "exclude.txt"), (search.candidates - set(culprits))
                            | search.others | runner.user_excluded)
    what = "this function runs" if len(culprits) == 1 else f"these {len(culprits)} functions run together"
    print(f"the outcome differs from the reference when {what} natively ({runner.count} runs):")
    for key in culprits:
        print(f"  {_display(key)}")
    fresh = "" if args.keep_cache else "PYPACCEL_CACHE_DIR=$(mktemp -d) "
    print(f"reproduce with only {'it' if len(culprits) == 1 else 'them'} native (every other function that ran"
          " natively kept interpreted):")
    print(f"  {fresh}PYPACCEL_EXCLUDE={shlex.quote(exclude)} {shlex.join(cmd)}")
    print("work around it: keep it interpreted, with these lines in a PYPACCEL_EXCLUDE file (or @pypaccel.exclude):")
    for key in culprits:
        print(f"  {key}")
    return FOUND
