# `python -m pypaccel stats`: what the most recent run recorded in each cache database compiled, loaded, exited.
# Reads the SQLite files the extension writes, read-only; never imports the extension (see _paths.py for why).
import os
import re
import sys

from . import _paths

APPLICATION_ID = 0x50595041  # "PYPA", set by the extension with PRAGMA application_id
SCHEMA_VERSION = 2           # PRAGMA user_version of the layout read below
# Event kinds that are plain counts. probes: compiles made at a first call and compiled again at a loop header once
# the loop had run (see docs/architecture.md, "Probes and resume entries"); resumed: calls that went on in the
# recompiled code from that header.
COUNTERS = ("compiled", "loaded", "native_calls", "disabled", "probes", "resumed")
TOTALS = ("compiled", "loaded", "fallbacks", "fallback_calls", "exits", "native_calls", "disabled", "probes", "resumed",
          "compile_seconds")
# --sort keys: what each function is ranked by (highest first).
SORT_KEYS = {
    "native_calls": lambda f: f["native_calls"],
    "exits": lambda f: sum(e["count"] for e in f["exits"]),
    "fallbacks": lambda f: (sum(e["count"] for e in f["fallbacks"]), sum(e["calls"] or 0 for e in f["fallbacks"])),
    "compile_time": lambda f: f["compile_seconds"] or 0,
}


# A fallback's stored reason is "[name] message", name being its row in the extension's csrc/deopt/refusals.def; runs
# recorded before refusals had names (and a message no row matches) have no prefix.
_NAMED = re.compile(r"\[([a-z0-9-]+)\] (.*)", re.S)


def split_refusal(reason):
    """(name, message) of a stored fallback reason; name None when it has none."""
    m = _NAMED.fullmatch(reason or "")
    return (m.group(1), m.group(2)) if m else (None, reason)


class NotACache(Exception):
    """A readable SQLite file that is not a pypaccel cache of the schema we know."""


def _connect(path):
    import pathlib
    import sqlite3
    uri = pathlib.Path(os.path.abspath(path)).as_uri()  # percent-encodes '?', '#', '%' in file names
    try:
        con = sqlite3.connect(uri + "?mode=ro", uri=True)
        con.execute("PRAGMA schema_version").fetchone()  # opening is lazy: make it fail here
        return con
    except sqlite3.OperationalError:
        # A WAL database in a directory we may not write has no -shm we can create: read the file as it is.
        return sqlite3.connect(uri + "?mode=ro&immutable=1", uri=True)


def _new_function(qualname, firstlineno):
    entry = {"qualname": qualname, "firstlineno": firstlineno}
    entry.update({kind: 0 for kind in COUNTERS})
    entry.update({"exits": [], "fallbacks": [], "widened": [], "disabled_reasons": [], "specializations": 0,
                  "compile_seconds": None})
    return entry


def _argv(text):
    # The extension stores repr(sys.argv); a list again for --json. Anything else is shown as it is.
    import ast
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text
    return value if isinstance(value, list) and all(isinstance(a, str) for a in value) else text


