"""Object kernel: string processing: `%` formatting, split, join, replace, slicing and `+=` on strings.

Usage: python strings.py [N]   (default N = 700000 records)
Formats N log-like records with `%`, splits each back into fields, rewrites some fields (replace, upper/lower,
slices), joins them again, and appends short keys to a string with `+=` (trimmed from the front by slicing when
it grows). Prints how many records and characters went through, a checksum of the keys and the tail of the text.
Runs unchanged under plain CPython and under `python -m pypaccel run`.
"""
import sys

WORDS = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliett",
         "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo", "sierra", "tango")
LEVELS = ("debug", "info", "warning", "error")


def make_record(i):
    word = WORDS[i % len(WORDS)]
    other = WORDS[(i * 7 + 3) % len(WORDS)]
    level = LEVELS[(i // 3) % len(LEVELS)]
    return "%06d|%s|%s-%s|%8.3f|%x" % (i, level, word, other, i * 0.37, i * 31)


def rewrite(line):
    fields = line.split("|")
    ident, level, name, value, code = fields
    name = name.replace("a", "4").replace("e", "3")
    if level == "error" or level == "warning":
        level = level.upper()
    value = value.strip()
    whole, _, frac = value.partition(".")
    return " ".join([level[:4], name, whole + "," + frac[:2], code[-3:], ident[2:]])


def main(n):
    text = ""
    chars = 0
    checksum = 0
    for i in range(n):
        out = rewrite(make_record(i))
        chars += len(out)
        key = out[:2] + out[-3:]
        checksum = (checksum * 33 + len(key) + ord(key[0]) + ord(key[-1])) % 1000000007
        text += key + ";"
        if len(text) > 4000:
            text = text[2000:]
    return "%d %d %d %s" % (n, chars, checksum, text[-24:])


if __name__ == "__main__":
    print(main(int(sys.argv[1]) if len(sys.argv) > 1 else 700000))
