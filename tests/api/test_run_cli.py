# `python -m pypaccel run` must be indistinguishable from plain `python`: argv, __main__, sys.path[0], stdin,
# output, exit status and tracebacks (byte for byte on stderr), for scripts, directories, stdin and -m MODULE.
import json
import re
import textwrap

import pytest

pytest.importorskip("pypaccel._pypaccel")

SHOW = """\
import sys
print("argv", sys.argv)
print("name", __name__, "file", __file__, "path0", repr(sys.path[0]))
print("globals", sorted(globals()))
print("spec", __spec__ and __spec__.name, "package", repr(__package__), "loader", type(__loader__).__name__)
print("cached", __cached__, "doc", __doc__, "main", sys.modules["__main__"].__dict__ is globals())
"""

FAIL = """\
def inner(d):
    try:
        return d["missing"]
    except KeyError as exc:
        raise ValueError("wrapped") from exc

def outer():
    return inner({})

outer()
"""


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def outcome(result):
    # Object addresses differ between any two runs; everything else must not.
    scrub = lambda text: re.sub(r"0x[0-9a-f]+", "0x?", text)  # noqa: E731
    return result.returncode, scrub(result.stdout), scrub(result.stderr)


def compare(run_python, *args, **kwargs):
    """Run `python ARGS` and `python -m pypaccel run ARGS` (or `run -m`), assert they agree, return the plain one."""
    plain = run_python(*args, **kwargs)
    ours = run_python("-m", "pypaccel", "run", *args, **kwargs)
    assert outcome(ours) == outcome(plain)
    return plain


def test_script_sees_what_python_shows(run_python, tmp_path):
    write(tmp_path / "sub" / "show.py", SHOW)
    plain = compare(run_python, "sub/show.py", "a", "-h", "--json", "-m", "x")
    assert "argv ['sub/show.py', 'a', '-h', '--json', '-m', 'x']" in plain.stdout
    assert f"path0 {str(tmp_path / 'sub')!r}" in plain.stdout
    compare(run_python, tmp_path / "sub" / "show.py")
    compare(run_python, "./sub/../sub/show.py")  # python does not normalise __file__


def test_symlinked_script(run_python, tmp_path):
    write(tmp_path / "real" / "show.py", SHOW)
    (tmp_path / "link.py").symlink_to(tmp_path / "real" / "show.py")
    plain = compare(run_python, "link.py")
    assert f"path0 {str(tmp_path / 'real')!r}" in plain.stdout  # sys.path[0] follows the link, __file__ does not


def test_safe_path_flag(run_python, tmp_path):
    write(tmp_path / "show.py", SHOW)
    compare(run_python, "show.py", env={"PYTHONSAFEPATH": "1"})


def test_enabled_from_the_first_line(run_python, tmp_path):
    write(tmp_path / "first.py", "import pypaccel\nprint(pypaccel.is_enabled())\n")
    assert run_python("-m", "pypaccel", "run", "first.py").stdout == "True\n"
    off = run_python("-m", "pypaccel", "run", "first.py", env={"PYPACCEL_DISABLE": "1"})
    assert (off.returncode, off.stdout) == (0, "False\n")


@pytest.mark.parametrize("ending", ["pass", "sys.exit(3)", "sys.exit('bye')", "sys.exit(None)", "raise SystemExit(0)",
                                    "sys.exit(256 + 7)", "print('out'); sys.stdout.flush(); sys.exit(1)"])
def test_exit_status(run_python, tmp_path, ending):
    write(tmp_path / "ends.py", f"import sys\nprint('start')\n{ending}\n")
    compare(run_python, "ends.py")


def test_uncaught_exception_traceback_is_python_s(run_python, tmp_path):
    write(tmp_path / "fail.py", FAIL)
    plain = compare(run_python, "fail.py")
    assert plain.returncode == 1 and "pypaccel" not in plain.stderr and "runpy" not in plain.stderr
    assert plain.stderr.splitlines()[-1] == "ValueError: wrapped"


def test_syntax_error(run_python, tmp_path):
    write(tmp_path / "syntax.py", "x = (\n")
    assert "SyntaxError" in compare(run_python, "syntax.py").stderr


def test_keyboard_interrupt_kills_with_sigint(run_python, tmp_path):
    write(tmp_path / "interrupt.py", "raise KeyboardInterrupt\n")
    assert compare(run_python, "interrupt.py").returncode == -2


