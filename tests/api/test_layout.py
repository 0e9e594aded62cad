# The C++ stages must not depend on CPython's internal layout: only csrc/cpython/ (C11, Py_BUILD_CORE) may include
# internal headers or branch on the Python version, so a 3.12 port is one sibling folder.
import pathlib
import re

CSRC = pathlib.Path(__file__).resolve().parents[2] / "csrc"
FORBIDDEN = re.compile(r"pycore_|PY_VERSION_HEX|Py_BUILD_CORE|PY_MINOR_VERSION")


def test_internal_headers_only_in_cpython_folder():
    if not CSRC.exists():
        return  # installed-package test run without the sources
    offenders = []
    for path in CSRC.rglob("*"):
        if path.suffix not in {".c", ".cpp", ".h", ".def"} or path.parts[len(CSRC.parts)] == "cpython":
            continue
        for lineno, line in enumerate(path.read_text().splitlines(), 1):
            if FORBIDDEN.search(line):
                offenders.append(f"{path.relative_to(CSRC)}:{lineno}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


def test_cpython_folder_is_c11():
    if not CSRC.exists():
        return
    assert not list((CSRC / "cpython").glob("*.cpp")), "csrc/cpython is C11 only"
