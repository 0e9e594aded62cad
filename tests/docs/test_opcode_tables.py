# docs/limitations.md's two opcode tables against csrc/specialize/opcodes.def, and opcodes.def against the handlers
# in csrc/specialize/ops/. scripts/gen_opcodes_def.py writes the tables' Opcodes columns; these checks fail when a row
# of opcodes.def (or the doc) changed without it, and name what disagrees. No extension needed.
import importlib.util
import pathlib
import re

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "gen_opcodes_def.py"
OPS = REPO / "csrc" / "specialize" / "ops"

if not SCRIPT.exists():
    pytest.skip("installed-package test run without the sources", allow_module_level=True)

_spec = importlib.util.spec_from_file_location("gen_opcodes_def", SCRIPT)
gen = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gen)

REGENERATE = "run scripts/gen_opcodes_def.py"


def table_problems(rows, doc):
    """What in `doc`'s generated tables disagrees with `rows` (opcodes.def), one sentence each."""
    known = {name: (status, family) for name, _, status, family in rows}
    problems, where = [], {}
    for table, what in ((gen.COMPILED, "What compiles"), (gen.NOT_COMPILED, "What does not compile")):
        for cells in gen.parse_table(doc, table)[2]:
            row = f"{what} row {cells[0]}"
            if gen.TODO in cells:
                problems.append(f"{row}: the generator left a {gen.TODO} for a person to write")
            if not re.fullmatch(r"(`[A-Z0-9_]+`( |$))*", cells[1]):
                problems.append(f"{row}: its Opcodes cell holds more than opcode names: {cells[1]!r}")
            for name in gen.opcode_cell(cells[1]):
                if name not in known:
                    problems.append(f"{row}: {name} is not an opcode of opcodes.def")
                    continue
                if name in where:
                    problems.append(f"{name} is listed twice: {where[name]} and {row}")
                where.setdefault(name, row)
                status, family = known[name]
                if table == gen.COMPILED and status != "YES":
                    problems.append(f"{row}: {name} is NYI in opcodes.def ({REGENERATE})")
                elif table == gen.COMPILED and cells[0] != f"`{family}`":
                    problems.append(f"{row}: {name} belongs to family {family} in opcodes.def ({REGENERATE})")
                elif table == gen.NOT_COMPILED and status != "NYI":
                    problems.append(f"{row}: {name} compiles (family {family} in opcodes.def; {REGENERATE})")
    for name, (status, family) in known.items():
        table = f"What compiles row `{family}`" if status == "YES" else "What does not compile"
        if not where.get(name, "").startswith(table):
            problems.append(f"{name} ({status} in opcodes.def) is missing from {table} ({REGENERATE})")
    return problems


def handler_problems(rows):
    """Rows whose STATUS disagrees with the handlers: YES needs handle_<NAME> in ops/<FAMILY>.cpp, NYI has none."""
    sources = {path.stem: path.read_text() for path in OPS.glob("*.cpp")}
    problems = []
    for name, _, status, family in rows:
        defined = re.compile(rf"^bool handle_{name}\(", re.M)
        if status == "YES" and not defined.search(sources.get(family, "")):
            problems.append(f"{name} is YES in family {family}, but ops/{family}.cpp does not define handle_{name}")
        if status == "NYI" and (family != "NYI" or any(defined.search(text) for text in sources.values())):
            problems.append(f"{name} is NYI, but has family {family} or a handle_{name}")
    return problems


@pytest.fixture(scope="module")
def def_text():
    return gen.DEF.read_text()


@pytest.fixture(scope="module")
def rows(def_text):
    return gen.parse_def(def_text)


@pytest.fixture(scope="module")
def doc():
    return gen.DOC.read_text()


def test_opcodes_def_lists_every_opcode_of_this_python(def_text):
    assert gen.render_def(def_text) == def_text, REGENERATE


def test_opcodes_def_status_matches_the_handlers(rows):
    assert not handler_problems(rows), "\n".join(handler_problems(rows))


def test_doc_tables_list_opcodes_def(rows, doc):
    problems = table_problems(rows, doc)
    assert not problems, "\n".join(problems)


def test_doc_is_what_the_generator_writes(rows, doc):
    # Same lists, also the same order and spelling: the generator's output is the doc, not an equivalent of it.
    assert gen.render_doc(doc, rows) == doc, REGENERATE


# -- the checks themselves, on opcodes.def and doc texts changed here ---------------------------------------------

def first(rows, status):
    return next(r for r in rows if r[2] == status and r[0] not in ("CACHE", "EXTENDED_ARG"))


def test_a_row_made_yes_fails_until_regenerated(rows, doc):
    name, num, _, _ = first(rows, "NYI")
    changed = [(name, num, "YES", "objects") if r[0] == name else r for r in rows]
    problems = table_problems(changed, doc)
    assert any(f"{name} compiles" in p for p in problems), problems
    assert any(f"{name} (YES in opcodes.def) is missing from What compiles row `objects`" in p for p in problems), problems
    regenerated = gen.render_doc(doc, changed)
    assert table_problems(changed, regenerated) == []
    assert f"`{name}`" in next(line for line in regenerated.splitlines() if line.startswith("| `objects` |"))


def test_a_row_made_nyi_fails_until_regenerated(rows, doc):
    name, num, _, family = first(rows, "YES")
    changed = [(name, num, "NYI", "NYI") if r[0] == name else r for r in rows]
    assert any(f"{name} is NYI in opcodes.def" in p for p in table_problems(changed, doc))
    regenerated = gen.render_doc(doc, changed)
    # An opcode no row of the doc holds lands in a TODO row, which the check reports until a person sorts it.
    assert table_problems(changed, regenerated) == [f"What does not compile row {gen.TODO}: the generator left a "
                                                    f"{gen.TODO} for a person to write"]


def test_an_opcode_listed_twice_or_unknown_fails(rows, doc):
    name = first(rows, "NYI")[0]
    twice = doc.replace("| `CACHE` `EXTENDED_ARG` |", f"| `CACHE` `EXTENDED_ARG` `{name}` `NOT_AN_OPCODE` |")
    problems = table_problems(rows, twice)
    assert any(f"{name} is listed twice" in p for p in problems), problems
    assert any("NOT_AN_OPCODE is not an opcode" in p for p in problems), problems
