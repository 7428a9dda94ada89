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
   to A4 with page numbers and a bookmark outline. Before printing, the page is laid
   out at the printable width: ``book_tools/static/cnn-book.css`` wraps code and
   tables, each code line becomes a block whose continuation is indented 4
   characters under the line's start, and text outputs wider than the page (the
   model summaries) are shrunk to fit; the build fails if anything is still wider.
   The "Draw a digit" page's live widget is replaced by a screenshot of the page at
   work on an MNIST test digit, taken from the built HTML book.
3. Chromium garbles the bookmarks of headings that wrap; each bookmark is given its
   heading's text back (pypdf), in order.
4. The PDF is written to ``_build/pdf/cnn-book.pdf`` and, when the HTML book has been
   built, copied to ``_build/html/cnn-book.pdf``, where every page's footer links to it
   (:mod:`book_tools.sphinx_ext`).

It needs the book's MathJax (``make book`` fetches it once) and Chromium
(``make browser-deps`` installs Debian's). It takes about a minute.
"""
from __future__ import annotations

import argparse
import io
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
from cnn_helpers.store import atomic_write_bytes  # noqa: E402

#: The "Draw a digit" page, printed as a picture of itself at work.
DRAW_DOC = "chapters/14_draw"
DRAW_PICTURE = "draw-page-at-work.png"


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


#: The printable width of an A4 page with the margins below, in CSS pixels
#: ((210 - 2 * 14) mm at 96 px per inch). The page is laid out at this width before
#: printing, so what is measured is what is printed.
PRINT_WIDTH_PX = round((210 - 2 * 14) / 25.4 * 96)
#: Text outputs are shrunk at most to this fraction of their size to fit the page;
#: beyond that they wrap.
MIN_SCALE = 0.55

_FIT_WIDE = """(minScale) => {
    // Text outputs wider than the page (model.summary()'s drawn tables, long printouts)
    // are shrunk until they fit: wrapping a drawn table would break its rows. Past
    // minScale they wrap instead. Code cells wrap by the print style sheet.
    const fitted = [];
    document.querySelectorAll('div.cell_output pre, .output pre').forEach(pre => {
        if (pre.closest('div.highlight') && !pre.closest('div.cell_output')) return;
        pre.style.setProperty('white-space', 'pre', 'important');
        const over = pre.scrollWidth - pre.clientWidth;
        if (over <= 1) { pre.style.removeProperty('white-space'); return; }
        const style = getComputedStyle(pre);
        const size = parseFloat(style.fontSize);
        const pad = parseFloat(style.paddingLeft) + parseFloat(style.paddingRight);
        const scale = 0.99 * (pre.clientWidth - pad) / (pre.scrollWidth - pad);
        if (scale >= minScale) {
            let fs = size * scale;
            pre.style.setProperty('font-size', fs.toFixed(2) + 'px', 'important');
            for (let i = 0; i < 10 && pre.scrollWidth > pre.clientWidth; i++) {
                fs *= 0.98;  // rounding of glyph widths: a little more
                pre.style.setProperty('font-size', fs.toFixed(2) + 'px', 'important');
            }
        } else {
            pre.style.setProperty('font-size', (size * minScale).toFixed(2) + 'px', 'important');
            pre.style.setProperty('white-space', 'pre-wrap', 'important');
            pre.style.setProperty('overflow-wrap', 'anywhere', 'important');
        }
        fitted.push(scale);
    });
    const cut = Array.from(document.querySelectorAll('div.cell_output pre, .output pre, table'))
        .filter(el => el.getClientRects().length && el.scrollWidth > el.clientWidth + 1)
        .map(el => el.textContent.slice(0, 60));
    return {fitted: fitted.length, cut: cut};
}"""

_HANG_CODE = """(hang) => {
    // Each code line becomes a block whose continuation (when the line wraps at the
    // page's edge) starts `hang` characters further in than the line itself, so a
    // wrapped line reads as one. A token that spans lines (a docstring) is split
    // into one copy per line, with the same classes, so its colour is kept.
    let count = 0;
    document.querySelectorAll('div.highlight pre').forEach(pre => {
        const lines = [[]];
        const wrap = (ancestors, text) => {
            let node = document.createTextNode(text);
            for (let i = ancestors.length - 1; i >= 0; i--) {
                const copy = ancestors[i].cloneNode(false);
                copy.appendChild(node);
                node = copy;
            }
            return node;
        };
        const walk = (node, ancestors) => {
            if (node.nodeType === Node.TEXT_NODE) {
                node.data.split('\\n').forEach((part, i) => {
                    if (i > 0) lines.push([]);
                    if (part) lines[lines.length - 1].push(wrap(ancestors, part));
                });
            } else {
                node.childNodes.forEach(child => walk(child, ancestors.concat([node])));
            }
        };
        pre.childNodes.forEach(child => walk(child, []));
        if (lines.length && lines[lines.length - 1].length === 0) lines.pop();
        pre.textContent = '';
        lines.forEach(parts => {
            const line = document.createElement('span');
            line.className = 'cnn-code-line';
            line.append(...parts);
            const indent = line.textContent.length - line.textContent.trimStart().length;
            // the leading spaces become padding, so that the continuation can hang
            let drop = indent;
            const texts = document.createTreeWalker(line, NodeFilter.SHOW_TEXT);
            while (drop > 0 && texts.nextNode()) {
                const t = texts.currentNode;
                const n = Math.min(drop, t.data.length - t.data.trimStart().length);
                t.data = t.data.slice(n);
                drop -= n;
                if (t.data.length) break;
            }
            line.style.cssText = `display:block;padding-left:${indent + hang}ch;text-indent:-${hang}ch`;
            if (!line.textContent) line.textContent = '\\u200b';
            pre.appendChild(line);
        });
        count++;
    });
    return count;
}"""

#: The headings Chromium turns into the PDF's bookmarks, as the reader sees them.
_HEADINGS = """() => Array.from(document.querySelectorAll('h1, h2, h3, h4, h5, h6'))
    .filter(h => h.getClientRects().length > 0)
    .map(h => {
        const c = h.cloneNode(true);
        c.querySelectorAll('.headerlink, mjx-assistive-mml, .toc-backref').forEach(n => n.remove());
        return c.textContent.replace(/\\s+/g, ' ').trim();
    })"""


def draw_page_picture(html_dir: Path, browser, target: Path) -> Path:
    """A screenshot of the "Draw a digit" page at work on an MNIST test digit.

    The page's pad and panels are live widgets, which print as empty boxes; the PDF
    shows this picture instead. It is taken from the built HTML book (``make book``
    builds it first): the page loads its trained network, the first sample button
    loads a test digit, and the panels (prediction, input, feature maps) are captured
    once the prediction is shown.
    """
    page_file = html_dir / f"{DRAW_DOC}.html"
    if not page_file.is_file():
        raise PdfError(f"{page_file} is missing: build the HTML book first (`make book`)")
    # Tall enough that the widget is shot without scrolling (the theme's sticky header
    # would otherwise be drawn over it); that header is hidden as well.
    ctx = browser.new_context(viewport={"width": 1100, "height": 4000}, device_scale_factor=2)
    try:
        ctx.route(lambda url: not url.startswith(("file:", "data:", "blob:")), lambda route: route.abort())
        tab = ctx.new_page()
        tab.goto(page_file.as_uri(), wait_until="load", timeout=120_000)
        try:
            tab.wait_for_selector('#cnn-draw[data-status="ready"]', timeout=60_000)
            tab.locator("#cnn-samples button").first.click()
            tab.wait_for_selector('#cnn-guess:not([data-class=""])', timeout=30_000)
            tab.wait_for_timeout(300)  # the feature maps are painted after the answer
        except Exception as exc:  # Playwright's TimeoutError and friends
            status = tab.evaluate("() => (document.querySelector('#cnn-status') || {}).textContent")
            raise PdfError(f"the draw page did not classify a test digit ({status!r}): {exc}") from exc
        tab.add_style_tag(content=".bd-header, .bd-header-article, .header-article { display: none !important; }")
        target.parent.mkdir(parents=True, exist_ok=True)
        tab.locator("#cnn-draw").screenshot(path=str(target))
    finally:
        ctx.close()
    return target


_SHOW_PICTURE = """(src) => {
    const widget = document.querySelector('#cnn-draw');
    if (!widget) return false;
    const fig = document.createElement('figure');
    fig.className = 'cnn-draw-print';
    const img = document.createElement('img');
    img.src = src;
    img.alt = 'The Draw a digit page at work: an MNIST test digit on the pad, the network’s '
        + 'prediction with its softmax bars, the 28 by 28 input and the feature maps of every layer.';
    // the whole picture on one page: scaled to the page's height when taller
    img.style.cssText = 'display:block;margin:0 auto;max-width:100%;max-height:225mm;width:auto;height:auto';
    fig.style.breakInside = 'avoid';
    const cap = document.createElement('figcaption');
    cap.textContent = 'The page at work on an MNIST test digit (a picture taken when this PDF '
        + 'was made; the page itself runs in the web book).';
    fig.append(img, cap);
    widget.replaceWith(fig);
    document.querySelectorAll('.cnn-nets').forEach(n => n.remove());
    return img.decode().then(() => true);
}"""


def fix_outline(pdf: Path, headings: list[str]) -> int:
    """Give the PDF's bookmarks the headings' own text; return how many were changed.

    Chromium builds the bookmarks from the printed text and garbles headings that
    wrap or break across lines ("SummarySummary", "learnMNIST?"). Its bookmarks are
    the page's headings in order, so each gets its heading's text back; a different
    count is an error (the outline would be mislabelled).
    """
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import NameObject, TextStringObject

    writer = PdfWriter(clone_from=PdfReader(str(pdf)))
    items = []

    def walk(node):
        while node is not None:
            node = node.get_object()
            items.append(node)
            if "/First" in node:
                walk(node["/First"])
            node = node.get("/Next")

    outlines = writer._root_object.get("/Outlines")
    if outlines is not None and "/First" in outlines.get_object():
        walk(outlines.get_object()["/First"])
    if len(items) != len(headings):
        raise PdfError(f"the PDF has {len(items)} bookmarks for {len(headings)} headings: cannot name them")
    changed = 0
    for item, title in zip(items, headings):
        if str(item.get("/Title", "")) != title:
            item[NameObject("/Title")] = TextStringObject(title)
            changed += 1
    buffer = io.BytesIO()
    writer.write(buffer)
    atomic_write_bytes(pdf, buffer.getvalue())
    return changed


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
            picture = draw_page_picture(HTML_COPY.parent, browser, page.parent / "_images" / DRAW_PICTURE)
            tab = ctx.new_page()
            tab.goto(page.as_uri(), wait_until="load", timeout=120_000)
            if not tab.evaluate(_SHOW_PICTURE, f"_images/{picture.name}"):
                raise PdfError("the one-page book has no draw page widget (#cnn-draw) to replace")
            info = tab.evaluate(_PREPARE)
            if info["broken"] or info["untypeset"]:
                raise PdfError(f"the page is not ready to print: {info['untypeset']} formulas not typeset, "
                               f"images not loaded: {info['broken'][:5]}")
            tab.emulate_media(media="print")
            tab.set_viewport_size({"width": PRINT_WIDTH_PX, "height": 1100})
            tab.evaluate(_HANG_CODE, 4)
            fit = tab.evaluate(_FIT_WIDE, MIN_SCALE)
            if fit["cut"]:
                raise PdfError(f"{len(fit['cut'])} outputs or tables are still wider than the page: {fit['cut'][:3]}")
            info["shrunk_outputs"] = fit["fitted"]
            info["headings"] = tab.evaluate(_HEADINGS)
            tab.pdf(
                path=str(out), format="A4", print_background=True, outline=True, tagged=True,
                margin={"top": "16mm", "bottom": "16mm", "left": "14mm", "right": "14mm"},
                display_header_footer=True, header_template="<div></div>", footer_template=_FOOTER,
            )
        finally:
            browser.close()
    info["bookmarks_renamed"] = fix_outline(out, info["headings"])
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
