# The C++ stages must not depend on CPython's internal layout: only csrc/cpython/ (C11, Py_BUILD_CORE) may include
# internal headers, branch on the Python version, or state where a field of a CPython struct lives, so a 3.12 port
# is one sibling folder.
import pathlib
import re

CSRC = pathlib.Path(__file__).resolve().parents[2] / "csrc"
FORBIDDEN = re.compile(r"pycore_|PY_VERSION_HEX|Py_BUILD_CORE|PY_MINOR_VERSION")

# Where a CPython struct's field lives is a 3.11 fact: an offsetof (or sizeof) of a CPython type outside
# csrc/cpython/ is a layout fact stated in the wrong folder (cpython/layout.h names the offsets native code needs).
# pypaccel's own structs (NativeCtx, SpecHeader, SpecializedFunction) are not Py*/_Py* types.
LAYOUT_OF_CPYTHON_TYPE = re.compile(r"\b(?:offsetof|sizeof)\s*\(\s*(?:struct\s+)?_?Py\w*\s*[,)]")

# Reading or writing a field of a CPython struct (`->field` or `.field`) outside csrc/cpython/. The fields are
# matched by name, as a grep cannot know the type on the left:
# - by CPython's per-struct prefixes, which pypaccel's own structs and the C library do not use: ob_ (PyObject,
#   PyVarObject and the payloads: ob_fval, ob_digit, ob_item...), co_/_co_ (PyCodeObject), func_ (PyFunctionObject),
#   ma_/dk_ (dicts and their keys), gi_/cr_/ag_ (generators, coroutines), im_ (bound methods);
# - by name for the structs whose fields carry no prefix or a prefix others share too (POSIX's statfs has f_type):
#   the thread state, its _PyCFrame, the interpreter frame and the frame object, the exception state, and
#   PyCFunctionObject. Generic names (previous, owner) are left out: pypaccel's code reaches those fields only
#   through cpy.h's frame functions, and a name like `owner` on an own struct must stay legal.
# Allowed, as the public C API that every extension uses and that a rebuild against a new version follows:
# PyTypeObject's tp_* slots (Py_TYPE(o)->tp_name, tp_iternext, tp_free: the documented way to use a type),
# PyMethodDef/PyMemberDef fields (ml_*, stable ABI), and the accessor macros of CPython's public headers
# (Py_TYPE, Py_REFCNT, Py_SIZE, PyTuple_GET_ITEM, PyFunction_GET_CODE...): they are CPython's own statement of
# its layout, not a copy of it in pypaccel.
CPYTHON_FIELD = re.compile(
    r"(?:->|\.)\s*("
    r"(?:ob|co|_co|func|ma|dk|gi|cr|ag|im)_\w+"
    r"|recursion_(?:remaining|limit|headroom)|cframe|use_tracing|current_frame|prev_instr|localsplus|stacktop"
    r"|curexc_(?:type|value|traceback)|exc_info|exc_state|exc_value|async_exc|interp"
    r"|c_(?:trace|profile)(?:func|obj)"
    r"|f_(?:code|func|globals|builtins|locals|back|frame|lasti|lineno|trace\w*)"
    r"|m_(?:ml|self|module)"
    r")\b"
)

# Comments and string literals may name fields (a comment says why; an attribute name is looked up by string).
COMMENT_OR_STRING = re.compile(
    r"(?<!\w)R\"([^(\s]*)\(.*?\)\1\"|//[^\n]*|/\*.*?\*/|\"(?:\\.|[^\"\\\n])*\"|'(?:\\.|[^'\\\n])*'", re.S
)


def _code_lines(text):
    """The lines of a C/C++ source with comments and string literals blanked (line numbers kept)."""
    return COMMENT_OR_STRING.sub(lambda m: "\n" * m.group(0).count("\n"), text).splitlines()


def _sources_outside_cpython():
    for path in sorted(CSRC.rglob("*")):
        if path.suffix in {".c", ".cpp", ".h", ".def"} and path.parts[len(CSRC.parts)] != "cpython":
            yield path


def test_internal_headers_only_in_cpython_folder():
    if not CSRC.exists():
        return  # installed-package test run without the sources
    offenders = []
    for path in _sources_outside_cpython():
        for lineno, line in enumerate(path.read_text().splitlines(), 1):
            if FORBIDDEN.search(line):
                offenders.append(f"{path.relative_to(CSRC)}:{lineno}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


def test_cpython_layout_only_in_cpython_folder():
    if not CSRC.exists():
        return
    offenders = []
    for path in _sources_outside_cpython():
        for lineno, line in enumerate(_code_lines(path.read_text()), 1):
            if LAYOUT_OF_CPYTHON_TYPE.search(line) or CPYTHON_FIELD.search(line):
                offenders.append(f"{path.relative_to(CSRC)}:{lineno}: {line.strip()}")
    assert not offenders, "CPython struct layout outside csrc/cpython/ (use cpython/layout.h):\n" + "\n".join(offenders)


def test_layout_rules_catch_what_they_name():
    # The patterns themselves, on the kinds of line they exist for, so a later edit cannot quietly blind them.
    leaks = [
        "constexpr size_t k = offsetof(PyThreadState, recursion_remaining);",
        "constexpr int64_t k = offsetof(PyFloatObject, ob_fval);",
        "ctx->tstate->recursion_remaining = int(ctx->recursion);",
        "reinterpret_cast<PyDictObject*>(d)->ma_version_tag",
        "ts->cframe->use_tracing",
        "f->func_code",
        "co->co_argcount",
        "frame.prev_instr = x;",
    ]
    for line in leaks:
        assert LAYOUT_OF_CPYTHON_TYPE.search(line) or CPYTHON_FIELD.search(line), line
    fine = [
        "static_assert(offsetof(NativeCtx, recursion) == 14 * 8);",
        "Py_TYPE(self)->tp_free(self);",
        "PyObject* code = PyFunction_GET_CODE(func);",
        "s.c_str(); fs.f_type; sizeof(PyObject*);",
        '// tstate->cframe->use_tracing: a comment may say what it reads',
        'PyObject_GetAttrString(code, "co_qualname");',
    ]
    for line in fine:
        code = "\n".join(_code_lines(line))
        assert not (LAYOUT_OF_CPYTHON_TYPE.search(code) or CPYTHON_FIELD.search(code)), line


def test_cpython_folder_is_c11():
    if not CSRC.exists():
        return
    assert not list((CSRC / "cpython").glob("*.cpp")), "csrc/cpython is C11 only"
