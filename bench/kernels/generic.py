"""Object kernel: one generic function called in turn with ints, floats and a small `Money` class with operators.

Usage: python generic.py [N]   (default N = 13000 rounds over lists of 200 values)
`weighted_total(values, weights, zero)` adds `value * weight` and folds the running total back into range with
`<`, `-` and `*`: the same bytecode sees int, float and Money operands (its `__add__`, `__sub__`, `__mul__`,
`__lt__`). Each round calls it with the three kinds and records a line with an f-string. Prints the number of
lines, a checksum of their lengths and the last line. Runs unchanged under plain CPython and under
`python -m pypaccel run`.
"""
import sys


class Money:
    def __init__(self, cents):
        self.cents = cents

    def __add__(self, other):
        return Money(self.cents + other.cents)

    def __sub__(self, other):
        return Money(self.cents - other.cents)

    def __mul__(self, factor):
        return Money(self.cents * factor)

    def __lt__(self, other):
        return self.cents < other.cents

    def __str__(self):
        return "%d.%02d" % divmod(self.cents, 100)


def weighted_total(values, weights, limit):
    total = limit - limit
    for value, weight in zip(values, weights):
        total = total + value * weight
        if limit < total:
            total = total - limit
    return total


def main(n):
    size = 200
    weights = [i % 5 + 1 for i in range(size)]
    ints = [(i * 37) % 101 for i in range(size)]
    floats = [((i * 37) % 101) * 0.25 for i in range(size)]
    monies = [Money((i * 37) % 101) for i in range(size)]
    lines = []
    checksum = 0
    for r in range(n):
        a = weighted_total(ints, weights, 1000 + r % 7)
        b = weighted_total(floats, weights, 250.0 + r % 7)
        c = weighted_total(monies, weights, Money(1000 + r % 7))
        line = f"round {r}: {a} {b:.2f} {c}"
        checksum = (checksum * 31 + len(line)) % 1000000007
        lines.append(line)
    return "%d %d %s" % (len(lines), checksum, lines[-1])


if __name__ == "__main__":
    print(main(int(sys.argv[1]) if len(sys.argv) > 1 else 13000))
