"""A small Sphinx extension for the book (``_config.yml``: ``sphinx: extra_extensions``).

It does these things, so that a plain ``jupyter-book build .`` gives the same book
as ``make book``:

1. **No virtual environment in the book.** Every folder under the book's root
   that holds a Python virtual environment (a ``pyvenv.cfg`` or ``conda-meta/``),
   whatever its name, is added to ``exclude_patterns``: otherwise the Markdown
   files of its site-packages would become pages of the book and of its search.
2. **MathJax is the book's own, or the build stops.** ``_config.yml`` points
   ``mathjax_path`` at the copy ``make book`` puts in ``_assets/mathjax/``; without
   it math would show as raw TeX with no warning. The build fails instead, saying
   what to run.
3. **The phone fix and the book's styles.** ``static/cnn-book-phone.js`` makes the
   sidebar buttons work (upstream theme bug, see that file),
   ``static/cnn-book-figures.js`` opens a figure full size on a click or tap and marks
   wide outputs that scroll, ``static/cnn-book-search.js`` lets the search work from
   disk (file://, results without snippets), and ``static/cnn-book.css`` fits figures to the column,
   shows those marks and lays out the print (the PDF).
4. **A link to the PDF** (``make pdf``, :mod:`book_tools.pdf`) in every page's footer.
5. **Launch buttons open the readers' notebooks.** Binder and Colab read the
   notebook from the repository; the chapter itself would show its glue roles
   raw, so the buttons point at ``readers/NN_x.ipynb`` instead, the chapter with
   its numbers written into the prose (:mod:`book_tools.reader_notebooks`).
6. **Figures have alt text that says what they show**, not their file path: a
   sentence from the figure's title (below, :func:`figure_alt`).
7. **No script twice on a page** (below).
8. **The other language, one click away.** Every page opens with a link to the same
   page in the other edition (English ``_build/html/``, Chinese ``_build/html/zh_CN/``,
   :mod:`book_tools.zh_sources`), relative, so it works from disk; the PDF link and the
   figures' labels speak the page's language.
9. **Checked claims carry a mark.** A value a chapter checks against its band with
   ``ledger.check(..., glue_as=name)`` is followed, wherever the prose shows it, by a small
   ✓ that links to the ledger of checked claims in the appendix (label ``ledger``).

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

import ast
import json
import re
from pathlib import Path

from docutils import nodes
from sphinx.errors import ConfigError

STATIC = Path(__file__).resolve().parent / "static"
#: Files of ``static/`` added to every page.
JS_FILES = ("cnn-book-phone.js", "cnn-book-figures.js", "cnn-book-search.js")
CSS_FILES = ("cnn-book.css",)


def venv_dirs(root: Path, depth: int = 2) -> list[str]:
    """Folders under ``root`` (down to ``depth`` levels) that hold a Python environment.

    A folder is an environment when it has ``pyvenv.cfg`` (venv, virtualenv, uv) or
    ``conda-meta/`` (conda). Hidden folders and ``_build`` are skipped: Sphinx never
    reads them anyway (``_config.yml`` excludes them). Returned as paths relative to
    ``root`` with ``/``, ready for ``exclude_patterns``.
    """
    root = Path(root)
    found: list[str] = []

    def walk(folder: Path, level: int) -> None:
        try:
            children = sorted(p for p in folder.iterdir() if p.is_dir() and not p.is_symlink())
        except OSError:
            return
        for child in children:
            if child.name.startswith(".") or child.name == "_build":
                continue
            if (child / "pyvenv.cfg").is_file() or (child / "conda-meta").is_dir():
                found.append(child.relative_to(root).as_posix())
            elif level < depth:
                walk(child, level + 1)

    walk(root, 1)
    return found


def _exclude_venvs(app, config) -> None:
    for rel in venv_dirs(Path(app.srcdir)):
        for pattern in (rel, f"{rel}/**"):
            if pattern not in config.exclude_patterns:
                config.exclude_patterns.append(pattern)


def local_mathjax_file(srcdir: Path) -> Path:
    """Where the book's own MathJax must be for a build (``make book`` puts it there)."""
    from book_tools.build import MATHJAX_DIR, MATHJAX_ENTRY, ROOT

    return Path(srcdir) / MATHJAX_DIR.relative_to(ROOT) / MATHJAX_ENTRY


def _require_local_mathjax(app, config) -> None:
    if "mathjax" not in str(config.mathjax_path or "") or str(config.mathjax_path).startswith(("http:", "https:", "//")):
        return  # MathJax from elsewhere (a reader's own choice): nothing of ours to check
    path = local_mathjax_file(Path(app.srcdir))
    if not path.is_file():
        raise ConfigError(
            f"The book's MathJax is missing ({path}), so its math would show as raw TeX. "
            "Run `make book` (or `python -m book_tools.build`) once: it fetches MathJax with "
            "npm into _assets/mathjax/ and builds the book; later plain "
            "`jupyter-book build .` runs then find it."
        )


