# The persistent cache under bad input (issue: "no cache can crash or fool it"): every damaged, foreign, locked,
# refused or unwritable database is a cache miss plus one pypaccel.CacheWarning; the program's output is always
# the same. Also: the second process starts native and learns, and editing one function invalidates only it.
import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest

pytest.importorskip("pypaccel._pypaccel", reason="the pypaccel extension is not built")

MODULE = textwrap.dedent('''
    def kernel(n):
        total = 0
        for i in range(n):
            total += (i * i) % 7
        return total

    def ratio(a, b):
        x = 0.0
        i = 0
        while i < a:
            x = x + b / (i + 1)
            i += 1
        return x

    def unchanged(n):
        s = 0
        for i in range(n):
            s += i
        return s
''')

PROGRAM = textwrap.dedent('''
    import json, sys
    import pypaccel
    pypaccel.enable()
    import mod
    out = [mod.kernel(1000), mod.ratio(50, 2.5), mod.unchanged(100)]
    fs = [f for f in pypaccel.stats()["functions"] if f["file"] == mod.__file__]  # not the stdlib's
    print(json.dumps({"out": out, "compiled": sum(f["compiled"] for f in fs), "loaded": sum(f["loaded"] for f in fs)}))
''')

EXPECTED = [sum((i * i) % 7 for i in range(1000)), sum(2.5 / (i + 1) for i in range(50)), sum(range(100))]


@pytest.fixture
def project(tmp_path):
    d = tmp_path / "proj"
    d.mkdir()
    (d / "mod.py").write_text(MODULE)
    (d / "prog.py").write_text(PROGRAM)
    return d


def db_of(project):
    return project / "__pycache__" / "mod.cpython-311.pyp"


def run(run_python, project, **env):
    # No PYPACCEL_CACHE_DIR: the database goes to __pycache__ beside mod.py, as for a user.
    extra = {"PYPACCEL_CACHE_DIR": None, "PYPACCEL_THRESHOLD": "0"}
    extra.update(env)
    r = run_python("-W", "always", "prog.py", cwd=project, env=extra)
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout.strip().splitlines()[-1])
    assert data["out"][0] == EXPECTED[0] and data["out"][2] == EXPECTED[2]
    assert data["out"][1] == pytest.approx(EXPECTED[1], rel=0, abs=0)
    warnings = [line for line in r.stderr.splitlines() if "CacheWarning" in line]
    return data, warnings


def warm(run_python, project):
    cold, warnings = run(run_python, project)
    assert cold["compiled"] >= 3 and warnings == []
    assert db_of(project).is_file()
    return cold


# -- Damaged files: each is a miss plus one warning, and the next run is healthy again --------------------------

