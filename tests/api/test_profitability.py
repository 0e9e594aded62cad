# The profitability rule (csrc/specialize/profitability.cpp): under enable(), code whose native form would do
# mostly generic work (calls of the C API the interpreter makes too) stays interpreted, named `unprofitable` in
# stats; numeric code still compiles; @specialize and PYPACCEL_COMPILE_ALL compile it anyway; the decision is not
# stored (a module whose code was only declined gets no database).
import json
import textwrap

import pytest

pytest.importorskip("pypaccel", reason="the pypaccel extension is not built")

PROGRAM = """
import json, sys, pypaccel
ENABLE

class Node:
    def __init__(self, v, nxt):
        self.v = v
        self.next = nxt

    def step(self, t):                 # attributes and arithmetic the interpreter specializes as well
        self.v += 1
        return t + self.v

def walk(words, n):                    # a loop of generic work: str methods, a dict, their results
    seen = {}
    for _ in range(n):
        for w in words:
            seen[w.upper()] = seen.get(w, 0) + len(w)
    return sorted(seen.items())

def numeric(n):                        # a native loop, and one generic call outside it
    s = 0.0
    for i in range(n):
        s += i * 0.5
    return str(s)

head = None
for k in range(5):
    head = Node(k, head)
t = 0
for k in range(50):                    # called from the interpreter: its frame entry is what is weighed
    t = head.step(t)
r = [walk(["ab", "cd", "ab"], 50), t, numeric(1000)]
fs = {f["qualname"]: f for f in pypaccel.stats()["functions"] if f["file"] == __file__}
funcs = {q: {"compiled": f["compiled"], "loaded": f["loaded"], "refusals": [x.get("refusal") for x in f["fallbacks"]],
             "reasons": [x["reason"] for x in f["fallbacks"]]} for q, f in fs.items()}
print(json.dumps({"r": r, "funcs": funcs, "refusals": pypaccel.stats()["refusals"]}))
"""


def run(run_python, tmp_path, enable, env=None):
    script = tmp_path / "prog.py"
    script.write_text(textwrap.dedent(PROGRAM).replace("ENABLE", enable))
    r = run_python(script, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.splitlines()[-1])


def plain_result(run_python, tmp_path):
    return run(run_python, tmp_path, "pass")["r"]


def test_generic_code_stays_interpreted_and_stats_say_why(run_python, tmp_path):
    out = run(run_python, tmp_path, "pypaccel.enable(threshold=0)")
    assert out["r"] == plain_result(run_python, tmp_path)
    funcs = out["funcs"]
    for name in ("walk", "Node.step"):
        assert funcs[name]["compiled"] == 0, funcs
        assert funcs[name]["refusals"] == ["unprofitable"], funcs
    (why,) = funcs["walk"]["reasons"]
    assert why.startswith("not worth compiling: mostly generic work") and "GetAttr" in why, why
    # step's two additions are native only after a guard each (its attributes are predicted ints): no gain left.
    (why,) = funcs["Node.step"]["reasons"]
    assert why.startswith("not worth compiling: no native work left once its guards are counted"), why
    assert funcs["numeric"]["compiled"] == 1 and funcs["numeric"]["refusals"] == [], funcs
    assert out["refusals"]["unprofitable"]["fallbacks"] >= 2


def test_compile_all_compiles_it_anyway(run_python, tmp_path):
    for enable, env in (("pypaccel.enable(threshold=0, compile_all=True)", None),
                        ("pypaccel.enable(threshold=0)", {"PYPACCEL_COMPILE_ALL": "1"})):
        out = run(run_python, tmp_path, enable, env)
        assert out["r"] == plain_result(run_python, tmp_path)
        native = {q: f["compiled"] + f["loaded"] for q, f in out["funcs"].items()}  # the second run loads the first's
        assert native["walk"] == 1 and native["Node.step"] == 1, out["funcs"]
        assert "unprofitable" not in out["refusals"]


