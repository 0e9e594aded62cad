# r8_trace_call_event.py
import sys

events = []

def tracer(frame, event, arg):
    events.append((frame.f_code.co_name, frame.f_lineno, event))
    return tracer

def start_tracing():
    sys.settrace(tracer)
    sys._getframe().f_back.f_trace = tracer
    raise RuntimeError

def caller():
    try:
        start_tracing()
    except RuntimeError:
        pass

caller()
sys.settrace(None)
print(events)
