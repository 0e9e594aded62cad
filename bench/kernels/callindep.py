"""Call kernel, independent calls: the same small float function as callloop.py, 20 million calls, but each call's
arguments come from the loop counter, so the calls do not wait for each other's results.

callloop.py feeds every result into the next call's argument (x = total * 1e-9): its iterations form one chain of
four dependent float operations (two multiplications, two additions), which bounds any implementation that keeps
IEEE semantics to the float latency of the machine (16 cycles per iteration here). This kernel measures what a call
costs instead. Usage: python callindep.py [N]   (default N = 20000000 calls); prints one float.
"""
import sys


def f(x, y):
    return x * y + 1.0


def main(n):
    total = 0.0
    for i in range(n):
        total += f(i * 0.5, 1.0001)
    return total


if __name__ == "__main__":
    print(main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000_000))
