"""Sphinx extension: draw the book's mind map (思维导图) from ``_toc.yml`` when the build starts.

The figure shows every chapter of the notes, every section under it, whether the section is already an
executable notebook or still a heading, and which ``cvlib`` modules its notebook imports. It is written
to ``book/_generated/mindmap.png`` and shown on the intro page.
"""

from __future__ import annotations

import pathlib
import re

import yaml

CJK = re.compile(r"\s*[（(][^()（）]*[\u4e00-\u9fff][^()（）]*[)）]|[\u4e00-\u9fff]+")
CVLIB_USE = re.compile(r"(?:from\s+cvlib(?:\.(\w+))?\s+import\s+([\w, ]+)|cvlib\.(\w+))")


def sections(root: pathlib.Path) -> list[tuple[str, list[tuple[str, str, bool, list[str]]]]]:
    """``[(chapter title, [(section file, section title, is notebook, cvlib modules)])]``."""
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    out = []
    for part in toc["parts"]:
        for chapter in part["chapters"]:
            entries = []
            for sec in chapter.get("sections", []):
                path = root / f"{sec['file']}.md"
                text = path.read_text(encoding="utf-8")
                title = next((l[2:].strip() for l in text.splitlines() if l.startswith("# ")), sec["file"])
                title = CJK.sub("", title).strip()  # the plotting font has no CJK glyphs
                notebook = text.startswith("---\njupytext:")
                modules: set[str] = set()
                if notebook:
                    for sub, names, attr in CVLIB_USE.findall(text):
                        if sub:
                            modules.add(sub)
                        elif names:
                            modules.update(n.strip() for n in names.split(",") if n.strip())
                        elif attr:
                            modules.add(attr)
                modules -= {"checks"}
                entries.append((sec["file"], title, notebook, sorted(modules)))
            if chapter.get("sections") is not None or part["caption"] != "Back matter":
                landing = (root / f"{chapter['file']}.md").read_text(encoding="utf-8").splitlines()[0]
                out.append((CJK.sub("", landing[2:]).split(":")[0].strip(), entries))
    return out


def draw(root: pathlib.Path, target: pathlib.Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    chapters = sections(root)
    rows = sum(max(len(s), 1) for _, s in chapters) + len(chapters)
    fig, ax = plt.subplots(figsize=(12, 0.22 * rows + 1))
    ax.set_axis_off()
    y = rows
    ax.text(0.0, rows / 2, "CV interview notes", ha="center", va="center", fontsize=11,
            bbox=dict(boxstyle="round", fc="#fde9c9", ec="#b07a12"))
    for caption, secs in chapters:
        n = max(len(secs), 1)
        top, bottom = y, y - n + 1
        mid = (top + bottom) / 2
        ax.plot([0.55, 1.0], [rows / 2, mid], color="#999999", lw=0.8)
        ax.text(1.05, mid, caption, ha="left", va="center", fontsize=10, fontweight="bold",
                bbox=dict(boxstyle="round", fc="#dfe9f7", ec="#3b6ea8"))
        for i, (_, title, notebook, modules) in enumerate(secs):
            yy = top - i
            ax.plot([3.35, 3.55], [mid, yy], color="#bbbbbb", lw=0.6)
            ax.text(3.6, yy, ("● " if notebook else "○ ") + title, ha="left", va="center", fontsize=8,
                    color="#111111" if notebook else "#888888")
            if modules:
                ax.text(6.3, yy, "cvlib: " + ", ".join(modules), ha="left", va="center", fontsize=7,
                        color="#2f6b2f", family="monospace")
        y -= n + 1
    ax.text(3.6, rows + 1, "● executable notebook    ○ still a heading in the notes", fontsize=8,
            color="#444444")
    ax.set_xlim(-0.8, 8.8)
    ax.set_ylim(-0.5, rows + 1.5)
    target.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(target, dpi=110, bbox_inches="tight")
    plt.close(fig)


def _on_builder_inited(app) -> None:
    root = pathlib.Path(app.srcdir)
    if (root / "_toc.yml").exists():  # not when a single page is built on its own
        draw(root, root / "book" / "_generated" / "mindmap.png")


def setup(app):
    app.connect("builder-inited", _on_builder_inited)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
