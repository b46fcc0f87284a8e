"""The errata page and the notebooks' claims tables come from one source.

The claims are read from the executed notebooks (``tools/claims.py``: the claims JSON of every displayed
``Checks`` table, or the table's HTML in an output executed before the JSON existed); nothing is executed.
The test fails when

- a claim that differs has no errata entry, or an entry names a claim that does not exist or agrees;
- a claim id occurs twice on one page (ids are unique per page, so ``page/id`` names one claim);
- a page's prose says that all of the notes' claims agree (or that it has no erratum) while the page holds
  a disagreement, or the paragraph right after a table says "all agree" while that table holds one.
"""

from __future__ import annotations

import collections
import json
import pathlib
import re
import sys

import jupytext
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import build_errata  # noqa: E402
import claims as claims_tool  # noqa: E402

from cvlib.book.checks import MIME_TYPE, Checks  # noqa: E402

TABLES = claims_tool.all_tables(ROOT)
CLAIMS = claims_tool.all_claims(ROOT)
ENTRIES = build_errata.load()
PAGES = {p.stem: p for p in sorted((ROOT / "notebooks").glob("*/*.md"))
         if p.read_text(encoding="utf-8").startswith("---\njupytext:")}


def entry_name(e: dict) -> str:
    return f"{e['file']}: {e['notes'][:70]}"


# --- the claims themselves ---------------------------------------------------------------------------------

def test_page_names_are_unique():
    stems = [p.stem for p in (ROOT / "notebooks").glob("*/*.md")]
    assert len(stems) == len(set(stems)), "a claim's page prefix is the notebook's file name; make them unique"


def test_every_page_with_a_checks_table_has_claims_in_its_notebook():
    missing = [stem for stem, md in PAGES.items()
               if "Checks(" in md.read_text(encoding="utf-8") and not TABLES.get(stem)]
    assert not missing, f"no claims table in the executed notebooks of {missing}: re-execute them"


@pytest.mark.parametrize("page", sorted(TABLES))
def test_claim_ids_are_unique_within_a_page(page):
    counts = collections.Counter(c.local_id for t in TABLES[page] for c in t.claims)
    twice = sorted(i for i, n in counts.items() if n > 1)
    assert not twice, f"{page}: ids used twice (give one of the claims id=..., or display a table once): {twice}"


# --- errata against claims ---------------------------------------------------------------------------------

def test_every_disagreement_has_an_erratum():
    named = {c for e in ENTRIES for c in e["claims"]}
    missing = [f"{c.id}  ({c.claim}: {c.notes} vs {c.other})" for c in CLAIMS.values()
               if not c.agrees and c.id not in named]
    assert not missing, "claims that differ and have no entry in book/_errata:\n" + "\n".join(missing)


def test_errata_name_claims_that_exist_and_differ():
    problems = []
    for e in ENTRIES:
        for cid in e["claims"]:
            c = CLAIMS.get(cid)
            if c is None:
                problems.append(f"{entry_name(e)}: no claim {cid}")
            elif c.agrees:
                problems.append(f"{entry_name(e)}: {cid} agrees ({c.verdict})")
    assert not problems, "\n".join(problems)


def test_a_claim_is_reported_by_one_entry():
    seen = collections.Counter(c for e in ENTRIES for c in e["claims"])
    assert not [c for c, n in seen.items() if n > 1]


def test_an_entry_names_a_claim_of_the_page_that_establishes_it():
    wrong = [entry_name(e) for e in ENTRIES
             if not any(c.split("/")[0] == pathlib.Path(e["notebook"]).name for c in e["claims"])]
    assert not wrong, f"entries whose notebook holds none of their claims: {wrong}"


def test_a_page_with_a_disagreement_links_to_the_errata():
    silent = [page for page, tables in TABLES.items() if page in PAGES
              and any(t.disagreements() for t in tables)
              and "/book/errata" not in PAGES[page].read_text(encoding="utf-8")]
    assert not silent, f"pages holding a claim that differs, without a link to the errata: {silent}"


