# Exception handlers run natively in frame entries: an exception raised inside a try (by a helper, a generic call,
# a direct callee) jumps to its `except`/`finally` code without leaving native code. Compared with CPython: the
# values, which handler ran, the caught exception's type, message, args and traceback lines, sys.exc_info() inside
# and after the handler, __context__ of an exception raised while handling another, an `except` clause naming
# something that is not an exception class, and a re-raise (RERAISE, an exit) with its traceback.
import pytest

from conftest import report_stress
from harness import check, check_runs_without_exits

HELPERS = """
import sys

def boom(x):
    if x % 3 == 0:
        raise ValueError("boom", x)
    return x

def lines(tb):
    out = []
    while tb is not None:
        out.append((tb.tb_frame.f_code.co_name, tb.tb_lineno))
        tb = tb.tb_next
    return out
"""

KEYS = [(d, k) for d in ({1: 10, 2: 20}, {}, {0: -1}) for k in (0, 1, 2, 3, -5, 2**64)]


def test_except_as_in_a_loop():
    check(HELPERS + """
def f(d, k):
    s = 0
    for i in range(k % 7 if k >= 0 else 3):
        try:
            s += d[i]
        except KeyError as e:
            s -= 1
            s += len(e.args) * 100
    return s
""", KEYS, name="f")


def test_tuple_base_class_and_bare_except():
    check(HELPERS + """
def f(d, k):
    r = []
    for i in range(4):
        try:
            r.append(d[i] + boom(i + k))
        except (TypeError, KeyError) as e:
            r.append(("KT", type(e).__name__))
        except Exception as e:
            r.append(("E", type(e).__name__, e.args))
        try:
            r.append(boom(i))
        except:
            r.append("bare")
    return r
""", KEYS, name="f")


def test_finally_on_both_paths_and_reraise():
    # The exception path of a finally ends with RERAISE: an exit, with the traceback CPython gives.
    check(HELPERS + """
def f(d, k):
    r = [0]
    try:
        r.append(d[k])
    finally:
        r.append("finally")
    return r
""", KEYS, name="f")


def test_unmatched_exception_propagates_with_its_traceback():
    check(HELPERS + """
def f(d, k):
    try:
        return boom(d[k])
    except TypeError:
        return "type"
""", KEYS, name="f")


def test_caught_traceback_and_exc_info():
    check(HELPERS + """
def f(d, k):
    before = sys.exc_info()[0]
    try:
        v = boom(d.get(k, 3))
    except ValueError as e:
        inside = sys.exc_info()
        return ("caught", before, inside[0].__name__, inside[1] is e, lines(e.__traceback__), e.args,
                sys.exc_info()[1] is e)
    after = sys.exc_info()
    return ("value", v, before, after)
""", KEYS, name="f")


def test_exc_info_is_restored_after_the_handler():
    check(HELPERS + """
def f(d, k):
    r = []
    try:
        boom(0)
    except ValueError:
        r.append(sys.exc_info()[0].__name__)
        try:
            d[k]
        except KeyError:
            r.append(sys.exc_info()[0].__name__)
        r.append(sys.exc_info()[0].__name__)
    r.append(sys.exc_info()[0])
    return r
""", KEYS, name="f")


def test_context_of_an_exception_raised_while_handling():
    check(HELPERS + """
def f(d, k):
    try:
        try:
            return d[k]
        except KeyError:
            return d[k + 1000]
    except KeyError as e2:
        return ("ctx", repr(e2), repr(e2.__context__), e2.__cause__, lines(e2.__traceback__))
""", KEYS, name="f")


def test_except_clause_that_is_not_an_exception_class():
    check(HELPERS + """
def f(d, k):
    try:
        return d[k]
    except int:
        return "int"
""", KEYS, name="f")


