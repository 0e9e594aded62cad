# `python -m pypaccel cache list|verify|clear`: inspect, check and delete the SQLite cache databases (.pyp).
# Pure Python like _stats_report.py: a damaged cache must be diagnosable without importing the extension, which
# may itself be what is broken. list and verify open databases read-only and leave every file as it was.
import os
import stat
import sys

from . import _paths
from ._stats_report import APPLICATION_ID, SCHEMA_VERSION

USAGE = """\
usage: python -m pypaccel cache list [-h] [--json] [--user] [PATH...]
       python -m pypaccel cache verify [-h] [--json] [--user] [PATH...]
       python -m pypaccel cache clear [-h] [--dry-run] [--user] [PATH...]
"""

SQLITE_MAGIC = b"SQLite format 3\x00"
ELF_MAGIC = b"\x7fELF"
HASH_BYTES = 32                           # key and code_hash are SHA-256 digests
SIGNATURE_LETTERS = frozenset("ifbo")     # int, float, bool, other: one letter per argument
COMPANIONS = ("-wal", "-shm", "-journal")  # files SQLite keeps beside a database
MAX_INTEGRITY_LINES = 10                  # a wrecked file yields thousands; the first few say enough


class UsageError(Exception):
    """A bad command line: reported as `pypaccel cache: error: ...`, exit status 2."""


# -- Files -------------------------------------------------------------------------------------------------------

def _header(path):
    """The first 100 bytes (SQLite's file header), or b"" when unreadable."""
    try:
        with open(path, "rb") as f:
            return f.read(100)
    except OSError:
        return b""


def _header_application_id(header):
    # Offset 68, big-endian: what PRAGMA application_id reads, without letting SQLite near the file.
    return int.from_bytes(header[68:72], "big") if len(header) >= 72 else None


def _journal_mode(header):
    # Read/write format versions 2 mean WAL; the extension uses only WAL or DELETE. Asked on an immutable
    # connection, PRAGMA journal_mode says "delete" whatever the file is: the header does not.
    return "wal" if header[18:20] == b"\x02\x02" else "delete"


def _size_on_disk(path, companions=("-wal",)):
    total = 0
    for p in [path] + [path + c for c in companions]:
        try:
            total += os.stat(p).st_size
        except OSError:
            pass
    return total


def _human_size(n):
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} B" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024


def distrust(path):
    """Why the extension refuses this database (as Store::open does for the file and its -wal), or None."""
    for p in (path, path + "-wal"):
        try:
            st = os.stat(p)
        except OSError:
            continue
        which = "" if p == path else "its -wal is "
        if st.st_uid != os.geteuid():
            return f"refused: {which}owned by uid {st.st_uid}"
        if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            return f"refused: {which}writable by group/others"
    return None


def _fingerprint(path):
    # Size and mtime of the database and its -wal: a change during a check means a writer, not damage.
    out = []
    for p in (path, path + "-wal"):
        try:
            st = os.stat(p)
            out.append((st.st_size, st.st_mtime_ns))
        except OSError:
            out.append(None)
    return out


def _busy(exc):
    # Another process holds a lock (a rollback-journal writer mid-transaction): its file is not ours to judge now.
    return getattr(exc, "sqlite_errorname", "").startswith(("SQLITE_BUSY", "SQLITE_LOCKED"))


def _connect(path):
    """A read-only connection that creates no file beside the database. Raises sqlite3.Error."""
    import pathlib
    import sqlite3
    uri = pathlib.Path(os.path.abspath(path)).as_uri()  # percent-encodes '?', '#', '%' in file names
    # A WAL database without its -wal has nothing uncheckpointed, and a read-only connection would leave an empty
    # -wal and -shm behind (owned by whoever ran us: under sudo, files the extension then distrusts). Read the
    # file as it is instead.
    if _journal_mode(_header(path)) == "wal" and not os.path.exists(path + "-wal"):
        return sqlite3.connect(uri + "?mode=ro&immutable=1", uri=True)
    # The extension waits 2 s for a lock, and so do we; a lock held longer is reported, not waited out.
    con = sqlite3.connect(uri + "?mode=ro", uri=True, timeout=2.0)
    try:
        con.execute("PRAGMA schema_version").fetchone()  # opening is lazy: make it fail here
        return con
    except sqlite3.OperationalError as exc:
        con.close()
        if _busy(exc):
            raise
    # A WAL database in a directory we may not write has no -shm we can create: read the file as it is.
    return sqlite3.connect(uri + "?mode=ro&immutable=1", uri=True)


