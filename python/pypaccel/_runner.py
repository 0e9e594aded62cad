# `python -m pypaccel run SCRIPT|-m MODULE [ARGS...]`: run a program as `python SCRIPT` / `python -m MODULE` would
# (argv, __main__, sys.path[0], exit status, tracebacks), with pypaccel enabled from its first line.
import builtins
import importlib.machinery  # this and runpy are already imported: `python -m pypaccel` itself runs through runpy
import importlib.util
import os
import runpy
import sys
import types


def _fresh_main():
    """Install an empty __main__ module, as the interpreter makes one for a script.

    The current __main__ is pypaccel's CLI; running the program in its globals would leak ours into the program."""
    main = types.ModuleType("__main__")
    main.__annotations__ = {}  # CPython creates __main__ with these two before running anything
    main.__builtins__ = builtins
    sys.modules["__main__"] = main
    return main


def _call_user(function, *args):
    """Call into the user's program; the marker frame where tracebacks of the program start."""
    try:
        function(*args)
    except SystemExit:
        raise  # the interpreter maps it to a status and message exactly as for a plain run
    except BaseException:
        # Let the interpreter report it (exit status 1, or death by SIGINT for KeyboardInterrupt, as python does),
        # but through a hook that first drops our frames; installed now so it wraps any hook the program set.
        sys.excepthook = _StrippingHook(sys.excepthook)
        raise


def _exec_script(source, filename, main_globals):
    # Compiled here rather than before _call_user so that a SyntaxError is reported like python's: no traceback.
    if source[:4] == importlib.util.MAGIC_NUMBER:  # `python script.pyc` runs bytecode; the header is 16 bytes
        import marshal
        code = marshal.loads(source[16:])
    else:
        code = compile(source, filename, "exec", dont_inherit=True)  # bytes: coding cookie and BOM honoured
    exec(code, main_globals)


_OUR_CODE = (_exec_script.__code__,)


def user_traceback(tb):
    """The part of `tb` that belongs to the program: what follows the _call_user frame and our own helpers."""
    t = tb
    while t is not None and t.tb_frame.f_code is not _call_user.__code__:
        t = t.tb_next
    if t is None:
        return tb  # not an exception that went through a run of ours: leave it alone
    t = t.tb_next
    while t is not None and t.tb_frame.f_code in _OUR_CODE:
        t = t.tb_next
    return t


class _StrippingHook:
    """sys.excepthook that hands the program's hook the traceback python would show: our frames, and the runpy
    frames that started us, cut off (those runpy frames that `run -m` calls itself stay, as under `python -m`)."""

    def __init__(self, hook):
        self.hook = hook

    def __call__(self, exc_type, exc, tb):
        tb = user_traceback(tb)
        if isinstance(exc, BaseException):
            exc.__traceback__ = tb  # the default hook prints exc.__traceback__, not its tb argument
        sys.last_traceback = tb
        self.hook(exc_type, exc, tb)


def _absolute(path):
    # What python does with the script name: join to the cwd, no normalisation ('a/../b.py' stays), no realpath.
    return path if os.path.isabs(path) else os.path.join(os.getcwd(), path)


def _importer_for(path):
    # A directory or zip file is run by importing its __main__ (python checks sys.path_hooks the same way).
    for hook in sys.path_hooks:
        try:
            return hook(path)
        except ImportError:
            continue
    return None


def _enable():
    import pypaccel
    pypaccel.enable()
    if _report:
        import atexit
        pypaccel._ext.exclude(_report_at_exit)
        atexit.register(_report_at_exit)


