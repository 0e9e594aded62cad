# Control flow: if/elif/else, while with break/continue/else, for over range() with 1-3 arguments (negative, zero,
# huge and boolean steps and bounds), nested loops, early returns, returning tuples, and loop variables that may
# be unbound after the loop.
import pytest

from conftest import report_stress
from harness import check

RANGE_ARGS = [0, 1, -1, 3, -3, 10, -10, True, False, 2**63 - 1, -2**63, 2**63, 2.0]


def test_if_elif_else():
    src = """
    def f(a, b):
        if a > b:
            r = 1
        elif a == b:
            r = 0
        else:
            r = -1
        if a and b:
            r += 10
        if a or b:
            r += 100
        if not a:
            r += 1000
        return r, (a if a > 0 else b), (a and b), (a or b)
    """
    vals = [0, 1, -1, 2**63 - 1, 0.0, -0.0, 1.5, float("nan"), True, False, 2**64]
    check(src, [(a, b) for a in vals for b in vals])


def test_conditions_on_none_and_truth_values():
    src = """
    def f(a, b):
        r = 0
        if a is None:
            r += 1
        if b is not None:
            r += 2
        if a:
            r += 4
        if not b:
            r += 8
        x = a
        n = 0
        while x and n < 2000:
            x = x / 2 if type(x) is float else x // 2
            n += 1
        return r, n, x
    """
    vals = [None, 0, 1, -1, 2**63 - 1, 2**64, 0.0, -0.0, 5e-324, 1e308, float("inf"), float("nan"), True, False,
            "", "s"]
    check(src, [(a, b) for a in vals for b in vals[::3]])


def test_range_one_arg():
    src = """
    def f(n):
        s = 0
        c = 0
        for i in range(n):
            s += i
            c += 1
        return s, c
    """
    check(src, [(n,) for n in [0, 1, -1, 3, -3, 10, -10, True, False, 100000, -2**63, 2**64 - 2**65, 2.0]])


@pytest.mark.parametrize("step", [1, 2, 3, -1, -2, -7, 0, True, False, 2**62, -2**62, 2**63 - 1, -2**63, 2**64, 1.0])
def test_range_three_args(step):
    src = """
    def f(a, b, c):
        s = 0
        n = 0
        last = None
        for i in range(a, b, c):
            s = s ^ i
            n += 1
            last = i
            if n > 50:
                return "runaway", n, last
        return s, n, last
    """
    starts = [0, 1, -1, 10, -10, 2**63 - 1, 2**63 - 5, -2**63, -2**63 + 5, True]
    check(src, [(a, b, step) for a in starts for b in starts])


def test_range_two_args():
    src = """
    def f(a, b):
        t = 0
        for i in range(a, b):
            t = t * 3 + i
            if t > 10**12:
                t = t % 1000003
        return t
    """
    def short(a, b):  # loops that end soon (CPython itself would run ~forever on range(0, 2**63 - 1))
        return not all(type(v) in (int, bool) for v in (a, b)) or b - a < 10**6
    check(src, [(a, b) for a in RANGE_ARGS for b in RANGE_ARGS if short(a, b)])


def test_range_near_int64_limits():
    # The counter must not wrap around past 2**63 - 1 (or -2**63) on its last step.
    src = """
    def f(a, b, c):
        out = 0
        n = 0
        for i in range(a, b, c):
            out = i
            n += 1
            if n > 10:
                return "runaway", n, out
        return n, out
    """
    M = 2**63 - 1
    cases = [(M - 4, M, 2), (M - 3, M, 2), (M - 5, M, 3), (0, M, 2**62), (0, M, M), (1, M, M), (-M - 1, 0, M),
             (-M - 1, M, M), (M, -M - 1, -M), (M, 0, -2**62), (-M + 3, -M - 1, -2), (-M + 2, -M - 1, -3),
             (M - 1, M, 1), (M, M - 2, -1), (-M - 1, -M - 1 + 3, 1), (-2, M, 2**62 + 1), (M - 1, -M - 1, -2**63)]
    check(src, cases)


def test_loop_variable_unbound_after_empty_loop():
    src = """
    def f(n):
        for i in range(n):
            pass
        return i
    """
    check(src, [(n,) for n in (0, -5, 1, 7, True, False)])


def test_local_bound_on_some_paths_then_an_object():
    # hexiom's constraint_pass: `num` an int from a loop inside an `if`, then an object from a subscript. Where the
    # paths merge the int is boxed when it is bound and the local stays unbound otherwise (UnboundLocalError as
    # CPython's when nothing bound it).
    src = """
    def f(n, c, items):
        if c:
            for num in range(n):
                pass
        out = []
        for i in range(len(items)):
            if i % 2:
                num = items[i][0]
            out.append(num)
        return out, num
    """
    items = [(1.5,), ("a",), (None,), (2**64,), (-0.0,)]
    check(src, [(n, c, its) for n in (0, 3, 2**40 % 7) for c in (True, False, 1.5, 0) for its in (items, items[:1], [])])
    check(src, [(4, True, [(i,) for i in range(40)]), (0, False, [(1,), (2,)])])


