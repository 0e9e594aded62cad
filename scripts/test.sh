#!/usr/bin/env bash
# Installs everything and runs all tests: the Catch2 tests (CTest) and pytest, then pytest again with every
# eligible function of the test process compiled at its first call, and with every guard failing once; then
# CPython's own [core] test modules plain vs accelerated (scripts/cpython_tests_ci.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install.sh PYPACCEL_TESTS=ON
PYTHON=${PYTHON:-$(python3 -c 'import sys; print(sys.executable)')}

echo "== CTest (Catch2) =="
ctest --test-dir build/pip --output-on-failure -j2

# Caches of the test runs go to a scratch directory, not into site-packages' __pycache__.
export PYPACCEL_CACHE_DIR=${PYPACCEL_CACHE_DIR:-$(mktemp -d)}
# Run from a directory where python/pypaccel does not shadow the installed package.
echo "== pytest =="
"$PYTHON" -m pytest -q -p no:cacheprovider tests

# These passes compile every function of each test's process at its first call. Each keeps one cache of its own,
# writable (PYTHONDONTWRITEBYTECODE unset): every differential test runs in a forked child, and without a cache each
# child compiled again all of pytest's, hypothesis's and the harness's code it called (about 2 s a test, 36 minutes
# a pass); with it, the first child compiles and later ones load (7.5 minutes a pass), which runs the cache's
# loading path over a thousand functions as well. The tests' own cases are never cached (their code has no file),
# so each is still compiled at its first call. A test's hang limit is 180 s rather than 60: the first tests of a
# pass compile what later ones load.
export PYPACCEL_DIFF_TIMEOUT=${PYPACCEL_DIFF_TIMEOUT:-180}
# The first pass runs the whole suite; the stress pass only the differential tests (compiled against the
# interpreter, where the exit paths are), which keeps CI within its hour: with full instruction selection for
# every compile (session 20) the whole suite under stress took 16 minutes of a 57-minute run.
whole_process_pass() {
    local suite=$1
    shift
    env -u PYTHONDONTWRITEBYTECODE PYPACCEL_CACHE_DIR="$(mktemp -d)" PYPACCEL_TEST_ENABLE=1 PYPACCEL_THRESHOLD=0 \
        PYPACCEL_COMPILE_ALL=1 "$@" "$PYTHON" -m pytest -q -p no:cacheprovider "$suite"
}
echo "== pytest, whole process accelerated, compile everything at first call =="
whole_process_pass tests

echo "== pytest, differential tests, every guard fails once (exit paths) =="
whole_process_pass tests/differential PYPACCEL_STRESS_EXITS=1

echo "== CPython's own Lib/test [core] modules, plain vs accelerated (docs/cpython-tests.md) =="
PYTHON="$PYTHON" CPT_OUT=${CPT_OUT:-$(mktemp -d)/cpython-tests} ./scripts/cpython_tests_ci.sh
