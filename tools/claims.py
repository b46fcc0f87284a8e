"""Read the claims tables of executed notebooks, without executing anything.

Every :class:`cvlib.book.checks.Checks` table a notebook displays is stored in its ``.ipynb`` as an output
of MIME type ``application/vnd.cvlib.claims+json``; :func:`read_tables` reads those (a table shown only
as HTML is not read: re-execute its notebook).

A claim's full id is ``<notebook stem>/<id>``, e.g. ``vgg/a-vs-a-lrn-accuracy-0-1-top-1``.

    python tools/claims.py                 every claim of every notebook, with its verdict
    python tools/claims.py --differs       only the claims that differ
    python tools/claims.py vgg rcnn        the claims of some pages
"""

from __future__ import annotations

import json
import pathlib
import sys
from dataclasses import dataclass, field

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cvlib.book.checks import MIME_TYPE  # noqa: E402

NOTES_SOURCE = "the notes say"  # the default source column: a table of the notes' own claims


@dataclass(frozen=True)
class Claim:
    """One row of a claims table, as stored in the notebook."""

    id: str  # full id, page/local
    claim: str
    kind: str  # "computed" or "statement"
    notes: str  # the claimed value as the table shows it
    other: str  # the computed value, or for a statement what the paper says
    agrees: bool
    verdict: str
    evidence: str | None
    source: str  # the table's source column: "the notes say", "the paper says", ...

    @property
    def page(self) -> str:
        return self.id.split("/", 1)[0]

    @property
    def local_id(self) -> str:
        return self.id.split("/", 1)[1]

    @property
    def of_the_notes(self) -> bool:
        return self.source == NOTES_SOURCE


@dataclass
class Table:
    """A claims table: the notebook, the index of its cell, and its claims."""

    notebook: pathlib.Path
    cell: int
    title: str | None
    source: str
    claims: list[Claim] = field(default_factory=list)

    @property
    def page(self) -> str:
        return self.notebook.stem

    def disagreements(self) -> list[Claim]:
        return [c for c in self.claims if not c.agrees]


def _from_json(page: str, data: dict) -> tuple[str | None, str, list[Claim]]:
    source = data.get("source", NOTES_SOURCE)
    claims = [Claim(id=f"{page}/{r['id']}", claim=r["claim"], kind=r.get("kind", "computed"),
                    notes=r.get("notes_text", str(r.get("notes"))),
                    other=r.get("computed_text", str(r.get("computed"))),
                    agrees=bool(r["agrees"]), verdict=r["verdict"], evidence=r.get("evidence"), source=source)
              for r in data.get("claims", [])]
    return data.get("title"), source, claims


def read_tables(ipynb: pathlib.Path) -> list[Table]:
    """Every claims table in the outputs of ``ipynb``, in the order of the cells."""
    ipynb = pathlib.Path(ipynb)
    nb = json.loads(ipynb.read_text(encoding="utf-8"))
    page = ipynb.stem
    tables: list[Table] = []
    for index, cell in enumerate(nb.get("cells", [])):
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if MIME_TYPE in data:
                payload = data[MIME_TYPE]
                if isinstance(payload, str):
                    payload = json.loads(payload)
                title, source, claims = _from_json(page, payload)
                tables.append(Table(ipynb, index, title, source, claims))
    return tables


def read_claims(ipynb: pathlib.Path) -> list[Claim]:
    """Every claim of the notebook ``ipynb``, in table order."""
    return [c for t in read_tables(ipynb) for c in t.claims]


def notebooks(root: pathlib.Path = ROOT) -> list[pathlib.Path]:
    """The executed notebooks of the book, ``notebooks/<chapter>/<page>.ipynb``."""
    return sorted((root / "notebooks").glob("*/*.ipynb"))


def all_tables(root: pathlib.Path = ROOT) -> dict[str, list[Table]]:
    """The claims tables of every notebook, by page (the notebook's stem)."""
    return {nb.stem: read_tables(nb) for nb in notebooks(root)}


def all_claims(root: pathlib.Path = ROOT) -> dict[str, Claim]:
    """Every claim of the book by full id (a page's duplicate ids: the first; the errata test reports them)."""
    out: dict[str, Claim] = {}
    for tables in all_tables(root).values():
        for t in tables:
            for c in t.claims:
                out.setdefault(c.id, c)
    return out


def main(argv: list[str]) -> int:
    differs = "--differs" in argv
    pages = [a for a in argv if not a.startswith("--")]
    for page, tables in all_tables().items():
        if pages and page not in pages:
            continue
        for t in tables:
            for c in t.claims:
                if differs and c.agrees:
                    continue
                print(f"{c.id:<60} {c.verdict:<14} [{t.source}] {c.claim} | {c.notes} | {c.other}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
