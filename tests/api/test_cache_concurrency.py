# Many processes on one cache database at once (a pytest-xdist run, a pool of workers), and processes killed with
# SIGKILL in the middle of their stores: no error, no lost row, and a database the next process reads correctly.
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

pytest.importorskip("pypaccel._pypaccel", reason="the pypaccel extension is not built")

WORKERS = 8
OWN = 100      # functions only one worker calls: distinct rows
SHARED = 40    # functions every worker calls: the same keys stored concurrently


def function_source(name, k):
    # A loop, so it is compiled at its first call; a distinct constant, so every function has its own code hash.
    return f"def {name}(n):\n    t = {k}\n    for i in range(n):\n        t += i * {k} % 7\n    return t\n\n"


def expected(k, n):
    return k + sum(i * k % 7 for i in range(n))


@pytest.fixture
def module(tmp_path):
    d = tmp_path / "proj"
    d.mkdir()
    src = ["# generated\n"]
    for w in range(WORKERS):
        src += [function_source(f"own_{w}_{i}", 1000 * w + i + 1) for i in range(OWN)]
    src += [function_source(f"shared_{i}", 500000 + i) for i in range(SHARED)]
    (d / "many.py").write_text("".join(src))
    (d / "worker.py").write_text(
        "import json, sys, pypaccel\n"
        "pypaccel.enable()\n"
        "import many\n"
        "w = int(sys.argv[1])\n"
        "names = [f'own_{w}_{i}' for i in range(%d)] + [f'shared_{i}' for i in range(%d)]\n"
        "out = {name: getattr(many, name)(50) for name in names}\n"
        "fs = [f for f in pypaccel.stats()['functions'] if f['file'] == many.__file__]\n"
        "print(json.dumps({'out': out, 'compiled': sum(f['compiled'] for f in fs),"
        " 'loaded': sum(f['loaded'] for f in fs)}))\n" % (OWN, SHARED))
    return d


def constant_of(name):
    if name.startswith("own_"):
        _, w, i = name.split("_")
        return 1000 * int(w) + int(i) + 1
    return 500000 + int(name.split("_")[1])


def start_worker(python_exe, project, w, env):
    return subprocess.Popen([python_exe, "-W", "always", "worker.py", str(w)], cwd=project, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture
def worker_env(child_env):
    return lambda cache_dir: child_env(cache_dir, {"PYPACCEL_CACHE_DIR": None})


def db_of(project):
    return project / "__pycache__" / "many.cpython-311.pyp"


def verify(python_exe, project, worker_env):
    r = subprocess.run([python_exe, "-m", "pypaccel", "cache", "verify", str(project)], capture_output=True, text=True,
                       env=worker_env(project.parent / "c"), timeout=120)
    return r.returncode, r.stdout + r.stderr


def test_eight_processes_store_hundreds_of_entries_each(python_exe, module, tmp_path, worker_env):
    env = worker_env(tmp_path / "cache")
    procs = [start_worker(python_exe, module, w, env) for w in range(WORKERS)]
    results = []
    for w, p in enumerate(procs):
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err[-3000:]
        assert "CacheWarning" not in err and "Traceback" not in err, err[-3000:]
        data = json.loads(out.strip().splitlines()[-1])
        for name, value in data["out"].items():
            assert value == expected(constant_of(name), 50), name
        results.append(data)
    # Every process compiled (or loaded, if another stored first) all of its functions: nothing failed.
    assert all(r["compiled"] + r["loaded"] == OWN + SHARED for r in results), results
    con = sqlite3.connect(db_of(module))
    rows = con.execute("SELECT count(*) FROM specializations").fetchone()[0]
    runs = con.execute("SELECT count(*) FROM runs").fetchone()[0]
    con.close()
    assert rows == WORKERS * OWN + SHARED  # no lost row, no duplicate
    assert runs == WORKERS
    status, report = verify(python_exe, module, worker_env)
    assert status == 0, report
    # And the next process finds every one of them.
    again = subprocess.run([python_exe, "worker.py", "3"], cwd=module, env=env, capture_output=True, text=True,
                           timeout=300)
    assert again.returncode == 0, again.stderr
    data = json.loads(again.stdout.strip().splitlines()[-1])
    assert data["compiled"] == 0 and data["loaded"] == OWN + SHARED


def test_sigkill_in_the_middle_of_stores_leaves_a_readable_database(python_exe, module, tmp_path,
                                                                  worker_env):
    env = worker_env(tmp_path / "cache")
    rng = random.Random(1234)
    for attempt in range(6):
        p = start_worker(python_exe, module, attempt % WORKERS, env)
        # Wait until it is storing (the database exists), then kill it at a random moment of its compiles.
        deadline = time.monotonic() + 60
        while not db_of(module).exists() and time.monotonic() < deadline and p.poll() is None:
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.4))
        p.send_signal(signal.SIGKILL)
        p.communicate()
        status, report = verify(python_exe, module, worker_env)
        assert status == 0, f"attempt {attempt}: {report}"
    # The next process reads it (its own entries that were stored are loaded, the rest compiled) with no warning.
    r = subprocess.run([python_exe, "-W", "always", "worker.py", "0"], cwd=module, env=env, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0 and "CacheWarning" not in r.stderr, r.stderr[-3000:]
    data = json.loads(r.stdout.strip().splitlines()[-1])
    assert data["loaded"] > 0 and data["compiled"] + data["loaded"] == OWN + SHARED
    for name, value in data["out"].items():
        assert value == expected(constant_of(name), 50), name
    status, report = verify(python_exe, module, worker_env)
    assert status == 0, report
