"""Object kernel: the sieve of Eratosthenes over a list of bools, repeated.

Usage: python sieve.py [N]   (default N = 2000000, sieved 12 times)
`flags = [True] * (N + 1)`, then for each prime p up to sqrt(N) store False at p*p, p*p + p, ...; count the
Trues left. Subscript loads and stores on a list in plain for-loops. Prints the count of primes <= N and the
sum of the last ten. Runs unchanged under plain CPython and under `python -m pypaccel run`.
"""
import sys

ROUNDS = 12


def sieve(n):
    flags = [True] * (n + 1)
    flags[0] = False
    flags[1] = False
    p = 2
    while p * p <= n:
        if flags[p]:
            for multiple in range(p * p, n + 1, p):
                flags[multiple] = False
        p += 1
    return flags


def count_true(flags):
    count = 0
    for flag in flags:
        if flag:
            count += 1
    return count


def main(n):
    result = None
    for _ in range(ROUNDS):
        flags = sieve(n)
        primes = count_true(flags)
        last = []
        i = n
        while len(last) < 10:
            if flags[i]:
                last.append(i)
            i -= 1
        result = "%d %d" % (primes, sum(last))
    return result


if __name__ == "__main__":
    print(main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000000))
