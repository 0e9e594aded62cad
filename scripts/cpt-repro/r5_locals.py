# r5_locals.py
def f(k):
    a = k + 1
    return locals(), vars(), dir()

def g(k):
    a = k + 1
    return eval("a")

print(f(3))
try:
    print(g(3))
except NameError as exc:
    print("NameError:", exc)
