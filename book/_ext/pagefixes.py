"""Sphinx extension: small fixes so every page loads with an empty browser console.

- The theme logs an error when no colour mode is configured: default to the light mode (the reader can
  still switch).
- Each notebook page offers its executed ``.ipynb`` (the paired file beside the ``.md`` source) in the
  theme's download menu.
- ``sphinx-thebe`` registers its inline configuration script each time the sources are read, once
  with its default configuration and once with Jupyter Book's, so a page declared ``const
  THEBE_JS_URL`` twice (a script error): keep the last one.
"""

from __future__ import annotations

import pathlib
import shutil


def _default_mode(app, config) -> None:
    context = dict(config.html_context or {})
    context.setdefault("default_mode", "light")
    config.html_context = context


def _one_thebe_config(app, pagename, templatename, context, doctree) -> None:
    """Keep only the last ``const THEBE_JS_URL = ...`` script: a second ``const`` is a page error."""
    scripts = list(context.get("script_files", []))
    thebe = [i for i, js in enumerate(scripts)
             if not js.filename and js.attributes.get("body", "").startswith("const THEBE_JS_URL")]
    for i in reversed(thebe[:-1]):
        del scripts[i]
    context["script_files"] = scripts


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
    app.connect("html-page-context", _one_thebe_config, priority=999)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
