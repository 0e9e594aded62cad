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


def _events_of_both(pair, args, install, uninstall):
    """Runs both sides with a fresh event list; `install(events)` returns the hook the case's source is given."""
    results = {}
    for side, fn in (("plain", pair.plain), ("fast", pair.fast)):
        events = []
        hook = install(events, pair.filename)
        try:
            out = outcome_of(fn, (hook,) + tuple(args), pair.filename)
        finally:
            uninstall()
        results[side] = (out.key(), events)
    return results


def _line_tracer(events, filename):
    def tracer(frame, event, arg):
        if frame.f_code.co_filename == filename:
            events.append((event, frame.f_code.co_name, frame.f_lineno))
        return tracer
    return tracer


def _restore_trace(old=sys.gettrace()):
    sys.settrace(old)


def test_frame_traced_from_the_instruction_after_the_call_that_set_its_f_trace():
    # The callee turns tracing on for its caller (sys.settrace + f_back.f_trace, as pdb.set_trace does): CPython
    # reports the caller's remaining line and return events, so native code must leave right after that call.
    src = """
def start_tracing(tracer):
    import sys
    sys.settrace(tracer)
    sys._getframe(1).f_trace = tracer

def f(tracer, n):
    s = 0
    for i in range(n):
        s = s * 3 + i
        if i == 4:
            start_tracing(tracer)
        s = s % 1000003
    return s
"""
    pair = Pair(src, name="f")
    results = _events_of_both(pair, (9,), _line_tracer, _restore_trace)
    assert results["fast"] == results["plain"]
    assert any(ev[0] == "line" and ev[1] == "f" for ev in results["plain"][1])
    assert pair.stats()["native_calls"] == 1


def test_no_call_event_when_a_native_frame_unwinds_after_tracing_came_on():
    # The callee turns tracing on for its caller and raises: the caller's first event is 'exception', never a 'call'
    # for a frame that started long before.
    src = """
def start_tracing_and_raise(tracer):
    import sys
    sys.settrace(tracer)
    sys._getframe(1).f_trace = tracer
    raise RuntimeError("boom")

def f(tracer, x):
    y = x * 2.0
    try:
        start_tracing_and_raise(tracer)
    except RuntimeError:
        y = y + 1.0
    return y
"""
    pair = Pair(src, name="f")
    results = _events_of_both(pair, (1.5,), _line_tracer, _restore_trace)
    assert results["fast"] == results["plain"]
    assert ("exception", "f", 11) in results["plain"][1]
    assert ("call", "f", 11) not in results["fast"][1]
    assert pair.stats()["native_calls"] == 1


def _profiler(events, filename):
    def profiler(frame, event, arg):
        if frame.f_code.co_filename == filename:
            events.append((event, frame.f_code.co_name))
    return profiler


def test_profiling_switched_on_by_a_callee_sees_the_callers_return():
    src = """
def start_profiling(profiler):
    import sys
    sys.setprofile(profiler)

def f(profiler, n):
    s = 0
    for i in range(n):
        s += i
        if i == 3:
            start_profiling(profiler)
    return s
"""
    pair = Pair(src, name="f")
    results = _events_of_both(pair, (6,), _profiler, lambda: sys.setprofile(None))
    assert results["fast"] == results["plain"]
    assert ("return", "f") in results["plain"][1]
    assert pair.stats()["native_calls"] == 1


def test_pdb_set_trace_in_a_native_frame_stops_in_that_frame():
    src = """
def f(pdb_stdin, x):
    out = io.StringIO()
    y = x + 1
    pdb.Pdb(stdin=pdb_stdin, stdout=out).set_trace()
    z = y * 2
    return out.getvalue()
"""
    import io
    import pdb
    pair = Pair(src, name="f", glb={"io": io, "pdb": pdb})
    outputs = {}
    for side, fn in (("plain", pair.plain), ("fast", pair.fast)):
        try:
            out = outcome_of(fn, (io.StringIO("p y\nnext\np z\ncontinue\n"), 20), pair.filename)
        finally:
            sys.settrace(None)
        outputs[side] = out.key()
    assert outputs["fast"] == outputs["plain"]
    assert "21" in repr(outputs["plain"]) and "42" in repr(outputs["plain"])
    assert pair.stats()["native_calls"] == 1


def test_stress_mode():
    report_stress(__file__)
