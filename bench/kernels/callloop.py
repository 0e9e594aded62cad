"""Call kernel: a loop calling a small float function millions of times.

Usage: python callloop.py [N]   (default N = 20000000 calls)
Runs unchanged under plain CPython and under `python -m pypaccel run`; prints one float.
"""
import sys


def f(x, y):
    return x * y + 1.0


def main(n):
    total = 0.0
    x = 0.5
    for i in range(n):
        total += f(x, 1.0001)
        x = total * 1e-9
    return total


if __name__ == "__main__":
    print(main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000_000))