def test_user_excepthook_gets_the_program_s_traceback(run_python, tmp_path):
    write(tmp_path / "hook.py", """\
        import sys, traceback
        def hook(exc_type, exc, tb):
            print("hook", exc_type.__name__, [f.name for f in traceback.extract_tb(tb)],
                  [f.name for f in traceback.extract_tb(exc.__traceback__)],
                  [f.name for f in traceback.extract_tb(sys.last_traceback)])
        sys.excepthook = hook
        def boom():
            raise RuntimeError("x")
        boom()
        """)
    plain = compare(run_python, "hook.py")
    assert plain.stdout == "hook RuntimeError ['<module>', 'boom'] ['<module>', 'boom'] ['<module>', 'boom']\n"


def test_script_reading_stdin(run_python, tmp_path):
    write(tmp_path / "upper.py", """\
        import sys
        first = input()
        print(first.upper(), len(sys.stdin.read().splitlines()))
        """)
    compare(run_python, "upper.py", input="hello\nx\ny\n")


def test_program_from_stdin(run_python):
    compare(run_python, "-", "arg", input=SHOW)
    compare(run_python, "-", input=FAIL)


def test_missing_script(run_python):
    plain = compare(run_python, "no_such_script.py")
    assert plain.returncode == 2 and "can't open file" in plain.stderr


def test_directory_with_main(run_python, tmp_path):
    write(tmp_path / "app" / "__main__.py", SHOW)
    compare(run_python, "app", "x")
    compare(run_python, tmp_path)  # no __main__.py: python's own error


def test_zip_file_and_source_encoding(run_python, tmp_path):
    import zipfile
    with zipfile.ZipFile(tmp_path / "app.zip", "w") as z:
        z.writestr("__main__.py", SHOW)
    compare(run_python, "app.zip", "y")
    (tmp_path / "latin.py").write_bytes(b"# -*- coding: latin-1 -*-\nprint(ascii('\xe9'))\n")
    assert compare(run_python, "latin.py").stdout == "'\\xe9'\n"


def test_module(run_python, tmp_path):
    write(tmp_path / "pkg" / "__init__.py", "")
    write(tmp_path / "pkg" / "show.py", SHOW)
    write(tmp_path / "pkg" / "__main__.py", SHOW)
    write(tmp_path / "fail.py", FAIL)
    plain = compare(run_python, "-m", "pkg.show", "a", "-h")
    assert f"argv [{str(tmp_path / 'pkg' / 'show.py')!r}, 'a', '-h']" in plain.stdout
    compare(run_python, "-m", "pkg", "b")
    compare(run_python, "-m", "fail")  # python -m keeps runpy's frames in the traceback, and so must we
    compare(run_python, "-m", "no_such_module")


def test_compact_module_option(run_python, tmp_path):
    write(tmp_path / "show.py", SHOW)
    plain = run_python("-m", "show", "z")
    assert outcome(run_python("-m", "pypaccel", "run", "-mshow", "z")) == outcome(plain)


@pytest.mark.parametrize("args", [[], ["-x", "script.py"], ["-m"]])
def test_usage_errors(run_python, args):
    result = run_python("-m", "pypaccel", "run", *args)
    assert result.returncode == 2 and "usage:" in result.stderr and "Traceback" not in result.stderr


def test_main_script_gets_a_cache_database(run_python, tmp_path):
    write(tmp_path / "hot.py", """\
        def f(x):
            return (x + 1) * 1 + (x ^ x)   # worth entering natively (specialize/profitability.cpp, kEntryWeight)
        total = 0
        for i in range(1000):
            total = f(total)
        print(total)
        """)
    result = run_python("-m", "pypaccel", "run", "hot.py", env={"PYPACCEL_THRESHOLD": "0"})
    assert (result.returncode, result.stdout) == (0, "1000\n"), result.stderr
    expected = run_python.cache_dir / str(tmp_path).lstrip("/") / "hot.cpython-311.pyp"
    assert expected.is_file(), sorted(str(p) for p in run_python.cache_dir.rglob("*"))



