"""A small Sphinx extension for the book (``_config.yml``: ``sphinx: extra_extensions``).

It removes duplicate ``<script>`` entries from every page. With Sphinx 7.4, an
inline script that an extension registers after the builder has started is
written into every page twice (once as registered, once when the registry is
replayed). sphinx-thebe's configuration script declares ``const THEBE_JS_URL``,
so its second copy throws "Identifier 'THEBE_JS_URL' has already been
declared" in the reader's browser console on every page of the book. The
browser tests (``tests/test_browser.py``) fail on any console error, so they
would catch the duplicate coming back.
"""
from __future__ import annotations


def _dedupe_scripts(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen = set()
    unique = []
    for js in scripts:
        attrs = getattr(js, "attributes", {}) or {}
        key = (str(js.filename or ""), tuple(sorted((k, str(v)) for k, v in attrs.items())))
        if key in seen:
            continue
        seen.add(key)
        unique.append(js)
    scripts[:] = unique  # the builder restores its own list after each page


def setup(app):
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
