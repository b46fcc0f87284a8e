"""Write ``book/errata.md`` from the data files ``book/_errata/*.yml``.

Each data file belongs to one notebook and holds a list of entries::

    - section: 感受野计算                     # the notes' heading
      notebook: notebooks/05-details/receptive-field   # the page that establishes it
      notes: what the notes say
      correct: what is right
      how: how it was established (a computation in the notebook, or the paper's table/section)
      claims: [receptive-field/conv5-3-receptive-field]  # the ids of the claims it reports
      source: notes                           # optional: notes (the default), form or paper

An entry reports one or more claims of the book's claims tables (``cvlib.book.checks``) that differ: their
full ids ``<notebook stem>/<claim id>`` (``python tools/claims.py --differs`` lists them).
``tests/test_errata.py`` checks, from the executed notebooks, that every claim that differs has an entry
and that every claim an entry names exists and differs. ``source: paper`` marks a disagreement that is not
the notes': a paper, its released code or a library contradicting its own figures or the computation;
those entries form the page's last table, where the ``notes`` field holds what that source says.
``source: form`` marks a defect of the notes' form rather than of their content: a formula that does not
render as meant, a link that leads nowhere, text under the wrong heading; those form a table of their own,
each defect listed once.

``python tools/build_errata.py`` rewrites the page; ``--check`` only reports whether it is up to date.
"""

from __future__ import annotations

import pathlib
import re
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
DATA = ROOT / "book" / "_errata"
PAGE = ROOT / "book" / "errata.md"
FIELDS = ("section", "notebook", "notes", "correct", "how")
SOURCES = ("notes", "form", "paper")
CLAIM_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*/[a-z0-9]+(?:-[a-z0-9]+)*$")

HEAD = """# Errata

Every number and claim of the notes is checked by code in the notebook of its section, in a table of
claims that sets what the notes say beside what the code computes or the paper says. This page lists every
claim of those tables that turned out wrong or imprecise: what the notes say, what is right, and how that
was established, and the page that shows it: the section is the one of the notes the claim comes from,
the page the one whose computation establishes it (a ResNet claim about multiply-adds is shown on the FLOPs
page). Each notebook shows the same comparison beside its computation; the notes themselves are quoted as
they are, never silently corrected. The second table lists defects of the notes' form (formulas, links,
headings); the third the disagreements that are not the notes': where a paper, its released code or a
library disagrees with its own figures or with the computation.

Each row names the ids of the claims it reports (`page/claim`, the page's file name and the claim's id in
its table); a test reads the claims from the executed notebooks and fails when a claim that differs has no
row here or a row names a claim that does not exist or agrees.

"""


def _claims(path: pathlib.Path, n: int, item: dict, pages: set[str]) -> list[str]:
    claims = item.get("claims")
    if isinstance(claims, str):
        claims = [claims]
    if not claims or not isinstance(claims, list):
        raise ValueError(f"{path.name} entry {n}: no claims (the ids of the claims it reports)")
    for c in claims:
        if not isinstance(c, str) or not CLAIM_ID.match(c):
            raise ValueError(f"{path.name} entry {n}: claim {c!r} is not of the form page/claim-id")
        if c.split("/")[0] not in pages:
            raise ValueError(f"{path.name} entry {n}: claim {c!r} names no notebook")
    if len(set(claims)) != len(claims):
        raise ValueError(f"{path.name} entry {n}: a claim is named twice")
    return list(claims)


def load() -> list[dict]:
    entries: list[dict] = []
    pages = {p.stem for p in (ROOT / "notebooks").glob("*/*.md")}
    for path in sorted(DATA.glob("*.yml")):
        items = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        for n, item in enumerate(items):
            missing = [f for f in FIELDS if not str(item.get(f, "")).strip()]
            if missing:
                raise ValueError(f"{path.name} entry {n}: missing {', '.join(missing)}")
            if not (ROOT / f"{item['notebook']}.md").exists():
                raise ValueError(f"{path.name} entry {n}: no notebook {item['notebook']}.md")
            unknown = set(item) - set(FIELDS) - {"claims", "source"}
            if unknown:
                raise ValueError(f"{path.name} entry {n}: unknown fields {', '.join(sorted(unknown))}")
            source = item.get("source", "notes")
            if source not in SOURCES:
                raise ValueError(f"{path.name} entry {n}: source must be one of {SOURCES}, got {source!r}")
            entry = {k: " ".join(str(item[k]).split()) for k in FIELDS}
            entry["claims"] = _claims(path, n, item, pages)
            entry["source"] = source
            entry["file"] = path.name
            entries.append(entry)
    return entries


def render(entries: list[dict]) -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    def row(e: dict) -> str:
        page = f"{{doc}}`/{e['notebook']}`"  # the page's own title
        ids = ", ".join(f"`{c}`" for c in e["claims"])
        return (f"| {cell(e['section'])} | {cell(e['notes'])} | {cell(e['correct'])} | "
                f"{cell(e['how'])} Claims: {ids}. | {page} |")

    notes = [e for e in entries if e["source"] == "notes"]
    form = [e for e in entries if e["source"] == "form"]
    papers = [e for e in entries if e["source"] == "paper"]
    lines = [HEAD, f"{len(entries)} entries: {len(notes)} in what the notes say, {len(form)} in their form, "
             f"{len(papers)} in the papers and libraries.\n", "## The notes\n",
             "| Section of the notes | The notes say | What is right | How it was established | Shown on |",
             "|---|---|---|---|---|"]
    lines += [row(e) for e in notes]
    lines += ["", "## The notes' form\n",
              "Formulas that do not render as meant, links that lead nowhere, text under another heading than "
              "its own: each defect once.\n",
              "| Section of the notes | The notes have | What is meant | How it was established | Shown on |",
              "|---|---|---|---|---|"]
    lines += [row(e) for e in form]
    lines += ["", "## The papers, their code and the libraries\n",
              "The section is the notes' section whose page checks the source.\n",
              "| Section of the notes | The source says | What the book finds | How it was established | Shown on |",
              "|---|---|---|---|---|"]
    lines += [row(e) for e in papers]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    from build_glossary import write_or_check

    raise SystemExit(write_or_check(PAGE, render(load()), sys.argv[1:], "build_errata.py"))
