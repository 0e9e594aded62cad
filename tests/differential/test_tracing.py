# Tracing and profiling: with sys.settrace / sys.setprofile active, specialized functions run in the interpreter,
# the tracer sees every line, call, return and exception exactly as for the plain function, and results are equal;
# once tracing stops, calls are native again. Also: tracing switched on by a callee in the middle of a native call.
import sys

import pytest

from conftest import report_stress
from harness import Pair, outcome_of

CASES = {
    "loop": ("""
def f(n, x):
    s = 0
    for i in range(n):
        if i % 3 == 0:
            continue
        s = s + i * x
        if s > 10**20:
            break
    return s, -s
""", [(0, 1), (10, 2), (100, 2**60), (7, 1.5)]),
    "while_raise": ("""
def f(n, k):
    i = 0
    t = 1
    while i < n:
        t = t * 2 + 100 // (k - i)
        i += 1
    return t
""", [(5, 10), (5, 3), (0, 0)]),
    "calls": ("""
def helper(v):
    return v * 2

def f(n, x):
    s = abs(x)
    for i in range(n):
        s = s + helper(i)
    return s
""", [(3, -5), (0, 2.5)]),
}


def trace_events(fn, args, filename):
    events = []

    def tracer(frame, event, arg):
        if frame.f_code.co_filename == filename:
            detail = type(arg[1]).__name__ if event == "exception" else None
            events.append((event, frame.f_code.co_name, frame.f_lineno, detail))
        return tracer

    old = sys.gettrace()
    sys.settrace(tracer)
    try:
        out = outcome_of(fn, args, filename)
    finally:
        sys.settrace(old)
    return out, events


def profile_events(fn, args, filename):
    events = []

    def profiler(frame, event, arg):
        if frame.f_code.co_filename == filename:
            events.append((event, frame.f_code.co_name, frame.f_lineno,
                           getattr(arg, "__name__", None) if event.startswith("c_") else None))

    old = sys.getprofile()
    sys.setprofile(profiler)
    try:
        out = outcome_of(fn, args, filename)
    finally:
        sys.setprofile(old)
    return out, events


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("hook", ["settrace", "setprofile"])
def test_hooks_see_the_same_events(case, hook):
    src, inputs = CASES[case]
    pair = Pair(src, name="f")
    collect = trace_events if hook == "settrace" else profile_events
    # Compile first (untraced native calls), then trace: an existing specialization must not be entered.
    for args in inputs:
        outcome_of(pair.fast, args, pair.filename)
    native_before = pair.stats()["native_calls"]
    assert native_before >= len(inputs)
    for args in inputs:
        p, ev_p = collect(pair.plain, args, pair.filename)
        f, ev_f = collect(pair.fast, args, pair.filename)
        assert f.key() == p.key(), (args, p, f)
        assert ev_f == ev_p, f"{hook} events differ for f{args}:\nplain    {ev_p}\npypaccel {ev_f}"
        if hook == "settrace":
            lines = {e[2] for e in ev_p if e[0] == "line"}
            assert lines, ev_p
    assert pair.stats()["native_calls"] == native_before, "a traced call entered native code"
    # Tracing off: native again.
    p = outcome_of(pair.plain, inputs[-1], pair.filename)
    f = outcome_of(pair.fast, inputs[-1], pair.filename)
    assert f.key() == p.key()
    assert pair.stats()["native_calls"] == native_before + 1


def test_first_call_under_tracing_then_untraced():
    src, inputs = CASES["loop"]
    pair = Pair(src, name="f")
    for args in inputs:
        p, ev_p = trace_events(pair.plain, args, pair.filename)
        f, ev_f = trace_events(pair.fast, args, pair.filename)
        assert (f.key(), ev_f) == (p.key(), ev_p)
    assert pair.stats()["native_calls"] == 0
    for args in inputs:
        assert outcome_of(pair.fast, args, pair.filename).key() == outcome_of(pair.plain, args, pair.filename).key()
    assert pair.stats()["native_calls"] == len(inputs)


def test_tracing_switched_on_in_the_middle_of_a_native_call():
    src = """
def start_tracing(tracer):
    import sys
    sys.settrace(tracer)

def f(n, tracer):
    s = 0
    for i in range(n):
        s = s * 3 + i
        if i == 4:
            start_tracing(tracer)
        s = s % 1000003
    return s
"""
    pair = Pair(src, name="f")
    results = {}
    for side, fn in (("plain", pair.plain), ("fast", pair.fast)):
        events = []

        def tracer(frame, event, arg, events=events):
            if frame.f_code.co_filename == pair.filename:
                events.append((event, frame.f_code.co_name, frame.f_lineno))
            return tracer

        old = sys.gettrace()
        try:
            out = outcome_of(fn, (12, tracer), pair.filename)
        finally:
            sys.settrace(old)
        results[side] = (out.key(), events)
    assert results["fast"] == results["plain"]
    assert pair.stats()["native_calls"] == 1


def test_stress_mode():
    report_stress(__file__)
