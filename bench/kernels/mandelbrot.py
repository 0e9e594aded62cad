"""Float kernel: Mandelbrot escape time over a SIZE x SIZE grid of the box [-2, 1] x [-1.5, 1.5].

Usage: python mandelbrot.py [SIZE [MAX_ITER]]   (defaults 600 and 200)
Counts the points whose orbit stays within |z| <= 2 for MAX_ITER iterations and prints that count.
All the work is float arithmetic in one function; runs unchanged under plain CPython and pypaccel.
"""
import sys


def mandelbrot(size, max_iter):
    x_min = -2.0
    y_min = -1.5
    step = 3.0 / size
    inside = 0
    for row in range(size):
        cy = y_min + row * step
        for col in range(size):
            cx = x_min + col * step
            x = 0.0
            y = 0.0
            i = 0
            while i < max_iter and x * x + y * y <= 4.0:
                x, y = x * x - y * y + cx, 2.0 * x * y + cy
                i += 1
            if i == max_iter:
                inside += 1
    return inside


if __name__ == "__main__":
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 600
    max_iter = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    print(mandelbrot(size, max_iter))
