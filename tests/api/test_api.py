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
