# `python -m pypaccel --help`, `--version` and `doctor` (what a user asks first), and that --help and the README's
# environment table name every PYPACCEL_* variable the code reads.
import re
import subprocess

import pytest

from conftest import REPO


def variables_read():
    """PYPACCEL_* names the package reads: every one its Python code names, and the C++ code's getenv()s."""
    names = set()
    for path in (REPO / "python" / "pypaccel").glob("*.py"):
        names |= set(re.findall(r"\bPYPACCEL_[A-Z0-9_]+", path.read_text()))
    for path in (REPO / "csrc").rglob("*.cpp"):
        if "tests" not in path.parts:
            names |= set(re.findall(r'getenv\("(PYPACCEL_[A-Z0-9_]+)"\)', path.read_text()))
    return names


def test_the_code_reads_what_we_think():
    assert {"PYPACCEL_CACHE_DIR", "PYPACCEL_CPU", "PYPACCEL_EXCLUDE", "PYPACCEL_DUMP_IR"} <= variables_read()


def test_readme_table_lists_every_variable():
    readme = (REPO / "README.md").read_text()
    rows = set(re.findall(r"^\| `(PYPACCEL_[A-Z0-9_]+)", readme, re.M))
    assert variables_read() <= rows, sorted(variables_read() - rows)


def test_user_guide_table_lists_every_variable():
    guide = (REPO / "docs" / "user-guide.md").read_text()
    rows = set(re.findall(r"^\| `(PYPACCEL_[A-Z0-9_]+)", guide, re.M))
    assert variables_read() <= rows, sorted(variables_read() - rows)


def test_help_describes_commands_and_environment(pure, capsys):
    import importlib
    main = importlib.import_module("pypaccel.__main__")  # without the extension: help must work without it
    assert main.main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("run", "stats", "cache", "bisect", "doctor"):
        assert re.search(rf"^  {command}  +\S", out, re.M), command
    for name in variables_read():
        assert re.search(rf"^  {name}  +\S", out, re.M), name
    assert "--version" in out


def test_version(run_python):
    pytest.importorskip("pypaccel._pypaccel")
    result = run_python("-m", "pypaccel", "--version")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert re.fullmatch(r"pypaccel \d+\.\d+\.\d+", lines[0])
    assert re.fullmatch(r"LLVM 19\.\d+\.\d+", lines[1])
    assert lines[2].startswith("Python 3.11.")
    assert re.fullmatch(r"CPU target: (x86-64(-v\d)?|\S+) \(the best x86-64 level this host supports\)", lines[3])
    assert lines[4] == f"cache directory: {run_python.cache_dir}"


def test_doctor(run_python, tmp_path):
    pytest.importorskip("pypaccel._pypaccel")
    result = run_python("-m", "pypaccel", "doctor")
    assert result.returncode == 0, result.stderr
    assert "JIT: available" in result.stdout and "caching: on" in result.stdout
    assert "PYPACCEL_THRESHOLD" in result.stdout
    notes = tmp_path / "notes.txt"
    notes.write_text("x")
    result = run_python("-m", "pypaccel", "doctor",
                        env={"PYPACCEL_CPU": "bogus", "PYPACCEL_CACHE_DIR": str(notes)})
    assert result.returncode == 0, result.stderr
    assert "CPU target: bogus (PYPACCEL_CPU=bogus): UNUSABLE, unknown CPU 'bogus'" in result.stdout
    assert "JIT: off: unknown CPU 'bogus' (PYPACCEL_CPU); everything runs in the interpreter" in result.stdout
    assert f"caching: off: PYPACCEL_CACHE_DIR={notes} is not a directory" in result.stdout
    assert f"set here: PYPACCEL_CPU=bogus" in result.stdout
    result = run_python("-m", "pypaccel", "doctor", env={"PYTHONDONTWRITEBYTECODE": "1"})
    assert "caching: read-only: PYTHONDONTWRITEBYTECODE is set" in result.stdout