def run_script(script, args):
    """`python SCRIPT ARGS...` (SCRIPT may be a directory, a zip file or '-' for stdin).

    Returns only when the program ends normally (status 0) or cannot be opened (status 2, as python)."""
    sys.argv[:] = [script, *args]
    if script == "-":
        # `python -` with a pipe on stdin; an interactive stdin would get python's REPL, which we do not offer.
        source, path, loader, path0 = sys.stdin.buffer.read(), "<stdin>", importlib.machinery.BuiltinImporter, ""
    else:
        path = _absolute(script)
        if _importer_for(path) is not None:
            if not sys.flags.safe_path:
                sys.path[0] = path
            _fresh_main()
            _enable()
            _call_user(runpy._run_module_as_main, "__main__", False)
            return 0
        try:
            with open(path, "rb") as f:
                source = f.read()
        except OSError as exc:
            # python's wording, under the name the interpreter was started as.
            sys.stderr.write(f"{sys.orig_argv[0]}: can't open file {path!r}: [Errno {exc.errno}] {exc.strerror}\n")
            return 2
        loader_type = importlib.machinery.SourceFileLoader
        if source[:4] == importlib.util.MAGIC_NUMBER:
            loader_type = importlib.machinery.SourcelessFileLoader
        loader = loader_type("__main__", path)
        path0 = os.path.dirname(os.path.realpath(path))  # python resolves symlinks for sys.path[0] only
    if not sys.flags.safe_path:
        sys.path[0] = path0
    main = _fresh_main()
    main.__dict__.update(__file__=path, __cached__=None, __loader__=loader)
    _enable()
    _call_user(_exec_script, source, path, main.__dict__)
    return 0


def run_module(module, args):
    """`python -m MODULE ARGS...`: runpy's own entry point, so argv[0], __spec__ and errors match python's."""
    sys.argv[:] = ["-m", *args]  # python shows '-m' while it looks the module up; runpy then puts the file path
    if not sys.flags.safe_path:
        sys.path[0] = os.getcwd()
    _fresh_main()
    _enable()
    _call_user(runpy._run_module_as_main, module, True)
    return 0


USAGE = "usage: python -m pypaccel run [-h] [--stats] (SCRIPT | -m MODULE) [ARGS...]\n"


_report = False  # run --stats


def _report_at_exit():
    # `run --stats`: this run's report, from the process itself (its caches may be read-only, or sit beside the
    # standard library). Registered after enable() registered the flush, so it runs before it: what pypaccel itself
    # does at exit is not the program's.
    import pypaccel
    from . import _stats_report
    sys.stderr.write("\npypaccel: stats of this run\n")
    _stats_report.format_human(_stats_report.from_process(pypaccel.stats()), sys.stderr)


def main(argv):
    """Parse `run`'s own arguments by hand: argparse would cost an import and could eat the program's options."""
    argv = list(argv)
    arg = argv.pop(0) if argv else None
    if arg in ("-h", "--help"):
        sys.stdout.write(USAGE + "\nRun a script or module exactly as python would, with pypaccel enabled.\n"
                         "Everything after SCRIPT or -m MODULE is passed to the program.\n\n"
                         "  --stats  at exit, print this run's stats to stderr (python -m pypaccel stats shows\n"
                         "           what the cache databases recorded)\n")
        return 0
    if arg == "--stats":
        global _report
        _report = True
        arg = argv.pop(0) if argv else None
    if arg is not None and arg.startswith("-m"):  # `-m MODULE` or, as python accepts, `-mMODULE`
        module = arg[2:] or (argv.pop(0) if argv else "")
        if module:
            return run_module(module, argv)
        sys.stderr.write(USAGE + "pypaccel run: error: -m needs a module name\n")
        return 2
    if arg == "--":
        arg = argv.pop(0) if argv else None
    elif arg is not None and arg.startswith("-") and arg != "-":  # a lone '-' is the program on stdin
        sys.stderr.write(USAGE + f"pypaccel run: error: unknown option {arg}\n")
        return 2
    if arg is None:
        sys.stderr.write(USAGE + "pypaccel run: error: a SCRIPT or -m MODULE is required\n")
        return 2
    return run_script(arg, argv)