def _pragma(con, name):
    return con.execute(f"PRAGMA {name}").fetchone()[0]


def _tables(con):
    return {name for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _not_a_cache(path, header):
    """Why a file cannot be a pypaccel database at all, judged from its first bytes, or None."""
    if not header:
        return "empty file" if os.path.isfile(path) and os.path.getsize(path) == 0 else "unreadable"
    if not header.startswith(SQLITE_MAGIC):
        return "not a SQLite database"
    if len(header) < 100:
        return "truncated SQLite header"
    return None


def _schema_problem(app_id, version):
    """(damaged?, text) for the identity pragmas; text is None when the database is of the schema we know."""
    if app_id != APPLICATION_ID:
        return True, f"not a pypaccel cache (application_id {app_id:#x})"
    if version > SCHEMA_VERSION:
        return False, f"schema {version} is newer than this pypaccel ({SCHEMA_VERSION}): not checked"
    if version < 1:
        return True, f"marked as a pypaccel cache but has no schema version ({version})"
    if version < SCHEMA_VERSION:
        return False, f"schema {version}, outdated: the next run that writes it starts it afresh"
    return False, None


# -- list --------------------------------------------------------------------------------------------------------

def describe(path):
    """One database for `list`: size, counts, journal, module, and any reason it cannot be (fully) used."""
    import sqlite3
    header = _header(path)
    info = {"database": os.path.abspath(path), "bytes": _size_on_disk(path), "schema": None,
            "specializations": None, "builds": None, "profiles": None,
            "journal_mode": None, "module_path": None, "refused": distrust(path), "problem": None}
    info["problem"] = _not_a_cache(path, header)
    if info["problem"]:
        return info, set()
    info["journal_mode"] = _journal_mode(header)
    builds = set()
    try:
        con = _connect(path)
        try:
            app_id, version = _pragma(con, "application_id"), _pragma(con, "user_version")
            damaged, text = _schema_problem(app_id, version)
            info["schema"] = version if app_id == APPLICATION_ID else None
            if damaged or version > SCHEMA_VERSION:
                info["problem"] = text
                return info, builds
            tables = _tables(con)
            if "meta" in tables:
                info["module_path"] = dict(con.execute("SELECT key, value FROM meta")).get("module_path")
            builds = {b for (b,) in con.execute("SELECT DISTINCT build FROM specializations")}
            info["specializations"] = con.execute("SELECT COUNT(*) FROM specializations").fetchone()[0]
            info["builds"] = len(builds)
            if "profiles" in tables:  # schema 1 had none
                info["profiles"] = con.execute("SELECT COUNT(*) FROM profiles").fetchone()[0]
        finally:
            con.close()
    except (sqlite3.Error, OSError) as exc:
        info["problem"] = "locked by another process" if _busy(exc) else str(exc)
    return info, builds


def list_databases(paths):
    databases, builds = [], set()
    for path in paths:
        info, db_builds = describe(path)
        databases.append(info)
        builds |= db_builds
    total = {"databases": len(databases), "bytes": sum(d["bytes"] for d in databases),
             "specializations": sum(d["specializations"] or 0 for d in databases),
             "builds": len(builds), "profiles": sum(d["profiles"] or 0 for d in databases)}
    return {"databases": databases, "total": total}


def _count(n):
    return "-" if n is None else str(n)


def format_list(report, shown, out):
    header = ["database", "size", "entries", "builds", "profiles", "journal"]
    rows = []
    for d, name in zip(report["databases"], shown):
        if d["problem"]:
            cells, tail = [name, _human_size(d["bytes"])], d["problem"]
        else:
            cells = [name, _human_size(d["bytes"]), _count(d["specializations"]), _count(d["builds"]),
                     _count(d["profiles"]), d["journal_mode"]]
            tail = d["module_path"] or "(unknown module)"
        if d["schema"] is not None and d["schema"] < SCHEMA_VERSION:
            tail += f"  [schema {d['schema']}, outdated]"
        if d["refused"]:
            tail += f"  [{d['refused']}]"
        rows.append((cells, tail))
    widths = [max(len(cells[i]) for cells, _ in rows + [(header, "")] if i < len(cells))
              for i in range(len(header))]

    def line(cells, tail):
        # Size and counts right-aligned; a reason in place of the counts starts right after the size.
        text = "  ".join(c.rjust(w) if 1 <= i <= 4 else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths)))
        return f"{text}  {tail}".rstrip() + "\n"

    if rows:
        out.write(line(header, "module"))
        for cells, tail in rows:
            out.write(line(cells, tail))
    t = report["total"]
    out.write(f"total: {t['databases']} database(s), {_human_size(t['bytes'])}, {t['specializations']} entries,"
              f" {t['builds']} build(s), {t['profiles']} profiles\n")


