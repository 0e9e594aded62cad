# `python -m pypaccel stats`: what the most recent run recorded in each cache database compiled, loaded, exited.
# Reads the SQLite files the extension writes, read-only; never imports the extension (see _paths.py for why).
import os
import sys

from . import _paths

APPLICATION_ID = 0x50595041  # "PYPA", set by the extension with PRAGMA application_id
SCHEMA_VERSION = 2           # PRAGMA user_version of the layout read below
COUNTERS = ("compiled", "loaded", "native_calls", "disabled")       # event kinds that are plain counts
TOTALS = ("compiled", "loaded", "fallbacks", "exits", "native_calls", "disabled")


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
    entry.update({"exits": [], "fallbacks": [], "widened": [], "specializations": 0})
    return entry


def read_database(path):
    """The report of one database: its module, most recent run and per-function records.

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
        run = con.execute("SELECT run_id, started, ended, pid, argv FROM runs"
                          " ORDER BY started DESC, rowid DESC LIMIT 1").fetchone()
        functions = {}

        def function(qualname, firstlineno):
            key = (qualname, firstlineno)
            if key not in functions:
                functions[key] = _new_function(qualname, firstlineno)
            return functions[key]

        for qualname, firstlineno, n in con.execute(
                "SELECT qualname, firstlineno, COUNT(*) FROM specializations GROUP BY qualname, firstlineno"):
            function(qualname, firstlineno)["specializations"] = n
        if run is not None:
            for qualname, firstlineno, kind, offset, line, reason, count in con.execute(
                    "SELECT qualname, firstlineno, kind, offset, line, reason, SUM(count) FROM events"
                    " WHERE run_id = ? GROUP BY qualname, firstlineno, kind, offset, line, reason", (run[0],)):
                entry = function(qualname, firstlineno)
                if kind in COUNTERS:
                    entry[kind] += count
                elif kind == "exit":
                    entry["exits"].append({"offset": offset, "line": line, "reason": reason, "count": count})
                elif kind == "fallback":
                    entry["fallbacks"].append({"reason": reason, "count": count})
                elif kind == "widened":
                    entry["widened"].append({"offset": offset, "line": line, "reason": reason})
                # Any other kind comes from a newer extension: not ours to interpret, so leave it out.
    finally:
        con.close()

    ordered = sorted(functions.values(), key=lambda f: (f["firstlineno"], f["qualname"]))
    for entry in ordered:
        entry["exits"].sort(key=lambda e: (-e["count"], e["offset"] if e["offset"] is not None else -1))
        entry["fallbacks"].sort(key=lambda e: (-e["count"], e["reason"] or ""))
    return {
        "database": os.path.abspath(path),
        "module_path": meta.get("module_path"),
        "run": None if run is None else dict(zip(("run_id", "started", "ended", "pid", "argv"), run)),
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
    return totals


def collect(paths, warn):
    """Reports of every readable database under `paths`, and the totals over their most recent runs."""
    import sqlite3
    for given in paths:
        if not os.path.exists(given):
            warn(f"no such file or directory: {given}")
    modules = []
    for path in _paths.cache_roots_for_stats(paths):
        try:
            modules.append(read_database(path))
        except (sqlite3.Error, NotACache, OSError) as exc:
            warn(f"skipping {path}: {exc}")
    modules.sort(key=lambda m: (m["module_path"] or m["database"], m["database"]))
    totals = dict.fromkeys(TOTALS, 0)
    for module in modules:
        for key in TOTALS:
            totals[key] += module["totals"][key]
    return {"totals": totals, "modules": modules}


# -- Human-readable output ---------------------------------------------------------------------------------------

_COLUMNS = (("compiled", "compiled"), ("loaded", "loaded"), ("native_calls", "native calls"),
            ("exits", "exits"), ("fallbacks", "fallbacks"), ("disabled", "disabled"),
            ("specializations", "stored"))


def _when(timestamp):
    import time
    try:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(timestamp))
    except (TypeError, ValueError, OverflowError, OSError):
        return repr(timestamp)


def _cell(entry, key):
    if key in ("exits", "fallbacks"):
        return sum(e["count"] for e in entry[key])
    return entry[key]


def format_human(report, out):
    for module in report["modules"]:
        out.write(f"{module['module_path'] or '(unknown module)'}\n")
        out.write(f"  database: {module['database']}, {module['specializations']} stored specializations\n")
        run = module["run"]
        if run is None:
            out.write("  no run recorded\n")
        else:
            out.write(f"  most recent run: {_when(run['started'])}, pid {run['pid']}, argv {run['argv']}\n")
        if module["functions"]:
            rows = [[f"{f['qualname']}:{f['firstlineno']}"] + [str(_cell(f, key)) for key, _ in _COLUMNS]
                    for f in module["functions"]]
            header = ["function"] + [title for _, title in _COLUMNS]
            widths = [max(len(row[i]) for row in rows + [header]) for i in range(len(header))]

            def line(cells):
                return "  " + cells[0].ljust(widths[0]) + "".join(
                    "  " + c.rjust(w) for c, w in zip(cells[1:], widths[1:])) + "\n"

            out.write(line(header))
            for row, f in zip(rows, module["functions"]):
                out.write(line(row))
                for e in f["exits"]:
                    where = f"offset {e['offset']} (line {e['line']})"
                    out.write(f"      guard exit at {where}: {e['reason']} x{e['count']}\n")
                for e in f["fallbacks"]:
                    out.write(f"      fallback: {e['reason']} x{e['count']}\n")
                for e in f["widened"]:
                    out.write(f"      widened at offset {e['offset']} (line {e['line']}): {e['reason']}\n")
        out.write("\n")
    t = report["totals"]
    out.write(f"total over {len(report['modules'])} database(s): {t['compiled']} compiled, {t['loaded']} loaded from"
              f" cache, {t['native_calls']} native calls, {t['exits']} guard exits, {t['fallbacks']} fallbacks,"
              f" {t['disabled']} disabled\n")


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
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    args = parser.parse_args(argv)

    def warn(message):
        stderr.write(f"pypaccel stats: warning: {message}\n")

    report = collect(args.paths, warn)
    if args.json:
        json.dump(report, stdout, indent=2)
        stdout.write("\n")
    else:
        if not report["modules"]:
            where = ", ".join(args.paths) if args.paths else (_paths.override_root() or os.getcwd())
            stdout.write(f"no pypaccel cache databases found in {where}\n")
        format_human(report, stdout)
    return 0
