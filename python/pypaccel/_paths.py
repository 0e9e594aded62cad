# Where the SQLite cache database (.pyp) of each source file lives, and how `pypaccel stats` finds them.
# Pure Python on purpose: it must not import the extension, so the stats command and its tests work alone.
import os
import sys

# ".cpython-311.pyp": the same tag CPython puts in .pyc names, so one tree can hold caches of several Pythons.
SUFFIX = "." + (sys.implementation.cache_tag or "cpython-311") + ".pyp"


def _is_pseudo_filename(filename):
    # "<string>", "<stdin>", "<frozen runpy>": code that has no source file, so nowhere to keep its cache.
    return not filename or (filename.startswith("<") and filename.endswith(">"))


def source_of_frozen(filename):
    """The standard library file of a module CPython 3.11 runs frozen ("<frozen posixpath>": os.path, importlib's
    bootstrap, codecs, runpy, ... are built into the interpreter), or None. Its cache lives where that file's would:
    without one, such code would be compiled again in every process. Entries are keyed by the code's content, so a
    source file that differs from the frozen copy only means misses."""
    if not (filename.startswith("<frozen ") and filename.endswith(">")):
        return None
    parts = filename[len("<frozen "):-1].split(".")
    stdlib = getattr(sys, "_stdlib_dir", None)
    if not stdlib or not all(part.isidentifier() for part in parts):
        return None
    base = os.path.join(stdlib, *parts)
    for path in (base + ".py", os.path.join(base, "__init__.py")):
        if os.path.isfile(path):
            return path
    return None


def _mirrored(root, directory):
    # PYTHONPYCACHEPREFIX style: /d/pkg under ROOT becomes ROOT/d/pkg (drive and leading separators dropped).
    drive, rest = os.path.splitdrive(directory)
    return os.path.join(root, drive.rstrip(":"), rest.lstrip(os.sep + (os.altsep or "")))


def _user_cache_root():
    # XDG says a relative XDG_CACHE_HOME is invalid and must be ignored.
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(xdg):
        xdg = os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(xdg, "pypaccel")


def override_root():
    """PYPACCEL_CACHE_DIR made absolute, or None: the one cache root when set."""
    root = os.environ.get("PYPACCEL_CACHE_DIR", "")
    return os.path.abspath(root) if root else None


# Said once by a process that enables pypaccel under -B, and by `stats` and `doctor` run so.
DONT_WRITE_BYTECODE_NOTE = ("PYTHONDONTWRITEBYTECODE is set (or python -B): pypaccel's caches are read-only, as .pyc"
                            " files are; what no earlier run stored is compiled again in every run")

_PSEUDO_FILESYSTEMS = ("/proc", "/sys")  # accept mkdir's access check as root, then fail every create


def override_problem(probe=False):
    """Why PYPACCEL_CACHE_DIR cannot hold cache databases, or None (also when it is unset).

    Without `probe` nothing is written (for the read-only commands); with it, the directory is created if needed and
    a file is created and deleted in it, which is the only test an immutable directory or /proc cannot pass."""
    root = override_root()
    if root is None:
        return None
    name = f"PYPACCEL_CACHE_DIR={os.environ['PYPACCEL_CACHE_DIR']}"
    real = os.path.realpath(root)
    for fs in _PSEUDO_FILESYSTEMS:
        if real == fs or real.startswith(fs + os.sep):
            return f"{name} is under {fs}, where no file can be created"
    existing = root
    while not os.path.exists(existing) and os.path.dirname(existing) != existing:
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        return f"{name} is not a directory" + ("" if existing == root else f" ({existing} is a file)")
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"{name} is not writable (permission denied or immutable)"
    if probe:
        probe_path = os.path.join(root, f".pypaccel-probe-{os.getpid()}")
        try:
            os.makedirs(root, exist_ok=True)
            os.close(os.open(probe_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            os.unlink(probe_path)
        except OSError as exc:
            return f"{name}: cannot create a file there ({exc.strerror or exc})"
    return None


def candidates(filename):
    """Database paths for a source file, preferred first, without touching the filesystem.

    With PYPACCEL_CACHE_DIR there is exactly one; otherwise __pycache__ beside the source, then the user cache."""
    path = os.path.abspath(filename)
    directory, base = os.path.split(path)
    name = os.path.splitext(base)[0] + SUFFIX
    override = override_root()
    if override is not None:
        return [os.path.join(_mirrored(override, directory), name)]
    return [os.path.join(directory, "__pycache__", name),
            os.path.join(_mirrored(_user_cache_root(), directory), name)]


def _usable(db_path):
    """Create the database's directory if needed; True when SQLite can write the file and its -wal/-shm there."""
    directory = os.path.dirname(db_path)
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError:
        return False
    if not os.access(directory, os.W_OK | os.X_OK):
        return False
    # An existing database we may not write (another user's, read-only copy) is no place for our records either.
    return not os.path.exists(db_path) or os.access(db_path, os.R_OK | os.W_OK)


def db_path_for(filename):
    """(path, writable[, warning]) of the cache database for code from `filename`, or None when it has no usable
    cache. The warning, when there is one, is emitted once by the extension (pypaccel.CacheWarning).

    Called by the extension once per source file. Never raises: a cache problem must not break an import."""
    try:
        if isinstance(filename, str):
            filename = source_of_frozen(filename) or filename
        if not isinstance(filename, str) or _is_pseudo_filename(filename) or not os.path.isfile(filename):
            return None
        paths = candidates(filename)
        if sys.dont_write_bytecode:
            # PYTHONDONTWRITEBYTECODE / -B: use what exists, create nothing (not even __pycache__).
            existing = [p for p in paths if os.path.isfile(p)]
            return (existing[0] if existing else paths[0]), False
        skipped = None
        for path in paths:
            if _usable(path):
                if skipped:
                    # A database we may not write (read-only, another user's): say once where the cache went.
                    return path, True, f"{skipped} is not writable (read-only or permission denied); using {path}"
                return path, True
            # A file we cannot even read, or cannot write where we could, is news; a read-only install (root's
            # site-packages, where root's own runs left readable databases) falls back quietly, as for .pyc.
            if skipped is None and os.path.isfile(path) and (
                    not os.access(path, os.R_OK) or os.access(os.path.dirname(path), os.W_OK | os.X_OK)):
                skipped = path
        # Nowhere to write: still read a database that exists, e.g. one shipped in a read-only install.
        existing = [p for p in paths if os.path.isfile(p) and os.access(p, os.R_OK)]
        return (existing[0], False) if existing else None
    except (OSError, ValueError):
        return None


def cache_roots_for_stats(paths=None):
    """Every cache database under `paths` (files, or directories searched recursively): stable order, no duplicates.

    Default: PYPACCEL_CACHE_DIR if set, else the current directory. A Python source file given by name stands
    for its own databases wherever they are. Paths that do not exist are skipped: the caller warns about them."""
    if not paths:
        paths = [override_root() or os.curdir]
    found = []
    for given in paths:
        if os.path.isdir(given):
            for directory, subdirs, files in os.walk(given):
                subdirs.sort()
                found.extend(os.path.join(directory, f) for f in sorted(files) if f.endswith(SUFFIX))
        elif given.endswith((".py", ".pyw")):
            found.extend(p for p in candidates(given) if os.path.isfile(p))
        elif os.path.exists(given):
            # Named explicitly: treat it as a database whatever its name; the reader warns if it is not one.
            found.append(given)
    seen = set()
    unique = []
    for path in found:
        key = os.path.realpath(path)
        if key not in seen:
            seen.add(key)
            unique.append(path)
    return unique
