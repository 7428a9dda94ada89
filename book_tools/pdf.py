"""The whole book as one PDF: ``python -m book_tools.pdf`` (what ``make pdf`` runs).

1. ``jupyter-book build . --builder singlehtml`` into ``_build/pdf-src/``: every page
   of ``_toc.yml`` in one HTML page, with the stored outputs (nothing is executed).
   Its root page sits in ``chapters/`` while its links to ``_static/``, ``_images/``
   and MathJax are written relative to the build's root (a Sphinx singlehtml quirk
   when the root document is in a folder), so the page is copied to the root as
   ``book.html``, and the draw page's ``../draw/`` links are made to match.
2. Debian's Chromium (``/usr/bin/chromium`` or ``$CNN_BOOK_CHROMIUM``) opens it
   through Playwright, offline (any request to another host is refused), waits for
   MathJax to typeset every formula and every image to decode, opens the folded
   cells (exercise solutions, hidden plot code) so the PDF shows them, and prints it
   to A4 with page numbers and a bookmark outline. ``book_tools/static/cnn-book.css``
   makes code wrap in print instead of being cut at the page's edge.
3. The PDF is written to ``_build/pdf/cnn-book.pdf`` and, when the HTML book has been
   built, copied to ``_build/html/cnn-book.pdf``, where every page's footer links to it
   (:mod:`book_tools.sphinx_ext`).

It needs the book's MathJax (``make book`` fetches it once) and Chromium
(``make browser-deps`` installs Debian's). It takes about a minute.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from .paths import ROOT  # noqa: E402  (the one root: book_tools.paths)
BUILD = ROOT / "_build"
SOURCE = BUILD / "pdf-src"
SINGLEHTML = SOURCE / "_build" / "singlehtml"
OUT = BUILD / "pdf" / "cnn-book.pdf"
#: The file name every page's footer links to (``_build/html/<PDF_NAME>``).
PDF_NAME = "cnn-book.pdf"
HTML_COPY = BUILD / "html" / PDF_NAME
from .paths import CHROMIUM  # noqa: E402  (the one Chromium path: book_tools.paths)


class PdfError(RuntimeError):
    """A step of the PDF build failed; the message says which and how to fix it."""


def _say(msg: str) -> None:
    print(f"[pdf] {msg}", flush=True)


def build_singlehtml() -> Path:
    """Build the one-page HTML book and return the page to print (``book.html``)."""
    cmd = [
        sys.executable, "-c", "from jupyter_book.cli.main import main; main()",
        "build", str(ROOT), "--builder", "singlehtml", "--path-output", str(SOURCE), "--all",
    ]
    _say("jupyter-book build . --builder singlehtml")
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        raise PdfError(f"the singlehtml build failed (exit {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return fix_root_page(SINGLEHTML)


def fix_root_page(singlehtml: Path) -> Path:
    """Copy the single page to the build's root as ``book.html``, where its links resolve."""
    import yaml

    root_doc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))["root"]
    source = singlehtml / (re.sub(r"\.(md|ipynb)$", "", root_doc) + ".html")
    if not source.is_file():
        raise PdfError(f"the singlehtml build has no {source.relative_to(singlehtml)} (the root of _toc.yml)")
    text = source.read_text(encoding="utf-8")
    text = re.sub(r'(\b(?:src|href)=")\.\./draw/', r"\1draw/", text)
    page = singlehtml / "book.html"
    page.write_text(text, encoding="utf-8")
    return page


_PREPARE = """async () => {
    // Fold-outs open (solutions, hidden code), the Colab set-up cell left out.
    document.querySelectorAll('details').forEach(d => { d.open = true; });
    document.querySelectorAll('.tag_colab-setup').forEach(c => c.remove());
    const imgs = Array.from(document.images);
    imgs.forEach(img => { img.loading = 'eager'; });
    await Promise.all(imgs.map(img => img.decode().catch(() => null)));
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
    const maths = Array.from(document.querySelectorAll('.math'));
    return {
        images: imgs.length,
        broken: imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src),
        math: maths.length,
        untypeset: maths.filter(m => !m.querySelector('mjx-container')).length,
    };
}"""

_FOOTER = (
    '<div style="font-size:8px;width:100%;text-align:center;color:#555">'
    '<span class="pageNumber"></span> / <span class="totalPages"></span></div>'
)


def print_pdf(page: Path, out: Path = OUT) -> dict:
    """Print ``page`` to ``out`` with Chromium; return what was checked on the page."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        raise PdfError(
            f"Chromium is missing ({CHROMIUM}): install Debian's with `sudo apt-get install chromium` "
            "(`make browser-deps` does it as root), or point CNN_BOOK_CHROMIUM at one"
        )
    from playwright.sync_api import sync_playwright

    out.parent.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            ctx = browser.new_context(viewport={"width": 1100, "height": 1400})
            ctx.route(lambda url: not url.startswith(("file:", "data:", "blob:")), lambda route: route.abort())
            tab = ctx.new_page()
            tab.goto(page.as_uri(), wait_until="load", timeout=120_000)
            info = tab.evaluate(_PREPARE)
            if info["broken"] or info["untypeset"]:
                raise PdfError(f"the page is not ready to print: {info['untypeset']} formulas not typeset, "
                               f"images not loaded: {info['broken'][:5]}")
            tab.emulate_media(media="print")
            tab.pdf(
                path=str(out), format="A4", print_background=True, outline=True, tagged=True,
                margin={"top": "16mm", "bottom": "16mm", "left": "14mm", "right": "14mm"},
                display_header_footer=True, header_template="<div></div>", footer_template=_FOOTER,
            )
        finally:
            browser.close()
    return info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m book_tools.pdf", description=__doc__.split("\n\n")[0])
    parser.add_argument("--skip-build", action="store_true", help="print the last singlehtml build again")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        page = SINGLEHTML / "book.html" if args.skip_build else build_singlehtml()
        if not page.exists():
            raise PdfError(f"{page} is missing: run without --skip-build")
        info = print_pdf(page)
    except PdfError as exc:
        print(f"[pdf] FAILED: {exc}", file=sys.stderr, flush=True)
        return 1
    if HTML_COPY.parent.is_dir():
        shutil.copy2(OUT, HTML_COPY)
    _say(f"{info['images']} images, {info['math']} formulas -> {OUT.relative_to(ROOT)} "
         f"({OUT.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    sys.exit(main())