def test_specialize_compiles_what_the_user_asked_for(run_python, tmp_path):
    script = tmp_path / "prog.py"
    script.write_text(textwrap.dedent("""
        import json, pypaccel
        class P:
            def __init__(self): self.x = 1
        @pypaccel.specialize
        def get(p, n):
            t = 0
            for _ in range(n):
                t = t + p.x
            return t
        r = get(P(), 10)
        (f,) = [f for f in pypaccel.stats()["functions"] if f["qualname"] == "get"]
        print(json.dumps([r, f["compiled"], f["native_calls"]]))
    """))
    r = run_python(script)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == [10, 1, 1]


def test_a_declined_signature_is_stored_and_not_built_again(run_python, tmp_path):
    # Deciding again means building the IR again (a warm run of pyperformance's go spent 111 ms on re's compiler and
    # parser): the decision is stored with the module's profiles, and the next run leaves the signature interpreted
    # from its first call, named `unprofitable` still, without building anything.
    script = tmp_path / "only_generic.py"
    script.write_text(textwrap.dedent("""
        class C:
            def __init__(self): self.items = []
            def add(self, x):
                self.items.append(x)
                return len(self.items)
        c = C()
        print(sum(c.add(i) for i in range(300)))
    """))
    script.write_text(script.read_text() + textwrap.dedent("""
        import json, pypaccel
        (f,) = [f for f in pypaccel.stats()["functions"] if f["qualname"] == "C.add"]
        print(json.dumps([f["compile_seconds"], [(x["refusal"], x["reason"]) for x in f["fallbacks"]]]))
    """))
    env = {"PYPACCEL_CACHE_DIR": None}  # the database beside the module (writable)
    first = run_python("-m", "pypaccel", "run", script, env=env)
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines()[0] == "45150"
    seconds, fallbacks = json.loads(first.stdout.splitlines()[1])
    assert seconds > 0 and [name for name, _ in fallbacks] == ["unprofitable"], fallbacks
    assert list(tmp_path.rglob("only_generic.*.pyp")), list(tmp_path.rglob("*"))
    second = run_python("-m", "pypaccel", "run", script, env=env)
    assert second.returncode == 0, second.stderr
    assert second.stdout.splitlines()[0] == "45150"
    seconds, fallbacks = json.loads(second.stdout.splitlines()[1])
    assert seconds == 0, fallbacks  # nothing built
    ((name, reason),) = fallbacks
    assert name == "unprofitable" and reason.startswith("judged not worth compiling in an earlier run (not worth"), reason
    # PYPACCEL_COMPILE_ALL compiles it anyway, whatever an earlier run judged.
    third = run_python("-m", "pypaccel", "run", script, env={**env, "PYPACCEL_COMPILE_ALL": "1"})
    assert third.returncode == 0, third.stderr
    seconds, fallbacks = json.loads(third.stdout.splitlines()[1])
    assert seconds > 0 and fallbacks == [], fallbacks


def test_a_small_leaf_entered_from_the_interpreter_stays_interpreted(run_python, tmp_path):
    # Entering native code through the hook costs more than interpreting a small loop-free function
    # (profitability.cpp, kEntryWeight): `scale` (two float operations) stays interpreted; `poly` (six) and
    # `wrapped` (a direct call of `poly`, which saves a whole interpreted call) compile. All are called from a
    # generator expression, which pypaccel leaves interpreted.
    script = tmp_path / "leaves.py"
    script.write_text(textwrap.dedent("""
        import json, pypaccel
        pypaccel.enable(threshold=0)
        def scale(x):
            return x * 2.5 + 1.0
        def poly(x):
            return ((x * 2.5 + 1.0) * x - 3.0) * x + 0.5 * x - 7.0
        def wrapped(x):
            return poly(x)
        r = [sum(f(i * 0.5) for i in range(200)) for f in (scale, poly, wrapped)]
        fs = {f["qualname"]: f for f in pypaccel.stats()["functions"] if f["file"] == __file__}
        print(json.dumps([r, {q: [fs[q]["compiled"], [x["reason"] for x in fs[q]["fallbacks"]]]
                              for q in ("scale", "poly", "wrapped")}]))
    """))
    r = run_python(script)
    assert r.returncode == 0, r.stderr
    result, funcs = json.loads(r.stdout)
    ns = {}
    exec(compile("def scale(x):\n    return x * 2.5 + 1.0\n"
                 "def poly(x):\n    return ((x * 2.5 + 1.0) * x - 3.0) * x + 0.5 * x - 7.0\n", "leaves", "exec"), ns)
    assert result == [sum(ns["scale"](i * 0.5) for i in range(200)), sum(ns["poly"](i * 0.5) for i in range(200)),
                      sum(ns["poly"](i * 0.5) for i in range(200))]
    assert funcs["scale"][0] == 0 and "too little native work to pay for entering native code" in funcs["scale"][1][0]
    assert funcs["poly"][0] >= 1 and funcs["wrapped"][0] == 1, funcs