def test_exception_from_a_direct_callee_is_caught():
    check(HELPERS + """
def div(a, b):
    return a // b

def f(d, k):
    s = 0
    for i in range(-3, 4):
        try:
            s += div(k, i)
        except ZeroDivisionError as e:
            s += 1000
            r = (str(e), lines(e.__traceback__))
    return s, r
""", [(None, k) for k in (0, 7, -7, 2**62)], name="f")


def test_break_continue_and_return_from_handlers():
    check(HELPERS + """
def f(d, k):
    out = []
    for i in range(6):
        try:
            out.append(d[i + k])
        except KeyError:
            if i == 2:
                continue
            if i == 4:
                break
            out.append(-i)
        finally:
            out.append("f")
    try:
        return boom(k)
    except ValueError:
        return out
""", KEYS, name="f")


def test_handler_code_the_compiler_leaves_to_the_interpreter():
    # A set display (BUILD_SET is not compiled) inside the handler: an exit with the exception being handled; the
    # interpreter finishes the handler and POP_EXCEPT restores the state native code set up.
    check(HELPERS + """
def f(d, k):
    try:
        v = d[k]
    except KeyError:
        v = len({k, 1, 2})
        w = sys.exc_info()[0]
    else:
        w = None
    return v, w, sys.exc_info()
""", KEYS, name="f")


def test_handlers_run_natively():
    src = HELPERS + """
def f(d, n):
    s = 0
    for i in range(n):
        try:
            s += d[i]
        except KeyError as e:
            s -= len(e.args)
        finally:
            s += 1
    return s
"""
    d = {i: i for i in range(0, 100, 3)}
    check_runs_without_exits(src, "f", [(d, n) for n in (10, 100, 1000)])


ZERO = HELPERS + """
def f(a, b):
    # Every zero-divisor error native arithmetic detects, caught in this frame: type, message, traceback lines,
    # __context__ when raised inside a handler, and the value the handler computes.
    out = []
    for op in range(6):
        try:
            if op == 0:
                r = a / b
            elif op == 1:
                r = a // b
            elif op == 2:
                r = a % b
            elif op == 3:
                r = a / (b * 1.0)
            elif op == 4:
                r = (a * 1.0) // b
            else:
                r = a % (b * 1.0)
        except ZeroDivisionError as e:
            try:
                r = 1 % (b - b)
            except ArithmeticError as inner:
                r = (str(e), str(inner), lines(e.__traceback__), lines(inner.__traceback__),
                     inner.__context__ is e, type(inner.__context__).__name__)
        out.append(r)
    return out
"""

ZERO_INPUTS = [(a, b) for a in (7, -7, 0, 2**62, True) for b in (0, 3, -2, False)] + \
    [(1.5, 0), (-0.0, 0.0), (7, 0.0), (7.0, -0.0), (float("inf"), 0), (float("nan"), 0.0)]


def test_zero_divisors_caught_natively():
    check(ZERO, ZERO_INPUTS, name="f")


def test_zero_divisors_caught_without_leaving_native_code():
    check_runs_without_exits(ZERO, "f", [(7, 0), (7, 3), (-7, 0), (7.5, 0.0), (2, -0.0)])


def test_zero_divisor_not_caught_here_keeps_cpythons_traceback():
    check(HELPERS + """
def f(a, b):
    s = 0
    for i in range(3):
        try:
            s += a // (b - i)
        except KeyError:
            s = -1
        finally:
            s += 1
    return s
""", [(7, 0), (7, 1), (7, 2), (7, 5), (7.0, 1), (7, 1.0)], name="f")


def test_zero_divisor_in_a_loop_with_an_else_clause():
    check(HELPERS + """
def f(n, k):
    hits = misses = 0
    for i in range(n):
        try:
            q = i // (i % k)
        except ZeroDivisionError:
            hits += 1
        else:
            misses += q
    return hits, misses
""", [(n, k) for n in (0, 10, 1000) for k in (1, 2, 7)], name="f")


def test_stress_mode():
    report_stress(__file__)
