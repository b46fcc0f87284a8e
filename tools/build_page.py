"""Build one page of the book on its own, strictly (warnings are errors), into a temporary folder.

    python tools/build_page.py notebooks/05-details/receptive-field.md

Faster than the whole book when working on one notebook; the page is executed (cached) and written to
``/tmp/cvbook-pages/<name>/``. The book's own build (``make book``) remains the reference.
"""

from __future__ import annotations

import pathlib
import subprocess
import sys
import tempfile

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__)
        return 2
    page = pathlib.Path(argv[0]).resolve()
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    config["bibtex_bibfiles"] = [str(ROOT / f) for f in config.get("bibtex_bibfiles", [])]
    out = pathlib.Path(tempfile.gettempdir()) / "cvbook-pages" / page.stem
    out.mkdir(parents=True, exist_ok=True)
    cfg = out / "_config.yml"
    cfg.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    jb = pathlib.Path(sys.executable).with_name("jupyter-book")
    result = subprocess.run([str(jb), "build", str(page), "--config", str(cfg), "--path-output", str(out),
                             "-W", "-n", "--keep-going"], cwd=ROOT)
    print(f"page written under {out}/_build/_page/{page.stem}/html")
    return result.returncode


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
