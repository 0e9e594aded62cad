# The public Python API (pypaccel/__init__.py): enable/disable/is_enabled, @specialize, stats(), environment
# variables, a single atexit flush, and a cheap import. Each case runs in a fresh interpreter: enable() is global.
import json
import re
import textwrap

import pytest

from conftest import REPO

pytest.importorskip("pypaccel._pypaccel")


def run_snippet(run_python, code, env=None):
    result = run_python("-c", textwrap.dedent(code), env=env)
    assert result.returncode == 0, result.stderr
    return result


def test_version_matches_pyproject(run_python):
    version = re.search(r'^version = "(.*)"', (REPO / "pyproject.toml").read_text(), re.M).group(1)
    assert run_snippet(run_python, "import pypaccel; print(pypaccel.__version__)").stdout.strip() == version


def test_import_is_cheap(run_python):
    out = run_snippet(run_python, """\
        import sys
        before = set(sys.modules)
        import pypaccel
        print(sorted(m for m in set(sys.modules) - before if m in ("sqlite3", "json", "argparse", "_sqlite3")))
        """).stdout
    assert out.strip() == "[]"


def test_enable_disable_roundtrip(run_python):
    out = run_snippet(run_python, """\
        import pypaccel
        print(pypaccel.is_enabled())
        pypaccel.enable()
        print(pypaccel.is_enabled())
        pypaccel.disable()
        print(pypaccel.is_enabled())
        """).stdout
    assert out.split() == ["False", "True", "False"]


SPECIALIZE = """\
    import pypaccel

    @pypaccel.specialize
    def add(a, b):
        return a + b

    @pypaccel.specialize()
    def mul(a, b):
        return a * b

    def plain(x):
        return x
    print(add(2, 3), mul(4, 5), [add(i, i) for i in range(300)][-1], pypaccel.specialize(plain) is plain)
    """


def test_specialize_bare_and_called(run_python):
    assert run_snippet(run_python, SPECIALIZE).stdout.split()[:3] == ["5", "20", "598"]


def test_disable_variable_turns_everything_off(run_python):
    out = run_snippet(run_python, SPECIALIZE + "pypaccel.enable(); print(pypaccel.is_enabled())\n",
                      env={"PYPACCEL_DISABLE": "1"}).stdout
    assert out.split() == ["5", "20", "598", "True", "False"]


def test_stats_shape(run_python):
    out = run_snippet(run_python, """\
        import json, pypaccel
        pypaccel.enable(threshold=0)
        def f(x):
            return x + 1
        for i in range(100):
            f(i)
        print(json.dumps(pypaccel.stats()))
        """).stdout
    stats = json.loads(out)
    assert {"compiled", "loaded", "fallbacks", "exits", "native_calls", "disabled"} <= set(stats["totals"])
    for entry in stats["functions"]:
        assert {"file", "qualname", "firstlineno", "compiled", "loaded", "native_calls", "state", "exits",
                "fallbacks"} <= set(entry)
        assert entry["state"] in ("native", "interpreted", "disabled", "excluded")


def test_flush_is_registered_once(run_python):
    out = run_snippet(run_python, """\
        import atexit, pypaccel
        before = atexit._ncallbacks()
        pypaccel.enable()
        pypaccel.specialize(lambda: 1)
        pypaccel.enable()
        print(atexit._ncallbacks() - before)
        """).stdout
    assert out.strip() == "1"


def test_bad_environment_values_warn_and_use_defaults(run_python):
    result = run_snippet(run_python, "import pypaccel; pypaccel.enable(); print(pypaccel.is_enabled())",
                         env={"PYPACCEL_THRESHOLD": "lots", "PYPACCEL_OPT": "9"})
    assert result.stdout.strip() == "True"
    assert "ignoring PYPACCEL_THRESHOLD='lots'" in result.stderr and "ignoring PYPACCEL_OPT='9'" in result.stderr


def test_bad_arguments_raise(run_python):
    out = run_snippet(run_python, """\
        import pypaccel
        for kwargs in ({"opt_level": 4}, {"threshold": -1}):
            try:
                pypaccel.enable(**kwargs)
            except ValueError as exc:
                print("ValueError", pypaccel.is_enabled())
        """).stdout
    assert out.split() == ["ValueError", "False"] * 2


