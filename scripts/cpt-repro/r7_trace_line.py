# r7_trace_line.py
import sys

events = []

def tracer(frame, event, arg):
    events.append((frame.f_code.co_name, frame.f_lineno, event))
    return tracer

def f():
    sys.settrace(tracer)
    sys._getframe().f_trace = tracer
    x = 1
    return x

f()
sys.settrace(None)
print(events)
