# Fixtures and machinery of the differential tests (tests/differential):
#  - every test runs in a forked child process, so a crash (segfault, abort) in native code fails that one test
#    with the signal's name instead of killing the whole run (PYPACCEL_DIFF_NOFORK=1 runs tests in-process);
#  - every module runs a second time with PYPACCEL_STRESS_EXITS=1 (every guard fails once, so exit paths run):
#    one pytest subprocess, started when collection ends, runs the collected modules in that mode while this
#    process runs them normally; each module's `test_stress_mode` item reports that module's results from it
#    (PYPACCEL_DIFF_STRESS=0 skips the stress run);
#  - the cache of every process goes to a scratch directory.
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import Phase as _Phase
from hypothesis import settings as _hyp_settings

# Reproducible runs (a strict xfail must not depend on luck); PYPACCEL_DIFF_RANDOM=1 explores new examples.
# No explain phase: it runs failing examples under sys.settrace, where pypaccel rightly stays out of the way, and
# the "did not run natively" that follows would replace the real failure in the report.
_hyp_settings.register_profile("differential", database=None, deadline=None,
                               derandomize=os.environ.get("PYPACCEL_DIFF_RANDOM") != "1",
                               phases=[_Phase.explicit, _Phase.reuse, _Phase.generate, _Phase.target, _Phase.shrink])
_hyp_settings.load_profile("differential")

HERE = Path(__file__).resolve().parent
IS_CHILD = os.environ.get("PYPACCEL_DIFF_CHILD") == "1"
NOFORK = os.environ.get("PYPACCEL_DIFF_NOFORK") == "1"
# A hang detector, not a speed test. With every function compiled (PYPACCEL_COMPILE_ALL=1 and the test process
# itself enabled), the first hypothesis test compiles hypothesis as well: 46-49 s of test_operator[add] alone on
# this machine with nothing else running (the tests after it load that code from the cache). That mode gets 120 s.
TEST_TIMEOUT = float(os.environ.get("PYPACCEL_DIFF_TIMEOUT",
                                    "120" if os.environ.get("PYPACCEL_COMPILE_ALL") == "1" else "60"))

_scratch = None
_stress = None  # the stress-mode pytest subprocess: {"proc", "xml", "log", "modules"}


def _in_this_dir(item):
    return Path(str(item.fspath)).resolve().parent == HERE


def pytest_configure(config):
    global _scratch
    _scratch = tempfile.mkdtemp(prefix="pypaccel-diff-")
    if not os.environ.get("PYPACCEL_CACHE_DIR"):
        os.environ["PYPACCEL_CACHE_DIR"] = os.path.join(_scratch, "cache")
    os.environ.setdefault("XDG_CACHE_HOME", os.path.join(_scratch, "xdg"))
    config.addinivalue_line("markers", "nofork: run in the pytest process itself (no forked child)")


def pytest_unconfigure(config):
    if _stress and _stress["proc"].poll() is None:
        _stress["proc"].kill()
        _stress["proc"].wait()
    if _scratch:
        shutil.rmtree(_scratch, ignore_errors=True)


def _whole_process_mode():
    try:
        import pypaccel
        return pypaccel.is_enabled()
    except ImportError:
        return False


def stress_env():
    env = dict(os.environ)
    env["PYPACCEL_STRESS_EXITS"] = "1"
    env["PYPACCEL_DIFF_CHILD"] = "1"
    env.pop("PYPACCEL_TEST_ENABLE", None)
    env["PYPACCEL_CACHE_DIR"] = os.path.join(_scratch, "stress-cache")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def pytest_collection_modifyitems(session, config, items):
    global _stress
    ours = [it for it in items if _in_this_dir(it)]
    if not ours:
        return
    stress_items = [it for it in ours if it.name == "test_stress_mode"]
    if _whole_process_mode():
        # scripts/test.sh's accelerated runs: pytest, hypothesis and this harness are compiled too, and the plain
        # side of every pair is kept interpreted with pypaccel.exclude. That run already has its own stress-exit
        # pass (PYPACCEL_STRESS_EXITS=1 for the whole process), so no stress subprocess is started from it.
        for it in stress_items:
            it.add_marker(pytest.mark.skip(reason="the whole-process runs of scripts/test.sh have their own "
                                                  "stress-exit pass"))
        return
    if IS_CHILD or os.environ.get("PYPACCEL_STRESS_EXITS", "") not in ("", "0") or \
            os.environ.get("PYPACCEL_DIFF_STRESS") == "0":
        for it in stress_items:
            it.add_marker(pytest.mark.skip(reason="this process is the stress-mode run (or it is turned off)"))
        return
    if not stress_items:
        return
    # Stress items last: they wait for the subprocess, which runs meanwhile on the other core.
    for it in stress_items:
        items.remove(it)
    items.extend(stress_items)
    modules = sorted({str(Path(str(it.fspath)).resolve()) for it in stress_items})
    xml = os.path.join(_scratch, "stress.xml")
    log = open(os.path.join(_scratch, "stress.log"), "w")
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=", "-rN",
           f"--junitxml={xml}", "-o", "junit_family=xunit1", *modules]
    proc = subprocess.Popen(cmd, cwd=_scratch, env=stress_env(), stdout=log, stderr=subprocess.STDOUT)
    _stress = {"proc": proc, "xml": xml, "log": log.name, "modules": modules}


