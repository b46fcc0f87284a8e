"""The notebook pairs and the table of contents: each ``.md`` source has an executed ``.ipynb`` twin
with the same cells, every page is in ``_toc.yml``, and ``_toc.yml`` names only files that exist."""

from __future__ import annotations

import pathlib
import re

import jupytext
import nbformat
import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]


def is_jupytext(md: pathlib.Path) -> bool:
    return md.read_text(encoding="utf-8").startswith("---\njupytext:")


PAGES = sorted((ROOT / "notebooks").rglob("*.md"))
NOTEBOOKS = [p for p in PAGES if is_jupytext(p)]


def toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    files = [toc["root"]]

    def walk(entries):
        for e in entries:
            if "file" in e:
                files.append(e["file"])
            walk(e.get("sections", []))
            walk(e.get("chapters", []))

    walk(toc.get("parts", []))
    walk(toc.get("chapters", []))
    return files


def cells(nb) -> list[tuple[str, str, tuple[str, ...]]]:
    return [(c.cell_type, c.source.strip(), tuple(c.metadata.get("tags", []))) for c in nb.cells]


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 7


@pytest.mark.parametrize("md", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_pair_in_sync(md):
    ipynb = md.with_suffix(".ipynb")
    assert ipynb.exists(), f"{ipynb.name} is missing: run `make sync NB={md.relative_to(ROOT)}`"
    source = jupytext.read(md)
    paired = nbformat.read(ipynb, as_version=4)
    assert cells(source) == cells(paired), (
        f"{md.name} and {ipynb.name} differ: run `make sync NB={md.relative_to(ROOT)}`")
    code = [c for c in paired.cells if c.cell_type == "code"]
    assert code and all(c.get("execution_count") for c in code), f"{ipynb.name} is not fully executed"
    assert any(c.outputs for c in code), f"{ipynb.name} holds no outputs"


RHYTHM = ["The idea", "The code", "Check against the notes and the paper", "Interview questions", "References"]


@pytest.mark.parametrize("md", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_notebook_rhythm(md):
    """Title, summary, then idea → code → check → interview questions (answers hidden) → references."""
    text = md.read_text(encoding="utf-8")
    body = text.split("\n---\n", 1)[1].lstrip()
    assert body.startswith("# "), "the page starts with its title"
    assert "**What you will be able to answer:**" in body.split("\n## ", 1)[0], "summary paragraph at the top"
    headings = re.findall(r"^## (.+)$", text, flags=re.M)
    assert [h for h in headings if h in RHYTHM] == RHYTHM, headings
    assert headings[-1] == "References", headings
    questions = text.split("## Interview questions", 1)[1]
    assert questions.count(":::{dropdown}") >= 3, "answers go in {dropdown} blocks, at least three"
    assert "{footbibliography}" in text.split("## References", 1)[1], "end with a {footbibliography}"
    assert "{cite" not in text and "{bibliography}" not in text, "cite with {footcite}: {cite} collides across pages"


def test_every_page_is_in_the_toc():
    listed = set(toc_files())
    missing = [str(p.relative_to(ROOT).with_suffix("")) for p in PAGES
               if str(p.relative_to(ROOT).with_suffix("")) not in listed]
    assert not missing, f"not in _toc.yml: {missing}"


def test_toc_names_existing_files():
    absent = [f for f in toc_files() if not (ROOT / f"{f}.md").exists()]
    assert not absent, f"_toc.yml names missing files: {absent}"


def test_no_orphan_ipynb():
    orphans = [p for p in (ROOT / "notebooks").rglob("*.ipynb") if not p.with_suffix(".md").exists()]
    assert not orphans
