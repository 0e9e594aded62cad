# `raise`, `assert` and the `with` statement compile natively (RAISE_VARARGS, LOAD_ASSERTION_ERROR, BEFORE_WITH,
# WITH_EXCEPT_START). Compared with CPython: the exception raised (type, message, __cause__, __context__,
# __suppress_context__, traceback lines), the calls of __enter__/__exit__ and their arguments, an exception
# __exit__ swallows, errors of the protocol itself (no __enter__/__exit__, __enter__ or __exit__ raising, a `with`
# on a number), a class whose constructor does not return an exception, and a bare `raise` (an exit: the
# interpreter re-raises without a new traceback entry, as CPython).
import pytest

from conftest import report_stress
from harness import check, check_runs_without_exits

HELPERS = """
import sys

def lines(tb):
    out = []
    while tb is not None:
        out.append((tb.tb_frame.f_code.co_name, tb.tb_lineno))
        tb = tb.tb_next
    return out

def chain(e):
    return (type(e).__name__, str(e), repr(e.__cause__), repr(e.__context__), e.__suppress_context__,
            lines(e.__traceback__))

class CM:
    def __init__(self, log, swallow=False, fail_enter=False, fail_exit=False):
        self.log, self.swallow, self.fail_enter, self.fail_exit = log, swallow, fail_enter, fail_exit
    def __enter__(self):
        self.log.append("enter")
        if self.fail_enter:
            raise OSError("enter failed")
        return len(self.log)
    def __exit__(self, t, v, tb):
        self.log.append(("exit", t and t.__name__, v and str(v), lines(tb), sys.exc_info()[0]))
        if self.fail_exit:
            raise LookupError("exit failed")
        return self.swallow

class OnlyEnter:
    def __enter__(self):
        return 1

class OnlyExit:
    def __exit__(self, *a):
        return True

class NotAnException(Exception):
    def __new__(cls):
        return 5

class FailingInit(Exception):
    def __init__(self):
        raise RuntimeError("init")

CAUSES = [None, KeyError, KeyError("k"), 5, NotAnException, FailingInit]
"""


@pytest.mark.parametrize("what", ["ValueError", "ValueError('v', 1)", "5", "None", "NotAnException",
                                  "FailingInit", "StopIteration(3)"])
def test_raise_forms(what):
    check(HELPERS + f"""
def f(k):
    if k > 0:
        raise {what}
    try:
        raise {what}
    except BaseException as e:
        return chain(e)
""", [(0,), (1,)], name="f")


def test_raise_from_each_kind_of_cause():
    check(HELPERS + """
def f(k):
    try:
        raise ValueError(k) from CAUSES[k]
    except BaseException as e:
        return chain(e)
""", [(k,) for k in range(6)], name="f")


def test_raise_while_handling_chains_the_context():
    check(HELPERS + """
def f(d, k):
    try:
        try:
            return d[k]
        except KeyError as e:
            if k > 1:
                raise TypeError("in handler") from None
            raise TypeError("in handler")
    except TypeError as e2:
        return chain(e2)
""", [({1: 2}, k) for k in (0, 1, 2, 3)], name="f")


def test_uncaught_raise_traceback_and_bare_raise():
    check(HELPERS + """
def f(k):
    if k == 0:
        raise IndexError(k)
    try:
        raise ValueError(k)
    except ValueError:
        if k == 1:
            raise
        return "handled"
""", [(0,), (1,), (2,)], name="f")


def test_assert():
    check(HELPERS + """
def f(x):
    try:
        assert x > 0
    except AssertionError as e:
        r = chain(e)
    else:
        r = "ok"
    assert x > -5, ("message", x)
    return r
""", [(1,), (0,), (-4,), (-5,), (2**64,)], name="f")


def test_with_normal_and_exceptional_paths():
    check(HELPERS + """
def f(n, swallow):
    log = []
    total = 0
    for i in range(n):
        with CM(log, swallow=swallow) as v:
            total += v
            if i == 2:
                raise ValueError(i)
            total += 1
    return total, log
""", [(n, s) for n in (0, 2, 3, 5) for s in (False, True)], name="f")


def test_with_protocol_errors():
    check(HELPERS + """
def f(k):
    log = []
    mgr = [OnlyEnter(), OnlyExit(), object(), 5, CM(log, fail_enter=True), CM(log, fail_exit=True),
           CM(log, swallow=True, fail_exit=True)][k]
    try:
        with mgr as v:
            log.append(("body", v))
            if k == 6:
                raise KeyError(k)
    except Exception as e:
        return chain(e), log
    return "no error", log
""", [(k,) for k in range(7)], name="f")


def test_with_exits_on_return_break_continue_and_nesting():
    check(HELPERS + """
def f(n):
    log = []
    for i in range(n):
        with CM(log) as a, CM(log, swallow=i % 2 == 0) as b:
            if i == 1:
                continue
            if i == 3:
                raise ValueError(a + b)
            if i == 5:
                break
        log.append(i)
    with CM(log):
        return log
""", [(n,) for n in (0, 2, 4, 7)], name="f")


def test_contextlib_managers():
    check(HELPERS + """
import contextlib

@contextlib.contextmanager
def managed(log, k):
    log.append("in")
    try:
        yield k * 2
    except ZeroDivisionError:
        log.append("zde")
    finally:
        log.append("out")

def f(k):
    log = []
    with managed(log, k) as v:
        log.append(10 // k)
    with contextlib.suppress(KeyError):
        log.append({}[k])
    return v, log
""", [(k,) for k in (0, 1, -3)], name="f")


def test_with_and_raise_run_natively():
    src = HELPERS + """
class Quiet:
    def __enter__(self):
        return 1
    def __exit__(self, t, v, tb):
        return t is ValueError

def f(n):
    s = 0
    q = Quiet()
    for i in range(n):
        with q as one:
            s += one
            if i % 2:
                raise ValueError(i)
        try:
            assert i % 3, "three"
            raise KeyError(i) from None
        except KeyError as e:
            s += e.__suppress_context__
        except AssertionError as e:
            s += 100
    return s
"""
    check_runs_without_exits(src, "f", [(n,) for n in (10, 100, 1000)])


def test_stress_mode():
    report_stress(__file__)
