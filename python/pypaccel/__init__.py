# pypaccel: a specializing JIT for CPython 3.11 with a persistent native-code cache. The public Python API:
# enable/disable/is_enabled for the whole process, @specialize for one function, stats() for what happened.
# Importing must stay cheap (it runs before user code under `python -m pypaccel run`): no sqlite3/json/argparse.
import os
import sys

# Absolute form: a missing build then reads "No module named 'pypaccel._pypaccel'" (ModuleNotFoundError), where
# `from . import _pypaccel` would blame a circular import. Either way the ImportError is meant to surface.
import pypaccel._pypaccel as _ext
from . import _paths

__version__ = "0.1.0"
__all__ = ["enable", "disable", "is_enabled", "specialize", "exclude", "stats", "CacheWarning", "__version__"]


class CacheWarning(RuntimeWarning):
    """A cache database could not be used (damaged, locked, refused, newer schema, ...): the program runs on,
    compiling instead of loading. Filter it like any warning: `-W ignore::pypaccel.CacheWarning`."""

_flush_registered = False


def _kill_switch():
    # PYPACCEL_DISABLE wins over everything, including explicit arguments: it is the way out when the JIT misbehaves.
    return _env_flag("PYPACCEL_DISABLE")


def _env_flag(name):
    return os.environ.get(name, "") not in ("", "0")


def _env_int(name, default, low, high):
    raw = os.environ.get(name, "")
    if not raw:
        return default
    try:
        value = int(raw)
        if low <= value <= high:
            return value
    except ValueError:
        pass
    # A bad variable in a shared environment should not stop every program: say so and use the default.
    import warnings  # only on a bad setting: keeps `import pypaccel` cheap
    warnings.warn(f"pypaccel: ignoring {name}={raw!r} (want an integer in {low}..{high}), using {default}",
                  RuntimeWarning, stacklevel=4)  # _env_int <- _config <- enable <- the caller of enable
    return default


_cache_checked = False


def _check_cache():
    # Caching that is off for the whole process must be said once, not discovered from runs that never get faster.
    # Checked here, when pypaccel is switched on, so that the warning points at that call.
    # (Under -B the caches are read-only: the extension says so at the first compile it cannot keep, since a run
    # that only loads loses nothing.)
    global _cache_checked
    if _cache_checked:
        return
    _cache_checked = True
    problem = None if sys.dont_write_bytecode else _paths.override_problem(probe=True)
    if problem:
        problem += ": caching is off, every run compiles again"
        import warnings
        warnings.warn(f"pypaccel: {problem}", CacheWarning, stacklevel=4)  # <- _config <- enable <- its caller
        _ext.note(problem)


def _config(threshold, stress_exits, opt_level, cpu, compile_all=None):
    # Explicit arguments beat environment variables, which beat the defaults.
    _check_cache()
    return {
        "threshold": _env_int("PYPACCEL_THRESHOLD", 200, 0, 2**31 - 1) if threshold is None else int(threshold),
        "stress_exits": _env_flag("PYPACCEL_STRESS_EXITS") if stress_exits is None else bool(stress_exits),
        "compile_all": _env_flag("PYPACCEL_COMPILE_ALL") if compile_all is None else bool(compile_all),
        "opt_level": _env_int("PYPACCEL_OPT", 2, 0, 3) if opt_level is None else int(opt_level),
        "cpu": (os.environ.get("PYPACCEL_CPU") or None) if cpu is None else cpu,
        "db_path_for": _paths.db_path_for,
        "cache_warning": CacheWarning,
        "cache_journal": _cache_journal(),
        "exclude_keys": _exclude_keys(),
        "read_only_note": _paths.DONT_WRITE_BYTECODE_NOTE if sys.dont_write_bytecode else None,
    }


def _exclude_keys():
    # PYPACCEL_EXCLUDE=PATH: a file of functions to keep interpreted, one "FILE:FIRSTLINENO:QUALNAME" per line
    # (`python -m pypaccel bisect` writes it; a user can too, to work around a miscompile).
    path = os.environ.get("PYPACCEL_EXCLUDE", "")
    if not path:
        return None
    try:
        with open(path, encoding="utf-8") as f:
            return [line.rstrip("\n") for line in f if line.strip() and not line.startswith("#")]
    except OSError as exc:
        import warnings
        warnings.warn(f"pypaccel: ignoring PYPACCEL_EXCLUDE={path!r}: {exc}", RuntimeWarning, stacklevel=4)
        return None


def _cache_journal():
    # PYPACCEL_CACHE_JOURNAL=delete forces SQLite's rollback journal (for a filesystem where WAL's shared memory
    # does not work and that pypaccel does not recognize as a network filesystem); "wal" forces WAL.
    raw = os.environ.get("PYPACCEL_CACHE_JOURNAL", "").lower()
    if raw in ("", "wal", "delete"):
        return raw or None
    import warnings
    warnings.warn(f"pypaccel: ignoring PYPACCEL_CACHE_JOURNAL={raw!r} (want 'wal' or 'delete')", RuntimeWarning,
                  stacklevel=4)
    return None


def _flush_at_exit():
    # Losing this run's records is better than an error at exit in someone's program: report it in one line.
    _write_native_log()
    try:
        written = _ext.flush()
    except Exception as exc:  # noqa: BLE001 - whatever the cache layer raised, the program already finished
        sys.stderr.write(f"pypaccel: could not write run records to the cache: {exc}\n")
        written = []
    if sys.dont_write_bytecode:
        return  # -B: pypaccel writes nothing, as CPython writes no .pyc
    notes = list(_ext.notes())
    if not written and not notes:
        return  # nothing to report: the record keeps the last run that had something, and this exit stays cheap
    try:
        import time
        from . import _last_run
        _last_run.write({"run_id": _ext.run_id, "pid": os.getpid(), "ended": time.time(), "argv": list(sys.argv),
                         "cwd": os.getcwd(), "databases": written, "notes": notes})
    except Exception as exc:  # noqa: BLE001 - as above
        sys.stderr.write(f"pypaccel: could not write the record of this run: {exc}\n")


