"""The generated pages (errata, glossary) are current, and the glossary covers every Chinese term."""

import pathlib
import re
import subprocess
import sys

import jupytext
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import build_errata  # noqa: E402
import build_glossary  # noqa: E402

# "English term (中文)": a parenthesis holding one Chinese term (CJK, possibly with digits, × or Latin).
TERM = re.compile(r"[(（]([0-9A-Za-z×/·\-]*[\u4e00-\u9fff][\u4e00-\u9fff0-9A-Za-z×/·\-]*)[)）]")


@pytest.mark.parametrize("tool", ["build_errata.py", "build_glossary.py"])
def test_generated_page_is_current(tool):
    result = subprocess.run([sys.executable, f"tools/{tool}", "--check"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_errata_entries_point_at_notebooks_that_link_back():
    for entry in build_errata.load():
        text = (ROOT / f"{entry['notebook']}.md").read_text(encoding="utf-8")
        assert "/book/errata" in text, f"{entry['notebook']} does not link to the errata page"


def introduced_terms() -> dict[str, str]:
    """Chinese terms introduced in the prose of the notebooks, with the page that introduces them."""
    terms: dict[str, str] = {}
    for md in sorted((ROOT / "notebooks").rglob("*.md")):
        if not md.read_text(encoding="utf-8").startswith("---\njupytext:"):
            continue
        for cell in jupytext.read(md).cells:
            if cell.cell_type == "markdown":
                for term in TERM.findall(cell.source):
                    terms.setdefault(term, str(md.relative_to(ROOT)))
    return terms


def test_term_pattern():
    assert TERM.findall("the receptive field (感受野) and 1×1 convolution (1×1卷积), not (x, y)") == [
        "感受野", "1×1卷积"]


def test_glossary_has_every_chinese_term():
    known = {e["zh"] for e in build_glossary.load()}
    missing = {t: page for t, page in introduced_terms().items() if t not in known}
    assert not missing, f"add to book/glossary.yml: {missing}"
