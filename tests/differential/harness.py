# Differential harness: the same source becomes two independent functions (each compiled from the source into its
# own fresh globals dict), one run by CPython, one wrapped with pypaccel.specialize. Every call must give the same
# outcome: result (type and value; floats bit for bit, so -0.0 is not 0.0; any nan equals any nan unless a test asks
# for nan bits), or exception type, message and the traceback lines inside the tested function, and the contents of
# list/dict arguments afterwards. Every call of the specialized function must also have entered native code (the function's
# native_calls rose), so a case cannot pass by silently running in the interpreter.
import ast
import builtins
import copy
import itertools
import linecache
import math
import os
import struct
import sys
import textwrap
import traceback
import types

import pytest

pypaccel = pytest.importorskip("pypaccel", reason="the pypaccel extension is not built")

STRESS = os.environ.get("PYPACCEL_STRESS_EXITS", "") not in ("", "0")
MODE = "stress" if STRESS else "normal"
INT64_MIN, INT64_MAX = -2**63, 2**63 - 1

# A specialization that exits on most of its first 20 entries is switched off (hook.cpp): after that the calls run
# interpreted and could not be checked as native. A fresh pair is built before that can happen.
CALLS_PER_PAIR = 16

EDGE_INTS = [0, 1, -1, 2, -2, 7, -7, 2**31, 2**53, 2**53 + 1, 2**62, 2**63 - 1, -2**63, 2**63, 2**64, -2**64]
EDGE_BOOLS = [True, False]
EDGE_FLOATS = [0.0, -0.0, 1.5, -2.5, 1e308, 5e-324, math.inf, -math.inf, math.nan]
EDGE_VALUES = EDGE_INTS + EDGE_BOOLS + EDGE_FLOATS
SHIFT_COUNTS = [0, 1, 63, 64, 65, 1000, -1]

_ids = itertools.count()


def fits64(v):
    return type(v) is int and INT64_MIN <= v <= INT64_MAX


def type_letter(v):
    """The letter pypaccel's hook specializes an argument on (bool, float, 64-bit int, anything else)."""
    if type(v) is bool:
        return "b"
    if type(v) is float:
        return "f"
    if fits64(v):
        return "i"
    return "o"


# ---------------------------------------------------------------------------------------------------------------
# Outcomes and their comparison

def canon(v, nan_bits=False):
    """A comparable form of a value: exact types everywhere, floats by bit pattern (so 0.0 differs from -0.0).

    Every nan is the same nan unless nan_bits: which nan an operation returns (its sign, its payload) is left open
    by IEEE 754 and changes when LLVM commutes `a + b` or turns `-0.0 - x` into `-x`; test_arith_float checks the
    sign of nans separately."""
    t = type(v)
    if t is float:
        if math.isnan(v) and not nan_bits:
            return ("float", "nan")
        return ("float", struct.pack("<d", v).hex())
    if t in (tuple, list):
        return (t.__name__, tuple(canon(x, nan_bits) for x in v))
    if t is dict:
        return ("dict", tuple((canon(k, nan_bits), canon(x, nan_bits)) for k, x in v.items()))
    return (t.__name__, repr(v))


def show(v):
    """repr, with the bit pattern of every nan (its sign and payload are part of the comparison)."""
    if type(v) is float and math.isnan(v):
        return f"nan[{struct.unpack('<Q', struct.pack('<d', v))[0]:#018x}]"
    if type(v) in (tuple, list):
        inner = ", ".join(show(x) for x in v)
        return f"({inner}{',' if len(v) == 1 else ''})" if type(v) is tuple else f"[{inner}]"
    return repr(v)


class Outcome:
    """Result or exception of one call, and the arguments afterwards (mutable arguments record what happened)."""
    __slots__ = ("kind", "value", "exc_type", "message", "frames", "args_after")

    def __init__(self, kind, value=None, exc_type=None, message=None, frames=(), args_after=()):
        self.kind, self.value, self.exc_type, self.message, self.frames = kind, value, exc_type, message, frames
        self.args_after = args_after

    def key(self, nan_bits=False):
        mutable = canon([a for a in self.args_after if isinstance(a, (list, dict))], nan_bits)
        if self.kind == "ok":
            return ("ok", canon(self.value, nan_bits), mutable)
        return ("raise", self.exc_type, self.message, tuple(self.frames), mutable)

    def __repr__(self):
        mutable = [a for a in self.args_after if isinstance(a, (list, dict))]
        extra = f", mutable arguments after: {show(mutable)}" if mutable else ""
        if self.kind == "ok":
            return f"returned {show(self.value)} ({type(self.value).__name__}){extra}"
        where = "; ".join(f"line {ln} in {name}: {text}" for _, ln, name, text in self.frames)
        return f"raised {self.exc_type.__name__}: {self.message} [{where}]{extra}"