def _write_native_log():
    # PYPACCEL_NATIVE_LOG=PATH (set by `python -m pypaccel bisect`): append "FILE:FIRSTLINENO:QUALNAME" for each
    # function that ran natively or was compiled for it. One O_APPEND write per process, so that every process of a
    # command (a test suite and its subprocesses) can append to the same file without mixing lines. The file is
    # created even when there is nothing to list: it tells bisect that this process reached its exit handlers.
    path = os.environ.get("PYPACCEL_NATIVE_LOG", "")
    if not path:
        return
    try:
        lines = set()
        for f in _ext.stats()["functions"]:
            line = f"{f['file']}:{f['firstlineno']}:{f['qualname']}"
            if (f["native_calls"] or f["compiled"] or f["loaded"]) and "\n" not in line and "\r" not in line:
                lines.add(line + "\n")
        data = "".join(sorted(lines)).encode("utf-8", "replace")
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
    except Exception as exc:  # noqa: BLE001 - as for the flush: the program already finished, say it and go on
        sys.stderr.write(f"pypaccel: could not write PYPACCEL_NATIVE_LOG={path!r}: {exc}\n")


# Our own exit handlers run in every process: never compiled (a compile at exit would cost a cold run more than
# the handlers' work, and give every process a cache database for this package).
_ext.exclude(_flush_at_exit)
_ext.exclude(_write_native_log)


def _register_flush():
    global _flush_registered
    if not _flush_registered:
        import atexit
        atexit.register(_flush_at_exit)
        _flush_registered = True


def _watch_program_end():
    # What runs once the program has ended (threading's shutdown, atexit handlers) runs once: compiling or loading
    # it costs more than it can give back (threading._shutdown's list comprehension has a loop, so it was compiled
    # at its first call: 20 ms of every cold run, 2-3 ms of every warm one). threading's own exit callbacks are the
    # first thing Python runs at exit; threading is imported here if the program has not (cheap, and Python then
    # calls its shutdown at exit, which is otherwise a no-op here).
    # Not while other (non-daemon) threads go on: Python waits for them, and they may have all the work to do.
    global _end_watched
    if _end_watched:
        return
    import threading
    try:
        threading._register_atexit(_program_ending)
        _end_watched = True
    except (AttributeError, RuntimeError):  # not this CPython's threading, or already shutting down
        return
    # threading._shutdown itself runs before its exit callbacks tell us the program has ended: it is called once,
    # at exit, and has a loop (so its IR would be built at that call, judged not worth compiling, and the decision
    # stored in a database for threading.py by every program).
    shutdown = getattr(threading, "_shutdown", None)
    if type(shutdown) is type(_program_ending):
        _ext.exclude(shutdown)


def _program_ending():
    import threading
    main = threading.main_thread()
    for t in threading.enumerate():
        if t is not main and not t.daemon and t.is_alive():
            return
    _ext.program_ending()


_end_watched = False
_ext.exclude(_watch_program_end)
_ext.exclude(_program_ending)


def enable(*, threshold=None, stress_exits=None, opt_level=None, cpu=None, compile_all=None):
    """Compile hot functions of this process from now on. No-op when PYPACCEL_DISABLE is set.

    Unset arguments come from PYPACCEL_THRESHOLD (calls before compiling; 0 = at first call, default 200),
    PYPACCEL_STRESS_EXITS, PYPACCEL_OPT (0..3, default 2), PYPACCEL_CPU (default: the best x86-64 level this machine supports;
    'native' for its exact CPU) and PYPACCEL_COMPILE_ALL (compile even code whose native form would do mostly generic
    work, which is otherwise left to the interpreter)."""
    if _kill_switch():
        return
    if opt_level is not None and not 0 <= int(opt_level) <= 3:
        raise ValueError(f"opt_level must be in 0..3, got {opt_level!r}")
    if threshold is not None and int(threshold) < 0:
        raise ValueError(f"threshold must be >= 0, got {threshold!r}")
    _register_flush()
    _ext.enable(_config(threshold, stress_exits, opt_level, cpu, compile_all))
    _watch_program_end()


def disable():
    """Stop compiling and stop entering compiled code; functions run in the interpreter again."""
    _ext.disable()


def is_enabled():
    return _ext.is_enabled()


def specialize(func=None, /):
    """Decorator: compile `func` natively whatever enable() says. Usable as @specialize and @specialize().

    With PYPACCEL_DISABLE set, returns `func` itself."""
    if func is None:
        return specialize
    if _kill_switch():
        return func
    _register_flush()
    if not _ext.is_enabled():
        # Decorator-only use still needs the cache location and the compile options.
        _ext.configure(_config(None, None, None, None))
    return _ext.specialize(func)


def exclude(func, /):
    """Decorator: keep `func` in the interpreter for good (e.g. to isolate a suspected miscompile). Returns it."""
    return _ext.exclude(func)


def stats(file=None):
    """What this process compiled, loaded from the cache, and why code left or never entered native code.

    {"totals": {...}, "refusals": {name: {"fallbacks", "calls"}},
     "functions": [{"file", "qualname", "firstlineno", "state", "exits", "fallbacks", ...}]}
    Each fallback has its refusal's name ("too-many-locals", "unsupported-opcode", ...) and its message ("reason").
    With `file` (a code object's co_filename), only that file's functions, and totals over them."""
    return _ext.stats(file)
