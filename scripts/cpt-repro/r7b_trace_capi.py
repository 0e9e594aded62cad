# r7b_trace_capi.py
import sys, _testcapi

def f():
    try:
        _testcapi.settrace_to_error([])   # a C trace function that raises at the next event
        len([])
    except Exception as ex:
        return "raised: %r" % ex
    finally:
        sys.settrace(None)
    return "no exception raised"

print(f())