def stress_results(module_file, timeout=900):
    """(failed, passed, xfailed) test names of one module in the stress-mode subprocess."""
    if _stress is None:
        pytest.skip("no stress-mode run in this session")
    proc = _stress["proc"]
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        pytest.fail("the stress-mode run timed out", pytrace=False)
    if not os.path.exists(_stress["xml"]):
        log = Path(_stress["log"]).read_text()[-6000:]
        pytest.fail(f"the stress-mode run ended with {proc.returncode} and no report:\n{log}", pytrace=False)
    stem = Path(module_file).stem
    failed, passed, xfailed = [], [], []
    for case in ET.parse(_stress["xml"]).getroot().iter("testcase"):
        if case.get("classname", "").split(".")[-1] != stem and not case.get("file", "").endswith(stem + ".py"):
            continue
        name = case.get("name")
        bad = case.find("failure") if case.find("failure") is not None else case.find("error")
        skipped = case.find("skipped")
        if bad is not None:
            text = (bad.get("message") or "") + "\n" + (bad.text or "")
            failed.append((name, text.strip()))
        elif skipped is not None:
            if (skipped.get("type") or "") == "pytest.xfail":
                xfailed.append(name)
        else:
            passed.append(name)
    return failed, passed, xfailed


def report_stress(module_file):
    failed, passed, xfailed = stress_results(module_file)
    if failed:
        parts = [f"{len(failed)} test(s) of {Path(module_file).name} failed with PYPACCEL_STRESS_EXITS=1 "
                 f"({len(passed)} passed, {len(xfailed)} xfailed):"]
        for name, text in failed:
            parts.append(f"--- {name}\n{text[-3000:]}")
        pytest.fail("\n".join(parts), pytrace=False)
    if not passed and not xfailed:
        pytest.fail(f"the stress-mode run reported no test of {Path(module_file).name}", pytrace=False)


# ---------------------------------------------------------------------------------------------------------------
# Each test in a forked child

def _child_run(pyfuncitem, wfd):
    status = {"status": "passed"}
    try:
        funcargs = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
        pyfuncitem.obj(**funcargs)
    except pytest.skip.Exception as exc:
        status = {"status": "skipped", "msg": str(exc.msg)}
    except pytest.xfail.Exception as exc:
        status = {"status": "xfail", "msg": str(exc.msg)}
    except BaseException as exc:  # noqa: BLE001 - everything goes back to the parent
        tb = exc.__traceback__.tb_next if exc.__traceback__ else None  # drop this frame
        text = "".join(traceback.format_exception(type(exc), exc, tb))
        status = {"status": "failed", "type": type(exc).__name__, "text": text}
    data = json.dumps(status).encode()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except Exception:  # noqa: BLE001
        pass
    view = memoryview(data)
    while view:
        n = os.write(wfd, view)
        view = view[n:]
    os.close(wfd)


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem):
    if NOFORK or not _in_this_dir(pyfuncitem) or pyfuncitem.get_closest_marker("nofork") or \
            pyfuncitem.name == "test_stress_mode":
        return None
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: run the test, report, and leave without running any cleanup of the parent's
        os.close(rfd)
        code = 0
        try:
            _child_run(pyfuncitem, wfd)
        except BaseException:  # noqa: BLE001
            code = 3
        os._exit(code)
    os.close(wfd)
    chunks = []
    deadline = time.monotonic() + TEST_TIMEOUT
    timed_out = False
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            timed_out = True
            break
        ready, _, _ = select.select([rfd], [], [], min(left, 1.0))
        if ready:
            chunk = os.read(rfd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
    os.close(rfd)
    if timed_out:
        os.kill(pid, signal.SIGKILL)
    _, wstatus = os.waitpid(pid, 0)
    if timed_out:
        pytest.fail(f"HANG: the test did not finish in {TEST_TIMEOUT:.0f} s (child killed)", pytrace=False)
    if os.WIFSIGNALED(wstatus):
        sig = os.WTERMSIG(wstatus)
        pytest.fail(f"CRASH: the test process was killed by {signal.Signals(sig).name} "
                    "(see the captured stderr for faulthandler's traceback)", pytrace=False)
    raw = b"".join(chunks)
    if not raw:
        pytest.fail(f"CRASH: the test process exited with status {os.WEXITSTATUS(wstatus)} without a report",
                    pytrace=False)
    status = json.loads(raw)
    if status["status"] == "skipped":
        pytest.skip(status["msg"])
    if status["status"] == "xfail":
        pytest.xfail(status["msg"])
    if status["status"] == "failed":
        pytest.fail(f"[{status['type']} in the forked test process]\n{status['text']}", pytrace=False)
    return True


@pytest.fixture
def scratch_env(tmp_path):
    """Environment for a subprocess: this one's, with its own cache directory and the harness importable."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYPACCEL_CACHE_DIR"] = str(tmp_path / "cache")
    import pypaccel
    package_parent = str(Path(pypaccel.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), package_parent])
    env["PYTHONFAULTHANDLER"] = "1"
    return env