def test_stats_command_json(run_python, tmp_path):
    result = run_python("-m", "pypaccel", "stats", "--json", tmp_path / "empty-dir-that-does-not-exist")
    assert result.returncode == 0 and "no such file or directory" in result.stderr
    assert set(json.loads(result.stdout)["totals"].values()) == {0}


def test_stats_of_one_file(tmp_path):
    import pypaccel
    ns = {}
    exec(compile("def k(n):\n    t = 0\n    for i in range(n):\n        t += i\n    return t\n", "<one-file>", "exec"), ns)
    f = pypaccel.specialize(ns["k"])
    assert f(10) == 45
    only = pypaccel.stats("<one-file>")
    assert [e["qualname"] for e in only["functions"]] == ["k"]
    assert only["totals"]["native_calls"] == 1 and only["totals"]["compiled"] + only["totals"]["loaded"] == 1
    assert pypaccel.stats("<no-such-file>")["functions"] == []
    assert any(e["file"] == "<one-file>" for e in pypaccel.stats()["functions"])


# -- Saying so when the JIT or the cache is off (issue 15, item 5) ------------------------------------------------

HOT = """\
    import json, pypaccel, warnings
    warnings.simplefilter("always")
    pypaccel.enable(threshold=0)
    def f(x):
        return (x + 1) * 3 - (x ^ 5)  # worth entering natively (specialize/profitability.cpp, kEntryWeight)
    for i in range(50):
        f(i)
    print(json.dumps(pypaccel.stats()["notes"]))
    """


def warned(result, category, text):
    lines = [line for line in result.stderr.splitlines() if f"{category}: pypaccel: " in line]
    assert len(lines) == 1 and text in lines[0], result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def immutable_dir(path):
    path.mkdir()
    import subprocess
    if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not available here")
    return path


@pytest.mark.parametrize("kind", ["file", "proc", "immutable"])
def test_unusable_cache_dir_warns_once_and_says_so_in_stats(run_python, tmp_path, kind):
    if kind == "file":
        where = tmp_path / "notes.txt"
        where.write_text("important\n")
        why = "is not a directory"
    elif kind == "proc":
        where, why = "/proc/pypaccel-cache", "is under /proc"
    else:
        where, why = immutable_dir(tmp_path / "ro"), "is not writable"
    try:
        result = run_snippet(run_python, HOT, env={"PYPACCEL_CACHE_DIR": str(where)})
        notes = warned(result, "CacheWarning", f"PYPACCEL_CACHE_DIR={where} {why}")
    finally:
        if kind == "immutable":
            import subprocess
            subprocess.run(["chattr", "-i", str(where)])
    assert len(notes) == 1 and why in notes[0] and "caching is off" in notes[0]
    if kind == "file":
        assert where.read_text() == "important\n"


def test_dont_write_bytecode_is_honoured_and_said(run_python):
    result = run_snippet(run_python, HOT, env={"PYTHONDONTWRITEBYTECODE": "1"})
    notes = warned(result, "CacheWarning", "PYTHONDONTWRITEBYTECODE is set")
    assert notes and "read-only" in notes[0]
    assert not run_python.cache_dir.exists() or not any(run_python.cache_dir.rglob("*.pyp"))
    stats = run_python("-m", "pypaccel", "stats", env={"PYTHONDONTWRITEBYTECODE": "1"})
    assert "note: PYTHONDONTWRITEBYTECODE is set" in stats.stdout


def test_unknown_cpu_warns_once_and_says_so_in_stats(run_python):
    result = run_snippet(run_python, HOT + "print(pypaccel.stats()['totals']['compiled'])\n",
                         env={"PYPACCEL_CPU": "bogus"})
    assert result.stdout.splitlines()[-1] == "0"  # the JIT is off, the program runs on
    lines = [line for line in result.stderr.splitlines() if "RuntimeWarning: pypaccel: " in line]
    assert len(lines) == 1 and "JIT unavailable: unknown CPU 'bogus' (PYPACCEL_CPU)" in lines[0], result.stderr
    assert json.loads(result.stdout.splitlines()[-2]) == [
        "JIT unavailable: unknown CPU 'bogus' (PYPACCEL_CPU); everything runs in the interpreter"]


# -- Fallbacks, once per function and run (issue 15, item 7) -----------------------------------------------------

NEVER_COMPILED = """\
    import json, pypaccel
    pypaccel.enable(threshold=0)
    WIDE
    @pypaccel.exclude
    def skipped(n):
        return n
    def hot(n):  # compiled: the file gets a database (code only ever ineligible would not create one)
        return (n + 1) * 3 - (n ^ 5)
    skipped(1)
    for i in range(300):
        wide(hot(i))
    print(json.dumps(pypaccel.stats(__file__)))
    """
