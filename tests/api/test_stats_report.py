# `pypaccel stats` (pypaccel/_stats_report.py) over databases built here with the extension's schema: most recent
# run only, human and --json output, and warnings (never tracebacks) for corrupt, foreign or non-SQLite files.
import hashlib
import io
import json
import os
import sqlite3
import sys

import pytest

from conftest import cache_schema_sql

SUFFIX = ".cpython-311.pyp"
SCHEMA = cache_schema_sql()


def make_db(path, module_path, runs=(), events=(), specs=(), journal="delete"):
    """runs: (run_id, started); events: (run_id, qualname, firstlineno, kind, offset, line, reason, count);
    specs: (qualname, firstlineno) per stored specialization."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path)
    con.execute(f"PRAGMA journal_mode = {journal}")
    con.executescript(SCHEMA)
    con.executemany("INSERT INTO meta VALUES (?, ?)", [("module_path", module_path), ("schema", "2")])
    con.executemany("INSERT INTO runs VALUES (?, ?, ?, 4242, 'prog.py')", [(r, t, t + 1) for r, t in runs])
    con.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?)", events)
    con.executemany("INSERT INTO specializations VALUES (?, x'00', ?, ?, 'sig', 'build', x'00', x'00', 0, 1.5, 0, 0)",
                    [(f"k{i}".encode(), q, line) for i, (q, line) in enumerate(specs)])
    con.commit()
    con.close()
    return path


def sample_db(tmp_path, name="mod"):
    """An old run and a newer one; only the newer must be reported."""
    return make_db(
        tmp_path / "proj" / "__pycache__" / (name + SUFFIX), f"/src/{name}.py",
        runs=[("old", 100.0), ("new", 200.0)],
        events=[
            ("old", "f", 3, "compiled", None, None, None, 99),
            ("new", "f", 3, "compiled", None, None, None, 1),
            ("new", "f", 3, "native_calls", None, None, None, 1000),
            ("new", "f", 3, "native_calls", None, None, None, 500),  # summed
            ("new", "f", 3, "exit", 24, 5, "type of 'x' changed", 3),
            ("new", "f", 3, "exit", 40, 6, "int overflow", 1),
            ("new", "C.g", 10, "loaded", None, None, None, 1),
            ("new", "C.g", 10, "native_calls", None, None, None, 7),
            ("new", "h", 20, "fallback", None, None, "NYI: bytecode YIELD_VALUE", 2),
            ("new", "h", 20, "disabled", None, None, "exits on 90% of entries", 1),
            ("new", "h", 20, "future_kind", None, None, None, 5),  # unknown kinds are ignored
        ],
        specs=[("f", 3), ("f", 3), ("C.g", 10), ("unused", 30)])


def run_stats(pure, *args):
    out, err = io.StringIO(), io.StringIO()
    status = pure.stats.main([str(a) for a in args], stdout=out, stderr=err)
    return status, out.getvalue(), err.getvalue()


def test_json_reports_only_the_most_recent_run(pure, tmp_path):
    sample_db(tmp_path)
    status, out, err = run_stats(pure, tmp_path / "proj", "--json")
    assert (status, err) == (0, "")
    report = json.loads(out)
    assert report["totals"] == {"compiled": 1, "loaded": 1, "fallbacks": 2, "exits": 4, "native_calls": 1507,
                                "disabled": 1, "fallback_calls": 0, "probes": 0, "resumed": 0, "compile_seconds": 0}
    (module,) = report["modules"]
    assert module["module_path"] == "/src/mod.py"
    assert module["run"]["run_id"] == "new" and module["run"]["started"] == 200.0
    assert module["specializations"] == 4
    by_name = {(f["qualname"], f["firstlineno"]): f for f in module["functions"]}
    assert list(by_name) == [("f", 3), ("C.g", 10), ("h", 20), ("unused", 30)]  # source order
    f = by_name["f", 3]
    assert (f["compiled"], f["loaded"], f["native_calls"], f["specializations"]) == (1, 0, 1500, 2)
    assert f["exits"] == [{"offset": 24, "line": 5, "reason": "type of 'x' changed", "count": 3},
                          {"offset": 40, "line": 6, "reason": "int overflow", "count": 1}]
    assert by_name["C.g", 10]["loaded"] == 1
    # Recorded without its calls (as before pypaccel kept them in "fallback_calls"): calls unknown.
    assert by_name["h", 20]["fallbacks"] == [{"offset": -1, "line": -1, "refusal": None,
                                              "reason": "NYI: bytecode YIELD_VALUE",
                                              "count": 2, "calls": None}]
    assert by_name["h", 20]["disabled"] == 1
    assert by_name["h", 20]["disabled_reasons"] == ["exits on 90% of entries"]
    assert by_name["unused", 30]["specializations"] == 1 and by_name["unused", 30]["native_calls"] == 0


def test_json_totals_sum_over_databases(pure, tmp_path):
    sample_db(tmp_path, "a")
    sample_db(tmp_path, "b")
    status, out, _ = run_stats(pure, tmp_path, "--json")
    report = json.loads(out)
    assert [m["module_path"] for m in report["modules"]] == ["/src/a.py", "/src/b.py"]
    assert report["totals"]["native_calls"] == 2 * 1507 and report["totals"]["exits"] == 8


def test_human_output(pure, tmp_path):
    sample_db(tmp_path)
    status, out, err = run_stats(pure, tmp_path)
    assert (status, err) == (0, "")
    assert "/src/mod.py" in out
    assert "4 stored specializations" in out
    assert "pid 4242" in out
    row = next(line for line in out.splitlines() if line.strip().startswith("f:3 "))
    assert row.split()[1:] == ["1", "0", "1500", "4", "0", "0", "2"]
    assert "guard exit at offset 24 (line 5): type of 'x' changed x3" in out
    assert "fallback: NYI: bytecode YIELD_VALUE x2" in out
    assert "disabled: exits on 90% of entries" in out
    assert "C.g:10" in out and "unused:30" in out
    assert "1 compiled, 1 loaded from cache, 1507 native calls, 4 guard exits, 2 fallbacks" in out.splitlines()[-1]


def test_database_without_runs(pure, tmp_path):
    make_db(tmp_path / ("m" + SUFFIX), "/src/m.py", specs=[("f", 1)])
    status, out, err = run_stats(pure, tmp_path, "--json")
    (module,) = json.loads(out)["modules"]
    assert module["run"] is None and module["functions"][0]["specializations"] == 1
    assert "no run recorded" in run_stats(pure, tmp_path)[1]


@pytest.mark.parametrize("json_flag", [[], ["--json"]])
def test_bad_files_are_warned_about_and_skipped(pure, tmp_path, json_flag):
    sample_db(tmp_path)
    (tmp_path / ("text" + SUFFIX)).write_text("this is not a database\n" * 100)
    (tmp_path / ("empty" + SUFFIX)).write_bytes(b"")
    corrupt = make_db(tmp_path / ("corrupt" + SUFFIX), "/src/corrupt.py", runs=[("r", 1.0)],
                      events=[("r", "f", 1, "compiled", None, None, "x" * 200, 1)] * 200)
    data = bytearray(corrupt.read_bytes())
    data[4096:] = b"\xa5" * (len(data) - 4096)  # keep the header, destroy every page after the first
    corrupt.write_bytes(bytes(data))
    foreign = tmp_path / ("foreign" + SUFFIX)
    con = sqlite3.connect(foreign)
    con.execute("CREATE TABLE t(x)")
    con.close()
    newer = make_db(tmp_path / ("newer" + SUFFIX), "/src/newer.py")
    con = sqlite3.connect(newer)
    con.execute("PRAGMA user_version = 3")
    con.close()

    status, out, err = run_stats(pure, tmp_path, *json_flag)
    assert status == 0
    assert "Traceback" not in err
    warnings = err.splitlines()
    assert all(w.startswith("pypaccel stats: warning: skipping ") for w in warnings), err
    for name in ("text", "empty", "corrupt", "foreign", "newer"):
        assert sum(name + SUFFIX in w for w in warnings) == 1, (name, err)
    assert "/src/mod.py" in out  # the good database is still reported
    if json_flag:
        assert len(json.loads(out)["modules"]) == 1


def test_missing_path_warns(pure, tmp_path):
    status, out, err = run_stats(pure, tmp_path / "nope", "--json")
    assert status == 0 and "no such file or directory" in err
    assert json.loads(out)["totals"] == dict.fromkeys(
        ["compiled", "loaded", "fallbacks", "exits", "native_calls", "disabled", "fallback_calls", "probes", "resumed",
         "compile_seconds"], 0)


@pytest.mark.parametrize("json_flag", [[], ["--json"]])
def test_no_databases(pure, tmp_path, monkeypatch, json_flag):
    monkeypatch.delenv("PYPACCEL_CACHE_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    status, out, err = run_stats(pure, *json_flag)
    assert (status, err) == (0, "")
    if json_flag:
        report = json.loads(out)
        assert report["modules"] == [] and set(report["totals"].values()) == {0}
        assert {"compiled", "loaded", "fallbacks", "exits", "native_calls"} <= set(report["totals"])
    else:
        assert "no pypaccel cache databases found" in out


def test_default_root_is_the_override(pure, tmp_path, monkeypatch):
    sample_db(tmp_path / "cache")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PYPACCEL_CACHE_DIR", str(tmp_path / "cache"))
    assert len(json.loads(run_stats(pure, "--json")[1])["modules"]) == 1


@pytest.mark.parametrize("journal", ["delete", "wal"])
def test_reading_changes_nothing(pure, tmp_path, journal):
    db = make_db(tmp_path / ("m" + SUFFIX), "/src/m.py", runs=[("r", 1.0)], journal=journal)
    digest = hashlib.sha256(db.read_bytes()).hexdigest()
    run_stats(pure, tmp_path, "--json")
    run_stats(pure, tmp_path)
    assert hashlib.sha256(db.read_bytes()).hexdigest() == digest
    # A WAL reader needs the -shm index (SQLite creates it and an empty -wal even read-only); nothing else appears.
    extra = {"delete": set(), "wal": {db.name + "-wal", db.name + "-shm"}}[journal]
    assert set(os.listdir(tmp_path)) <= {db.name} | extra


def test_odd_characters_in_file_names(pure, tmp_path):
    make_db(tmp_path / "we?ird #dir%20" / ("m" + SUFFIX), "/src/m.py", runs=[("r", 1.0)])
    status, out, err = run_stats(pure, tmp_path, "--json")
    assert err == "" and len(json.loads(out)["modules"]) == 1


def test_command_line_entry_point(run_python, tmp_path):
    pytest.importorskip("pypaccel._pypaccel")  # `python -m pypaccel` imports the package, hence the extension
    sample_db(tmp_path)
    result = run_python("-m", "pypaccel", "stats", tmp_path / "proj", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["totals"]["native_calls"] == 1507


def fallback_db(tmp_path, name="mod", run="r", calls=46098):
    """A run as the extension records it now: each fallback once per function, named by its refusal, its calls and
    compile time apart."""
    reason = "[closure-cells] not compiled: uses closure cells or free variables (free 'n', from an enclosing function)"
    return make_db(
        tmp_path / "__pycache__" / (name + SUFFIX), f"/src/{name}.py", runs=[(run, 300.0)],
        events=[
            (run, "outer.<locals>.inner", 2, "fallback", None, None, reason, 1),
            (run, "outer.<locals>.inner", 2, "fallback_calls", None, None, reason, calls),
            (run, "hot", 8, "compiled", None, None, None, 1),
            (run, "hot", 8, "compile_us", None, None, None, 12500),
            (run, "hot", 8, "native_calls", None, None, None, 10),
            (run, "hot", 8, "exit", 12, 9, "int overflow", 7),
            (run, "cold", 20, "loaded", None, None, None, 1),
            (run, "cold", 20, "native_calls", None, None, None, 99),
        ])


def test_fallbacks_are_counted_once_per_function_and_run(pure, tmp_path):
    fallback_db(tmp_path)
    report = json.loads(run_stats(pure, tmp_path, "--json")[1])
    assert (report["totals"]["fallbacks"], report["totals"]["fallback_calls"]) == (1, 46098)
    assert report["totals"]["compile_seconds"] == pytest.approx(0.0125)
    by_name = {f["qualname"]: f for f in report["modules"][0]["functions"]}
    (fb,) = by_name["outer.<locals>.inner"]["fallbacks"]
    assert (fb["count"], fb["calls"]) == (1, 46098) and "'n'" in fb["reason"]
    assert by_name["hot"]["compile_seconds"] == pytest.approx(0.0125)
    out = run_stats(pure, tmp_path)[1]
    assert "'n', from an enclosing function), 46098 calls" in out
    assert "1 fallbacks (in 46098 calls)" in out.splitlines()[-1]


def test_fallbacks_are_named_and_counted_by_refusal(pure, tmp_path):
    fallback_db(tmp_path)
    report = json.loads(run_stats(pure, tmp_path, "--json")[1])
    (fb,) = [e for f in report["modules"][0]["functions"] for e in f["fallbacks"]]
    assert fb["refusal"] == "closure-cells"
    assert fb["reason"] == "not compiled: uses closure cells or free variables (free 'n', from an enclosing function)"
    assert report["refusals"] == {"closure-cells": {"fallbacks": 1, "calls": 46098}}
    out = run_stats(pure, tmp_path)[1]
    assert "fallback [closure-cells]: not compiled: uses closure cells" in out
    assert "fallbacks by refusal: closure-cells 1 (46098 calls)" in out.splitlines()[-2]
    assert "compile ms" in out and "12.5" in out


def test_argv_is_a_list_in_json(pure, tmp_path):
    db = fallback_db(tmp_path)
    con = sqlite3.connect(db)
    con.execute("UPDATE runs SET argv = ?", (repr(["prog.py", "-x", "it's"]),))
    con.commit()
    con.close()
    report = json.loads(run_stats(pure, tmp_path, "--json")[1])
    assert report["modules"][0]["run"]["argv"] == ["prog.py", "-x", "it's"]
    assert "argv prog.py -x it's" in run_stats(pure, tmp_path)[1]


@pytest.mark.parametrize("key, first", [("native_calls", "cold"), ("exits", "hot"), ("compile_time", "hot"),
                                        ("fallbacks", "outer.<locals>.inner")])
def test_sort_and_top(pure, tmp_path, key, first):
    fallback_db(tmp_path / "a", "a")
    fallback_db(tmp_path / "b", "b", calls=5)
    status, out, err = run_stats(pure, tmp_path, "--sort", key, "--top", "2")
    assert (status, err) == (0, "")
    assert f"2 of 6 function(s) by {key.replace('_', ' ')}, over 2 database(s):" in out
    rows = [line.split()[0] for line in out.splitlines() if line.startswith("  ") and ":" in line.split()[0]
            and not line.startswith("      ")]
    assert rows[0].startswith(first + ":") and len(rows) == 2
    report = json.loads(run_stats(pure, tmp_path, "--json", "--sort", key, "--top", "2")[1])
    shown = [f["qualname"] for m in report["modules"] for f in m["functions"]]
    assert len(shown) == 2 and first in shown
    assert report["totals"]["native_calls"] == 2 * 109  # totals stay over everything


def test_top_must_be_positive(pure, tmp_path):
    with pytest.raises(SystemExit):
        run_stats(pure, tmp_path, "--top", "0")


def test_last_run_is_found_wherever_its_databases_are(pure, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("PYPACCEL_CACHE_DIR", raising=False)
    elsewhere = fallback_db(tmp_path / "site-packages", run="this-run")
    make_db(tmp_path / "site-packages" / "__pycache__" / ("unrelated" + SUFFIX), "/src/unrelated.py",
            runs=[("other-run", 500.0)], events=[("other-run", "g", 1, "compiled", None, None, None, 1)])
    record = tmp_path / "xdg" / "pypaccel" / "last-run.json"
    record.parent.mkdir(parents=True)
    record.write_text(json.dumps({"run_id": "this-run", "pid": 77, "ended": 301.0, "argv": ["-m", "pyflakes"],
                                  "cwd": "/home/me", "databases": [str(elsewhere)],
                                  "notes": ["JIT unavailable: unknown CPU 'bogus' (PYPACCEL_CPU)"]}))
    (tmp_path / "empty").mkdir()
    monkeypatch.chdir(tmp_path / "empty")
    status, out, err = run_stats(pure)
    assert (status, err) == (0, "")
    assert "no pypaccel cache databases found" in out and "python -m pypaccel stats --last" in out
    status, out, err = run_stats(pure, "--last")
    assert (status, err) == (0, "")
    assert "note: JIT unavailable: unknown CPU 'bogus' (PYPACCEL_CPU)" in out
    assert "argv -m pyflakes, in /home/me: 1 database(s)" in out
    assert "/src/mod.py" in out and "unrelated" not in out
    report = json.loads(run_stats(pure, "--last", "--json")[1])
    assert report["last_run"]["argv"] == ["-m", "pyflakes"] and report["totals"]["fallback_calls"] == 46098
    record.unlink()
    assert run_stats(pure, "--last")[1].startswith("no run recorded in ")


def test_notes_say_why_caching_is_off(pure, tmp_path, monkeypatch):
    notes_file = tmp_path / "notes.txt"
    notes_file.write_text("x")
    monkeypatch.setenv("PYPACCEL_CACHE_DIR", str(notes_file))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    status, out, err = run_stats(pure)
    assert f"note: PYPACCEL_CACHE_DIR={notes_file} is not a directory: caching is off" in out
    assert "note: PYTHONDONTWRITEBYTECODE is set" in out
    assert len(json.loads(run_stats(pure, "--json")[1])["notes"]) == 2