def is_chinese(app) -> bool:
    """True in the Chinese edition's build (``language: zh_CN``, :mod:`book_tools.zh_sources`)."""
    return str(app.config.language or "").startswith("zh")


def other_edition(pagename: str, chinese: bool) -> str:
    """The relative link from a page to the same page in the other language.

    The English book is ``_build/html/``, the Chinese one ``_build/html/zh_CN/``, with
    the same page names, so the link is plain and works from disk.
    """
    depth = pagename.count("/")
    if chinese:
        return "../" * (depth + 1) + f"{pagename}.html"
    return "../" * depth + f"zh_CN/{pagename}.html"


def _link_other_edition(app, pagename, templatename, context, doctree) -> None:
    """Every page opens with a link to itself in the other language, and says so to robots."""
    if app.builder.name != "html":
        return
    chinese = is_chinese(app)
    href = other_edition(pagename, chinese)
    lang, text = ("en", "English") if chinese else ("zh-CN", "中文")
    link = (f'<p class="cnn-book-language"><a href="{href}" hreflang="{lang}" lang="{lang}" '
            f'rel="alternate">{text}</a></p>')
    context["body"] = link + (context.get("body") or "")
    meta = f'<link rel="alternate" hreflang="{lang}" href="{href}">'
    context["metatags"] = (context.get("metatags") or "") + meta


def _link_pdf(app, pagename, templatename, context, doctree) -> None:
    """Every page's footer links to the whole book as one PDF (``make pdf`` writes it)."""
    if app.builder.name != "html":
        return  # not in the one-page HTML that the PDF is printed from
    from book_tools.pdf import PDF_NAME

    href = context["pathto"](PDF_NAME, 1)
    words = "整本书的 PDF 版" if is_chinese(app) else "The whole book as one PDF"
    link = f'<p class="cnn-book-pdf"><a href="{href}">{words}</a></p>'
    context["theme_extra_footer"] = (context.get("theme_extra_footer") or "") + link


def readers_url(url: str, pagename: str, srcdir: Path) -> str:
    """``url`` (a launch button's) pointed at the page's reader's notebook, if it has one.

    The theme ends the URL with the notebook's path in the repository,
    ``<path_to_book>/chapters/NN_x.ipynb``; the reader's notebook is
    ``<path_to_book>/readers/NN_x.ipynb``.
    """
    from book_tools.reader_notebooks import CHAPTERS, READERS, ROOT

    tail = f"{pagename}.ipynb"
    chapter_dir = CHAPTERS.relative_to(ROOT).as_posix() + "/"
    reader = Path(srcdir) / READERS.relative_to(ROOT) / Path(tail).name
    if not url.endswith(tail) or not pagename.startswith(chapter_dir) or not reader.is_file():
        return url
    return url[: -len(tail)] + READERS.relative_to(ROOT).as_posix() + "/" + Path(tail).name


def _launch_readers(app, pagename, templatename, context, doctree) -> None:
    """Binder and Colab buttons open the reader's notebook (numbers in the prose)."""
    for group in context.get("header_buttons") or []:
        if group.get("label") != "launch-buttons":
            continue
        for button in group.get("buttons", []):
            if button.get("url"):
                button["url"] = readers_url(button["url"], pagename, Path(app.srcdir))


# ---------------------------------------------------------------- alt text of figures
#: A title given in a plotting call: ``fig.suptitle("...")``, ``ax.set_title(f"...")``,
#: ``title="..."`` (the book's viz helpers take one too).
_TITLE_CALL = re.compile(
    r"\b(suptitle|set_title|title)\s*[(=]\s*(f?)(\"(?:[^\"\\\n]|\\.)*\"|'(?:[^'\\\n]|\\.)*')"
)


def _title_text(is_f: str, literal: str) -> str:
    try:
        text = ast.literal_eval(literal)
    except (SyntaxError, ValueError):
        text = literal.strip("\"'")
    if is_f:  # a value computed at run time: "…" stands for it
        text = re.sub(r"\{[^{}]*\}", "…", text.replace("{{", "\0").replace("}}", "\1"))
        text = text.replace("\0", "{").replace("\1", "}")
    return " ".join(text.split())


