"""Write ``book/glossary.md`` (术语表) from the single data file ``book/glossary.yml``.

Each entry::

    - en: receptive field
      zh: 感受野
      definition: one line
      notebook: notebooks/05-details/receptive-field     # the page that teaches it

Both the English and the Chinese term become Sphinx glossary terms, so any page can link either with
``{term}`receptive field``` or ``{term}`感受野```. ``--check`` only reports whether the page is current.
"""

from __future__ import annotations

import pathlib
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
DATA = ROOT / "book" / "glossary.yml"
PAGE = ROOT / "book" / "glossary.md"
FIELDS = ("en", "zh", "definition", "notebook")

HEAD = """# Glossary (术语表)

The terms the notebooks introduce, in English and in the notes' Chinese, with a one-line definition and
the page that teaches each. Search the book with either language.

"""


def load() -> list[dict[str, str]]:
    entries = yaml.safe_load(DATA.read_text(encoding="utf-8")) or []
    seen: set[str] = set()
    for n, e in enumerate(entries):
        missing = [f for f in FIELDS if not str(e.get(f, "")).strip()]
        if missing:
            raise ValueError(f"glossary entry {n} ({e.get('en')}): missing {', '.join(missing)}")
        if not (ROOT / f"{e['notebook']}.md").exists():
            raise ValueError(f"glossary entry {e['en']}: no page {e['notebook']}.md")
        for term in (e["en"], e["zh"]):
            if term.lower() in seen:
                raise ValueError(f"glossary term {term!r} appears twice")
            seen.add(term.lower())
    return sorted(entries, key=lambda e: e["en"].lower())


def render(entries: list[dict[str, str]]) -> str:
    body = [HEAD, "```{glossary}"]
    for e in entries:
        body += [e["en"], e["zh"], f"  {' '.join(e['definition'].split())} Taught in {{doc}}`/{e['notebook']}`.", ""]
    body.append("```")
    return "\n".join(body) + "\n"


def write_or_check(page: pathlib.Path, text: str, argv: list[str], tool: str) -> int:
    """Write ``text`` to ``page``, or with ``--check`` report (exit 1) whether it differs."""
    if "--check" in argv:
        if not page.exists() or page.read_text(encoding="utf-8") != text:
            print(f"{page.relative_to(ROOT)} is out of date: run `python tools/{tool}`")
            return 1
        return 0
    page.write_text(text, encoding="utf-8")
    print(f"wrote {page.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(write_or_check(PAGE, render(load()), sys.argv[1:], "build_glossary.py"))
