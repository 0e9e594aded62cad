# `python -m pypaccel run ...` (run a program with pypaccel on), `python -m pypaccel stats ...` (report the cache),
# `python -m pypaccel cache ...` (list, verify, clear the cache databases) and `python -m pypaccel bisect ... -- CMD`
# (find the function whose native code changes what CMD does).
# Each subcommand imports what it needs itself: `run` must start the program with as little of ours loaded as possible.
import sys

USAGE = """\
usage: python -m pypaccel run [-h] (SCRIPT | -m MODULE) [ARGS...]
       python -m pypaccel stats [-h] [--json] [PATH...]
       python -m pypaccel cache list [-h] [--json] [--user] [PATH...]
       python -m pypaccel cache verify [-h] [--json] [--user] [PATH...]
       python -m pypaccel cache clear [-h] [--dry-run] [--user] [PATH...]
       python -m pypaccel bisect [-h] [options] -- CMD...
       python -m pypaccel --version
"""


def _reporting(report_main, argv):
    try:
        return report_main(argv)
    except BrokenPipeError:
        # `stats | head`: the reader left; say nothing more (and keep Python's flush at exit from complaining).
        import os
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    command, rest = (argv[0], argv[1:]) if argv else (None, [])
    if command == "run":
        from . import _runner
        return _runner.main(rest)
    if command == "stats":
        from . import _stats_report
        return _reporting(_stats_report.main, rest)
    if command == "cache":
        from . import _cache_cli
        return _reporting(_cache_cli.main, rest)
    if command == "bisect":
        from . import _bisect
        return _bisect.main(rest)
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
