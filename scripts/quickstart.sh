#!/usr/bin/env bash
# Quick start: install everything, run the example under acceleration twice (cold, then warm from the cache),
# and show what was compiled and loaded.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install.sh
PYTHON=${PYTHON:-$(python3 -c 'import sys; print(sys.executable)')}
unset PYTHONDONTWRITEBYTECODE  # the cache is written like .pyc files: let it be
cd examples
echo "== cold run (compiles) =="
time "$PYTHON" -m pypaccel run demo.py
echo "== warm run (loads machine code from __pycache__/demo.cpython-311.pyp) =="
time "$PYTHON" -m pypaccel run demo.py
echo "== stats =="
"$PYTHON" -m pypaccel stats .
