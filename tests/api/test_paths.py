# Where cache databases go (pypaccel/_paths.py): beside the .pyc, the user cache fallback, the PYPACCEL_CACHE_DIR
# override, read-only cases, and how `pypaccel stats` finds databases. No extension needed.
import os
import sys
from pathlib import Path

import pytest

SUFFIX = ".cpython-311.pyp"


@pytest.fixture
def env(monkeypatch, tmp_path):
    """A predictable environment: no override, user cache under tmp_path."""
    monkeypatch.delenv("PYPACCEL_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    return monkeypatch


def make_source(path, text="x = 1\n"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def mirrored(root, directory):
    return os.path.join(str(root), str(directory).lstrip(os.sep))


def deny_writes_under(monkeypatch, *dirs):
    """Make os.access say "not writable" for these directories and everything below them.

    We may run as root, where chmod does not stop writes, so the tests fake what a read-only directory looks like."""
    real_access = os.access
    prefixes = [str(d) for d in dirs]

    def access(path, mode, *args, **kwargs):
        path = os.path.abspath(os.fspath(path))
        if mode & os.W_OK and any(path == p or path.startswith(p + os.sep) for p in prefixes):
            return False
        return real_access(path, mode, *args, **kwargs)

    monkeypatch.setattr(os, "access", access)


def test_suffix_is_the_pyc_tag(pure):
    assert pure.paths.SUFFIX == SUFFIX


def test_pure_modules_do_not_import_the_extension(pure):
    assert "pypaccel._pypaccel" not in sys.modules
    assert not any("_pypaccel" in name for name in pure.imported)


@pytest.mark.parametrize("name", ["<string>", "<stdin>", "<frozen no_such_module>", "<frozen ../etc>", ""])
def test_pseudo_filenames_have_no_database(pure, env, name):
    assert pure.paths.db_path_for(name) is None


@pytest.mark.parametrize("name, module", [("<frozen posixpath>", "posixpath.py"),
                                          ("<frozen importlib._bootstrap>", "importlib/_bootstrap.py")])
def test_frozen_stdlib_code_is_cached_with_its_source(pure, env, tmp_path, name, module):
    # The standard library's frozen modules (os.path, importlib's bootstrap, runpy...) have no file of their own:
    # their cache goes where their source's would, so a warm process compiles none of them again.
    env.setenv("PYPACCEL_CACHE_DIR", str(tmp_path / "root"))
    source = os.path.join(sys._stdlib_dir, module)
    assert pure.paths.source_of_frozen(name) == source
    path, writable = pure.paths.db_path_for(name)[:2]
    assert path == pure.paths.db_path_for(source)[0] and writable
    assert path.endswith(module[:-3] + SUFFIX)


def test_pseudo_filename_wins_even_if_such_a_file_exists(pure, env, tmp_path):
    env.chdir(tmp_path)
    (tmp_path / "<string>").write_text("")
    assert pure.paths.db_path_for("<string>") is None


def test_missing_file_directory_and_junk_have_no_database(pure, env, tmp_path):
    assert pure.paths.db_path_for(str(tmp_path / "missing.py")) is None
    assert pure.paths.db_path_for(str(tmp_path)) is None
    assert pure.paths.db_path_for(None) is None
    assert pure.paths.db_path_for(42) is None
    assert pure.paths.db_path_for("bad\0name.py") is None


def test_database_goes_beside_the_pyc(pure, env, tmp_path):
    src = make_source(tmp_path / "d" / "mod.py")
    assert not (tmp_path / "d" / "__pycache__").exists()
    assert pure.paths.db_path_for(str(src)) == (str(tmp_path / "d" / "__pycache__" / ("mod" + SUFFIX)), True)
    assert (tmp_path / "d" / "__pycache__").is_dir()  # created, like CPython does for .pyc


def test_script_without_extension_and_main_script(pure, env, tmp_path):
    # The __main__ script gets a database too, although CPython writes no .pyc for it.
    tool = make_source(tmp_path / "bin" / "tool")
    script = make_source(tmp_path / "bin" / "script.py")
    assert pure.paths.db_path_for(str(tool))[0] == str(tmp_path / "bin" / "__pycache__" / ("tool" + SUFFIX))
    assert pure.paths.db_path_for(str(script))[0] == str(tmp_path / "bin" / "__pycache__" / ("script" + SUFFIX))


def test_relative_filename_is_resolved_against_the_cwd(pure, env, tmp_path):
    make_source(tmp_path / "pkg" / "m.py")
    env.chdir(tmp_path)
    assert pure.paths.db_path_for(os.path.join("pkg", "m.py")) == (
        str(tmp_path / "pkg" / "__pycache__" / ("m" + SUFFIX)), True)


def test_override_mirrors_the_absolute_directory(pure, env, tmp_path):
    src = make_source(tmp_path / "d" / "mod.py")
    env.setenv("PYPACCEL_CACHE_DIR", str(tmp_path / "cache"))
    expected = os.path.join(mirrored(tmp_path / "cache", tmp_path / "d"), "mod" + SUFFIX)
    assert pure.paths.db_path_for(str(src)) == (expected, True)
    assert os.path.isdir(os.path.dirname(expected))
    assert not (tmp_path / "d" / "__pycache__").exists()  # the override replaces __pycache__, not adds to it


def test_relative_override_is_made_absolute(pure, env, tmp_path):
    src = make_source(tmp_path / "d" / "mod.py")
    env.chdir(tmp_path)
    env.setenv("PYPACCEL_CACHE_DIR", "rel-cache")
    path, writable = pure.paths.db_path_for(str(src))
    assert path == os.path.join(mirrored(tmp_path / "rel-cache", tmp_path / "d"), "mod" + SUFFIX)
    assert writable


def test_read_only_source_dir_falls_back_to_xdg_cache(pure, env, tmp_path):
    src = make_source(tmp_path / "ro" / "mod.py")
    deny_writes_under(env, tmp_path / "ro")
    expected = os.path.join(mirrored(tmp_path / "xdg" / "pypaccel", tmp_path / "ro"), "mod" + SUFFIX)
    assert pure.paths.db_path_for(str(src)) == (expected, True)


def test_xdg_default_is_home_dot_cache_and_relative_xdg_is_ignored(pure, env, tmp_path):
    src = make_source(tmp_path / "ro" / "mod.py")
    deny_writes_under(env, tmp_path / "ro")
    env.setenv("HOME", str(tmp_path / "home"))
    expected = os.path.join(mirrored(tmp_path / "home" / ".cache" / "pypaccel", tmp_path / "ro"), "mod" + SUFFIX)
    env.delenv("XDG_CACHE_HOME")
    assert pure.paths.db_path_for(str(src)) == (expected, True)
    env.setenv("XDG_CACHE_HOME", "relative/dir")  # invalid per the XDG spec
    assert pure.paths.db_path_for(str(src)) == (expected, True)


def test_real_read_only_directory(pure, env, tmp_path):
    ro = tmp_path / "ro"
    src = make_source(ro / "mod.py")
    ro.chmod(0o555)
    try:
        if os.access(ro, os.W_OK):
            pytest.skip("chmod does not stop writes here (running as root); covered by the os.access tests")
        path, writable = pure.paths.db_path_for(str(src))
        assert writable and path.startswith(str(tmp_path / "xdg" / "pypaccel"))
    finally:
        ro.chmod(0o755)


def test_unwritable_existing_database_falls_back(pure, env, tmp_path):
    src = make_source(tmp_path / "d" / "mod.py")
    db = make_source(tmp_path / "d" / "__pycache__" / ("mod" + SUFFIX), "")
    deny_writes_under(env, db)
    path, writable, note = pure.paths.db_path_for(str(src))
    assert writable and path.startswith(str(tmp_path / "xdg"))
    assert note == f"{db} is not writable (read-only or permission denied); using {path}"


def test_failing_makedirs_falls_back_and_never_raises(pure, env, tmp_path):
    src = make_source(tmp_path / "d" / "mod.py")
    real_makedirs = os.makedirs

    def makedirs(name, *args, **kwargs):
        if "__pycache__" in str(name):
            raise PermissionError(13, "Permission denied", str(name))
        return real_makedirs(name, *args, **kwargs)

    env.setattr(os, "makedirs", makedirs)
    path, writable = pure.paths.db_path_for(str(src))
    assert writable and path.startswith(str(tmp_path / "xdg"))


def test_nowhere_writable_reads_an_existing_database(pure, env, tmp_path):
    src = make_source(tmp_path / "d" / "mod.py")
    db = make_source(tmp_path / "d" / "__pycache__" / ("mod" + SUFFIX), "")
    deny_writes_under(env, tmp_path)
    assert pure.paths.db_path_for(str(src)) == (str(db), False)
    db.unlink()
    assert pure.paths.db_path_for(str(src)) is None


def test_dont_write_bytecode_reads_but_creates_nothing(pure, env, tmp_path):
    src = make_source(tmp_path / "d" / "mod.py")
    env.setattr(sys, "dont_write_bytecode", True)
    assert pure.paths.db_path_for(str(src)) == (str(tmp_path / "d" / "__pycache__" / ("mod" + SUFFIX)), False)
    assert not (tmp_path / "d" / "__pycache__").exists()
    assert not (tmp_path / "xdg").exists()
    # A database that only exists in the user cache is the one to read.
    fallback = os.path.join(mirrored(tmp_path / "xdg" / "pypaccel", tmp_path / "d"), "mod" + SUFFIX)
    make_source(Path(fallback), "")
    assert pure.paths.db_path_for(str(src)) == (fallback, False)


def test_dont_write_bytecode_with_override(pure, env, tmp_path):
    src = make_source(tmp_path / "d" / "mod.py")
    env.setattr(sys, "dont_write_bytecode", True)
    env.setenv("PYPACCEL_CACHE_DIR", str(tmp_path / "cache"))
    path, writable = pure.paths.db_path_for(str(src))
    assert path.startswith(str(tmp_path / "cache")) and not writable
    assert not (tmp_path / "cache").exists()


# -- Finding databases for `pypaccel stats` ----------------------------------------------------------------------

def test_stats_finds_databases_recursively(pure, env, tmp_path):
    a = make_source(tmp_path / "p" / "__pycache__" / ("a" + SUFFIX), "")
    b = make_source(tmp_path / "p" / "sub" / "__pycache__" / ("b" + SUFFIX), "")
    make_source(tmp_path / "p" / "__pycache__" / "a.cpython-311.pyc", "")
    make_source(tmp_path / "p" / "__pycache__" / "a.cpython-312.pyp", "")  # another Python's cache
    assert pure.paths.cache_roots_for_stats([str(tmp_path / "p")]) == [str(a), str(b)]


def test_stats_default_is_the_cwd_or_the_override(pure, env, tmp_path):
    here = make_source(tmp_path / "here" / "__pycache__" / ("a" + SUFFIX), "")
    there = make_source(tmp_path / "cache" / "x" / ("b" + SUFFIX), "")
    env.chdir(tmp_path / "here")
    assert [os.path.abspath(p) for p in pure.paths.cache_roots_for_stats([])] == [str(here)]
    env.setenv("PYPACCEL_CACHE_DIR", str(tmp_path / "cache"))
    assert pure.paths.cache_roots_for_stats() == [str(there)]


def test_stats_explicit_files_sources_missing_and_duplicates(pure, env, tmp_path):
    db = make_source(tmp_path / "odd-name.db", "")
    src = make_source(tmp_path / "d" / "mod.py")
    src_db = make_source(tmp_path / "d" / "__pycache__" / ("mod" + SUFFIX), "")
    found = pure.paths.cache_roots_for_stats([str(db), str(src), str(tmp_path / "missing"), str(src_db),
                                              str(tmp_path / "d")])
    assert found == [str(db), str(src_db)]