def figure_alt(code: str, fallback: str = "") -> str:
    """Alt text for the figure a code cell draws: a sentence from its title.

    Why from the code: the title is drawn into the PNG's pixels, so a build cannot
    read it back, and the cell's plotting calls are the one place the book writes it.
    The figure's ``suptitle`` when it has one, else its panels' titles (up to three);
    parts computed at run time (f-string fields) read "…". A figure with no title
    gets ``fallback`` (the section it is in).
    """
    found = [(kind, _title_text(f, lit)) for kind, f, lit in _TITLE_CALL.findall(code)]
    found = [(k, t) for k, t in found if t.strip(" …")]
    sup = [t for k, t in found if k == "suptitle"]
    titles = sup[:1] or list(dict.fromkeys(t for _, t in found))[:3]
    text = "; ".join(titles) or fallback
    if not text:
        return "A figure drawn by the code cell above."
    text = text.rstrip(" .:;,")
    return f"Figure: {text[0].upper()}{text[1:]}."


def _cell_code(cell: nodes.Element) -> str:
    return "\n".join(block.astext() for block in cell.findall(nodes.literal_block) if not _in_output(block))


def _in_output(node: nodes.Node) -> bool:
    while node is not None:
        if "cell_output" in (getattr(node, "get", lambda *_: [])("classes", []) or []):
            return True
        node = node.parent
    return False


def _chinese_alts(srcdir) -> dict[str, str]:
    """English alt text -> Chinese, as ``book_tools.zh_sources`` wrote them beside the sources."""
    from book_tools.zh_sources import ALT_TEXTS

    path = Path(srcdir) / ALT_TEXTS
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def _set_alt_texts(app, doctree) -> None:
    for image in list(doctree.findall(nodes.image)):
        alt = str(image.get("alt", "")).strip()
        if alt and alt != image.get("uri") and not re.search(r"\.(png|jpe?g|svg)$", alt):
            continue  # an author's own alt text stays
        cell, section = image.parent, None
        while cell is not None and "cell" not in cell.get("classes", []):
            cell = cell.parent
        node = image
        while node is not None and not isinstance(node, nodes.section):
            node = node.parent
        if node is not None and node.children and isinstance(node[0], nodes.title):
            section = node[0].astext()
        code = _cell_code(cell) if cell is not None else ""
        alt = figure_alt(code, section or "")
        if is_chinese(app):  # the catalogs' translation (book_tools.zh_sources), else the section's title
            alt = _chinese_alts(app.srcdir).get(figure_alt(code), f"图：{section or ''}")
        image["alt"] = alt


def _add_static(app, config) -> None:
    if str(STATIC) not in [str(p) for p in config.html_static_path]:
        config.html_static_path.append(str(STATIC))


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


# ---------------------------------------------------------------- marks on checked claims
#: A chapter's checks that glue the value they check: ``ledger.check("c", v, glue_as="name")``.
_LEDGER_GLUE = re.compile(r"ledger\.check\([^)]*?glue_as=[\"'](\w+)[\"']")
#: The mark after a checked value: a link to the ledger in the appendix (label ``ledger``).
CHECK_MARK = '<sup class="cnn-check">{ref}`✓ <ledger>`</sup>'


def checked_names(nb: dict) -> set[str]:
    """The glue names whose values a notebook checks through the ledger."""
    code = "\n".join("".join(c["source"]) for c in nb.get("cells", []) if c.get("cell_type") == "code")
    return set(_LEDGER_GLUE.findall(code))


def mark_checked(text: str, names: set[str]) -> str:
    """``text`` with the mark after every glue role that shows one of ``names``."""
    if not names:
        return text
    keys = "|".join(sorted(map(re.escape, names), key=len, reverse=True))
    role = re.compile(r"(\{glue(?::text)?\}`(?:[\w.-]+::)?(?:" + keys + r")(?::[^`]*)?`)(?!<sup class)")
    return role.sub(lambda m: m.group(1) + CHECK_MARK, text)


def _mark_checked_claims(app, docname, source) -> None:
    """Every value a chapter checks against its band carries a mark that links to the ledger."""
    if not app.env.doc2path(docname).endswith(".ipynb"):
        return
    try:
        nb = json.loads(source[0])
    except ValueError:
        return
    names = checked_names(nb)
    if not names:
        return
    for cell in nb["cells"]:
        if cell.get("cell_type") == "markdown":
            text = "".join(cell["source"])
            cell["source"] = mark_checked(text, names).splitlines(keepends=True)
    source[0] = json.dumps(nb, ensure_ascii=False)


def setup(app):
    app.connect("config-inited", _exclude_venvs)
    app.connect("config-inited", _require_local_mathjax)
    app.connect("config-inited", _add_static)
    for name in JS_FILES:
        app.add_js_file(name)
    for name in CSS_FILES:
        app.add_css_file(name)
    app.connect("doctree-read", _set_alt_texts)
    app.connect("source-read", _mark_checked_claims)
    app.connect("html-page-context", _link_pdf)
    app.connect("html-page-context", _link_other_edition)
    app.connect("html-page-context", _launch_readers, priority=510)  # after the theme's (501)
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
