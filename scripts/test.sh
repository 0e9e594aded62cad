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

# These passes compile every function of each test's process at its first call: hypothesis's generated programs
# take about 70 s there (compiling, not hanging), so a test's hang limit is 180 s rather than 60.
export PYPACCEL_DIFF_TIMEOUT=${PYPACCEL_DIFF_TIMEOUT:-180}
echo "== pytest, whole process accelerated, compile everything at first call =="
PYPACCEL_TEST_ENABLE=1 PYPACCEL_THRESHOLD=0 PYPACCEL_COMPILE_ALL=1 "$PYTHON" -m pytest -q -p no:cacheprovider tests

echo "== pytest, every guard fails once (exit paths) =="
PYPACCEL_TEST_ENABLE=1 PYPACCEL_THRESHOLD=0 PYPACCEL_COMPILE_ALL=1 PYPACCEL_STRESS_EXITS=1 "$PYTHON" -m pytest -q -p no:cacheprovider tests

echo "== CPython's own Lib/test [core] modules, plain vs accelerated (docs/cpython-tests.md) =="
PYTHON="$PYTHON" CPT_OUT=${CPT_OUT:-$(mktemp -d)/cpython-tests} ./scripts/cpython_tests_ci.sh
