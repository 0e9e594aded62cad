"""Object kernel: the spectral norm of the infinite matrix A(i, j) = 1 / ((i + j)(i + j + 1) / 2 + i + 1),
truncated to N x N, by the power method on A^T A.

Usage: python spectralnorm.py [N]   (default N = 550)
Small float functions called N^2 times per product, over lists of floats built with append: ten rounds of
v = A^T A u, u = A^T A v. Prints sqrt(u.v / v.v) to 9 decimals. Runs unchanged under plain CPython and under
`python -m pypaccel run`.
"""
import sys


def matrix_entry(i, j):
    s = i + j
    return 1.0 / (s * (s + 1) // 2 + i + 1)


def times_a(vector):
    n = len(vector)
    out = []
    for i in range(n):
        total = 0.0
        for j in range(n):
            total += matrix_entry(i, j) * vector[j]
        out.append(total)
    return out


def times_a_transposed(vector):
    n = len(vector)
    out = []
    for i in range(n):
        total = 0.0
        for j in range(n):
            total += matrix_entry(j, i) * vector[j]
        out.append(total)
    return out


def times_ata(vector):
    return times_a_transposed(times_a(vector))


def dot(a, b):
    total = 0.0
    for x, y in zip(a, b):
        total += x * y
    return total


def main(n):
    u = [1.0] * n
    v = u
    for _ in range(10):
        v = times_ata(u)
        u = times_ata(v)
    return "%.9f" % ((dot(u, v) / dot(v, v)) ** 0.5)


if __name__ == "__main__":
    print(main(int(sys.argv[1]) if len(sys.argv) > 1 else 550))
