# `python -m pypaccel run ...` (run a program with pypaccel on), `python -m pypaccel stats ...` (report the cache),
# `python -m pypaccel cache ...` (list, verify, clear the cache databases), `python -m pypaccel bisect ... -- CMD`
# (find the function whose native code changes what CMD does) and `python -m pypaccel doctor` (can it work here?).
# Each subcommand imports what it needs itself: `run` must start the program with as little of ours loaded as possible.
import sys

USAGE = """\
usage: python -m pypaccel run [-h] [--stats] (SCRIPT | -m MODULE) [ARGS...]
       python -m pypaccel stats [-h] [--last] [--sort KEY] [--top N] [--json] [PATH...]
       python -m pypaccel cache list [-h] [--json] [--user] [PATH...]
       python -m pypaccel cache verify [-h] [--json] [--user] [PATH...]
       python -m pypaccel cache clear [-h] [--dry-run] [--user] [PATH...]
       python -m pypaccel bisect [-h] [options] -- CMD...
       python -m pypaccel doctor
       python -m pypaccel --version
"""

COMMANDS = """\
commands:
  run     run a script or module as python would, with pypaccel on from its first line
          (--stats: print this run's stats at exit)
  stats   what the most recent run recorded in the cache databases under PATH (default: PYPACCEL_CACHE_DIR or
          the current directory); --last: the most recent run of any program, wherever its databases are
  cache   list, verify (read-only) or clear (delete) the cache databases (*.cpython-311.pyp)
  bisect  find the function whose native code changes what CMD does
  doctor  versions, CPU target, and whether caching works here (where, and why not)

Each command has its own -h. --version: pypaccel's, LLVM's and Python's versions, CPU target, cache directory.
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
    if command == "doctor":
        from . import _doctor
        return _doctor.main(rest)
    if command == "--version":
        from . import _doctor
        sys.stdout.write(_doctor.version_text(_doctor.facts()))
        return 0
    if command in ("-h", "--help"):
        from . import _doctor  # pure Python: the help works without the extension
        sys.stdout.write(USAGE + "\n" + COMMANDS + "\n" + _doctor.environment_help())
        return 0
    sys.stderr.write(USAGE + (f"pypaccel: error: unknown command {command!r}\n" if command else ""))
    return 2


if __name__ == "__main__":
    sys.exit(main())
