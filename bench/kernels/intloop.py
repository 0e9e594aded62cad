"""Integer kernel: a doubly nested range loop of small-int multiply, modulo and add.

Usage: python intloop.py [N]   (default N = 6000, i.e. 36 million inner iterations)
Runs unchanged under plain CPython and under `python -m pypaccel run`; prints one integer.
"""
import sys


def main(n):
    total = 0
    for i in range(n):
        for j in range(n):
            total += (i * j) % 7
    return total


if __name__ == "__main__":
    print(main(int(sys.argv[1]) if len(sys.argv) > 1 else 6000))