def test_range_or_object_from_a_conditional_expression():
    # hexiom: `cells = (range(n) if last is None else links)`: the virtual range is made the range object it
    # stands for where the paths merge.
    src = """
    def f(n, last, links):
        cells = (range(n) if last is None else links)
        t = 0
        for i in cells:
            t += i
        return t, type(cells).__name__, len(cells)
    """
    check(src, [(5, None, [1, 2]), (0, None, [1]), (3, 1, [1, 2.5]), (2**62, 1, (7,)), (-3, None, ()),
                (4, 0, [2**64, -1])])


def test_while_break_continue_else():
    src = """
    def f(n, k):
        i = 0
        s = 0
        while i < n:
            i += 1
            if i % k == 0:
                continue
            if s > 1000:
                break
            s += i * k
        else:
            s = -s
        return i, s
    """
    check(src, [(n, k) for n in (0, 1, 5, 50, 200) for k in (1, 2, 3, -4, 7, 0)])


def test_for_else_and_nested_break():
    src = """
    def f(n, m):
        found = -1
        total = 0
        for i in range(n):
            for j in range(m):
                if i * j == 12:
                    found = i * 100 + j
                    break
                total += j
            else:
                total += 1000
                continue
            total -= 1
        else:
            total += 7
        return found, total
    """
    check(src, [(n, m) for n in (0, 1, 4, 7, 13) for m in (0, 3, 5, 13)])


def test_early_return_in_loops():
    src = """
    def f(n, target):
        i = 0
        while True:
            for j in range(i, n, 2):
                if j * j == target:
                    return j, i
                if j > target:
                    return -j, i
            i += 1
            if i > n:
                return None
    """
    check(src, [(n, t) for n in (0, 1, 10, 30) for t in (0, 1, 4, 25, 81, 82, 1000, -1)])


def test_return_tuples():
    src = """
    def f(a, b):
        if a > b:
            return a, b
        if a == b:
            return (a,)
        return b, a, a - b, a * 1.0, a > 0, ()
    """
    vals = [0, 1, -1, 2**63 - 1, -2**63, 0.5, -0.0, True, 2**64]
    check(src, [(a, b) for a in vals for b in vals])


def test_nested_while_with_float_condition():
    src = """
    def f(x):
        steps = 0
        while x > 1.0:
            x = x / 2.0
            steps += 1
            while x > 100.0:
                x = x - 50.5
                steps += 1
        return x, steps
    """
    check(src, [(x,) for x in (0.0, 1.0, 3.0, 1000.0, 1e6, 12345.678, -5.0)])


def test_countdown_negative_step():
    src = """
    def f(n):
        acc = []
        total = 0
        for i in range(n, -n - 1, -3):
            total = total * 2 + i
        return total
    """
    check(src, [(n,) for n in (0, 1, 2, 5, 20, -3)])


def test_range_argument_errors():
    src = """
    def f(a, b, c):
        s = 0
        for i in range(a, b, c):
            s += i
        return s
    """
    check(src, [(0, 5, 0), (1, 2, False), (0, 5, 1.0), (0.0, 5, 1), (0, 5.5, 1), (0, 2**70, 2**69), (0, 5, None)])


def test_stress_mode():
    report_stress(__file__)


def test_recursion():
    src = """
    def f(n):
        if n <= 0:
            return 0
        return f(n - 1) + 1
    """
    # Every level exits at the call (the compiler does not call functions natively), so after 20 entries the
    # specialization is switched off as not worth it: a fresh pair per call, and deep calls checked for results.
    check(src, [(0,), (1,), (5,), (15,)], per_pair=1)
    check(src, [(300,)], native=False)


def test_recursion_error_at_the_default_limit():
    # Same exception, same message, and a traceback of the same (long) list of frames.
    src = """
    def f(n):
        if n <= 0:
            return 0.5
        return f(n - 1) * 1.0
    """
    check(src, [(10**6,)], native=False)


DEEP = r'''
import sys
import pypaccel
sys.setrecursionlimit(200000)

def f(n):
    if n <= 0:
        return 0
    return f(n - 1) + 1

fn = pypaccel.specialize(f) if sys.argv[1] == "fast" else f
print(fn(int(sys.argv[2])))
'''


@pytest.mark.parametrize("depth", [20000, 50000])
def test_deep_recursion_with_raised_limit(depth, tmp_path, scratch_env):
    import subprocess
    import sys
    script = tmp_path / "deep.py"
    script.write_text(DEEP)
    out = {}
    for mode in ("plain", "fast"):
        r = subprocess.run([sys.executable, str(script), mode, str(depth)], env=scratch_env, capture_output=True,
                           text=True, timeout=60)
        out[mode] = (r.returncode, r.stdout.strip(), r.stderr.strip().splitlines()[-1:] if r.returncode else "")
    assert out["plain"] == (0, str(depth), "")
    assert out["fast"] == out["plain"], out
