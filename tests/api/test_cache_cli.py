# `python -m pypaccel cache list|verify|clear` (pypaccel/_cache_cli.py) over databases built here with the
# extension's schema 2: listing, damage found by verify (and verify changing nothing), and clear deleting only caches.
import hashlib
import importlib
import io
import json
import os
import re
import sqlite3
import sys

import pytest

from conftest import PACKAGE_PARENT, REPO, cache_schema_sql

SUFFIX = ".cpython-311.pyp"
SCHEMA = cache_schema_sql()


# cache::checksum: FNV-1a 64, offset basis 0xcbf29ce484222325.
OFFSET_BASIS = 14695981039346656037


def fnv1a64(data):
    # Written out again here rather than imported, so a wrong checksum in the module cannot agree with itself.
    h = OFFSET_BASIS
    for b in data:
        h = ((h ^ b) * 0x100000001B3) % 2**64
    return h - 2**64 if h >= 2**63 else h


def _varint(n):
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def meta_blob(key, signature):
    """The smallest SpecMeta the loader accepts for this key and signature (deopt::encodeMeta: version, symbol,
    signature, nlocals, nargs, stress, direct, variant, then no exits, slots or globals), so that verify with the
    extension (its loader's own check) finds these rows sound."""
    version = int(re.search(r"kMetaVersion = (\d+)", (REPO / "csrc" / "deopt" / "meta_codec.cpp").read_text()).group(1))
    symbol = ("pypa_" + key[:12].hex()).encode()
    fields = [_varint(version), _varint(len(symbol)) + symbol, _varint(len(signature)) + signature.encode()]
    fields += [_varint(n) for n in (len(signature), len(signature), 0, 0, 0, 0, 0, 0)]
    return b"".join(fields)