def read_database(path, run_id=None):
    """The report of one database: its module, most recent run (or the run `run_id`) and per-function records.

    Raises sqlite3.Error (corrupt, not SQLite, unreadable) or NotACache; the caller turns both into warnings."""
    con = _connect(path)
    try:
        app_id = con.execute("PRAGMA application_id").fetchone()[0]
        if app_id != APPLICATION_ID:
            raise NotACache(f"not a pypaccel cache (application_id {app_id:#x})")
        version = con.execute("PRAGMA user_version").fetchone()[0]
        if version != SCHEMA_VERSION:
            raise NotACache(f"cache schema version {version}, this pypaccel reads version {SCHEMA_VERSION}")
        meta = dict(con.execute("SELECT key, value FROM meta"))
        if run_id is None:
            run = con.execute("SELECT run_id, started, ended, pid, argv FROM runs"
                              " ORDER BY started DESC, rowid DESC LIMIT 1").fetchone()
        else:
            run = con.execute("SELECT run_id, started, ended, pid, argv FROM runs WHERE run_id = ?",
                              (run_id,)).fetchone()
        functions = {}

        def function(qualname, firstlineno):
            key = (qualname, firstlineno)
            if key not in functions:
                functions[key] = _new_function(qualname, firstlineno)
            return functions[key]

        for qualname, firstlineno, n in con.execute(
                "SELECT qualname, firstlineno, COUNT(*) FROM specializations GROUP BY qualname, firstlineno"):
            function(qualname, firstlineno)["specializations"] = n
        fallback_calls = {}
        if run is not None:
            for qualname, firstlineno, kind, offset, line, reason, count in con.execute(
                    "SELECT qualname, firstlineno, kind, offset, line, reason, SUM(count) FROM events"
                    " WHERE run_id = ? GROUP BY qualname, firstlineno, kind, offset, line, reason", (run[0],)):
                entry = function(qualname, firstlineno)
                if kind in COUNTERS:
                    entry[kind] += count
                    if kind == "disabled" and reason and reason not in entry["disabled_reasons"]:
                        entry["disabled_reasons"].append(reason)
                elif kind == "exit":
                    entry["exits"].append({"offset": offset, "line": line, "reason": reason, "count": count})
                elif kind == "fallback":
                    # count: the fallback itself, once per function and run; calls: how many calls it concerned
                    # (a record of its own, "fallback_calls"; an older pypaccel counted the calls here, and had none).
                    # No offset (a refusal) reads -1, as in pypaccel.stats().
                    name, message = split_refusal(reason)
                    entry["fallbacks"].append({"offset": -1 if offset is None else offset,
                                               "line": -1 if line is None else line, "refusal": name,
                                               "reason": message, "count": count, "calls": None,
                                               "stored": reason})
                elif kind == "fallback_calls":
                    fallback_calls[qualname, firstlineno, offset, line, reason] = count
                elif kind == "compile_us":
                    entry["compile_seconds"] = (entry["compile_seconds"] or 0) + count / 1e6
                elif kind == "widened":
                    entry["widened"].append({"offset": offset, "line": line, "reason": reason})
                # Any other kind comes from a newer extension: not ours to interpret, so leave it out.
        for (qualname, firstlineno), entry in functions.items():
            for e in entry["fallbacks"]:
                where = (None if e["offset"] < 0 else e["offset"], None if e["line"] < 0 else e["line"])
                e["calls"] = fallback_calls.get((qualname, firstlineno, *where, e.pop("stored")))
    finally:
        con.close()

    ordered = sorted(functions.values(), key=lambda f: (f["firstlineno"], f["qualname"]))
    for entry in ordered:
        entry["exits"].sort(key=lambda e: (-e["count"], e["offset"] if e["offset"] is not None else -1))
        entry["fallbacks"].sort(key=lambda e: (-e["count"], e["reason"] or ""))
    return {
        "database": os.path.abspath(path),
        "module_path": meta.get("module_path"),
        "run": None if run is None else dict(zip(("run_id", "started", "ended", "pid", "argv"), run[:4] + (
            None if run[4] is None else _argv(run[4]),))),
        "specializations": sum(f["specializations"] for f in ordered),
        "totals": _totals(ordered),
        "functions": ordered,
    }


def _totals(functions):
    totals = dict.fromkeys(TOTALS, 0)
    for f in functions:
        for kind in COUNTERS:
            totals[kind] += f[kind]
        totals["exits"] += sum(e["count"] for e in f["exits"])
        totals["fallbacks"] += sum(e["count"] for e in f["fallbacks"])
        totals["fallback_calls"] += sum(e["calls"] or 0 for e in f["fallbacks"])
        totals["compile_seconds"] += f["compile_seconds"] or 0
    return totals


def environment_notes():
    """What this process can tell about caching being off, with nothing written (the same texts a run warns with)."""
    notes = []
    if sys.dont_write_bytecode:
        notes.append(_paths.DONT_WRITE_BYTECODE_NOTE)
    problem = _paths.override_problem()
    if problem:
        notes.append(problem + ": caching is off, every run compiles again")
    return notes


