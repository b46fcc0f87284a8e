"""Fill the book's execution cache from the committed, nbval-verified ``.ipynb`` files, so that the book
build renders every notebook without executing it.

The book's sources are the Jupytext ``.md`` files, built with ``execute_notebooks: cache``: myst-nb reads
a ``.md``, hashes its code cells (source and metadata, with the kernelspec) and looks the hash up in
``_build/.jupyter_cache``. This tool reads each ``.md`` with myst-nb's own reader (so the hash is the one
the build computes), copies the outputs of the paired ``.ipynb`` into its code cells, and stores the
result in that cache. A notebook whose ``.md`` and ``.ipynb`` hold different code (not synced) is
reported and left out: the build would execute it.

    python tools/prime_cache.py            # every paired notebook under notebooks/
    python tools/prime_cache.py --check    # fail if any .md would be executed by the build
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
from jupyter_cache import get_cache
from jupyter_cache.base import CacheBundleIn
from myst_nb.core.config import NbParserConfig
from myst_nb.core.read import create_nb_reader
from myst_parser.config.main import MdParserConfig

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "_build" / ".jupyter_cache"


def read_as_the_build_does(md: Path) -> nbformat.NotebookNode:
    text = md.read_text(encoding="utf8")
    reader = create_nb_reader(str(md), MdParserConfig(), NbParserConfig(), text)
    if reader is None:
        raise ValueError(f"{md} is not a notebook")
    return reader.read(text)


def with_outputs(source: nbformat.NotebookNode, executed: nbformat.NotebookNode) -> nbformat.NotebookNode | None:
    """``source`` with the outputs of ``executed``, or ``None`` if their code cells differ."""
    code = [c for c in source.cells if c.cell_type == "code"]
    done = [c for c in executed.cells if c.cell_type == "code"]
    if len(code) != len(done) or any(a.source.strip() != b.source.strip() for a, b in zip(code, done)):
        return None
    for count, (a, b) in enumerate(zip(code, done), start=1):
        a.outputs = b.get("outputs", [])
        a.execution_count = count
    source.metadata.setdefault("language_info", executed.metadata.get("language_info", {}))
    return source


def paired_notebooks() -> list[tuple[Path, Path]]:
    return sorted((md, md.with_suffix(".ipynb")) for md in (ROOT / "notebooks").glob("*/*.md")
                  if md.with_suffix(".ipynb").exists())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only report; exit 1 if a notebook would execute")
    args = parser.parse_args(argv)
    cache = get_cache(str(CACHE))
    primed, stale = 0, []
    for md, ipynb in paired_notebooks():
        nb = read_as_the_build_does(md)
        if args.check:
            try:
                cache.match_cache_notebook(nb)
                primed += 1
            except KeyError:
                stale.append(md)
            continue
        merged = with_outputs(nb, nbformat.read(ipynb, as_version=4))
        if merged is None:
            stale.append(md)
            continue
        cache.cache_notebook_bundle(CacheBundleIn(merged, str(md), data={"execution_seconds": 0.0}),
                                    check_validity=False, overwrite=True)
        primed += 1
    for md in stale:
        print(f"  not synced with its .ipynb, the build will execute it: {md.relative_to(ROOT)}")
    print(f"{primed} notebooks render from their committed outputs (no execution); {len(stale)} will execute.")
    return 1 if (args.check and stale) else 0


if __name__ == "__main__":
    sys.exit(main())
