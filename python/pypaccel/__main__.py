# `python -m pypaccel run ...` (run a program with pypaccel on) and `python -m pypaccel stats ...` (report the cache).
# Each subcommand imports what it needs itself: `run` must start the program with as little of ours loaded as possible.
import sys

USAGE = """\
usage: python -m pypaccel run [-h] (SCRIPT | -m MODULE) [ARGS...]
       python -m pypaccel stats [-h] [--json] [PATH...]
       python -m pypaccel --version
"""


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    command, rest = (argv[0], argv[1:]) if argv else (None, [])
    if command == "run":
        from . import _runner
        return _runner.main(rest)
    if command == "stats":
        from . import _stats_report
        try:
            return _stats_report.main(rest)
        except BrokenPipeError:
            # `stats | head`: the reader left; say nothing more (and keep Python's flush at exit from complaining).
            import os
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
    if command == "--version":
        from . import __version__
        sys.stdout.write(f"pypaccel {__version__}\n")
        return 0
    if command in ("-h", "--help"):
        sys.stdout.write(USAGE)
        return 0
    sys.stderr.write(USAGE + (f"pypaccel: error: unknown command {command!r}\n" if command else ""))
    return 2


if __name__ == "__main__":
    sys.exit(main())