def _refusals(modules):
    """Fallbacks and their calls per refusal name, as pypaccel.stats()["refusals"] (unnamed ones left out)."""
    out = {}
    for module in modules:
        for f in module["functions"]:
            for e in f["fallbacks"]:
                if e.get("refusal"):
                    n = out.setdefault(e["refusal"], {"fallbacks": 0, "calls": 0})
                    n["fallbacks"] += e["count"]
                    n["calls"] += e["calls"] or 0
    return dict(sorted(out.items()))


def _report(modules, notes):
    modules.sort(key=lambda m: (m["module_path"] or m["database"], m["database"]))
    totals = dict.fromkeys(TOTALS, 0)
    for module in modules:
        for key in TOTALS:
            totals[key] += module["totals"][key]
    return {"totals": totals, "refusals": _refusals(modules), "modules": modules, "notes": notes}


def collect(paths, warn, run_id=None):
    """Reports of every readable database under `paths` (their most recent runs, or the run `run_id`), and the
    totals over them."""
    import sqlite3
    for given in paths:
        if not os.path.exists(given):
            warn(f"no such file or directory: {given}")
    modules = []
    for path in (_paths.cache_roots_for_stats(paths) if run_id is None else paths):
        try:
            modules.append(read_database(path, run_id))
        except (sqlite3.Error, NotACache, OSError) as exc:
            warn(f"skipping {path}: {exc}")
    return _report(modules, environment_notes())


def collect_last(warn):
    """The most recent run, from its record (see _last_run.py): its databases, wherever they are, read for that run
    only, its argv and the notes it was warned with. None when no run left a record."""
    from . import _last_run
    record = _last_run.read()
    if record is None:
        return None
    report = collect([d for d in record.get("databases") or [] if isinstance(d, str)], warn, record.get("run_id"))
    report["notes"] = [n for n in record.get("notes") or [] if isinstance(n, str)] + [
        n for n in report["notes"] if n not in (record.get("notes") or [])]
    report["last_run"] = {k: record.get(k) for k in ("run_id", "pid", "ended", "argv", "cwd")}
    return report


def from_process(stats):
    """The report of this process from pypaccel.stats(), in the shape collect() gives (for `run --stats`)."""
    by_file = {}
    for f in stats["functions"]:
        entry = _new_function(f["qualname"], f["firstlineno"])
        entry.update({k: f[k] for k in ("compiled", "loaded", "native_calls", "probes", "resumed", "exits",
                                         "fallbacks", "widened", "disabled_reasons", "compile_seconds")})
        entry["disabled"] = int(f["state"] == "disabled")
        entry["specializations"] = None
        by_file.setdefault(f["file"], []).append(entry)
    modules = []
    for file, functions in by_file.items():
        functions.sort(key=lambda f: (f["firstlineno"], f["qualname"]))
        modules.append({"database": None, "module_path": file, "run": None, "specializations": None,
                        "totals": _totals(functions), "functions": functions})
    report = _report(modules, list(stats.get("notes") or []))
    report["totals"]["compile_seconds"] = stats["totals"]["compile_seconds"]  # includes code not listed
    return report


def select(report, sort=None, top=None):
    """The functions to show, highest `sort` key first (source order within modules without one), at most `top`."""
    rows = [(m, f) for m in report["modules"] for f in m["functions"]]
    if sort:
        rows.sort(key=lambda mf: SORT_KEYS[sort](mf[1]), reverse=True)
    return rows if top is None else rows[:top]


# -- Human-readable output ---------------------------------------------------------------------------------------

_COLUMNS = (("compiled", "compiled"), ("loaded", "loaded"), ("native_calls", "native calls"),
            ("exits", "exits"), ("fallbacks", "fallbacks"), ("disabled", "disabled"),
            ("specializations", "stored"), ("compile_seconds", "compile ms"))