# -- verify ------------------------------------------------------------------------------------------------------

def fnv1a64(data):
    """The extension's checksum (cache::checksum), as SQLite stores it: a signed 64-bit integer."""
    # FNV-1a 64 (offset basis 0xcbf29ce484222325), as store.cpp computes it.
    h = 14695981039346656037
    for b in data:
        h = ((h ^ b) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return h - (1 << 64) if h >= (1 << 63) else h


def loader_meta_check():
    """The extension's check of an entry's metadata, the very code its loader runs (deopt::storedMetaProblem):
    f(key, signature, meta) -> why it would be refused, or "". None when the extension does not import (this module
    runs without it; `python -m pypaccel` has imported it already): the rest of verify still runs."""
    try:
        from . import _pypaccel
    except ImportError:
        return None
    return _pypaccel._stored_meta_problem


def entry_problems(key, code_hash, signature, obj, meta, checksum, meta_check=None):
    """What is wrong with one specializations row: every check the extension relies on before linking it (the
    metadata's own with `meta_check`, see loader_meta_check)."""
    problems = []
    if not isinstance(key, bytes) or len(key) != HASH_BYTES:
        problems.append("key is not a 32-byte hash")
    if not isinstance(code_hash, bytes) or len(code_hash) != HASH_BYTES:
        problems.append("code_hash is not a 32-byte hash")
    if not isinstance(signature, str) or not set(signature) <= SIGNATURE_LETTERS:
        problems.append(f"signature {signature!r} has letters other than i, f, b, o")
    if not isinstance(obj, bytes) or not obj.startswith(ELF_MAGIC):
        problems.append("object is not an ELF file")
    if not isinstance(obj, bytes) or not isinstance(meta, bytes) or not isinstance(checksum, int):
        problems.append("object, meta or checksum has the wrong type")
    elif fnv1a64(obj + meta) != checksum:
        problems.append("checksum mismatch (object or meta bytes changed)")
    elif meta_check and isinstance(key, bytes) and isinstance(signature, str):
        # As the loader: only metadata whose bytes are intact gets decoded.
        why = meta_check(key, signature, meta)
        if why:
            problems.append(why)
    return problems


def _check_entries(con, problems, meta_check):
    """Checks every stored specialization; returns how many there are. Rows are read one at a time: objects are
    large, and a malformed page can fail in the middle of the scan."""
    count = 0
    rows = con.execute("SELECT key, code_hash, qualname, firstlineno, signature, object, meta, checksum"
                       " FROM specializations")
    for key, code_hash, qualname, firstlineno, signature, obj, meta, checksum in rows:
        count += 1
        for what in entry_problems(key, code_hash, signature, obj, meta, checksum, meta_check):
            problems.append({"entry": {"qualname": qualname, "firstlineno": firstlineno, "signature": signature},
                             "problem": what})
    return count


def _check_open_database(con, result):
    problems = result["problems"]
    app_id, version = _pragma(con, "application_id"), _pragma(con, "user_version")
    damaged, text = _schema_problem(app_id, version)
    if app_id == APPLICATION_ID:
        result["schema"] = version
    if damaged:
        problems.append({"entry": None, "problem": text})
        return
    if version > SCHEMA_VERSION:
        result["status"], result["note"] = "not checked", text
        return
    result["note"] = text
    # integrity_check, not quick_check: it also matches indexes against tables, and caches are small (capped).
    lines = [row[0] for row in con.execute(f"PRAGMA integrity_check({MAX_INTEGRITY_LINES})")]
    if lines != ["ok"]:
        problems.extend({"entry": None, "problem": f"integrity: {line}"} for line in lines)
    missing = {"meta", "specializations", "runs", "events"} | ({"profiles"} if version >= 2 else set())
    missing -= _tables(con)
    if missing:
        problems.append({"entry": None, "problem": "missing table(s) " + ", ".join(sorted(missing))})
    if "specializations" not in missing:
        meta_check = loader_meta_check()
        result["metadata_checked"] = meta_check is not None
        result["entries"] = _check_entries(con, problems, meta_check)


def check_database(path):
    """verify's result for one database: status "ok", "damaged" or "not checked", entries, problems."""
    import sqlite3
    result = {"database": os.path.abspath(path), "status": "ok", "schema": None, "entries": 0, "note": None,
              "metadata_checked": False, "problems": []}
    refused = distrust(path)
    if refused:
        result["problems"].append({"entry": None, "problem": refused})
    header = _header(path)
    not_a_cache = _not_a_cache(path, header)
    if not_a_cache:
        result["problems"].append({"entry": None, "problem": not_a_cache})
    else:
        before = _fingerprint(path)
        in_use = None
        try:
            con = _connect(path)
            try:
                _check_open_database(con, result)
            finally:
                con.close()
        except (sqlite3.Error, OSError) as exc:
            if _busy(exc):
                in_use = "locked by another process: not checked, run verify again"
            else:
                result["problems"].append({"entry": None, "problem": str(exc)})
        if not in_use and _fingerprint(path) != before:
            # A program wrote it while we read: what we saw may be half old, half new. Not evidence of damage.
            in_use = "changed while being checked (in use?): not checked, run verify again"
        if in_use:
            result.update(status="not checked", note=in_use,
                          problems=[p for p in result["problems"] if p["problem"] == refused])
    if result["problems"]:
        result["status"] = "damaged"
    return result


def _describe_problem(p):
    e = p["entry"]
    if e is None:
        return p["problem"]
    return f"entry {e['qualname']} [{e['signature']}] (line {e['firstlineno']}): {p['problem']}"


def format_verify(results, shown, out):
    for r, name in zip(results, shown):
        if r["status"] == "ok":
            out.write(f"{name}: ok ({r['entries']} entries)" + (f"; {r['note']}" if r["note"] else "") + "\n")
        elif r["status"] == "not checked":
            out.write(f"{name}: {r['note']}\n")
        else:
            out.write(f"{name}: DAMAGED\n")
            for p in r["problems"]:
                out.write(f"  {_describe_problem(p)}\n")
    counts = {s: sum(r["status"] == s for r in results) for s in ("ok", "damaged", "not checked")}
    out.write(f"{len(results)} database(s): {counts['ok']} ok, {counts['damaged']} damaged,"
              f" {counts['not checked']} not checked\n")


# -- clear -------------------------------------------------------------------------------------------------------

def _application_id(path, header):
    """The database's application_id, or None when it is not a SQLite file we can read."""
    if _not_a_cache(path, header):
        return None
    app_id = _header_application_id(header)
    if app_id == APPLICATION_ID or not os.path.exists(path + "-wal"):
        return app_id
    # A WAL database's header may still sit in its -wal: ask SQLite, read-only.
    import sqlite3
    try:
        con = _connect(path)
        try:
            return _pragma(con, "application_id")
        finally:
            con.close()
    except (sqlite3.Error, OSError):
        return app_id


def _clearable(path):
    """None if `path` may be deleted, else why not. Only a pypaccel database, known by its application_id whatever
    its name, however it was found (a directory search, a file named on the command line, PYPACCEL_CACHE_DIR): a
    slip of the finger or of an environment variable must never delete anything else."""
    if not os.path.isfile(path):
        return "not a regular file"
    if _application_id(path, _header(path)) == APPLICATION_ID:
        return None
    return "not a pypaccel cache database (no pypaccel application_id; delete it yourself if it is yours to delete)"


def clear(targets, dry_run):
    """Deletes each target database with its companion files. Returns (removed, refused, failed)."""
    removed, refused, failed = [], [], []
    for path in targets:
        why = _clearable(path)
        if why:
            refused.append({"database": path, "reason": why})
            continue
        files = [p for p in (path + c for c in COMPANIONS) if os.path.isfile(p)]
        # Companions first: a -wal left behind a deleted database would be replayed into the next one created
        # under that name if a program opened it in between.
        files.append(path)
        size = sum(_size_on_disk(p, ()) for p in files)
        try:
            if not dry_run:
                for p in files:
                    os.remove(p)
        except OSError as exc:
            failed.append({"database": path, "reason": str(exc)})
            continue
        removed.append({"database": path, "bytes": size, "files": files})
    return removed, refused, failed


def format_clear(removed, refused, failed, dry_run, out, err):
    verb = "would remove" if dry_run else "removed"
    for r in removed:
        extra = [p[len(r["database"]):] for p in r["files"] if p != r["database"]]
        also = f", with {', '.join(extra)}" if extra else ""
        out.write(f"{verb} {r['database']} ({_human_size(r['bytes'])}{also})\n")
    for r in refused:
        err.write(f"pypaccel cache: refusing to delete {r['database']}: {r['reason']}\n")
    for r in failed:
        err.write(f"pypaccel cache: could not delete {r['database']}: {r['reason']}\n")
    freed = sum(r["bytes"] for r in removed)
    out.write(f"{verb} {len(removed)} database(s), {'would free' if dry_run else 'freed'} {_human_size(freed)}\n")


# -- Command line ------------------------------------------------------------------------------------------------

DESCRIPTIONS = {
    "list": "List pypaccel's cache databases: size, entries, builds, profiles, journal mode, module.",
    "verify": "Check pypaccel's cache databases read-only: SQLite integrity, schema, and every entry's checksum"
              " and identity. Exit status 1 if any is damaged or would be refused by pypaccel.",
    "clear": "Delete pypaccel's cache databases (with their -wal, -shm and -journal files). They hold nothing"
             " that cannot be rebuilt: the next run compiles again.",
}


def _arguments(command, argv, out, err):
    """Parsed arguments, or None when -h printed the help. Raises UsageError after printing the usage."""
    import argparse

    class Parser(argparse.ArgumentParser):
        # Report to the streams main() was given (tests pass StringIO) and return 2 instead of exiting.
        def error(self, message):
            err.write(self.format_usage() + f"pypaccel cache: error: {message}\n")
            raise UsageError(message)

    parser = Parser(prog=f"python -m pypaccel cache {command}", description=DESCRIPTIONS[command], add_help=False)
    parser.add_argument("-h", "--help", action="store_true", help="show this help message and exit")
    parser.add_argument("paths", nargs="*", metavar="PATH",
                        help="database, source file or directory to search recursively for *%s (default:"
                             " $PYPACCEL_CACHE_DIR if set, else the current directory)" % _paths.SUFFIX)
    if command == "clear":
        parser.add_argument("--dry-run", action="store_true", help="show what would be deleted, delete nothing")
    else:
        parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--user", action="store_true",
                        help="also the per-user cache, %s (never searched unless asked)" % _paths._user_cache_root())
    args = parser.parse_args(argv)
    if args.help:
        out.write(parser.format_help())
        return None
    return args


