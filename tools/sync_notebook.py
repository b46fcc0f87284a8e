"""Pair and execute notebooks: ``notebooks/**/NAME.md`` (Jupytext MyST, the source) → ``NAME.ipynb``.

    python tools/sync_notebook.py notebooks/05-details/receptive-field.md [more.md ...]
    python tools/sync_notebook.py all

For each notebook: read the ``.md``, execute it top to bottom in a fresh kernel (working directory: the
notebook's folder, as for nbval and the book), and write the ``.ipynb`` with its outputs. The cells of
the pair are then identical, which ``tests/test_notebooks.py`` checks.

The kernel runs with ``OMP_NUM_THREADS=1``, as nbval does in ``make test``: with one thread, PyTorch's
floating-point reductions are summed in the same order every time, so the outputs nbval compares are
reproduced to the last digit.
"""

from __future__ import annotations

import os
import pathlib
import sys
import time

import jupytext
import nbformat
from nbclient import NotebookClient

ROOT = pathlib.Path(__file__).resolve().parents[1]


def is_jupytext(md: pathlib.Path) -> bool:
    return md.read_text(encoding="utf-8").startswith("---\njupytext:")


def notebook_sources() -> list[pathlib.Path]:
    return sorted(p for p in (ROOT / "notebooks").rglob("*.md") if is_jupytext(p))


def sync(md: pathlib.Path, timeout: int = 600) -> float:
    nb = jupytext.read(md)
    nb.metadata.setdefault("kernelspec", {"display_name": "Python 3", "language": "python", "name": "python3"})
    start = time.perf_counter()
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(md.parent)}}).execute()
    elapsed = time.perf_counter() - start
    nb.metadata.get("jupytext", {}).pop("text_representation", None)
    nbformat.write(nb, md.with_suffix(".ipynb"))
    return elapsed


def main(argv: list[str]) -> int:
    os.environ["OMP_NUM_THREADS"] = "1"  # inherited by the kernels
    if not argv:
        print(__doc__)
        return 2
    paths = notebook_sources() if argv == ["all"] else [pathlib.Path(a).resolve() for a in argv]
    for md in paths:
        if md.suffix != ".md" or not md.exists() or not is_jupytext(md):
            print(f"{md}: not a Jupytext MyST notebook (.md starting with a jupytext header)")
            return 2
        print(f"{md.relative_to(ROOT)}: executed in {sync(md):.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
