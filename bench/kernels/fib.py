"""Call kernel: naive recursive Fibonacci (every call is a call of a compiled function from compiled code).

Usage: python fib.py [N]   (default N = 36, i.e. 48 million calls)
Runs unchanged under plain CPython and under `python -m pypaccel run`; prints one integer.
"""
import sys


def fib(n):
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)


if __name__ == "__main__":
    print(fib(int(sys.argv[1]) if len(sys.argv) > 1 else 36))
