"""Interpreted kernel: a pipeline of generators (pypaccel never compiles generators, so every step is the hook's
cost on code it leaves to the interpreter: each resumption of a generator frame passes through it).

Usage: python genpipe.py [N]   (default N = 3000000 numbers through three generators)
Runs unchanged under plain CPython and under `python -m pypaccel run`; prints one integer.
"""
import sys


def numbers(n):
    for i in range(n):
        yield i


def squares(it):
    for x in it:
        yield x * x


def evens(it):
    for x in it:
        if x % 2 == 0:
            yield x


if __name__ == "__main__":
    print(sum(evens(squares(numbers(int(sys.argv[1]) if len(sys.argv) > 1 else 3000000)))))
