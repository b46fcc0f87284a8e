"""Side-by-side checks of the notes' claims against computed or cited ones.

A :class:`Checks` table collects rows *(claim, what the notes say, what the code computes, verdict)*:

- :meth:`Checks.add` sets a value the notes (or a paper, see ``source``) state beside a computed one. They
  agree when they are equal; numbers when ``math.isclose(notes, computed, rel_tol=rel_tol)``; tuples and
  lists element by element, with the same ``rel_tol``. A ``bool`` only ever agrees with a ``bool``:
  ``True`` against ``1`` is a disagreement, not an equality.
- :meth:`Checks.statement` records a claim that is not a number (a wrong reason, a misattribution, an
  over-claim): the notes' statement against what the paper says, the paper's section as its evidence,
  and the author's verdict.

Every claim has an id, by default :func:`slug` of its claim text (``"A vs A-LRN: +0.1 (top-1)"`` →
``a-vs-a-lrn-0-1-top-1``), or the ``id=`` given. The id is unique within a table (so is the claim text;
both raise ``ValueError``) and, as the errata test checks, within a page, whose file name makes the full id
``<notebook stem>/<id>`` (``vgg/a-vs-a-lrn-0-1-top-1``). ``checks[key]`` finds a row by claim text or id.

A table displays as text, as HTML and as JSON of MIME type :data:`MIME_TYPE` (see :meth:`Checks.to_json`),
so the claims of an executed notebook can be read from its ``.ipynb`` without running it
(``tools/claims.py``); the errata page names claims by their full ids. The JSON is deterministic: floats
are rounded to the six significant digits the table shows.
"""

from __future__ import annotations

import html
import math
import numbers
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from cvlib._validate import check_bool, check_real

__all__ = ["MIME_TYPE", "SCHEMA_VERSION", "Check", "Checks", "slug", "ClaimsMimeRenderer"]

MIME_TYPE = "application/vnd.cvlib.claims+json"
SCHEMA_VERSION = 1
ID_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_ADDRESS = re.compile(r"0x[0-9a-fA-F]+")
KINDS = ("computed", "statement")
MAX_ID_LENGTH = 48
# Words a shortened slug does not end on ("...-factor-on-the" → "...-factor").
_DANGLING = frozenset("a an the of on in at to for from by with as and or is are than per vs its their".split())


def slug(text: str, max_length: int = MAX_ID_LENGTH) -> str:
    """A claim's default id: lower-case ASCII words joined by ``-``, at most ``max_length`` characters.

    ``×`` becomes ``x`` (``3×3`` → ``3x3``), Greek letters are spelled out (``α`` → ``alpha``),
    apostrophes vanish (``paper's`` → ``papers``), every other run of characters that are not ASCII letters
    or digits (Chinese included) separates words. A longer slug is cut after its last whole word that fits,
    and then after its last word that is not an article, preposition or conjunction.
    """
    out = []
    for ch in unicodedata.normalize("NFKC", text):
        if ch in "'’‘":
            continue
        if ch == "×":
            out.append("x")
        elif ch.isascii():
            out.append(ch)
        elif unicodedata.name(ch, "").startswith("GREEK"):
            out.append(f" {unicodedata.name(ch).split()[-1].lower()} ")
        else:
            out.append(" ")
    s = re.sub(r"[^a-z0-9]+", "-", "".join(out).lower()).strip("-")
    if len(s) > max_length:
        cut = s[: max_length + 1]
        words = (cut[: cut.rfind("-")] if "-" in cut else s[:max_length]).split("-")
        while len(words) > 1 and words[-1] in _DANGLING:
            words.pop()
        s = "-".join(words)
    return s


def _plain(value: Any) -> Any:
    """NumPy scalars and 0-d tensors as Python scalars, arrays and tensors as (nested) lists."""
    if getattr(value, "shape", None) == () and hasattr(value, "item"):
        return value.item()
    if hasattr(value, "tolist") and hasattr(value, "shape"):
        return value.tolist()
    return value


