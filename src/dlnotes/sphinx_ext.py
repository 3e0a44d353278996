"""Sphinx extension that removes the book's two default console errors.

A default Jupyter Book 1 page logs two errors in the browser console:

- ``Identifier 'THEBE_JS_URL' has already been declared``: sphinx-thebe
  (0.3.1) adds its inline ``const THEBE_JS_URL = ...`` script every time the
  ``env-before-read-docs`` event fires, and a Jupyter Book build fires it more
  than once, so each page declares the constant twice. This extension drops
  repeated scripts from every page.
- ``Got invalid theme mode: .``: the pydata theme's page template reads
  ``default_mode`` from the page context, which Jupyter Book leaves empty.
  This extension sets it on every page. (Setting ``html_context`` in
  ``_config.yml`` would replace the context that Jupyter Book fills in.)
"""

from __future__ import annotations

from typing import Any

DEFAULT_MODE = "light"  # one of "light", "dark", "auto"


def _script_key(script: Any) -> tuple[str, str]:
    """Return (filename, inline body) identifying a script entry of a page.

    Extensions pass an inline script's filename as None or "", so both count as "".
    """
    if isinstance(script, str):  # old-style entries are plain file names
        return script, ""
    return script.filename or "", script.attributes.get("body", "")


def fix_page_context(app, pagename: str, templatename: str, context: dict, doctree) -> None:
    """Keep the first of each identical script entry, and set a valid colour mode."""
    if not context.get("default_mode"):
        context["default_mode"] = DEFAULT_MODE

    scripts = context.get("script_files")
    if not scripts:
        return

    seen: set[tuple[str, str]] = set()
    unique = []
    for script in scripts:
        key = _script_key(script)
        if key in seen:
            continue
        seen.add(key)
        unique.append(script)
    context["script_files"] = unique


def setup(app) -> dict[str, Any]:
    """Register the hooks with Sphinx."""
    app.connect("html-page-context", fix_page_context, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
