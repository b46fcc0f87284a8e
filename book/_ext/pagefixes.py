"""Sphinx extension: small fixes so every page loads with an empty browser console.

- The theme logs an error when no colour mode is configured: default to the light mode (the reader can
  still switch).
- Each notebook page offers its executed ``.ipynb`` (the paired file beside the ``.md`` source) in the
  theme's download menu.
- ``sphinx-thebe`` registers its inline configuration script once per read phase, and a build with
  cached notebook execution reads twice, so pages declared ``THEBE_JS_URL`` twice: keep one copy of
  each script.
"""

from __future__ import annotations

import pathlib
import shutil


def _default_mode(app, config) -> None:
    context = dict(config.html_context or {})
    context.setdefault("default_mode", "light")
    config.html_context = context


def _dedupe_scripts(app, env) -> None:
    """Once the sources are read, keep the first copy of every registered script."""
    builder = app.builder
    if hasattr(builder, "_js_files"):
        seen, unique = set(), []
        for js in builder._js_files:
            if js not in seen:
                seen.add(js)
                unique.append(js)
        builder._js_files[:] = unique


def _offer_ipynb(app, pagename, templatename, context, doctree) -> None:
    """Copy the paired notebook into ``_sources`` and let the theme's download menu link it."""
    source = pathlib.Path(app.srcdir, pagename + ".md")
    paired = source.with_suffix(".ipynb")
    if not (source.exists() and paired.exists()):
        return
    target = pathlib.Path(app.outdir, "_sources", pagename + ".ipynb")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(paired, target)
    context["ipynb_source"] = pagename + ".ipynb"


def setup(app):
    app.connect("config-inited", _default_mode)
    app.connect("html-page-context", _offer_ipynb, priority=400)
    app.connect("env-updated", _dedupe_scripts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