def _when(timestamp):
    import time
    try:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(timestamp))
    except (TypeError, ValueError, OverflowError, OSError):
        return repr(timestamp)


def _cell(entry, key):
    if key in ("exits", "fallbacks"):
        return str(sum(e["count"] for e in entry[key]))
    if key == "compile_seconds":
        return "-" if entry[key] is None else f"{entry[key] * 1000:.1f}"
    return "-" if entry[key] is None else str(entry[key])


def _fallback_text(e):
    # count is the fallback itself (1 per function and run; more only for several code objects of one name).
    times = " (compiled in, not reached)" if e["count"] == 0 else "" if e["count"] == 1 else f" x{e['count']}"
    calls = "" if not e.get("calls") else f", {e['calls']} call{'s' if e['calls'] != 1 else ''}"
    name = f" [{e['refusal']}]" if e.get("refusal") else ""
    return f"fallback{name}: {e['reason']}{times}{calls}"


def _columns(report):
    # Columns no function has data for are left out: the stored count of this process's own report, compile times
    # of runs recorded before pypaccel kept them.
    rows = [f for m in report["modules"] for f in m["functions"]]
    return [(key, title) for key, title in _COLUMNS
            if key not in ("specializations", "compile_seconds") or any(f[key] is not None for f in rows)]


def _table(rows, columns, out, name):
    """One line per function (`name` gives its first cell), with its exits, fallbacks and widened lines under it."""
    cells = [[name(m, f)] + [_cell(f, key) for key, _ in columns] for m, f in rows]
    header = ["function"] + [title for _, title in columns]
    widths = [max(len(row[i]) for row in cells + [header]) for i in range(len(header))]

    def line(c):
        return "  " + c[0].ljust(widths[0]) + "".join("  " + x.rjust(w) for x, w in zip(c[1:], widths[1:])) + "\n"

    out.write(line(header))
    for row, (_, f) in zip(cells, rows):
        out.write(line(row))
        for e in f["exits"]:
            out.write(f"      guard exit at offset {e['offset']} (line {e['line']}): {e['reason']} x{e['count']}\n")
        for e in f["fallbacks"]:
            out.write(f"      {_fallback_text(e)}\n")
        for e in f["widened"]:
            out.write(f"      widened at offset {e['offset']} (line {e['line']}): {e['reason']}\n")
        for reason in f["disabled_reasons"]:
            out.write(f"      disabled: {reason}\n")
        if f.get("probes"):
            resumed = f"; {f['resumed']} call{'s' if f['resumed'] != 1 else ''} went on in the recompiled code from" \
                " that header" if f.get("resumed") else ""
            out.write(f"      probe x{f['probes']}: compiled at a first call, to be compiled again at a loop header once"
                      f" the loop has run{resumed}\n")


def _run_line(run):
    argv = " ".join(run["argv"]) if isinstance(run["argv"], list) else run["argv"]
    return f"pid {run['pid']}, argv {argv}"


