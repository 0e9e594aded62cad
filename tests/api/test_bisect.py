# `python -m pypaccel bisect -- CMD`, and the PYPACCEL_NATIVE_LOG file it relies on. There is no known miscompile
# to find, so the programs here fake one: they look at pypaccel.stats() and misbehave when a given function ran
# natively, which is exactly what bisect must then name.
import re
import sys
import textwrap
import time

import pytest

pytest.importorskip("pypaccel._pypaccel")

from pypaccel import _bisect  # noqa: E402 - after the skip: importing pypaccel needs the extension


def fake_miscompile(path, culprits, count=16, on_bad="print('BAD'); sys.exit(1)"):
    """A program of `count` looping functions; it runs `on_bad` when all of `culprits` ran natively.

    Returns {qualname: firstlineno} of the functions it defines."""
    lines = ["import sys", "import pypaccel", "pypaccel.enable(threshold=0)", ""]
    names = [f"work{i}" for i in range(count - len(culprits))]
    for i, name in enumerate(culprits):  # in the middle, apart: neither first nor in the same half
        names.insert(count // 3 * (i + 1), name)
    firstlines = {}
    for i, name in enumerate(names):
        firstlines[name] = len(lines) + 1
        lines += [f"def {name}(n):", "    s = 0", "    for i in range(n):", f"        s += i * {i + 1}", "    return s",
                  ""]
    lines += ["total = " + " + ".join(f"{name}(50)" for name in names),
              "native = {f['qualname'] for f in pypaccel.stats()['functions'] if f['native_calls']}",
              f"if native >= {set(culprits)!r}:", f"    {on_bad}", "print('OK', total)"]
    path.write_text("\n".join(lines) + "\n")
    return firstlines


def bisect(run_python, *args):
    # TMPDIR: the exclude file bisect keeps for its report goes in the test's directory, not in /tmp.
    return run_python("-m", "pypaccel", "bisect", *args, timeout=120,
                      env={"TMPDIR": str(run_python.cache_dir.parent)})


def reported(stdout):
    """The culprits listed in bisect's report, as (file, line, qualname)."""
    block = stdout.split("natively", 1)[1].split("reproduce", 1)[0]
    return {tuple(m.groups()) for m in re.finditer(r"^  (.+):(\d+) (\S+)$", block, re.M)}


def test_names_the_one_function(run_python, tmp_path, python_exe):
    script = tmp_path / "prog.py"
    lines = fake_miscompile(script, ["culprit"])
    result = bisect(run_python, "--", python_exe, "prog.py")
    assert result.returncode == 0, result.stderr
    assert reported(result.stdout) == {(str(script), str(lines["culprit"]), "culprit")}
    assert "reference (PYPACCEL_DISABLE=1): exit 0, stdout 'OK" in result.stderr
    assert "with pypaccel: exit 1, stdout 'BAD\\n'" in result.stderr
    # The printed command reproduces the failure with the culprit as the only native function of the program.
    exclude = re.search(r"PYPACCEL_EXCLUDE=(\S+) ", result.stdout).group(1)
    keys = (tmp_path / exclude).read_text().splitlines()
    assert f"{script}:{lines['culprit']}:culprit" not in keys
    assert {f"{script}:{lines[name]}:{name}" for name in lines if name != "culprit"} <= set(keys)
    again = run_python("prog.py", env={"PYPACCEL_EXCLUDE": exclude})
    assert (again.returncode, again.stdout) == (1, "BAD\n")


def test_two_functions_needed_together(run_python, tmp_path, python_exe):
    lines = fake_miscompile(tmp_path / "prog.py", ["alpha", "beta"])
    result = bisect(run_python, "--compare", "stdout", "--", python_exe, "prog.py")
    assert result.returncode == 0, result.stderr
    assert reported(result.stdout) == {(str(tmp_path / "prog.py"), str(lines[name]), name)
                                       for name in ("alpha", "beta")}
    assert "these 2 functions run together natively" in result.stdout


def test_a_crash_is_bisected_from_the_cache_databases(run_python, tmp_path, python_exe):
    # os._exit skips the exit handlers that write the native log: the fresh cache of the run still lists what
    # it compiled. Through `python -m pypaccel run` too, and --keep keeps every run's files.
    lines = fake_miscompile(tmp_path / "prog.py", ["culprit"], count=8,
                            on_bad="print('BAD', flush=True); import os; os._exit(3)")
    result = bisect(run_python, "--keep", "kept", "--", python_exe, "-m", "pypaccel", "run", "prog.py")
    assert result.returncode == 0, result.stderr
    assert "wrote no list of them at exit" in result.stderr
    assert reported(result.stdout) == {(str(tmp_path / "prog.py"), str(lines["culprit"]), "culprit")}
    assert str(tmp_path / "kept" / "exclude.txt") in result.stdout
    assert (tmp_path / "kept" / "run003-native.log").exists()


def test_same_outcome_is_not_a_bisection(run_python, tmp_path, python_exe):
    (tmp_path / "prog.py").write_text("import pypaccel\npypaccel.enable(threshold=0)\n"
                                      "def f(n):\n    return sum(range(n))\nprint(f(10))\n")
    result = bisect(run_python, "--", python_exe, "prog.py")
    assert result.returncode == 2
    assert "the command gives the same outcome with and without pypaccel" in result.stdout


def test_command_that_does_not_enable_pypaccel(run_python, tmp_path, python_exe):
    # It differs (it prints the variable), but no process of it wrote a native list: say why there is nothing to do.
    result = bisect(run_python, "--", python_exe, "-c", "import os; print(os.environ.get('PYPACCEL_DISABLE'))")
    assert result.returncode == 2
    assert "does not turn pypaccel on" in result.stderr and "os._exit" in result.stderr


def test_timeout_is_an_outcome_and_ends_the_whole_command(run_python, tmp_path, python_exe):
    # With pypaccel on, the program hangs whatever is excluded (in a child holding stdout, so that only killing
    # the process group ends the run): not a native-code problem, and bisect must say so rather than name one.
    (tmp_path / "prog.py").write_text(textwrap.dedent(f"""\
        import subprocess, pypaccel
        pypaccel.enable(threshold=0)
        def f(n):
            t = 0
            for i in range(n):
                t += i
            return t
        print(f(10), flush=True)
        if pypaccel.is_enabled():
            subprocess.run([{python_exe!r}, "-c", "import time; time.sleep(60)"])
        """))
    start = time.monotonic()
    result = bisect(run_python, "--timeout", "2", "--", python_exe, "prog.py")
    assert time.monotonic() - start < 30
    assert result.returncode == 1, result.stderr
    assert "with pypaccel: timeout" in result.stderr
    assert "differs even with every candidate kept interpreted" in result.stderr


def test_native_log_appends_one_line_per_function_and_process(run_python, tmp_path):
    (tmp_path / "prog.py").write_text(textwrap.dedent("""\
        import subprocess, sys, pypaccel
        pypaccel.enable(threshold=0)
        def hot(n):
            s = 0
            for i in range(n):
                s += i
            return s
        def cold(n):
            return n
        hot(100)
        hot(100)
        if sys.argv[1:] == ["parent"]:
            subprocess.run([sys.executable, __file__, "child"], check=True)
        """))
    log = tmp_path / "native.log"
    log.write_text("earlier line\n")
    result = run_python("prog.py", "parent", env={"PYPACCEL_NATIVE_LOG": str(log)})
    assert result.returncode == 0, result.stderr
    lines = log.read_text().splitlines()
    assert lines[0] == "earlier line"
    hot = f"{tmp_path / 'prog.py'}:3:hot"
    assert lines.count(hot) == 2  # once per process, however often it was called
    assert not any(line.endswith(":cold") for line in lines)
    assert all(re.fullmatch(r".+:\d+:\S+", line) for line in lines[1:])
    # Without the variable, or with pypaccel off, no file.
    log.unlink()
    assert run_python("prog.py", env={"PYPACCEL_DISABLE": "1", "PYPACCEL_NATIVE_LOG": str(log)}).returncode == 0
    assert not log.exists()


def test_help_and_usage(run_python):
    result = bisect(run_python, "--help")
    assert result.returncode == 0
    assert "-- CMD..." in result.stdout and "--opt0-check" in result.stdout and "--timeout" in result.stdout
    assert "bisect" in run_python("-m", "pypaccel", "--help").stdout
    missing = bisect(run_python, "--timeout", "3")
    assert missing.returncode == 2 and "no command given" in missing.stderr


@pytest.mark.parametrize("culprits", [{37}, {0}, {99}, {3, 90}, {0, 50, 99}, {10, 11}, set(range(100))])
def test_minimize_finds_a_minimal_set(culprits):
    calls = []

    def fails(native):
        calls.append(native)
        return culprits <= set(native)

    assert set(_bisect.minimize(tuple(range(100)), fails)) == culprits
    if len(culprits) <= 3:  # about a binary search (two runs per halving of 100) per culprit
        assert len(calls) <= 2 * 7 * len(culprits)