def entry(qualname, signature="ii", build="build-A", firstlineno=1, size=200, **override):
    """One specializations row, consistent unless `override` says otherwise."""
    code_hash = hashlib.sha256(qualname.encode()).digest()
    obj = b"\x7fELF" + (f"<object of {qualname}/{signature}>".encode() * (size // 20 + 1))[:size]
    key = hashlib.sha256(code_hash + signature.encode() + build.encode()).digest()
    meta = meta_blob(key, signature)
    row = {"key": key, "code_hash": code_hash,
           "qualname": qualname, "firstlineno": firstlineno, "signature": signature, "build": build,
           "object": obj, "meta": meta, "checksum": fnv1a64(obj + meta)}
    row.update(override)
    return row


def make_db(path, module_path="/src/mod.py", entries=(), profiles=(), journal="delete"):
    """A schema-2 database like the extension writes; profiles: (qualname, signature, build)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path)
    con.executescript(SCHEMA)
    con.executemany("INSERT INTO meta VALUES (?, ?)", [("module_path", module_path), ("schema", "2")])
    con.executemany("INSERT INTO specializations VALUES (:key, :code_hash, :qualname, :firstlineno, :signature,"
                    " :build, :object, :meta, :checksum, 1.5, 100.0, 200.0)", list(entries))
    con.executemany("INSERT INTO profiles VALUES (?, ?, ?, ?, 1, 10, 5, 0, 'native', NULL, '', NULL, 300.0)",
                    [(hashlib.sha256(q.encode()).digest(), s, b, q) for q, s, b in profiles])
    con.commit()
    con.execute(f"PRAGMA journal_mode = {journal}")
    con.close()
    return path


def sample_db(directory, name="mod", journal="delete"):
    return make_db(directory / "__pycache__" / (name + SUFFIX), f"/src/{name}.py", journal=journal,
                   entries=[entry("kernel", "ii"), entry("kernel", "ff"), entry("C.method", "o", build="build-B")],
                   profiles=[("kernel", "ii", "build-A"), ("kernel", "ff", "build-A")])


@pytest.fixture
def cli(pure):
    return importlib.import_module("pypaccel._cache_cli")


def run(cli, *args):
    out, err = io.StringIO(), io.StringIO()
    status = cli.main([str(a) for a in args], stdout=out, stderr=err)
    return status, out.getvalue(), err.getvalue()


def snapshot(directory):
    return {p: p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def test_pure_python(cli):
    assert "pypaccel._pypaccel" not in sys.modules


def test_checksum_is_fnv1a_64(cli):
    # Stored signed, as sqlite3_bind_int64 does: compare modulo 2**64 with the published test vectors.
    assert cli.fnv1a64(b"") == fnv1a64(b"") and cli.fnv1a64(b"") % 2**64 == OFFSET_BASIS
    assert cli.fnv1a64(b"a") % 2**64 == 0xAF63DC4C8601EC8C
    assert cli.fnv1a64(b"foobar") % 2**64 == 0x85944171F73967E8
    assert cli.fnv1a64(b"a") < 0  # the top bit is set: negative as stored
    assert cli.fnv1a64(b"\x7fELF" * 100) == fnv1a64(b"\x7fELF" * 100)


def test_list_json(cli, tmp_path):
    sample_db(tmp_path / "a", "one", journal="wal")
    make_db(tmp_path / "b" / ("two" + SUFFIX), "/src/two.py", entries=[entry("f")])
    (tmp_path / "b" / ("bad" + SUFFIX)).write_text("not a database\n")
    status, out, err = run(cli, "list", "--json", tmp_path)
    assert (status, err) == (0, "")
    report = json.loads(out)
    by_name = {os.path.basename(d["database"]): d for d in report["databases"]}
    one, two, bad = by_name["one" + SUFFIX], by_name["two" + SUFFIX], by_name["bad" + SUFFIX]
    assert (one["specializations"], one["builds"], one["profiles"]) == (3, 2, 2)
    assert (one["journal_mode"], one["module_path"], one["schema"], one["refused"]) == ("wal", "/src/one.py", 2, None)
    assert one["bytes"] == os.path.getsize(tmp_path / "a" / "__pycache__" / ("one" + SUFFIX))
    assert (two["specializations"], two["builds"], two["profiles"], two["journal_mode"]) == (1, 1, 0, "delete")
    assert bad["problem"] == "not a SQLite database" and bad["specializations"] is None
    assert report["total"] == {"databases": 3, "bytes": sum(d["bytes"] for d in report["databases"]),
                               "specializations": 4, "builds": 2, "profiles": 2}


def test_list_human(cli, tmp_path):
    sample_db(tmp_path, "one")
    make_db(tmp_path / ("two" + SUFFIX), "/src/two.py", entries=[entry("f", build="build-C")])
    (tmp_path / ("empty" + SUFFIX)).write_bytes(b"")
    status, out, err = run(cli, "list", tmp_path)
    assert (status, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].split() == ["database", "size", "entries", "builds", "profiles", "journal", "module"]
    row = next(line for line in lines if "one" + SUFFIX in line)
    assert row.split()[-6:] == ["KiB", "3", "2", "2", "delete", "/src/one.py"]
    assert any("empty" + SUFFIX in line and line.endswith("0 B  empty file") for line in lines), out
    assert lines[-1].startswith("total: 3 database(s), ") and lines[-1].endswith("4 entries, 3 build(s), 2 profiles")


def test_list_shows_refused_and_outdated(cli, tmp_path):
    db = sample_db(tmp_path)
    os.chmod(db, 0o664)
    old = make_db(tmp_path / ("old" + SUFFIX), "/src/old.py")
    con = sqlite3.connect(old)
    con.execute("DROP TABLE profiles")
    con.execute("PRAGMA user_version = 1")
    con.close()
    status, out, _ = run(cli, "list", tmp_path)
    assert status == 0
    assert "[refused: writable by group/others]" in next(line for line in out.splitlines() if "mod" + SUFFIX in line)
    assert "[schema 1, outdated]" in next(line for line in out.splitlines() if "old" + SUFFIX in line)


@pytest.mark.parametrize("journal", ["delete", "wal"])
def test_verify_ok(cli, tmp_path, journal):
    sample_db(tmp_path, journal=journal)
    status, out, err = run(cli, "verify", tmp_path)
    assert (status, err) == (0, ""), out
    assert out.splitlines() == [f"{tmp_path}/__pycache__/mod{SUFFIX}: ok (3 entries)",
                                "1 database(s): 1 ok, 0 damaged, 0 not checked"]


def test_verify_finds_a_flipped_bit_in_an_object(cli, tmp_path):
    db = make_db(tmp_path / ("m" + SUFFIX), entries=[entry("kernel", "if", firstlineno=7, size=3000),
                                                     entry("other", "i")])
    data = bytearray(db.read_bytes())
    at = data.index(b"<object of kernel/if>") + 5
    data[at] ^= 0x10
    db.write_bytes(bytes(data))
    status, out, _ = run(cli, "verify", db)
    assert status == 1
    assert f"{db}: DAMAGED" in out
    assert "  entry kernel [if] (line 7): checksum mismatch (object or meta bytes changed)" in out
    assert "other" not in out
    status, out, _ = run(cli, "verify", "--json", db)
    (result,) = json.loads(out)["databases"]
    assert (status, result["status"], result["entries"]) == (1, "damaged", 2)
    assert result["problems"] == [{"entry": {"qualname": "kernel", "firstlineno": 7, "signature": "if"},
                                   "problem": "checksum mismatch (object or meta bytes changed)"}]


def test_verify_checks_entry_identity(cli, tmp_path):
    not_elf = entry("not_elf", object=b"MZ..")
    not_elf["checksum"] = fnv1a64(not_elf["object"] + not_elf["meta"])
    make_db(tmp_path / ("m" + SUFFIX), entries=[
        entry("short_key", key=b"k" * 31), entry("short_hash", code_hash=b"h" * 8),
        entry("bad_signature", "ix"), not_elf])
    status, out, _ = run(cli, "verify", tmp_path)
    assert status == 1
    assert "entry short_key [ii] (line 1): key is not a 32-byte hash" in out
    assert "entry short_hash [ii] (line 1): code_hash is not a 32-byte hash" in out
    assert "entry bad_signature [ix] (line 1): signature 'ix' has letters other than i, f, b, o" in out
    assert "entry not_elf [ii] (line 1): object is not an ELF file" in out
    assert "checksum" not in out  # each row's checksum matches its bytes


def _truncated(tmp_path):
    db = make_db(tmp_path / ("truncated" + SUFFIX), entries=[entry(f"f{i}", size=4000) for i in range(40)])
    data = db.read_bytes()
    assert len(data) > 40 * 4096
    db.write_bytes(data[:len(data) // 2])
    return "truncated", None  # SQLite's own words vary: malformed image, or integrity errors


def _empty(tmp_path):
    (tmp_path / ("empty" + SUFFIX)).write_bytes(b"")
    return "empty", "empty file"


def _text(tmp_path):
    (tmp_path / ("x" + SUFFIX)).write_text("print('hello')\n" * 50)
    return "x", "not a SQLite database"


def _foreign(tmp_path):
    con = sqlite3.connect(tmp_path / ("foreign" + SUFFIX))
    con.execute("PRAGMA application_id = 1234")
    con.execute("CREATE TABLE t(x)")
    con.close()
    return "foreign", "not a pypaccel cache (application_id 0x4d2)"


def _group_writable(tmp_path):
    os.chmod(sample_db(tmp_path, "shared"), 0o664)
    return "shared", "refused: writable by group/others"


def _other_owner(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root to give a file to another user")
    os.chown(sample_db(tmp_path, "theirs"), 12345, -1)
    return "theirs", "refused: owned by uid 12345"


def _foreign_wal_owner(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root to give a file to another user")
    db = sample_db(tmp_path, "walled")
    wal = db.parent / (db.name + "-wal")
    wal.write_bytes(b"")
    os.chown(wal, 12345, -1)
    return "walled", "refused: its -wal is owned by uid 12345"


@pytest.mark.parametrize("damage", [_truncated, _empty, _text, _foreign, _group_writable, _other_owner,
                                    _foreign_wal_owner])
def test_verify_reports_damage(cli, tmp_path, damage):
    sample_db(tmp_path, "good")
    name, reason = damage(tmp_path)
    before = snapshot(tmp_path)
    status, out, err = run(cli, "verify", tmp_path)
    assert status == 1, out
    assert "Traceback" not in err
    lines = out.splitlines()
    assert any(line.endswith(f"/{name}{SUFFIX}: DAMAGED") for line in lines), out
    assert any(line.endswith(f"/good{SUFFIX}: ok (3 entries)") for line in lines), out
    if reason:
        assert f"  {reason}" in lines, out
    assert snapshot(tmp_path) == before  # nothing written, nothing created
    result = next(r for r in json.loads(run(cli, "verify", "--json", tmp_path)[1])["databases"]
                  if r["database"].endswith(name + SUFFIX))
    assert result["status"] == "damaged" and result["problems"]


def test_verify_schema_versions(cli, tmp_path):
    for name, version in (("old", 1), ("newer", 3)):
        db = sample_db(tmp_path, name)
        con = sqlite3.connect(db)
        con.execute(f"PRAGMA user_version = {version}")
        con.close()
    status, out, _ = run(cli, "verify", tmp_path)
    assert status == 0, out  # neither is damage
    assert f"old{SUFFIX}: ok (3 entries); schema 1, outdated" in out
    assert f"newer{SUFFIX}: schema 3 is newer than this pypaccel (2): not checked" in out


@pytest.mark.parametrize("journal", ["delete", "wal"])
def test_list_and_verify_change_nothing(cli, tmp_path, journal):
    sample_db(tmp_path, journal=journal)
    db = make_db(tmp_path / ("flipped" + SUFFIX), entries=[entry("f", size=1000)], journal=journal)
    data = bytearray(db.read_bytes())
    data[data.index(b"<object of f/ii>")] ^= 1
    db.write_bytes(bytes(data))
    before = snapshot(tmp_path)
    assert run(cli, "verify", tmp_path)[0] == 1
    assert run(cli, "verify", "--json", tmp_path)[0] == 1
    assert run(cli, "list", tmp_path)[0] == run(cli, "list", "--json", tmp_path)[0] == 0
    assert snapshot(tmp_path) == before  # not even an empty -wal or -shm beside a WAL database


def test_verify_reads_what_is_still_in_the_wal(cli, tmp_path):
    db = sample_db(tmp_path, journal="wal")
    writer = sqlite3.connect(db)  # a running program: its commits sit in the -wal until it checkpoints
    try:
        writer.execute("INSERT INTO specializations VALUES (:key, :code_hash, :qualname, :firstlineno, :signature,"
                       " :build, :object, :meta, 12345, 1.5, 100.0, 200.0)", entry("late"))
        writer.commit()
        assert os.path.getsize(str(db) + "-wal") > 0
        status, out, _ = run(cli, "verify", db)
        assert status == 1 and "entry late [ii] (line 1): checksum mismatch" in out
        assert "4 entries" not in out and json.loads(run(cli, "list", "--json", db)[1])["total"]["specializations"] == 4
    finally:
        writer.close()


def test_verify_leaves_a_locked_database_unjudged(cli, tmp_path):
    db = sample_db(tmp_path)
    writer = sqlite3.connect(db, isolation_level=None)
    try:
        writer.execute("BEGIN EXCLUSIVE")  # a rollback-journal writer mid-transaction: the file may be half written
        writer.execute("DELETE FROM specializations")
        status, out, _ = run(cli, "verify", db)  # waits out the 2 s busy timeout
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert status == 0
    assert f"{db}: locked by another process: not checked, run verify again" in out


def test_verify_missing_path_warns(cli, tmp_path):
    sample_db(tmp_path)
    status, out, err = run(cli, "verify", tmp_path / "nope", tmp_path)
    assert status == 0
    assert err == f"pypaccel cache: warning: no such file or directory: {tmp_path / 'nope'}\n"
    assert "1 ok" in out


def test_clear_removes_caches_and_their_files_only(cli, tmp_path):
    db = sample_db(tmp_path / "proj")
    for companion in ("-wal", "-shm"):
        (db.parent / (db.name + companion)).write_bytes(b"x" * 100)
    keep = [db.parent / "mod.cpython-311.pyc", tmp_path / "proj" / "mod.py", tmp_path / "proj" / "notes.pyp.txt"]
    for path in keep:
        path.write_bytes(b"keep me")
    keep.append(tmp_path / "proj" / "foreign.db")
    sqlite3.connect(keep[-1]).execute("CREATE TABLE t(x)").connection.close()
    size = os.path.getsize(db) + 200
    status, out, err = run(cli, "clear", tmp_path / "proj")
    assert (status, err) == (0, "")
    assert not any(db.parent.glob("mod.cpython-311.pyp*"))
    assert all(path.exists() for path in keep)
    assert db.parent.is_dir()  # an empty __pycache__ is left alone
    assert f"removed {db} (" in out and ", with -wal, -shm)" in out
    assert out.splitlines()[-1] == f"removed 1 database(s), freed {cli._human_size(size)}"


def test_clear_dry_run_removes_nothing(cli, tmp_path):
    db = sample_db(tmp_path)
    before = snapshot(tmp_path)
    status, out, _ = run(cli, "clear", "--dry-run", tmp_path)
    assert status == 0 and f"would remove {db} (" in out
    assert out.splitlines()[-1].startswith("would remove 1 database(s), would free ")
    assert snapshot(tmp_path) == before


def test_clear_named_files(cli, tmp_path, monkeypatch):
    monkeypatch.delenv("PYPACCEL_CACHE_DIR", raising=False)
    notes = tmp_path / "notes.txt"
    notes.write_text("precious\n")
    foreign = tmp_path / "foreign.db"
    sqlite3.connect(foreign).execute("CREATE TABLE t(x)").connection.close()
    renamed = make_db(tmp_path / "renamed.sqlite")  # ours by application_id, whatever its name
    source = tmp_path / "src" / "mod.py"
    source.parent.mkdir()
    source.write_text("x = 1\n")
    beside = sample_db(source.parent)  # __pycache__/mod.cpython-311.pyp: the source stands for it
    status, out, err = run(cli, "clear", notes, foreign, renamed, source)
    assert status == 1
    assert f"pypaccel cache: refusing to delete {notes}: not a pypaccel cache database" in err
    assert f"pypaccel cache: refusing to delete {foreign}: not a pypaccel cache database" in err
    assert notes.read_text() == "precious\n" and foreign.exists() and source.exists()
    assert not renamed.exists() and not beside.exists()
    assert "removed 2 database(s)" in out


@pytest.mark.parametrize("dry_run", [[], ["--dry-run"]])
def test_clear_never_deletes_what_the_override_names_unless_it_is_a_cache(cli, tmp_path, monkeypatch, dry_run):
    # PYPACCEL_CACHE_DIR naming a file (issue 15): the default root must get the same check as a file named on the
    # command line, by application_id, not by name; --dry-run must say what the real run does.
    monkeypatch.chdir(tmp_path)
    notes = tmp_path / "notes.txt"
    notes.write_text("important\n")
    disguised = tmp_path / ("notes" + SUFFIX)  # named like a cache, but not one
    disguised.write_text("important\n")
    for target in (notes, disguised):
        monkeypatch.setenv("PYPACCEL_CACHE_DIR", str(target))
        status, out, err = run(cli, "clear", *dry_run)
        assert status == 1, (out, err)
        assert f"refusing to delete {target}: not a pypaccel cache database" in err
        assert "PYPACCEL_CACHE_DIR" in err and "not a directory" in err
        assert out.splitlines()[-1].endswith("0 database(s), " + ("would free" if dry_run else "freed") + " 0 B")
        assert target.read_text() == "important\n"


def test_clear_by_directory_search_checks_the_application_id(cli, tmp_path):
    fake = tmp_path / "proj" / "__pycache__" / ("fake" + SUFFIX)
    fake.parent.mkdir(parents=True)
    fake.write_bytes(b"keep me")
    foreign = tmp_path / "proj" / ("foreign" + SUFFIX)
    sqlite3.connect(foreign).execute("CREATE TABLE t(x)").connection.close()
    db = sample_db(tmp_path / "proj")
    for dry_run in (["--dry-run"], []):
        status, out, err = run(cli, "clear", *dry_run, tmp_path / "proj")
        assert status == 1
        assert f"refusing to delete {fake}" in err and f"refusing to delete {foreign}" in err
        assert ("would remove" if dry_run else "removed") + " 1 database(s)" in out
    assert fake.read_bytes() == b"keep me" and foreign.exists() and not db.exists()


def test_clear_default_roots(cli, tmp_path, monkeypatch):
    monkeypatch.delenv("PYPACCEL_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    here = sample_db(tmp_path / "cwd")
    user = sample_db(tmp_path / "xdg" / "pypaccel" / "src")
    monkeypatch.chdir(tmp_path / "cwd")
    assert run(cli, "clear")[0] == 0
    assert not here.exists() and user.exists()  # the per-user cache only when asked for
    status, out, _ = run(cli, "clear", "--user")
    assert status == 0 and not user.exists() and "removed 1 database(s)" in out
    status, out, _ = run(cli, "clear", "--user")  # nothing left; still not the current directory's default
    assert status == 0 and "no pypaccel cache databases found" in out


def test_override_is_the_default_root(cli, tmp_path, monkeypatch):
    db = sample_db(tmp_path / "cache")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PYPACCEL_CACHE_DIR", str(tmp_path / "cache"))
    assert json.loads(run(cli, "list", "--json")[1])["total"]["databases"] == 1
    assert run(cli, "clear")[0] == 0 and not db.exists()


@pytest.mark.parametrize("args, message", [
    ([], "a command is required"),
    (["bogus"], "unknown command 'bogus'"),
    (["list", "--bogus"], "unrecognized arguments: --bogus"),
    (["clear", "--json"], "unrecognized arguments: --json"),
])
def test_usage_errors(cli, args, message):
    status, out, err = run(cli, *args)
    assert status == 2 and out == ""
    assert err.startswith("usage:") and err.endswith(f"pypaccel cache: error: {message}\n")


@pytest.mark.parametrize("command", ["list", "verify", "clear"])
def test_help(cli, tmp_path, command):
    sample_db(tmp_path)
    before = snapshot(tmp_path)
    status, out, err = run(cli, command, "-h", tmp_path)
    assert (status, err) == (0, "")
    assert out.startswith(f"usage: python -m pypaccel cache {command} ") and "--user" in out
    assert snapshot(tmp_path) == before
    assert run(cli, "--help")[1].count("python -m pypaccel cache ") == 3


def test_main_dispatches_cache(pure, tmp_path, capsys):
    sample_db(tmp_path)
    main = importlib.import_module("pypaccel.__main__")
    assert main.main(["cache", "verify", str(tmp_path)]) == 0
    assert "1 ok" in capsys.readouterr().out
    assert main.main(["cache"]) == 2
    assert "pypaccel cache: error:" in capsys.readouterr().err
    assert "pypaccel cache clear" in (main.main(["--help"]), capsys.readouterr().out)[1]


def test_command_line_entry_point(run_python, tmp_path):
    pytest.importorskip("pypaccel._pypaccel")  # `python -m pypaccel` imports the package, hence the extension
    if not (PACKAGE_PARENT / "pypaccel" / "_cache_cli.py").exists():
        pytest.skip(f"the pypaccel under test ({PACKAGE_PARENT}) predates `cache`: reinstall it")
    sample_db(tmp_path)
    result = run_python("-m", "pypaccel", "cache", "verify", "--json", tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["ok"] is True
    (tmp_path / ("x" + SUFFIX)).write_text("junk")
    assert run_python("-m", "pypaccel", "cache", "verify", tmp_path).returncode == 1


def test_verify_checks_metadata_as_the_loader_does(run_python, tmp_path):
    # With the extension, verify asks its loader's own check (deopt::storedMetaProblem) of every intact entry.
    pytest.importorskip("pypaccel._pypaccel")
    garbage = entry("garbage", meta=b"meta garbage")
    garbage["checksum"] = fnv1a64(garbage["object"] + garbage["meta"])
    other = entry("other_symbol", meta=entry("kernel")["meta"])
    other["checksum"] = fnv1a64(other["object"] + other["meta"])
    make_db(tmp_path / ("m" + SUFFIX), entries=[entry("kernel"), garbage, other])
    result = run_python("-m", "pypaccel", "cache", "verify", "--json", tmp_path)
    assert result.returncode == 1, result.stdout
    (db,) = json.loads(result.stdout)["databases"]
    assert db["metadata_checked"] is True
    said = {p["entry"]["qualname"]: p["problem"] for p in db["problems"]}
    assert said["garbage"].startswith("metadata does not decode"), said
    assert said["other_symbol"].startswith("metadata names symbol"), said
    assert "kernel" not in said