def outcome_of(fn, args, filename):
    """What calling fn(*args) does."""
    try:
        value = fn(*args)
    except Exception as exc:  # noqa: BLE001 - every exception is part of the compared outcome
        frames = [(fs.filename, fs.lineno, fs.name, fs.line)
                  for fs in traceback.extract_tb(exc.__traceback__) if fs.filename == filename]
        return Outcome("raise", exc_type=type(exc), message=str(exc), frames=frames, args_after=args)
    return Outcome("ok", value=value, args_after=args)


# ---------------------------------------------------------------------------------------------------------------
# Stats of one case

def fn_stats(filename, qualname=None):
    """Summed stats of the functions from `filename` (optionally one qualname): native_calls, exits, compiled..."""
    out = {"native_calls": 0, "exits": 0, "compiled": 0, "loaded": 0, "calls": 0, "fallbacks": 0, "state": None,
           "exit_reasons": {}, "fallback_reasons": []}
    for f in pypaccel.stats(filename)["functions"]:
        if f["file"] != filename or (qualname is not None and f["qualname"] != qualname):
            continue
        if f["state"] == "excluded":  # the plain side of a pair when the whole test process is accelerated
            continue
        for k in ("native_calls", "compiled", "loaded", "calls"):
            out[k] += f[k]
        for x in f["exits"]:
            out["exits"] += x["count"]
            out["exit_reasons"][x["reason"]] = out["exit_reasons"].get(x["reason"], 0) + x["count"]
        for x in f["fallbacks"]:
            out["fallbacks"] += x["calls"]  # how often; "count" is once per function and run
            out["fallback_reasons"].append(x["reason"])
        out["state"] = f["state"]
    return out


# ---------------------------------------------------------------------------------------------------------------
# Pairs of functions

def register_source(filename, src):
    """Make `src` the text of `filename` for tracebacks (mtime None: linecache.checkcache keeps it)."""
    linecache.cache[filename] = (len(src), None, src.splitlines(True), filename)


def first_def_name(src):
    for node in ast.parse(src).body:
        if isinstance(node, ast.FunctionDef):
            return node.name
    raise ValueError("no function in the case source")


class Pair:
    """Two independent functions from one source: .plain (CPython) and .fast (pypaccel.specialize)."""

    def __init__(self, src, name=None, glb=None, tag="case", own_builtins=False):
        self.src = textwrap.dedent(src)
        self.name = name or first_def_name(self.src)
        self.filename = f"<pypaccel-diff-{next(_ids)}-{tag}>"
        register_source(self.filename, self.src)
        self.gp = self._globals(glb)
        self.gf = self._globals(glb)
        if own_builtins:  # a private builtins dict per side, safe to change
            self.gp["__builtins__"] = dict(builtins.__dict__)
            self.gf["__builtins__"] = dict(builtins.__dict__)
        exec(compile(self.src, self.filename, "exec"), self.gp)
        exec(compile(self.src, self.filename, "exec"), self.gf)
        # With pypaccel.enable() on for the whole test process (scripts/test.sh), the plain side would be compiled
        # too: every function of its source stays interpreted for good.
        for value in self.gp.values():
            if isinstance(value, types.FunctionType) and value.__code__.co_filename == self.filename:
                pypaccel.exclude(value)
        self.plain = self.gp[self.name]
        self.raw_fast = self.gf[self.name]
        self.fast = pypaccel.specialize(self.raw_fast)
        self.qualname = self.raw_fast.__qualname__
        self.left_native = False  # whether the last compared call left native code (compare)

    @staticmethod
    def _globals(glb):
        g = {"__name__": "pypaccel_diff_case"}
        g.update(glb or {})
        return g

    def stats(self):
        return fn_stats(self.filename, self.qualname)

    def run(self, args):
        """Calls both with `args`; returns (plain outcome, fast outcome, stats before, stats after)."""
        before = self.stats()
        p = outcome_of(self.plain, copy_args(args), self.filename)
        f = outcome_of(self.fast, copy_args(args), self.filename)
        after = self.stats()
        return p, f, before, after