def test_a_loop_free_entry_is_timed_against_the_interpreter(run_python, tmp_path):
    # Under the usual threshold, a new frame entry of code without loops first runs a trial (hook.cpp,
    # profile/entry_trial.h): its first calls run in the interpreter (its warm-up), then calls chosen at random run
    # natively or interpreted, each timed, and the entry stays only if it is not slower. `poly` (float arithmetic,
    # several times faster native) stays native; `follow` (two attribute loads and a compare, about as fast either
    # way) may go either way, and if it is switched off, stats say it was measured slower. Results are the same.
    script = tmp_path / "trial.py"
    source = textwrap.dedent("""
        class Node:
            def __init__(self, pos):
                self.pos = pos
                self.ref = self
            def follow(self):
                ref = self.ref
                if ref.pos != self.pos:
                    ref = ref.follow()
                return ref
        def poly(x):
            return ((x * 2.5 + 1.0) * x - 3.0) * x + 0.5 * x - 7.0
        nodes = [Node(i) for i in range(10)]
        r = [sum(poly(i * 0.5) for i in range(3000)), sum(n.follow().pos for _ in range(300) for n in nodes)]
    """)
    script.write_text("import json, pypaccel\npypaccel.enable()\n" + source + textwrap.dedent("""
        fs = {f["qualname"]: f for f in pypaccel.stats()["functions"] if f["file"] == __file__}
        print(json.dumps([r, {q: {k: fs[q][k] for k in ("calls", "native_calls", "state", "disabled_reasons")}
                              for q in ("poly", "Node.follow")}]))
    """))
    r = run_python(script)
    assert r.returncode == 0, r.stderr
    result, funcs = json.loads(r.stdout)
    ns = {}
    exec(compile(source, "trial", "exec"), ns)
    assert result == ns["r"]
    poly = funcs["poly"]
    assert poly["state"] == "native" and poly["disabled_reasons"] == [], funcs
    # Compiled at the threshold (the 200th call runs it), then the trial's interpreted calls: 40 of warm-up, 32 timed.
    assert poly["native_calls"] == 3000 - 199 - 72, funcs
    follow = funcs["Node.follow"]
    assert follow["state"] in ("native", "disabled"), funcs
    for why in follow["disabled_reasons"]:
        assert why.startswith("measured slower than the interpreter: "), funcs


def test_a_recursive_function_is_not_timed(run_python, tmp_path):
    # A call of fib inside a timed call of fib ends the trial with the entry kept (hook.cpp, runMeasured): timed,
    # each call would be its whole call tree, and an interpreted sample kept the tree interpreted (fib(32) with an
    # empty cache ran 2x slower than plain). Nearly every call runs natively, and nothing is disabled.
    script = tmp_path / "rec.py"
    script.write_text(textwrap.dedent("""
        import json, pypaccel
        pypaccel.enable()
        def fib(n):
            return n if n < 2 else fib(n - 1) + fib(n - 2)
        r = fib(22)
        (f,) = [f for f in pypaccel.stats()["functions"] if f["qualname"] == "fib"]
        print(json.dumps([r, f["native_calls"], f["state"], f["disabled_reasons"]]))
    """))
    r = run_python(script)
    assert r.returncode == 0, r.stderr
    result, native, state, disabled = json.loads(r.stdout)
    assert result == 17711 and state == "native" and disabled == []
    assert native > 0.9 * 57313, native  # fib(22) makes 57313 calls