AT_EXIT = """\
import atexit, json, sys, threading
import pypaccel

def loop_at_exit(n):          # a loop: without the rule it would be compiled at its first call
    s = 0
    for i in range(n):
        s += i
    return s

def worker(n, out):           # runs in a thread that outlives the main thread's program
    s = 0
    for i in range(n):
        s += i * 2
    out.append(s)

def report():
    names = {f["qualname"]: f for f in pypaccel.stats()["functions"]}
    got = {name: names[name]["compiled"] + names[name]["loaded"] for name in ("loop_at_exit", "worker") if name in names}
    sys.stdout.write(json.dumps({"sum": loop_at_exit(1000), "out": OUT, "compiled": got}) + "\\n")

OUT = []
atexit.register(report)
if sys.argv[1:] == ["thread"]:
    threading.Thread(target=lambda: (threading.Event().wait(0.3), worker(100000, OUT))).start()
"""


def test_code_that_first_runs_after_the_program_ended_is_not_compiled(run_python, tmp_path):
    # Once the main program has ended (threading's shutdown begins) what runs, runs once: loop_at_exit and
    # threading's own shutdown code stay interpreted (no cache database for threading.py).
    import json
    write(tmp_path / "at_exit.py", AT_EXIT)
    result = run_python("-m", "pypaccel", "run", "at_exit.py")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report == {"sum": 499500, "out": [], "compiled": {}}, report
    assert not list(run_python.cache_dir.rglob("threading.cpython-311.pyp"))


def test_a_thread_that_outlives_the_main_program_is_still_compiled(run_python, tmp_path):
    import json
    write(tmp_path / "at_exit.py", AT_EXIT)
    result = run_python("-m", "pypaccel", "run", "at_exit.py", "thread")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["sum"] == 499500 and report["out"] == [9999900000]
    assert report["compiled"]["worker"] == 1, report


LOOP = """\
def hot(n):
    t = 0
    for i in range(n):
        t += i
    return t

print(hot(1000))
"""


def test_stats_option_prints_this_run_s_report_at_exit(run_python, tmp_path):
    script = write(tmp_path / "prog.py", LOOP)
    plain = run_python(script)
    ours = run_python("-m", "pypaccel", "run", "--stats", script)
    assert (ours.returncode, ours.stdout) == (plain.returncode, plain.stdout)  # the report goes to stderr
    assert "pypaccel: stats of this run" in ours.stderr
    row = next(line for line in ours.stderr.splitlines() if line.strip().startswith("hot:1 "))
    assert row.split()[1:4] == ["1", "0", "1"]  # compiled, loaded, native calls
    assert re.search(r"^total over \d+ file\(s\): \d+ compiled", ours.stderr, re.M)
    assert "usage: python -m pypaccel run [-h] [--stats]" in run_python("-m", "pypaccel", "run", "-h").stdout


def test_stats_finds_the_last_run_wherever_its_databases_are(run_python, tmp_path):
    # The program's databases go under PYPACCEL_CACHE_DIR; stats runs elsewhere, without it.
    script = write(tmp_path / "proj" / "prog.py", LOOP)
    assert run_python("-m", "pypaccel", "run", script, "a b").returncode == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {"PYPACCEL_CACHE_DIR": None}
    hint = run_python("-m", "pypaccel", "stats", cwd=elsewhere, env=env)
    assert "no pypaccel cache databases found" in hint.stdout and "stats --last" in hint.stdout
    last = run_python("-m", "pypaccel", "stats", "--last", cwd=elsewhere, env=env)
    assert last.returncode == 0, last.stderr
    assert f"argv {script} a b, in {tmp_path}" in last.stdout
    assert str(script) in last.stdout and re.search(r"^  hot:1 ", last.stdout, re.M)
    report = json.loads(run_python("-m", "pypaccel", "stats", "--last", "--json", cwd=elsewhere, env=env).stdout)
    assert report["last_run"]["argv"] == [str(script), "a b"]
    assert report["totals"]["compiled"] >= 1


def test_a_run_with_nothing_to_report_keeps_the_last_record(run_python, tmp_path):
    # Writing the record costs every exit a file replacement: a run that wrote no database and was warned about
    # nothing leaves the record of the last run that had something.
    script = write(tmp_path / "prog.py", LOOP)
    assert run_python("-m", "pypaccel", "run", script, "first").returncode == 0
    record = tmp_path / "xdg-cache" / "pypaccel" / "last-run.json"
    before = record.read_text()
    assert json.loads(before)["argv"] == [str(script), "first"]
    empty = write(tmp_path / "empty.py", "pass\n")
    assert run_python("-m", "pypaccel", "run", empty).returncode == 0
    assert record.read_text() == before