@pypaccel.exclude
def check_runs_without_exits(src, name, inputs):
    """Each call gives CPython's outcome, every call runs natively, and (outside stress mode, which fails every
    guard once) none of them leaves native code: for code the compiler must run whole, handlers included."""
    pair = Pair(src, name=name)
    for args in inputs:
        p, f = outcome_of(pair.plain, args, pair.filename), outcome_of(pair.fast, args, pair.filename)
        assert p.key() == f.key(), (args, p, f)
    st = pair.stats()
    assert st["native_calls"] == len(inputs), st
    if not STRESS:
        assert st["exits"] == 0, st


def copy_args(args):
    """Each side's own copy of the mutable arguments (shared references stay shared); other arguments are passed
    on as the same objects. Interpreted for good: compiled (the whole-process runs of scripts/test.sh), it would
    unbox int and float arguments and box them again as new objects, and `a is b` tests would see other inputs."""
    memo = {}
    out = []
    for a in args:  # no comprehension: its code object would not be excluded
        out.append(copy.deepcopy(a, memo) if isinstance(a, (list, dict)) else a)
    return tuple(out)


def describe_call(name, args):
    return f"{name}({', '.join(map(repr, args))})"


def left(st):
    """How often the function left native code: exits, plus fallbacks (exits at instructions the compiler does not
    handle, such as an operation that always raises TypeError on these types)."""
    return st["exits"] + st["fallbacks"]


def summary(st):
    return (f"native_calls={st['native_calls']} exits={st['exits']} compiled={st['compiled']} loaded={st['loaded']} "
            f"state={st['state']} exit_reasons={st['exit_reasons']} fallbacks={st['fallback_reasons']}")


def compare(pair, args, *, expect_exit=None, native=True, nan_bits=False, label=None):
    """Calls both functions of `pair` with `args`; returns the list of problems (empty when all is well)."""
    p, f, before, after = pair.run(args)
    pair.left_native = left(after) > left(before)
    call = label or describe_call(pair.name, args)
    problems = []
    if p.key(nan_bits) != f.key(nan_bits):
        problems.append(f"{call}: CPython {p!r}; pypaccel {f!r}")
    if native and after["native_calls"] <= before["native_calls"]:
        tracing = " while sys.settrace/setprofile was active" if sys.gettrace() or sys.getprofile() else ""
        problems.append(f"{call}: did not run natively{tracing} ({summary(after)})")
    want = expect_exit(args, p) if callable(expect_exit) else expect_exit
    if want and left(after) <= left(before):
        problems.append(f"{call}: expected an exit to the interpreter, none counted ({summary(after)})")
    return problems


def fail(src, problems, ncalls, max_report=12):
    shown = "\n  ".join(problems[:max_report])
    more = f"\n  ... and {len(problems) - max_report} more" if len(problems) > max_report else ""
    raise AssertionError(f"[{MODE} mode] {len(problems)} problem(s) in {ncalls} calls of\n{src}\n  {shown}{more}")


def signature(args):
    return "".join(type_letter(a) for a in args)


def check(src, inputs, *, name=None, glb=None, expect_exit=None, native=True, per_pair=CALLS_PER_PAIR,
          max_report=12, nan_bits=False):
    """Calls the case with each argument tuple in `inputs` on both sides and fails on any difference.

    expect_exit: None (do not care), True/False, or a callable(args, plain_outcome) -> bool saying whether that call
    must have left native code. Inputs are grouped by argument type signature (one specialization each) and a
    fresh pair is built every `per_pair` calls, and after a call that left native code, so no specialization gets
    switched off or compiled again wider (hook.cpp, retireAfterExit) before every input met it."""
    src = textwrap.dedent(src)
    groups = {}
    for args in inputs:
        args = tuple(args)
        groups.setdefault(signature(args), []).append(args)
    problems = []
    ncalls = 0
    for sig, group in groups.items():
        pair, used = None, 0
        for args in group:
            if pair is None or used >= per_pair or pair.left_native:
                pair, used = Pair(src, name=name, glb=glb, tag=sig), 0
            used += 1
            ncalls += 1
            problems += compare(pair, args, expect_exit=expect_exit, native=native, nan_bits=nan_bits)
    if problems:
        fail(src, problems, ncalls, max_report)
    return ncalls


