# r8b_profile.py: profiling (not tracing) switched on by a callee, with and without an exception
import sys

events = []

def prof(frame, event, arg):
    events.append((frame.f_code.co_name, event))

def start(raise_):
    sys.setprofile(prof)
    if raise_:
        raise RuntimeError

def caller(raise_):
    try:
        start(raise_)
    except RuntimeError:
        pass
    return 1

caller(False)
sys.setprofile(None)
print(events)
events.clear()
caller(True)
sys.setprofile(None)
print(events)
