"""Object kernel: fannkuch-redux, pancake flips over every permutation of 0..N-1.

Usage: python fannkuch.py [N]   (default N = 9: 362880 permutations, walked 4 times)
For each permutation: while the first element k is not 0, reverse the first k + 1 elements (a slice
assignment), and count the flips. Permutations are walked by rotating prefixes of a list under a counter
array (each one differs from the previous by one rotation). Prints a checksum (flip counts added with
alternating signs) and the largest flip count. Runs unchanged under plain CPython and under `python -m pypaccel run`.
"""
import sys

ROUNDS = 4


def count_flips(perm):
    pancakes = perm[:]
    flips = 0
    first = pancakes[0]
    while first:
        pancakes[:first + 1] = pancakes[first::-1]
        flips += 1
        first = pancakes[0]
    return flips


def fannkuch(n):
    perm = list(range(n))
    counters = [0] * n
    checksum = 0
    most = 0
    index = 0
    while True:
        flips = count_flips(perm)
        if flips > most:
            most = flips
        checksum += flips if index % 2 == 0 else -flips
        index += 1
        # Next permutation: rotate the first `level + 1` elements left by one, at the lowest level whose
        # counter has not wrapped; counters below it restart.
        level = 1
        while level < n:
            head = perm.pop(0)
            perm.insert(level, head)
            counters[level] += 1
            if counters[level] <= level:
                break
            counters[level] = 0
            level += 1
        else:
            break
    return checksum, most


def main(n):
    result = None
    for _ in range(ROUNDS):
        result = "%d %d" % fannkuch(n)
    return result


if __name__ == "__main__":
    print(main(int(sys.argv[1]) if len(sys.argv) > 1 else 9))
