"""Write ``book/errata.md`` from the data files ``book/_errata/*.yml``.

Each data file belongs to one notebook and holds a list of entries::

    - section: 感受野计算                     # the notes' heading
      notebook: notebooks/05-details/receptive-field
      notes: what the notes say
      correct: what is right
      how: how it was established (a computation in the notebook, or the paper's table/section)

``python tools/build_errata.py`` rewrites the page; ``--check`` only reports whether it is up to date.
"""

from __future__ import annotations

import pathlib
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
DATA = ROOT / "book" / "_errata"
PAGE = ROOT / "book" / "errata.md"
FIELDS = ("section", "notebook", "notes", "correct", "how")

HEAD = """# Errata

Every number and claim of the notes is checked by code in the notebook of its section. This page lists
the ones that turned out wrong or imprecise: what the notes say, what is right, and how that was
established. Each notebook shows the same comparison beside its computation; the notes themselves are
quoted as they are, never silently corrected.

"""


def load() -> list[dict[str, str]]:
    entries: list[dict[str, str]] = []
    for path in sorted(DATA.glob("*.yml")):
        items = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        for n, item in enumerate(items):
            missing = [f for f in FIELDS if not str(item.get(f, "")).strip()]
            if missing:
                raise ValueError(f"{path.name} entry {n}: missing {', '.join(missing)}")
            if not (ROOT / f"{item['notebook']}.md").exists():
                raise ValueError(f"{path.name} entry {n}: no notebook {item['notebook']}.md")
            entries.append({k: " ".join(str(item[k]).split()) for k in FIELDS})
    return entries


def render(entries: list[dict[str, str]]) -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    lines = [HEAD, f"{len(entries)} entries.\n", "",
             "| Section | The notes say | What is right | How it was established |",
             "|---|---|---|---|"]
    for e in entries:
        link = f"{{doc}}`{e['section']} </{e['notebook']}>`"
        lines.append(f"| {link} | {cell(e['notes'])} | {cell(e['correct'])} | {cell(e['how'])} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    from build_glossary import write_or_check

    raise SystemExit(write_or_check(PAGE, render(load()), sys.argv[1:], "build_errata.py"))