def test_the_errata_source_matches_the_tables():
    """``source: notes`` and ``source: form`` report claims of the notes' tables, ``source: paper`` those of
    the others."""
    wrong = []
    for e in ENTRIES:
        found = [CLAIMS[c] for c in e["claims"] if c in CLAIMS]
        if not found:
            continue
        if e["source"] in ("notes", "form") and not any(c.of_the_notes for c in found):
            wrong.append(f"{entry_name(e)}: source {e['source']}, but its claims are {[c.source for c in found]}")
        if e["source"] == "paper" and any(c.of_the_notes for c in found):
            wrong.append(f"{entry_name(e)}: source paper, but it names claims of the notes")
    assert not wrong, "\n".join(wrong)


# --- prose against claims ----------------------------------------------------------------------------------

# A sentence saying that everything the notes claim agrees, or that the page has no erratum.
NOTES_ALL_AGREE = [
    r"\bevery (number|statement|claim|figure|value)s?\b[^.;:]*?\bnotes\b[^.;:]*?\b(agrees|is right|holds|is correct)\b",
    r"\beverything the notes (say|state|claim)\b[^.;:]*?\b(agrees|is right|holds)\b",
    r"\ball (of )?the notes'? (numbers|statements|claims|figures)\b[^.;:]*?\b(agree|are right|hold|are correct)\b",
    r"\bthe notes'? (numbers|statements|claims) all (agree|hold)\b",
    r"\bno (number|statement|claim|figure)\b[^.;:]*?\bnotes\b[^.;:]*?\b(disagrees|differs|is wrong)\b",
    r"\bno disagreements?\b",
    r"\bevery (number|statement|claim|figure|value)s? (on|of|in) (this|the) page\b[^.;:]*?\b(agrees|is right|holds)\b",
]
NO_ERRATUM = [
    r"\b(this|the) page (has|holds|needs) no errat(um|a)\b",
    r"\b(adds|add) nothing to the\b[^.;]*?\berrata\b",
    r"\bnothing for the errata\b",
    r"\b(there is|there are) no errat(um|a)\b",
]
# The first sentence after a table: "All agree.", "All six agree", "Every row agrees", "All of them agree".
TABLE_ALL_AGREE = re.compile(r"^(all|every (row|line|claim|statement|one|check|size))\b[^.;:]*?\bagrees?\b",
                             re.I)
QUALIFIED = re.compile(r"\b(except|apart from|but|other than|save for|all but)\b", re.I)
CODE = re.compile(r"```.*?```|:::.*?:::", re.S)


def sentences(markdown: str) -> list[str]:
    """The sentences of a markdown cell's prose: fenced code and dropdown blocks left out."""
    out = []
    for para in CODE.sub("\n\n", markdown).split("\n\n"):
        text = " ".join(para.split())
        out += [s for s in re.split(r"(?<=[.!?])\s+(?=[A-Z*(\"“{`$])", text) if s]
    return out


def says_all_agree(sentence: str) -> str | None:
    """``"notes"`` if the sentence says every claim of the notes agrees, ``"page"`` if it says the page has no
    erratum, ``None`` otherwise (or if the sentence itself makes an exception)."""
    if QUALIFIED.search(sentence):
        return None
    if any(re.search(p, sentence, re.I) for p in NO_ERRATUM):
        return "page"
    if any(re.search(p, sentence, re.I) for p in NOTES_ALL_AGREE):
        return "notes"
    return None


def table_says_all_agree(markdown: str) -> bool:
    first = sentences(markdown)[:1]
    return bool(first) and bool(TABLE_ALL_AGREE.match(first[0])) and not QUALIFIED.search(first[0])


@pytest.mark.parametrize("sentence, scope", [
    ("Every number of the notes agrees.", "notes"),
    ("Every number of the notes agrees: the connection count, 4k and the filters.", "notes"),
    ("Every statement the notes make agrees, so this page has no erratum.", "page"),
    ("Everything the notes say here agrees.", "notes"),
    ("All the notes' claims are right.", "notes"),
    ("No number in the notes touched by this page disagrees with the code, so this page adds nothing to the "
     "{doc}`errata </book/errata>`.", "page"),
    ("There is no disagreement.", "notes"),
    ("Every number of the notes agrees except one.", None),
    ("The notes' numbers agree, but two of their claims do not.", None),
    ("Every count of the worked example agrees, and so does the general ratio.", None),
    ("Every number of the example agrees.", None),
    ("Every claim on this page agrees.", "notes"),
    ("All six agree.", None),
])
def test_says_all_agree(sentence, scope):
    assert says_all_agree(sentence) == scope


