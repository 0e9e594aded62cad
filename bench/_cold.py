"""Cold-cache launcher used by run_bench.py: run one command with a fresh, empty PYPACCEL_CACHE_DIR.

usage: python -S _cold.py [--parent DIR] [--expect FILE] -- COMMAND [ARGS...]

Makes a new empty directory (under DIR if given), runs COMMAND as a child process with PYPACCEL_CACHE_DIR set to
it, removes the directory, and exits with the child's status (128 + N if the child died of signal N).
With --expect FILE, the child's stdout is captured and must equal FILE's bytes; a mismatch exits with status 3.

pyperf times this whole process, so its own cost (interpreter start-up, mkdtemp, fork/exec, rmtree) is part of
every "cold" value. run_bench.py measures that cost separately (this launcher around `python -c pass` versus
`python -c pass` alone) and reports cold times both raw and with it subtracted. Keep this file small and cheap:
only modules the interpreter loads anyway, plus subprocess/tempfile/shutil.
"""
import os
import shutil
import subprocess
import sys
import tempfile

USAGE = "usage: python -S _cold.py [--parent DIR] [--expect FILE] -- COMMAND [ARGS...]\n"


def main(argv):
    parent = expect = None
    while argv and argv[0] != "--":
        option = argv.pop(0)
        if option in ("--parent", "--expect") and argv:
            value = argv.pop(0)
            if option == "--parent":
                parent = value
            else:
                expect = value
        else:
            sys.stderr.write(USAGE + f"_cold.py: error: unexpected argument {option!r}\n")
            return 2
    command = argv[1:]
    if not command:
        sys.stderr.write(USAGE + "_cold.py: error: no COMMAND after --\n")
        return 2
    expected = None
    if expect is not None:
        with open(expect, "rb") as f:
            expected = f.read()

    cache_dir = tempfile.mkdtemp(prefix="cold-", dir=parent)
    try:
        env = dict(os.environ, PYPACCEL_CACHE_DIR=cache_dir)
        # stdin/stderr are inherited; stdout is captured only when it has to be compared.
        proc = subprocess.run(command, env=env, stdout=subprocess.PIPE if expected is not None else None)
    finally:
        shutil.rmtree(cache_dir, ignore_errors=True)

    if proc.returncode != 0:
        status = proc.returncode if proc.returncode > 0 else 128 - proc.returncode
        sys.stderr.write(f"_cold.py: child {command!r} failed with status {proc.returncode}\n")
        return status
    if expected is not None and proc.stdout != expected:
        sys.stderr.write(f"_cold.py: output of {command!r} differs from {expect}:\n"
                         f"  expected {expected[:200]!r}\n  got      {proc.stdout[:200]!r}\n")
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
