# Shared test fixtures: the interpreter under test, subprocess runs with a clean pypaccel environment, and the
# pure-Python modules of pypaccel (_paths, _stats_report) imported without the C++ extension.
import importlib
import importlib.util
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SOURCE_PACKAGE = REPO / "python" / "pypaccel"

# Where subprocesses import pypaccel from: an installed (or editable) build if there is one, else the source tree,
# which has no extension until it is built in place (then the tests needing it skip themselves).
_spec = importlib.util.find_spec("pypaccel")
PACKAGE_PARENT = (Path(_spec.submodule_search_locations[0]).parent if _spec and _spec.submodule_search_locations
                  else SOURCE_PACKAGE.parent)
if _spec is None:
    sys.path.insert(0, str(PACKAGE_PARENT))


def cache_schema_sql():
    """The cache database schema as the extension creates it (csrc/cache/store.cpp kSchema, with the
    application_id and user_version of csrc/cache/store.h), read from the sources so tests that build databases by
    hand follow every schema change."""
    import re
    store = (REPO / "csrc" / "cache" / "store.cpp").read_text()
    header = (REPO / "csrc" / "cache" / "store.h").read_text()
    tables = re.search(r'kSchema = R"sql\((.*?)\)sql"', store, re.S).group(1)
    app = re.search(r"kApplicationId = (0x[0-9A-Fa-f]+)", header).group(1)
    version = re.search(r"kSchemaVersion = (\d+)", header).group(1)
    return f"{tables}\nPRAGMA application_id = {app};  PRAGMA user_version = {version};\n"


@pytest.fixture
def python_exe():
    return sys.executable


def clean_env(cache_dir, extra=None):
    """os.environ without PYPACCEL_* and PYTHON* settings that change how a program runs, plus a private cache."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYPACCEL_", "PYTHON"))}
    env["PYTHONPATH"] = str(PACKAGE_PARENT)
    env["PYPACCEL_CACHE_DIR"] = str(cache_dir)
    env["XDG_CACHE_HOME"] = str(Path(cache_dir).parent / "xdg-cache")  # never the user's real ~/.cache
    env.update(extra or {})
    return {k: v for k, v in env.items() if v is not None}  # extra={"NAME": None} removes NAME


@pytest.fixture
def child_env():
    """clean_env as a fixture: `from conftest import clean_env` would find tests/differential/conftest.py when
    both directories are collected in one run."""
    return clean_env


@pytest.fixture
def run_python(tmp_path, python_exe):
    """run_python(*args, cwd=, input=, env=) -> CompletedProcess (text) of `python *args` in a clean environment."""
    cache_dir = tmp_path / "pypaccel-cache"

    def run(*args, cwd=None, input=None, env=None, timeout=120):
        return subprocess.run([python_exe, *map(str, args)], cwd=cwd or tmp_path, input=input, text=True,
                              capture_output=True, env=clean_env(cache_dir, env), timeout=timeout)

    run.cache_dir = cache_dir
    return run


@pytest.fixture
def pure(monkeypatch):
    """pypaccel._paths and pypaccel._stats_report from the source tree, without running pypaccel/__init__.py.

    __init__ imports the extension; these two must work without it, so import them under a bare package stub."""
    for name in [n for n in sys.modules if n == "pypaccel" or n.startswith("pypaccel.")]:
        monkeypatch.delitem(sys.modules, name)
    stub = types.ModuleType("pypaccel")
    stub.__path__ = [str(SOURCE_PACKAGE)]
    monkeypatch.setitem(sys.modules, "pypaccel", stub)
    before = set(sys.modules)
    modules = types.SimpleNamespace(paths=importlib.import_module("pypaccel._paths"),
                                    stats=importlib.import_module("pypaccel._stats_report"))
    modules.imported = set(sys.modules) - before
    yield modules
    for name in set(sys.modules) - before:  # monkeypatch restores only what it touched
        if name.startswith("pypaccel."):
            del sys.modules[name]


def pytest_configure(config):
    # The compile-everything run of scripts/test.sh: the whole test process (pytest included) runs accelerated.
    if os.environ.get("PYPACCEL_TEST_ENABLE") == "1":
        import pypaccel
        pypaccel.enable()