def test_table_says_all_agree():
    assert table_says_all_agree("All agree. Two remarks on the wording.")
    assert table_says_all_agree("All fourteen agree. Three remarks.")
    assert table_says_all_agree("Every row agrees, and the sums too.")
    assert not table_says_all_agree("Every row agrees except the first.")
    assert not table_says_all_agree("Two rows disagree; both are in the errata.")
    assert not table_says_all_agree("The notes agree. The AlexNet paper lists the neurons.")


def prose_problems(page: str) -> list[str]:
    md = PAGES[page]
    nb = jupytext.read(md)
    tables = TABLES.get(page, [])
    notes_differ = [c.id for t in tables for c in t.claims if not c.agrees and c.of_the_notes]
    any_differ = [c.id for t in tables for c in t.claims if not c.agrees]
    problems = []
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for s in sentences(cell.source):
            scope = says_all_agree(s)
            if scope == "notes" and notes_differ:
                problems.append(f"says the notes all agree, but {notes_differ} differ: {s!r}")
            if scope == "page" and any_differ:
                problems.append(f"says the page has no erratum, but {any_differ} differ: {s!r}")
    # The paragraph right after a table: the k-th code cell of the .md is the k-th of the .ipynb.
    if not md.with_suffix(".ipynb").exists():
        return problems
    ipynb = json.loads(md.with_suffix(".ipynb").read_text(encoding="utf-8"))["cells"]
    code_ordinal = {i: n for n, i in enumerate(i for i, c in enumerate(ipynb) if c["cell_type"] == "code")}
    md_code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    if len(md_code) == len(code_ordinal):
        for t in tables:
            k = md_code[code_ordinal[t.cell]]
            after = nb.cells[k + 1] if k + 1 < len(nb.cells) else None
            if after is not None and after.cell_type == "markdown" and table_says_all_agree(after.source):
                if t.disagreements():
                    problems.append(f"the text after the table of cell {t.cell} says all agree, but "
                                    f"{[c.id for c in t.disagreements()]} differ")
    return problems


@pytest.mark.parametrize("page", sorted(PAGES))
def test_prose_does_not_say_all_agree_when_a_claim_differs(page):
    problems = prose_problems(page)
    assert not problems, f"{page}:\n" + "\n".join(problems)


# --- tools/claims.py ---------------------------------------------------------------------------------------

def test_claims_are_read_from_the_json_output_only(tmp_path):
    c = Checks("t", source="the paper says")
    c.add("A vs A-LRN: +0.1", 0.1, -0.1)
    c.statement("reason", notes="n", paper="p", evidence="§3.3", agrees=True, id="why")
    bundle = c._repr_mimebundle_()
    html_only = {k: v for k, v in bundle.items() if k != MIME_TYPE}
    nb = {"cells": [{"cell_type": "markdown", "source": "x"},
                    {"cell_type": "code", "outputs": [{"output_type": "execute_result", "data": bundle}]},
                    {"cell_type": "code", "outputs": [{"output_type": "display_data", "data": html_only}]}],
          "nbformat": 4, "nbformat_minor": 5, "metadata": {}}
    path = tmp_path / "page.ipynb"
    path.write_text(json.dumps(nb), encoding="utf-8")
    (table,) = claims_tool.read_tables(path)
    assert table.cell == 1 and table.title == "t"
    assert [x.id for x in table.claims] == ["page/a-vs-a-lrn-0-1", "page/why"]
    first = table.claims[0]
    assert table.source == "the paper says" and not first.agrees and first.verdict == "DIFFERS"
    assert (first.notes, first.other) == ("0.1", "-0.1") and not first.of_the_notes
    assert table.claims[1].kind == "statement" and table.claims[1].evidence == "§3.3"
