"""Side-by-side checks of the notes' numbers against computed ones.

A :class:`Checks` table collects rows *(claim, the notes' value, the computed value, verdict)*. Values
agree when they are equal, or, for numbers, when ``|notes − computed| <= rel_tol · |computed|``. The
table prints as text and renders as HTML in a notebook; :meth:`Checks.disagreements` lists the rows that
go to the errata.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Check", "Checks"]


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.6g}"
    if isinstance(value, (tuple, list)):
        return "×".join(_fmt(v) for v in value)
    return str(value)


@dataclass(frozen=True)
class Check:
    """One claim: what the notes state, what the code computes, and whether they agree."""

    claim: str
    notes: Any
    computed: Any
    rel_tol: float = 0.0

    @property
    def ok(self) -> bool:
        a, b = self.notes, self.computed
        if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
            return math.isclose(a, b, rel_tol=self.rel_tol, abs_tol=0.0) or a == b
        return a == b

    @property
    def verdict(self) -> str:
        if self.ok:
            return "agrees" if self.rel_tol == 0 else f"agrees (±{self.rel_tol:.0%})"
        return "DIFFERS"


@dataclass
class Checks:
    """A table of :class:`Check` rows."""

    title: str = "The notes' numbers, recomputed"
    rows: list[Check] = field(default_factory=list)
    source: str = "the notes say"  # header of the claimed-value column, e.g. "the paper says"

    def add(self, claim: str, notes: Any, computed: Any, rel_tol: float = 0.0) -> Check:
        if rel_tol < 0:
            raise ValueError(f"rel_tol must be >= 0, got {rel_tol}")
        row = Check(claim, notes, computed, rel_tol)
        self.rows.append(row)
        return row

    def __getitem__(self, claim: str) -> Check:
        for row in self.rows:
            if row.claim == claim:
                return row
        raise KeyError(claim)

    def disagreements(self) -> list[Check]:
        return [r for r in self.rows if not r.ok]

    def __str__(self) -> str:
        table = [("claim", self.source, "computed", "verdict")]
        table += [(r.claim, _fmt(r.notes), _fmt(r.computed), r.verdict) for r in self.rows]
        widths = [max(len(row[i]) for row in table) for i in range(4)]
        lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in table]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        body = []
        for r in self.rows:
            style = "" if r.ok else ' style="color:#b00020;font-weight:bold"'
            body.append(f"<tr><td>{html.escape(r.claim)}</td><td>{html.escape(_fmt(r.notes))}</td>"
                        f"<td>{html.escape(_fmt(r.computed))}</td><td{style}>{r.verdict}</td></tr>")
        return ('<div class="cvlib-checks" style="overflow-x:auto"><table>'
                f"<thead><tr><th>claim</th><th>{html.escape(self.source)}</th><th>computed</th><th>verdict</th></tr></thead>"
                f"<tbody>{''.join(body)}</tbody></table></div>")
