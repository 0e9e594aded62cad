# `python -m pypaccel --version` and `python -m pypaccel doctor` (as `numba -s` does): which pypaccel, LLVM and
# Python this is, the CPU compiled code targets, and whether caching works here, where, and if not, why not.
# Also the list of environment variables, which `--help` prints too.
import os
import sys

from . import _paths

# Every PYPACCEL_* variable pypaccel reads, one line each (README.md and docs/user-guide.md say more;
# tests/api/test_cli.py checks that this list and the README's table name every variable the code reads).
ENVIRONMENT = (
    ("PYPACCEL_DISABLE", "any value but empty or 0: turn everything off"),
    ("PYPACCEL_THRESHOLD", "calls before a loop-free function is compiled (default 200; 0 = at the first call)"),
    ("PYPACCEL_CACHE_DIR", "put every cache database under this directory instead of beside each module"),
    ("PYPACCEL_CACHE_JOURNAL", "wal|delete: the caches' SQLite journal (delete: for network filesystems)"),
    ("PYPACCEL_CPU", "CPU to compile for: native, or an LLVM x86-64 name (default: best level of this host)"),
    ("PYPACCEL_OPT", "LLVM optimization level 0..3 (default 2; 0 helps isolate a miscompile)"),
    ("PYPACCEL_STRESS_EXITS", "any value but empty or 0: every guard fails once (tests exit paths)"),
    ("PYPACCEL_COMPILE_ALL", "any value but empty or 0: compile even code judged no faster native (testing, measuring)"),
    ("PYPACCEL_EXCLUDE", "file of FILE:FIRSTLINENO:QUALNAME lines: functions kept interpreted"),
    ("PYPACCEL_NATIVE_LOG", "file to which each process appends the functions that ran natively (bisect)"),
    ("PYPACCEL_DUMP_IR", "directory to write each compiled module's LLVM IR to (development)"),
    ("PYPACCEL_PERF_MAP", "1: name native code for perf in /tmp/perf-PID.map (profiling)"),
)


def environment_help():
    width = max(len(name) for name, _ in ENVIRONMENT)
    return "environment:\n" + "".join(f"  {name.ljust(width)}  {text}\n" for name, text in ENVIRONMENT)


def _flag(name):
    return os.environ.get(name, "") not in ("", "0")


def cache_status():
    """(state, where, why): "on", "read-only" or "off"; where the databases go; why not on."""
    root = _paths.override_root()
    where = root or f"__pycache__ beside each module (where not writable: {_paths._user_cache_root()})"
    if _flag("PYPACCEL_DISABLE"):
        return "off", where, "PYPACCEL_DISABLE is set: nothing is compiled"
    # Probe only a directory that exists: doctor creates nothing.
    problem = _paths.override_problem(probe=root is not None and os.path.isdir(root))
    if problem:
        return "off", where, problem
    if sys.dont_write_bytecode:
        return "read-only", where, _paths.DONT_WRITE_BYTECODE_NOTE
    return "on", where, None


def facts():
    """Everything --version and doctor print, as a dict (the extension imported here, not before)."""
    import pypaccel
    requested = os.environ.get("PYPACCEL_CPU", "")
    target = pypaccel._ext.target_info(requested)
    state, where, why_not = cache_status()
    return {
        "pypaccel": pypaccel.__version__,
        "llvm": target["llvm"],
        "python": f"{sys.version.split()[0]} ({sys.implementation.name}, {sys.executable})",
        "cpu": target["cpu"],
        "cpu_source": f"PYPACCEL_CPU={requested}" if requested else "the best x86-64 level this host supports",
        "jit_error": target["error"],
        "cache": state,
        "cache_where": where,
        "cache_why_not": why_not,
    }


def version_text(f):
    cpu = f"{f['cpu']} ({f['cpu_source']})" + (f": UNUSABLE, {f['jit_error']}" if f["jit_error"] else "")
    return (f"pypaccel {f['pypaccel']}\n"
            f"LLVM {f['llvm']}\n"
            f"Python {f['python']}\n"
            f"CPU target: {cpu}\n"
            f"cache directory: {f['cache_where']}\n")


def doctor_text(f):
    lines = [version_text(f).rstrip("\n")]
    lines.append("JIT: " + (f"off: {f['jit_error']}; everything runs in the interpreter" if f["jit_error"]
                            else "available"))
    lines.append(f"caching: {f['cache']}" + (f": {f['cache_why_not']}" if f["cache_why_not"] else ""))
    last = None
    try:
        from . import _last_run
        last = _last_run.read()
    except Exception:  # noqa: BLE001 - a diagnosis must not fail on what it diagnoses
        pass
    if last:
        lines.append(f"most recent run: argv {' '.join(map(str, last.get('argv') or []))}, wrote"
                     f" {len(last.get('databases') or [])} cache database(s) (python -m pypaccel stats --last)")
        lines.extend(f"  note: {n}" for n in last.get("notes") or [])
    lines.append("")
    lines.append(environment_help().rstrip("\n"))
    for name, _ in ENVIRONMENT:
        if name in os.environ:
            lines.append(f"  set here: {name}={os.environ[name]}")
    return "\n".join(lines) + "\n"


def main(argv, out=None):
    out = out or sys.stdout
    if argv in (["-h"], ["--help"]):
        out.write("usage: python -m pypaccel doctor\n\nPrint pypaccel's, LLVM's and Python's versions, the CPU"
                  " target, and whether caching works here (where, and why not).\n")
        return 0
    if argv:
        sys.stderr.write(f"usage: python -m pypaccel doctor\npypaccel doctor: error: unexpected {argv[0]!r}\n")
        return 2
    out.write(doctor_text(facts()))
    return 0
