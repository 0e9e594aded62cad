# r7c_breakpoint.py
import io, pdb, sys

def f():
    x = 1
    pdb.Pdb(stdin=io.StringIO("p x\ncontinue\n"), stdout=sys.stdout).set_trace()   # breakpoint()
    y = 2
    return y

f()