def format_human(report, out, sort=None, top=None):
    for note in report.get("notes") or []:
        out.write(f"note: {note}\n")
    last = report.get("last_run")
    if last:
        out.write(f"most recent run: {_when(last.get('ended'))} (ended), {_run_line(last)}, in {last.get('cwd')}:"
                  f" {len(report['modules'])} database(s)\n\n")
    columns = _columns(report)
    if sort or top is not None:
        # One table over every module: the functions that matter most, wherever they are.
        rows = select(report, sort, top)
        count = sum(len(m["functions"]) for m in report["modules"])
        by = f" by {sort.replace('_', ' ')}" if sort else ""
        out.write(f"{len(rows)} of {count} function(s){by}, over {len(report['modules'])} database(s):\n")
        if rows:
            _table(rows, columns, out, lambda m, f: f"{f['qualname']}:{f['firstlineno']} ({m['module_path']})")
        out.write("\n")
    else:
        for module in report["modules"]:
            out.write(f"{module['module_path'] or '(unknown module)'}\n")
            if module["database"] is not None:
                out.write(f"  database: {module['database']}, {module['specializations']} stored specializations\n")
                run = module["run"]
                out.write("  no run recorded\n" if run is None else
                          f"  most recent run: {_when(run['started'])}, {_run_line(run)}\n")
            if module["functions"]:
                _table([(module, f) for f in module["functions"]], columns, out,
                       lambda m, f: f"{f['qualname']}:{f['firstlineno']}")
            out.write("\n")
    if report.get("refusals"):
        out.write("fallbacks by refusal: " + ", ".join(
            f"{name} {n['fallbacks']}" + (f" ({n['calls']} calls)" if n["calls"] else "")
            for name, n in sorted(report["refusals"].items(), key=lambda kv: (-kv[1]["fallbacks"], kv[0]))) + "\n")
    t = report["totals"]
    calls = f" (in {t['fallback_calls']} calls)" if t["fallback_calls"] else ""
    # This process's own report (run --stats) is by source file: some may have no database.
    over = "file(s)" if any(m["database"] is None for m in report["modules"]) else "database(s)"
    out.write(f"total over {len(report['modules'])} {over}: {t['compiled']} compiled, {t['loaded']} loaded from"
              f" cache, {t['native_calls']} native calls, {t['exits']} guard exits, {t['fallbacks']} fallbacks{calls},"
              f" {t['disabled']} disabled, {t['compile_seconds'] * 1000:.1f} ms compiling"
              + (f", {t['probes']} probes" if t.get("probes") else "") + "\n")


def _positive(text):
    import argparse
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"want a positive number, got {text!r}")
    return value


def main(argv=None, stdout=None, stderr=None):
    import argparse
    import json
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    parser = argparse.ArgumentParser(
        prog="python -m pypaccel stats",
        description="Report what the most recent run recorded in pypaccel's cache databases (*%s)." % _paths.SUFFIX)
    parser.add_argument("paths", nargs="*", metavar="PATH",
                        help="database, source file or directory to search recursively"
                             " (default: $PYPACCEL_CACHE_DIR if set, else the current directory)")
    parser.add_argument("--last", action="store_true",
                        help="the most recent run of any program, from the databases it wrote wherever they are")
    parser.add_argument("--sort", choices=sorted(SORT_KEYS),
                        help="one table of the functions over all databases, highest first")
    parser.add_argument("--top", type=_positive, metavar="N", help="only the N functions that rank highest")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    args = parser.parse_args(argv)
    if args.last and args.paths:
        parser.error("--last takes no PATH")

    def warn(message):
        stderr.write(f"pypaccel stats: warning: {message}\n")

    if args.last:
        report = collect_last(warn)
        if report is None:
            from . import _last_run
            stdout.write(f"no run recorded in {_last_run.path()}\n")
            return 0
    else:
        report = collect(args.paths, warn)
    if args.json:
        if args.sort or args.top is not None:
            shown = {id(f) for _, f in select(report, args.sort, args.top)}
            for module in report["modules"]:
                module["functions"] = [f for f in module["functions"] if id(f) in shown]
                if args.sort:
                    module["functions"].sort(key=SORT_KEYS[args.sort], reverse=True)
        json.dump(report, stdout, indent=2)
        stdout.write("\n")
    else:
        if not report["modules"]:
            where = ", ".join(args.paths) if args.paths else (_paths.override_root() or os.getcwd())
            stdout.write(f"no pypaccel cache databases found in {where}\n")
            if not args.paths and not args.last:
                _hint_last(stdout)
        format_human(report, stdout, args.sort, args.top)
    return 0


def _hint_last(out):
    # Where the most recent run's databases are is often not here (the standard library, site-packages).
    from . import _last_run
    record = _last_run.read()
    if record and record.get("databases"):
        out.write(f"the most recent run ({_when(record.get('ended'))}, {len(record['databases'])} database(s), argv"
                  f" {' '.join(map(str, record.get('argv') or []))}): python -m pypaccel stats --last\n")