# More locals than the compiler takes (specialize/code_info.h kMaxLocals): never compiled, its counts in the reason.
WIDE = "def wide(x):\n" + "".join(f"        v{i} = x\n" for i in range(401)) + "        return x"


def test_fallbacks_count_once_per_function_and_name_their_reasons(run_python, tmp_path):
    script = tmp_path / "prog.py"
    script.write_text(textwrap.dedent(NEVER_COMPILED.replace("WIDE", WIDE)))
    result = run_python(script)
    assert result.returncode == 0, result.stderr
    stats = json.loads(result.stdout)
    by_name = {f["qualname"]: f for f in stats["functions"]}
    (fb,) = by_name["wide"]["fallbacks"]
    assert fb["reason"] == "not compiled: too many local variables (402 > 400)"
    assert fb["refusal"] == "too-many-locals"
    assert (fb["count"], fb["calls"]) == (1, 300)
    (fb,) = by_name["skipped"]["fallbacks"]
    assert fb["reason"] == "not compiled: excluded (pypaccel.exclude)" and (fb["count"], fb["calls"]) == (1, 1)
    assert (stats["totals"]["fallbacks"], stats["totals"]["fallback_calls"]) == (2, 301)
    assert stats["refusals"] == {"too-many-locals": {"fallbacks": 1, "calls": 300},
                                 "excluded": {"fallbacks": 1, "calls": 1}}
    # What the database recorded says the same.
    report = json.loads(run_python("-m", "pypaccel", "stats", "--json", script).stdout)
    (module,) = report["modules"]
    cli = {f["qualname"]: f for f in module["functions"]}
    for name in ("wide", "skipped"):
        assert cli[name]["fallbacks"] == by_name[name]["fallbacks"]
    assert (report["totals"]["fallbacks"], report["totals"]["fallback_calls"]) == (2, 301)
    assert report["refusals"] == stats["refusals"]
    assert module["run"]["argv"] == [str(script)]


UNSUPPORTED = """\
    import json, pypaccel
    pypaccel.enable(threshold=0)
    def f(n):
        t = 0
        for i in range(n):
            t += i
        return {t}  # BUILD_SET: not compiled, an exit in its place
    for i in range(5):
        f(10)
    print(json.dumps(pypaccel.stats(__file__)))
    """


def test_an_instruction_compiled_as_an_exit_is_a_named_refusal(run_python, tmp_path):
    script = tmp_path / "prog.py"
    script.write_text(textwrap.dedent(UNSUPPORTED))
    result = run_python(script)
    assert result.returncode == 0, result.stderr
    stats = json.loads(result.stdout)
    (f,) = [f for f in stats["functions"] if f["qualname"] == "f"]
    (fb,) = f["fallbacks"]
    assert fb["refusal"] == "unsupported-opcode"
    assert fb["reason"] == f"unsupported opcode BUILD_SET at offset {fb['offset']}, line 7"
    assert stats["refusals"] == {"unsupported-opcode": {"fallbacks": 1, "calls": 5}}
    out = run_python("-m", "pypaccel", "stats", script).stdout
    assert f"fallback [unsupported-opcode]: unsupported opcode BUILD_SET at offset {fb['offset']}, line 7" in out
    assert "fallbacks by refusal: unsupported-opcode 1 (5 calls)" in out


def test_compile_time_per_function(run_python, tmp_path):
    script = tmp_path / "prog.py"
    script.write_text(textwrap.dedent("""\
        import json, pypaccel
        pypaccel.enable(threshold=0)
        def hot(n):
            t = 0
            for i in range(n):
                t += i
            return t
        hot(10)
        print(json.dumps(pypaccel.stats(__file__)))
        """))
    stats = json.loads(run_python(script).stdout)
    (hot,) = [f for f in stats["functions"] if f["qualname"] == "hot"]
    assert 0 < hot["compile_seconds"] <= stats["totals"]["compile_seconds"]
    report = json.loads(run_python("-m", "pypaccel", "stats", "--json", script).stdout)
    (cli,) = [f for f in report["modules"][0]["functions"] if f["qualname"] == "hot"]
    assert cli["compile_seconds"] == pytest.approx(hot["compile_seconds"], abs=1e-6)
