"""A small numeric program to see pypaccel at work: `python -m pypaccel run demo.py`, twice."""
import sys


def int_kernel(n):
    total = 0
    for i in range(n):
        for j in range(n):
            total += (i * j) % 7
    return total


def escape_time(w, h, max_iter):
    inside = 0
    for py in range(h):
        cy = py * 2.0 / h - 1.0
        for px in range(w):
            cx = px * 3.0 / w - 2.0
            x = 0.0
            y = 0.0
            i = 0
            while i < max_iter and x * x + y * y <= 4.0:
                x, y = x * x - y * y + cx, 2.0 * x * y + cy
                i += 1
            if i == max_iter:
                inside += 1
    return inside


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    print("int kernel:", int_kernel(n))
    print("points inside:", escape_time(n // 10, n // 10, 100))
    print("big ints stay exact:", int_kernel(3) + 2**70)


main()