def _databases(args, warn):
    """The databases the command works on. Paths that do not exist are warned about and skipped, as in `stats`."""
    paths = list(args.paths)
    for given in paths:
        if not os.path.exists(given):
            warn(f"no such file or directory: {given}")
    if not paths and not args.user:
        problem = _paths.override_problem()
        if problem:
            warn(problem)
    if args.user:
        user = _paths._user_cache_root()
        if os.path.isdir(user):  # no per-user cache yet is the normal state, not worth a warning
            paths.append(user)
        if not paths:
            return []  # --user alone must not fall back to the default root
    return _paths.cache_roots_for_stats(paths)


def _where(args):
    where = list(args.paths) + ([_paths._user_cache_root()] if args.user else [])
    return ", ".join(where) or _paths.override_root() or os.getcwd()


def _print_json(obj, out):
    import json
    json.dump(obj, out, indent=2)
    out.write("\n")


def main(argv=None, stdout=None, stderr=None):
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    argv = sys.argv[1:] if argv is None else list(argv)
    command, rest = (argv[0], argv[1:]) if argv else (None, [])
    if command in ("-h", "--help"):
        stdout.write(USAGE)
        return 0
    if command not in DESCRIPTIONS:
        stderr.write(USAGE + "pypaccel cache: error: "
                     + (f"unknown command {command!r}\n" if command else "a command is required\n"))
        return 2
    try:
        args = _arguments(command, rest, stdout, stderr)
    except UsageError:
        return 2
    if args is None:
        return 0

    def warn(message):
        stderr.write(f"pypaccel cache: warning: {message}\n")

    found = _databases(args, warn)
    if not found and not getattr(args, "json", False):
        stdout.write(f"no pypaccel cache databases found in {_where(args)}\n")
    # Human output names each database as found (relative under a relative PATH); --json gives absolute paths.
    if command == "list":
        report = list_databases(found)
        if args.json:
            _print_json(report, stdout)
        else:
            format_list(report, found, stdout)
        return 0
    if command == "verify":
        results = [check_database(p) for p in found]
        damaged = any(r["status"] == "damaged" for r in results)
        if args.json:
            _print_json({"databases": results, "ok": not damaged}, stdout)
        else:
            format_verify(results, found, stdout)
        return 1 if damaged else 0
    removed, refused, failed = clear(found, args.dry_run)
    format_clear(removed, refused, failed, args.dry_run, stdout, stderr)
    return 1 if refused or failed else 0
