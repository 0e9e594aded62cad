#!/usr/bin/env bash
# Installs everything pypaccel needs on Debian 12 (as root): LLVM 19, SQLite, Catch2 from apt; the package itself
# (built by scikit-build-core) and the test tools from PyPI. Idempotent. Extra arguments go to CMake defines, e.g.
# PYPACCEL_TESTS=ON to also build the Catch2 tests in build/pip.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-$(python3 -c 'import sys; print(sys.executable)')}
need_apt=0
for pkg in llvm-19-dev libzstd-dev zlib1g-dev libsqlite3-dev catch2 ninja-build; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt=1
done
if [ "$need_apt" = 1 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq llvm-19-dev libzstd-dev zlib1g-dev libsqlite3-dev catch2 ninja-build >/dev/null
fi

"$PYTHON" -m pip install -q --disable-pip-version-check scikit-build-core pybind11 "cmake>=3.20" ninja \
  pytest hypothesis pyperf
defines=()
for d in "$@"; do defines+=(-C "cmake.define.$d"); done
# A fixed build dir keeps rebuilds incremental and lets CTest run from it.
"$PYTHON" -m pip install -q --disable-pip-version-check --no-build-isolation \
  -C build-dir=build/pip "${defines[@]}" .
