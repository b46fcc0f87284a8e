"""Build one page of the book on its own, strictly (warnings are errors), into a temporary folder.

    python tools/build_page.py notebooks/05-details/receptive-field.md

Faster than the whole book when working on one notebook; the page is executed (cached) and written to
``/tmp/cvbook-pages/<name>/``. Links to other pages of the book and glossary terms cannot resolve in a one-page build,
so "unknown document" and "term not in glossary" warnings are ignored (the whole-book build checks
them); any other warning fails. The book's own build (``make book``)
remains the reference.
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
    sphinx = config.setdefault("sphinx", {})
    sphinx["local_extensions"] = {k: str(ROOT / v) for k, v in sphinx.get("local_extensions", {}).items()}
    extra = sphinx.setdefault("config", {})
    extra["html_static_path"] = [str(ROOT / p) for p in extra.get("html_static_path", [])]
    out = pathlib.Path(tempfile.gettempdir()) / "cvbook-pages" / page.stem
    out.mkdir(parents=True, exist_ok=True)
    cfg = out / "_config.yml"
    cfg.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    jb = pathlib.Path(sys.executable).with_name("jupyter-book")
    result = subprocess.run([str(jb), "build", str(page), "--config", str(cfg), "--path-output", str(out),
                             "-n", "--keep-going"], cwd=ROOT, capture_output=True, text=True)
    log = result.stdout + result.stderr
    warnings = [line for line in log.splitlines()
                if "WARNING" in line and "IPKernelApp" not in line
                and "unknown document" not in line and "term not in glossary" not in line]
    for line in warnings:
        print(line)
    print(f"page written under {out}/_build/_page/{page.stem}/html")
    if result.returncode or warnings:
        print(log[-3000:] if result.returncode else "", f"FAILED: {len(warnings)} warning(s)", sep="\n")
        return 1
    print("Page build finished with no warnings.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