def _agree(a: Any, b: Any, rel_tol: float) -> bool:
    a, b = _plain(a), _plain(b)
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    seq = (tuple, list)
    if isinstance(a, seq) or isinstance(b, seq):
        return (isinstance(a, seq) and isinstance(b, seq) and len(a) == len(b)
                and all(_agree(x, y, rel_tol) for x, y in zip(a, b)))
    if isinstance(a, numbers.Real) and isinstance(b, numbers.Real):
        return a == b or math.isclose(a, b, rel_tol=rel_tol, abs_tol=0.0)
    return bool(a == b)


def _fmt(value: Any) -> str:
    value = _plain(value)
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.6g}"
    if isinstance(value, (tuple, list)):
        return "×".join(_fmt(v) for v in value)
    return str(value)


def _json(value: Any) -> Any:
    """A JSON value for ``value``, deterministic to the six significant digits the table shows."""
    value = _plain(value)
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        x = float(value)
        return float(f"{x:.6g}") if math.isfinite(x) else str(x)
    if isinstance(value, (tuple, list)):
        return [_json(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((_json(v) for v in value), key=repr)
    return _ADDRESS.sub("0xADDRESS", str(value))  # as tests/sanitize.cfg does for the other outputs


@dataclass(frozen=True)
class Check:
    """One claim: what the notes (or the table's source) state, what the code computes or the paper says,
    and whether they agree.

    ``kind`` is ``"computed"`` for a value set against a computation and ``"statement"`` for a claim that is
    not a number; a statement carries its verdict in ``agrees`` and its evidence (the paper's section).
    """

    claim: str
    notes: Any
    computed: Any
    rel_tol: float = 0.0
    id: str = ""
    kind: str = "computed"
    evidence: str | None = None
    agrees: bool | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.claim, str) or not self.claim.strip():
            raise ValueError(f"claim must be a non-empty string, got {self.claim!r}")
        object.__setattr__(self, "rel_tol", check_real("rel_tol", self.rel_tol, minimum=0.0))
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")
        ident = self.id or slug(self.claim)
        if not ID_PATTERN.match(ident):
            raise ValueError(f"id must be lower-case ASCII words joined by '-' (e.g. 'a-vs-a-lrn'), got {ident!r}"
                             + ("" if self.id else f" from the claim {self.claim!r}: pass id=..."))
        object.__setattr__(self, "id", ident)
        if self.kind == "statement":
            object.__setattr__(self, "agrees", check_bool("agrees", self.agrees))
            if not isinstance(self.evidence, str) or not self.evidence.strip():
                raise ValueError(f"a statement needs its evidence (the paper and section), got {self.evidence!r}")
        elif self.agrees is not None:
            raise ValueError("agrees is the verdict of a statement; a computed claim's verdict is computed")

    @property
    def ok(self) -> bool:
        if self.kind == "statement":
            return bool(self.agrees)
        return _agree(self.notes, self.computed, self.rel_tol)

    @property
    def verdict(self) -> str:
        if self.ok:
            return "agrees" if self.rel_tol == 0 else f"agrees (±{100 * self.rel_tol:.2g}%)"
        return "DIFFERS"

    def other_text(self) -> str:
        """The right-hand side as the table shows it (a statement's cited text with its evidence)."""
        if self.kind == "statement":
            return f"{_fmt(self.computed)} ({self.evidence})"
        return _fmt(self.computed)

    def record(self) -> dict[str, Any]:
        """The row as JSON (the page-local id; readers prefix the notebook's stem)."""
        return {"id": self.id, "claim": self.claim, "kind": self.kind,
                "notes": _json(self.notes), "computed": _json(self.computed),
                "notes_text": _fmt(self.notes), "computed_text": _fmt(self.computed),
                "rel_tol": self.rel_tol, "agrees": self.ok, "verdict": self.verdict,
                "evidence": self.evidence}


@dataclass
class Checks:
    """A table of :class:`Check` rows."""

    title: str = "The notes' numbers, recomputed"
    rows: list[Check] = field(default_factory=list)
    source: str = "the notes say"  # header of the claimed-value column, e.g. "the paper says"

    def add(self, claim: str, notes: Any, computed: Any, rel_tol: float = 0.0, *, id: str | None = None,
            evidence: str | None = None) -> Check:
        """Set what the notes say beside what the code computes (``evidence``: optional, e.g. "Table 3")."""
        return self._append(Check(claim, notes, computed, rel_tol, id=id or "", evidence=evidence))

    def statement(self, claim: str, *, notes: str, paper: str, evidence: str, agrees: bool,
                  id: str | None = None) -> Check:
        """A claim that is not a number: the notes' statement against what the paper says.

        ``evidence`` names the source and section (``"Fast R-CNN §2.3"``); ``agrees`` is the verdict.
        """
        for name, text in (("notes", notes), ("paper", paper)):
            if not isinstance(text, str) or not text.strip():
                raise ValueError(f"{name} must be the statement as text, got {text!r}")
        return self._append(Check(claim, notes, paper, id=id or "", kind="statement", evidence=evidence,
                                  agrees=agrees))

    def _append(self, row: Check) -> Check:
        for other in self.rows:
            if other.claim == row.claim:
                raise ValueError(f"duplicate claim {row.claim!r} in {self.title!r}")
            if other.id == row.id:
                raise ValueError(f"claims {other.claim!r} and {row.claim!r} have the same id {row.id!r}: "
                                 "give one of them id=...")
        self.rows.append(row)
        return row

    def __getitem__(self, key: str) -> Check:
        for row in self.rows:
            if row.claim == key or row.id == key:
                return row
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        return any(row.claim == key or row.id == key for row in self.rows)

    def __iter__(self):
        return iter(self.rows)

    def disagreements(self) -> list[Check]:
        return [r for r in self.rows if not r.ok]

    def _header(self) -> tuple[str, str, str, str]:
        other = "computed or cited" if any(r.kind == "statement" for r in self.rows) else "computed"
        return ("claim", self.source, other, "verdict")

    def __str__(self) -> str:
        table = [self._header()]
        table += [(r.claim, _fmt(r.notes), r.other_text(), r.verdict) for r in self.rows]
        widths = [max(len(row[i]) for row in table) for i in range(4)]
        lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in table]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        body = []
        for r in self.rows:
            style = "" if r.ok else ' style="color:#b00020;font-weight:bold"'
            if r.kind == "statement":
                wrap = ' style="white-space:normal;min-width:14em"'
                other = (f"{html.escape(_fmt(r.computed))}"
                         f' <span class="cvlib-evidence">({html.escape(r.evidence or "")})</span>')
            else:
                wrap, other = "", html.escape(_fmt(r.computed))
            body.append(f'<tr id="claim-{r.id}"><td>{html.escape(r.claim)}</td>'
                        f"<td{wrap}>{html.escape(_fmt(r.notes))}</td>"
                        f"<td{wrap}>{other}</td><td{style}>{r.verdict}</td></tr>")
        head = "".join(f"<th>{html.escape(h)}</th>" for h in self._header())
        return ('<div class="cvlib-checks" style="overflow-x:auto"><table>'
                f"<thead><tr>{head}</tr></thead>"
                f"<tbody>{''.join(body)}</tbody></table></div>")

    def to_json(self) -> dict[str, Any]:
        """The table as the JSON of :data:`MIME_TYPE`: schema version, title, source and every claim."""
        return {"version": SCHEMA_VERSION, "title": self.title, "source": self.source,
                "claims": [r.record() for r in self.rows]}

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, Any]:
        return {"text/plain": str(self), "text/html": self._repr_html_(), MIME_TYPE: self.to_json()}


class ClaimsMimeRenderer:
    """A myst-nb mime renderer plugin (entry point group ``myst_nb.mime_renderers``) for :data:`MIME_TYPE`.

    myst-nb renders every MIME type of an output before it picks one, and warns about a type it does not
    know, which fails a strict (``-W``) build. This plugin renders the claims JSON as nothing; the HTML of the
    same output is what the page shows. The priority ``None`` keeps the type out of every builder's choice.
    """

    mime_priority_overrides = [("*", MIME_TYPE, None)]

    @staticmethod
    def handle_mime(renderer: Any, data: Any, inline: bool) -> list | None:
        return [] if getattr(data, "mime_type", None) == MIME_TYPE else None