class PairPool:
    """Pairs reused across calls (hypothesis examples): one per (source, signature), rebuilt every per_pair calls."""

    def __init__(self, per_pair=CALLS_PER_PAIR):
        self.per_pair = per_pair
        self.pairs = {}

    def check(self, src, args, **kw):
        src = textwrap.dedent(src)
        args = tuple(args)
        key = (src, signature(args))
        entry = self.pairs.get(key)
        if entry is None or entry[1] >= self.per_pair or entry[0].left_native:
            entry = self.pairs[key] = [Pair(src, tag=key[1]), 0]
        entry[1] += 1
        problems = compare(entry[0], args, **kw)
        if problems:
            fail(src, problems, 1)


# ---------------------------------------------------------------------------------------------------------------
# Expectations shared by the operator tables

def exits_unless_small_result(args, outcome):
    """A call whose operands are all unboxed numbers must leave native code when CPython raised, or returned an
    int outside 64 bits (native code has no other way to produce those)."""
    if not all(type_letter(a) in "bif" for a in args):
        return False
    if outcome.kind == "raise":
        return True
    v = outcome.value
    return type(v) is int and not fits64(v)


# ---------------------------------------------------------------------------------------------------------------
# Operator tables

BINARY_OPS = ["+", "-", "*", "/", "//", "%", "**", "<<", ">>", "&", "|", "^"]
COMPARE_OPS = ["<", "<=", "==", "!=", ">", ">="]
OP_NAMES = {"+": "add", "-": "sub", "*": "mul", "/": "truediv", "//": "floordiv", "%": "mod", "**": "pow",
            "<<": "lshift", ">>": "rshift", "&": "and", "|": "or", "^": "xor", "<": "lt", "<=": "le", "==": "eq",
            "!=": "ne", ">": "gt", ">=": "ge"}


def binop_source(op, inplace=False):
    if inplace:
        return f"def f(a, b):\n    a {op}= b\n    return a\n"
    return f"def f(a, b):\n    return a {op} b\n"


def literal(v):
    """Source text that evaluates to v (CPython folds these constant expressions, so they stay LOAD_CONSTs)."""
    if type(v) is float:
        if math.isnan(v):
            return "(1e308 * 10 - 1e308 * 10)"
        if math.isinf(v):
            return "(1e308 * 10)" if v > 0 else "(-1e308 * 10)"
        return f"({v!r})"
    return f"({v!r})"


def safe_operands(op, a, b):
    """False for operand pairs whose exact result would cost CPython gigabytes or minutes (2 ** 2**63, 1 << 2**31).
    Cheap huge cases stay: 0/1/-1 to huge powers, huge negative powers (floats), shifts CPython refuses at once."""
    int_like = (int, bool)
    if op == "**" and type(a) in int_like and type(b) in int_like:
        return not (b > 65 and a not in (0, 1, -1))
    if op == "<<" and type(a) in int_like and type(b) in int_like:
        return not (1000 < b <= 2**40 and a != 0)
    return True


def pairs_for(op, lefts, rights):
    return [(a, b) for a in lefts for b in rights if safe_operands(op, a, b)]


# ---------------------------------------------------------------------------------------------------------------
# Scenarios: calls interleaved with changes to the globals (or builtins) of both functions

def run_steps(src, steps, *, name=None, glb=None, own_builtins=False, native=True, nan_bits=False):
    """steps: ("call", args[, expect_exit]) | ("set", name, value) | ("del", name) | ("set_builtin", name, value) |
    ("del_builtin", name) | ("do", callable(globals_dict)). Every change is made to both sides."""
    pair = Pair(src, name=name, glb=glb, own_builtins=own_builtins)
    problems = []
    for n, st in enumerate(steps):
        kind = st[0]
        if kind == "call":
            args = tuple(st[1])
            problems += compare(pair, args, expect_exit=st[2] if len(st) > 2 else None, native=native,
                                nan_bits=nan_bits, label=f"step {n}: {describe_call(pair.name, args)}")
        else:
            for g in (pair.gp, pair.gf):
                if kind == "set":
                    g[st[1]] = st[2]
                elif kind == "del":
                    del g[st[1]]
                elif kind == "set_builtin":
                    g["__builtins__"][st[1]] = st[2]
                elif kind == "del_builtin":
                    del g["__builtins__"][st[1]]
                elif kind == "do":
                    st[1](g)
                else:
                    raise ValueError(kind)
    if problems:
        raise AssertionError(f"[{MODE} mode] {len(problems)} problem(s) in\n{pair.src}\n  " + "\n  ".join(problems))
    return pair
