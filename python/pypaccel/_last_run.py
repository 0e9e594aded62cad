# The record of the most recent run: the cache databases it wrote and what it was warned about, so that
# `python -m pypaccel stats --last` finds them wherever they are (a run of pyflakes writes beside the standard
# library and site-packages, not in the current directory). One small JSON file in the per-user cache directory,
# replaced at the exit of every process that enabled pypaccel and wrote a database or was warned about something.
# ASCII (non-ASCII escaped), read and written as UTF-8: that codec is built in, "ascii" would be an import. Written without the json module: importing it would
# cost every process's exit a few milliseconds.
import os

from . import _paths

NAME = "last-run.json"


def path():
    return os.path.join(_paths._user_cache_root(), NAME)


def _encode(value):
    import _json  # the C half of json: encodes one string, imported in a fraction of a millisecond
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(map(_encode, value)) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_encode(str(k))}: {_encode(v)}" for k, v in value.items()) + "}"
    return _json.encode_basestring_ascii(str(value))


def write(record):
    """Replaces the record; a reader never sees half of one (os.replace). Raises OSError."""
    target = path()
    os.makedirs(os.path.dirname(target), exist_ok=True)
    tmp = f"{target}.{os.getpid()}.tmp"
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(_encode(record) + "\n")
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def read():
    """The record as written, or None when there is none or it cannot be read."""
    import json
    try:
        with open(path(), encoding="utf-8") as f:
            record = json.load(f)
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None
