# r10_dis_adaptive.py
import dis, io

def f(x, y):
    a, b = x, y
    return a, b

for _ in range(10):              # CPython quickens a code object after 8 calls
    f(1, 2)
out = io.StringIO()
dis.dis(f, adaptive=True, file=out)
print("RESUME_QUICK" in out.getvalue())
