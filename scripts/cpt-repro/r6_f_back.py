# r6_f_back.py
import sys

def inner():
    return sys._getframe()

def outer():
    f = inner()
    return f.f_back is sys._getframe()   # the frame of a returned call keeps its caller

print(outer())