def truncate_half(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def flip_bits_in_every_page(path):
    data = bytearray(path.read_bytes())
    for page in range(1, len(data) // 4096):  # leave the header page: flips inside b-tree pages and blobs
        data[page * 4096 + 2000] ^= 0x5A
    path.write_bytes(bytes(data))


def flip_one_object_byte(path):
    con = sqlite3.connect(path)
    key, obj = con.execute("SELECT key, object FROM specializations LIMIT 1").fetchone()
    obj = bytearray(obj)
    obj[len(obj) // 2] ^= 0x01
    con.execute("UPDATE specializations SET object = ? WHERE key = ?", (bytes(obj), key))
    con.commit()
    con.close()


def text_file(path):
    path.write_text("this file is not a database at all, it only has the name of one\n" * 10)


DAMAGE = {"truncated": truncate_half, "bit-flipped pages": flip_bits_in_every_page,
          "bit-flipped object": flip_one_object_byte, "not SQLite": text_file}


@pytest.mark.parametrize("damage", list(DAMAGE), ids=list(DAMAGE))
def test_damaged_database_is_a_miss_with_one_warning_then_heals(run_python, project, damage):
    warm(run_python, project)
    DAMAGE[damage](db_of(project))
    data, warnings = run(run_python, project)
    assert len(warnings) == 1, warnings
    assert "pypaccel cache:" in warnings[0]
    # Healed: the damaged entry (or file) was replaced, so the run after that is warm and quiet.
    data, warnings = run(run_python, project)
    data, warnings = run(run_python, project)
    assert warnings == [] and data["compiled"] == 0 and data["loaded"] >= 3


@pytest.mark.parametrize("kind", ["zero-length", "empty SQLite"])
def test_empty_files_are_taken_over_quietly(run_python, project, kind):
    db_of(project).parent.mkdir()
    if kind == "zero-length":
        db_of(project).write_bytes(b"")  # what a process killed between creating the file and writing leaves
    else:
        sqlite3.connect(db_of(project)).execute("PRAGMA user_version = 0").close()
    data, warnings = run(run_python, project)
    assert warnings == [] and data["compiled"] >= 3
    data, warnings = run(run_python, project)
    assert data["compiled"] == 0 and data["loaded"] >= 3


def test_foreign_database_is_refused_and_left_alone(run_python, project):
    db_of(project).parent.mkdir()
    con = sqlite3.connect(db_of(project))
    con.execute("PRAGMA application_id = 1234")
    con.execute("CREATE TABLE mine(x)")
    con.commit()
    con.close()
    before = db_of(project).read_bytes()
    data, warnings = run(run_python, project)
    assert len(warnings) == 1 and "is not a pypaccel cache" in warnings[0]
    assert db_of(project).read_bytes() == before


def test_future_schema_is_refused_and_left_alone(run_python, project):
    warm(run_python, project)
    con = sqlite3.connect(db_of(project))
    con.execute("PRAGMA user_version = 99")
    con.commit()
    con.close()
    data, warnings = run(run_python, project)
    assert len(warnings) == 1 and "newer schema (99)" in warnings[0]
    assert data["loaded"] == 0
    assert sqlite3.connect(db_of(project)).execute("PRAGMA user_version").fetchone()[0] == 99


def test_foreign_build_entries_are_never_loaded(run_python, project):
    # Entries of another build (another Python, LLVM, CPU level, pypaccel) have other keys: a miss, no warning.
    warm(run_python, project)
    data, warnings = run(run_python, project, PYPACCEL_OPT="1")
    assert warnings == [] and data["loaded"] == 0 and data["compiled"] >= 3
    data, warnings = run(run_python, project)
    assert data["loaded"] >= 3 and data["compiled"] == 0  # both builds kept (the 2 most recent)


def test_locked_database_is_a_miss_with_one_warning(run_python, project):
    warm(run_python, project)
    # Another process holds an exclusive lock (rollback journal: readers wait for it) for longer than we wait.
    con = sqlite3.connect(db_of(project), isolation_level=None)
    con.execute("PRAGMA journal_mode=DELETE")
    con.execute("BEGIN EXCLUSIVE")
    try:
        start = time.monotonic()
        data, warnings = run(run_python, project)
        assert time.monotonic() - start < 20
    finally:
        con.execute("ROLLBACK")
        con.close()
    assert len(warnings) == 1 and "locked" in warnings[0], warnings
    assert data["loaded"] == 0


def drop_capabilities():
    """preexec_fn: the child keeps uid 0 but loses every capability (CAP_DAC_OVERRIDE included), so file modes
    apply to it as to an ordinary user: how a root test process gets a read-only or unreadable file. Dropped from
    the bounding set: execve gives root every capability the bounding set still holds."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in range(64):
        libc.prctl(24, cap, 0, 0, 0)  # PR_CAPBSET_DROP; fails harmlessly past the last capability


def run_unprivileged(run_python, project, clean_env):
    env = clean_env(run_python.cache_dir, {"PYPACCEL_CACHE_DIR": None, "PYPACCEL_THRESHOLD": "0"})
    r = subprocess.run([sys.executable, "-W", "always", "prog.py"], cwd=project, env=env, capture_output=True,
                       text=True, timeout=120, preexec_fn=drop_capabilities if os.geteuid() == 0 else None)
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout.strip().splitlines()[-1])
    assert data["out"][0] == EXPECTED[0] and data["out"][2] == EXPECTED[2]
    return data, [line for line in r.stderr.splitlines() if "CacheWarning" in line]


def test_read_only_database_falls_back_to_the_user_cache_with_one_warning(run_python, project, child_env):
    warm(run_python, project)
    db_of(project).chmod(0o444)
    data, warnings = run_unprivileged(run_python, project, child_env)
    assert len(warnings) == 1 and "not writable" in warnings[0], (warnings, data)
    assert data["compiled"] >= 3  # stored in the user cache instead
    data, warnings = run_unprivileged(run_python, project, child_env)
    assert len(warnings) == 1 and data["loaded"] >= 3 and data["compiled"] == 0


def test_unreadable_database_is_a_miss_with_one_warning(run_python, project, child_env):
    warm(run_python, project)
    db_of(project).chmod(0o000)
    (project / "__pycache__").chmod(0o555)  # nor can a new one be made there
    try:
        data, warnings = run_unprivileged(run_python, project, child_env)
    finally:
        (project / "__pycache__").chmod(0o755)
    # One for mod's database; prog.py's (the __main__ script's) is in the same read-only directory and gets its own.
    assert len([w for w in warnings if "mod.cpython-311.pyp" in w]) == 1, warnings
    assert data["loaded"] == 0


def test_read_only_install_falls_back_quietly(run_python, project, child_env):
    # site-packages owned by root, with databases root's own runs left there: like .pyc, no noise for the user.
    warm(run_python, project)
    (project / "__pycache__").chmod(0o555)
    try:
        data, warnings = run_unprivileged(run_python, project, child_env)
        again, warnings2 = run_unprivileged(run_python, project, child_env)
    finally:
        (project / "__pycache__").chmod(0o755)
    assert warnings == [] and warnings2 == []
    assert again["loaded"] >= 3 and again["compiled"] == 0  # from the per-user cache


def test_group_writable_database_is_refused(run_python, project):
    warm(run_python, project)
    db_of(project).chmod(0o664)
    data, warnings = run(run_python, project)
    assert len(warnings) == 1 and "writable by group or others" in warnings[0]
    assert data["loaded"] == 0 and data["compiled"] >= 3


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file to another user")
def test_database_of_another_user_is_refused(run_python, project):
    warm(run_python, project)
    os.chown(db_of(project), 12345, 12345)
    data, warnings = run(run_python, project)
    assert len(warnings) == 1 and "owned by another user (uid 12345)" in warnings[0]
    assert data["loaded"] == 0


def test_warning_category_can_be_filtered(run_python, project):
    warm(run_python, project)
    truncate_half(db_of(project))
    r = run_python("-W", "ignore::pypaccel.CacheWarning", "prog.py", cwd=project,
                   env={"PYPACCEL_CACHE_DIR": None, "PYPACCEL_THRESHOLD": "0"})
    assert r.returncode == 0 and "CacheWarning" not in r.stderr
    r = run_python("-W", "error::pypaccel.CacheWarning", "prog.py", cwd=project,
                   env={"PYPACCEL_CACHE_DIR": None, "PYPACCEL_THRESHOLD": "0"})
    assert r.returncode == 0, r.stderr  # even as an error, cache trouble never stops the program
    assert json.loads(r.stdout.strip().splitlines()[-1])["out"][0] == EXPECTED[0]


def test_dont_write_bytecode_creates_nothing_but_reads(run_python, project):
    data, warnings = run(run_python, project, PYTHONDONTWRITEBYTECODE="1")
    assert not (project / "__pycache__").exists()
    warm(run_python, project)
    data, warnings = run(run_python, project, PYTHONDONTWRITEBYTECODE="1")
    assert data["loaded"] >= 3 and data["compiled"] == 0 and warnings == []


def test_rollback_journal_works_when_asked(run_python, project):
    cold, warnings = run(run_python, project, PYPACCEL_CACHE_JOURNAL="delete")
    assert cold["compiled"] >= 3 and warnings == []
    mode = sqlite3.connect(db_of(project)).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "delete"
    data, warnings = run(run_python, project, PYPACCEL_CACHE_JOURNAL="delete")
    assert data["loaded"] >= 3 and data["compiled"] == 0


# -- Editing one function invalidates that function only -------------------------------------------------------

def test_editing_one_function_recompiles_only_it(run_python, project):
    warm(run_python, project)
    # Same line numbers: only kernel's code changes. (A different size too: CPython's .pyc check is mtime + size,
    # and an edit within the same second would otherwise give the old code object.)
    (project / "mod.py").write_text(MODULE.replace("(i * i) % 7", "(i * i) % 17"))
    r = run_python("-c", "import json, pypaccel; pypaccel.enable(); import mod; mod.kernel(10); mod.ratio(5, 1.0);"
                   " mod.unchanged(3); print(json.dumps([(f['qualname'], f['compiled'], f['loaded']) for f in "
                   "pypaccel.stats()['functions'] if f['file'].endswith('mod.py')]))",
                   cwd=project, env={"PYPACCEL_CACHE_DIR": None, "PYPACCEL_THRESHOLD": "0"})
    assert r.returncode == 0, r.stderr
    rows = {q: (c, lo) for q, c, lo in json.loads(r.stdout)}
    assert rows["kernel"] == (1, 0)
    assert rows["ratio"] == (0, 1) and rows["unchanged"] == (0, 1)


# -- What a run learns: the next process starts native, with widened operations, never re-entering bad code ----

LEARN = textwrap.dedent('''
    def grow(n):
        total = 1
        for i in range(n):
            total = total * 3 + 1        # outgrows 64 bits after 40 steps: an exit, every call
        return total % 1000003

    def small(a):
        return a * 2 + 1 - (a ^ a)   # worth entering natively (specialize/profitability.cpp, kEntryWeight)
''')


def test_second_process_starts_native_and_widened(run_python, tmp_path):
    d = tmp_path / "learn"
    d.mkdir()
    (d / "learn.py").write_text(LEARN)
    prog = ("import json, pypaccel; pypaccel.enable(); import learn\n"
            "r = [learn.grow(200) for _ in range(3)]\n"
            "r += [learn.small(k) for k in range(5)]\n"
            "fs = {f['qualname']: f for f in pypaccel.stats()['functions'] if f['file'].endswith('learn.py')}\n"
            "print(json.dumps({'r': r, 'grow_exits': sum(x['count'] for x in fs['grow']['exits']),"
            " 'grow_native': fs['grow']['native_calls'], 'grow_widened': len(fs['grow']['widened']), 'small_native': fs.get('small', {}).get('native_calls', 0)}))")
    env = {"PYPACCEL_CACHE_DIR": None}  # default threshold: small() would stay interpreted for 200 calls
    ns = {}
    exec(LEARN, ns)
    plain = [ns["grow"](200) for _ in range(3)] + [ns["small"](k) for k in range(5)]
    first = run_python("-c", prog, cwd=d, env=env)
    assert first.returncode == 0, first.stderr
    a = json.loads(first.stdout)
    assert a["r"] == plain
    # grow() exits once: a function with a loop is compiled again with that operation widened at its first such
    # exit (hook.cpp, exitsTooOftenToKeep), so its later calls stay native in this process too.
    assert a["grow_exits"] == 1 and a["grow_widened"] >= 1 and a["small_native"] == 0
    first2 = run_python("-c", prog.replace("pypaccel.enable()", "pypaccel.enable(threshold=0)"), cwd=d, env=env)
    assert first2.returncode == 0, first2.stderr  # small() compiled and ran natively once: its profile says so
    second = run_python("-c", prog, cwd=d, env=env)
    assert second.returncode == 0, second.stderr
    b = json.loads(second.stdout)
    assert b["r"] == plain
    assert b["grow_exits"] == 0 and b["grow_native"] == 3  # widened: the overflow no longer leaves native code
    assert b["grow_widened"] >= 1
    assert b["small_native"] == 5  # started native at its first call, not after 200


NEVER = textwrap.dedent('''
    def ratio(a):
        return a / 0.0          # a ZeroDivision exit on every call: nothing to widen

    def caller(n):
        bad = 0
        for i in range(n):
            try:
                ratio(i + 0.5)
            except ZeroDivisionError:
                bad += 1
        return bad
''')


def test_code_that_exits_every_time_is_never_entered_again(run_python, tmp_path):
    d = tmp_path / "never"
    d.mkdir()
    (d / "never.py").write_text(NEVER)
    prog = ("import json, pypaccel; pypaccel.enable(threshold=0); import never\n"
            "r = never.caller(30)\n"
            "f = [f for f in pypaccel.stats()['functions'] if f['qualname'] == 'ratio'][0]\n"
            "print(json.dumps({'r': r, 'native': f['native_calls'], 'state': f['state'],"
            " 'fallbacks': [x['reason'] for x in f['fallbacks']], 'disabled': f['disabled_reasons']}))")
    env = {"PYPACCEL_CACHE_DIR": None}
    first = run_python("-c", prog, cwd=d, env=env)
    assert first.returncode == 0, first.stderr
    a = json.loads(first.stdout)
    assert a["r"] == 30 and a["state"] == "disabled" and a["native"] >= 20
    assert len(a["disabled"]) == 1 and a["disabled"][0].startswith("exits on "), a  # stats say why
    second = run_python("-c", prog, cwd=d, env=env)
    assert second.returncode == 0, second.stderr
    b = json.loads(second.stdout)
    assert b["r"] == 30 and b["native"] == 0  # not entered once
    assert any("exited on most entries in an earlier run" in r for r in b["fallbacks"]), b


FROZEN_USER = textwrap.dedent('''
    import os.path
    def paths(n):
        return [os.path.join("a", str(i)) for i in range(n)]
''')


def test_frozen_stdlib_code_is_loaded_warm_not_recompiled(run_python, tmp_path):
    # os.path.join is <frozen posixpath> in 3.11: compiled in the first process, loaded in the second.
    d = tmp_path / "frozen"
    d.mkdir()
    (d / "frozen_user.py").write_text(FROZEN_USER)
    prog = ("import json, pypaccel; pypaccel.enable(threshold=0); import frozen_user\n"
            "frozen_user.paths(50)\n"
            "f = [f for f in pypaccel.stats()['functions'] if f['file'] == '<frozen posixpath>' and f['qualname'] == 'join']\n"
            "print(json.dumps(f[0] if f else None))")
    # os.path.join does string work only (the C API the interpreter calls too): compiled here only because this
    # test is about loading it warm (PYPACCEL_COMPILE_ALL), not about whether it pays.
    env = {"PYPACCEL_COMPILE_ALL": "1"}
    first = run_python("-c", prog, cwd=d, env=env)
    assert first.returncode == 0, first.stderr
    a = json.loads(first.stdout)
    assert a and a["compiled"] >= 1, a
    second = run_python("-c", prog, cwd=d, env=env)
    assert second.returncode == 0, second.stderr
    b = json.loads(second.stdout)
    assert b and b["compiled"] == 0 and b["loaded"] >= 1 and b["native_calls"] >= 50, b


# -- Every warm run loads what the first stored (issue 15) ------------------------------------------------------

NORM = textwrap.dedent('''
    import math
    class V:
        def __init__(self, x, y): self.x = x; self.y = y
        def norm(self): return math.sqrt(self.x * self.x + self.y * self.y)
    def energy(ps):
        e = 0.0
        for p in ps:
            v = p.norm()
            e += v * v
        return e
    print(energy([V(i * 0.5, 1.0) for i in range(300)]))
''')
# V.norm and energy work on objects (attributes, generic arithmetic): compiled only under PYPACCEL_COMPILE_ALL, which
# these tests of what the cache stores and loads set (the profitability rule would leave them interpreted).
NORM_ENV = {"PYPACCEL_COMPILE_ALL": "1"}


def stats_of(run_python, module):
    """The most recent run's record of `module` (a path), from `python -m pypaccel stats --json`."""
    r = run_python("-m", "pypaccel", "stats", "--json")
    assert r.returncode == 0, r.stderr
    (mod,) = [m for m in json.loads(r.stdout)["modules"] if m["module_path"] == str(module)]
    return mod


def test_math_function_reached_through_its_module_loads_warm(run_python, tmp_path):
    # math.sqrt through the module attribute is a ModuleAttr slot group in the stored metadata, which the loader
    # refused ("damaged metadata for V.norm") while `cache verify` said the database was fine.
    d = tmp_path / "norm"
    d.mkdir()
    (d / "m1.py").write_text(NORM)
    for n in range(3):
        r = run_python("-W", "always", "-m", "pypaccel", "run", "m1.py", cwd=d, env=NORM_ENV)
        assert r.returncode == 0, r.stderr
        assert r.stdout == "2239062.5\n"
        assert "CacheWarning" not in r.stderr, (n, r.stderr)
    third = stats_of(run_python, d / "m1.py")
    assert third["totals"]["compiled"] == 0, third
    norm = [f for f in third["functions"] if f["qualname"] == "V.norm"]
    assert norm and norm[0]["loaded"] == 1 and norm[0]["native_calls"] == 300, third
    verify = run_python("-m", "pypaccel", "cache", "verify", "--json")
    assert verify.returncode == 0, verify.stdout
    assert all(db["metadata_checked"] for db in json.loads(verify.stdout)["databases"]), verify.stdout


def test_verify_and_the_loader_refuse_the_same_metadata(run_python, tmp_path):
    # One entry's metadata replaced by another entry's (intact bytes, a matching checksum): it decodes, but names
    # another symbol. verify must say what the loader says.
    d = tmp_path / "swap"
    d.mkdir()
    (d / "m1.py").write_text(NORM)
    assert run_python("-m", "pypaccel", "run", "m1.py", cwd=d, env=NORM_ENV).returncode == 0
    (db,) = list(run_python.cache_dir.rglob("m1.cpython-311.pyp"))
    con = sqlite3.connect(db)
    rows = dict(con.execute("SELECT qualname, meta FROM specializations WHERE qualname IN ('energy', 'V.norm')"))
    obj = con.execute("SELECT object FROM specializations WHERE qualname = 'V.norm'").fetchone()[0]
    checksum = fnv1a64(obj + rows["energy"])
    con.execute("UPDATE specializations SET meta = ?, checksum = ? WHERE qualname = 'V.norm'",
                (rows["energy"], checksum))
    con.commit()
    con.close()
    verify = run_python("-m", "pypaccel", "cache", "verify", db)
    assert verify.returncode == 1
    (said,) = [line for line in verify.stdout.splitlines() if "V.norm" in line]
    why = said.split("): ", 1)[1]
    assert why.startswith("metadata names symbol"), verify.stdout
    r = run_python("-W", "always", "-m", "pypaccel", "run", "m1.py", cwd=d, env=NORM_ENV)
    assert r.returncode == 0 and r.stdout == "2239062.5\n", r.stderr
    assert f"damaged metadata for V.norm ({why}); it will be compiled again" in r.stderr


def fnv1a64(data):
    # cache::checksum as stored (signed 64 bits).
    h = 14695981039346656037
    for b in data:
        h = ((h ^ b) * 1099511628211) % 2**64
    return h - 2**64 if h >= 2**63 else h


LAMBDAS = textwrap.dedent('''
    import json, pypaccel
    fs = [lambda x: None, lambda y: None, lambda a, b: None]
    fs[0](1); fs[1](2); fs[2](3, 4)
    ls = [f for f in pypaccel.stats()["functions"] if f["qualname"] == "<lambda>"]
    print(json.dumps({"compiled": sum(f["compiled"] for f in ls), "loaded": sum(f["loaded"] for f in ls)}))
''')


def test_lambdas_on_one_line_each_load_their_own_entry(run_python, tmp_path):
    # Same qualname and first line, three code objects: pruning "older versions of a function" by qualname kept
    # two of them, so each warm run compiled what the previous one had just pushed out. (The lambdas do no work:
    # PYPACCEL_COMPILE_ALL compiles them anyway, as the profitability rule would not.)
    d = tmp_path / "lambdas"
    d.mkdir()
    (d / "lam.py").write_text(LAMBDAS)
    runs = []
    for _ in range(3):
        r = run_python("-m", "pypaccel", "run", "lam.py", cwd=d, env={"PYPACCEL_THRESHOLD": "0", "PYPACCEL_COMPILE_ALL": "1"})
        assert r.returncode == 0, r.stderr
        runs.append(json.loads(r.stdout))
    assert runs[0] == {"compiled": 3, "loaded": 0}
    assert runs[1] == runs[2] == {"compiled": 0, "loaded": 3}, runs
    # Editing one of them (the others keep their columns) recompiles only it; the next run loads all three again.
    (d / "lam.py").write_text(LAMBDAS.replace("lambda y: None", "lambda y: True") + "# edited\n")
    edited = run_python("-m", "pypaccel", "run", "lam.py", cwd=d, env={"PYPACCEL_THRESHOLD": "0", "PYPACCEL_COMPILE_ALL": "1"})
    again = run_python("-m", "pypaccel", "run", "lam.py", cwd=d, env={"PYPACCEL_THRESHOLD": "0", "PYPACCEL_COMPILE_ALL": "1"})
    assert json.loads(edited.stdout) == {"compiled": 1, "loaded": 2}, edited.stderr
    assert json.loads(again.stdout) == {"compiled": 0, "loaded": 3}, again.stderr


def test_a_learned_reason_is_stored_as_it_was_learned(run_python, tmp_path):
    # Each run read "native code exited on most entries in an earlier run (R)" and stored it as the next run's R.
    d = tmp_path / "nested"
    d.mkdir()
    (d / "never.py").write_text(NEVER)
    prog = ("import json, pypaccel; pypaccel.enable(threshold=0); import never\n"
            "never.caller(30)\n"
            "f = [f for f in pypaccel.stats()['functions'] if f['qualname'] == 'ratio'][0]\n"
            "print(json.dumps([x['reason'] for x in f['fallbacks']]))")
    reasons = []
    for _ in range(4):
        r = run_python("-c", prog, cwd=d, env={"PYPACCEL_CACHE_DIR": None})
        assert r.returncode == 0, r.stderr
        reasons.append(json.loads(r.stdout))
    learned = [x for x in reasons[3] if "in an earlier run" in x]
    assert learned and all(x.count("in an earlier run") == 1 for x in learned), reasons
    assert reasons[3] == reasons[2] == reasons[1], reasons
    db = d / "__pycache__" / "never.cpython-311.pyp"
    stored = [row[0] for row in sqlite3.connect(db).execute("SELECT reason FROM profiles WHERE qualname = 'ratio'")]
    assert stored and not any("in an earlier run" in x for x in stored), stored
