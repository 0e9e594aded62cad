# r5b_gc_frame.py
import gc, sys

def f():
    frame = sys._getframe()      # frame -> its locals -> frame: a cycle for the collector

gc.collect()
f()
print(gc.collect())
