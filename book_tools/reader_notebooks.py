"""Readers' notebooks: the chapters with the numbers written into their prose.

The chapters glue their numbers into the prose with MyST-NB roles, e.g.
``{glue:text}`n_train:,```. The web book and the PDF replace each role with the
stored value; every notebook viewer (JupyterLab, Colab, Binder, nbconvert,
GitHub's preview) shows the raw role instead. So wherever a reader opens a
notebook, the book serves a *reader's notebook*: the chapter with

- every ``{glue:text}`` (and ``{glue}``) role replaced by the same text the web book
  shows: the value stored in the chapter's outputs (``application/papermill.record/
  text/plain``), formatted with the role's format spec by MyST-NB's own
  :func:`myst_nb.core.variables.format_plain_text`, so the two cannot differ;
- one note after the title saying that the numbers come from the stored run and
  that re-running the cells computes them afresh.

One source: the readers' notebooks are generated from ``chapters/`` and never
edited by hand.

- ``readers/NN_x.ipynb`` (committed): the Colab and Binder launch buttons and the
  README's badges open these, since both services read files from the repository.
  ``tests/test_reader_notebooks.py`` fails when one is out of step with its chapter.
  They sit one folder below the root like ``chapters/``, so the chapters' relative
  links to one another keep working; links to the Markdown pages point into
  ``../chapters/``.
- ``_build/html/_sources/chapters/NN_x.ipynb``: the web book's download button
  (written by ``make book``, :mod:`book_tools.build`).

Regenerate or check them with::

    python -m book_tools.reader_notebooks          # writes readers/*.ipynb
    python -m book_tools.reader_notebooks --check  # exit 1 if one is stale
"""
from __future__ import annotations

import argparse
import copy
import json
import re
import sys
from functools import lru_cache
from pathlib import Path

import nbformat
from myst_nb.core.variables import format_plain_text

from cnn_helpers.store import atomic_write_text

from .paths import ROOT  # the one root: book_tools.paths
CHAPTERS = ROOT / "chapters"
READERS = ROOT / "readers"
#: Where glued values live in a stored output (what ``myst_nb.glue`` writes).
GLUE_PREFIX = "application/papermill.record/"
#: ``{glue:text}`key:fmt``` or ``{glue}`key```; the content may name another
#: notebook: ``{glue:text}`08_training.ipynb::test_acc:.2%```.
ROLE = re.compile(r"\{glue(?::text)?\}`([^`]+)`")
#: A Markdown link to one of the book's Markdown pages (not notebooks), e.g. ``](14_draw.md)``.
MD_LINK = re.compile(r"\]\((?!https?:|#|\.\./)([^)\s]+\.md)([#)])")
#: Marks the note cell, so that it is recognisable (and not added twice).
NOTE_TAG = "reader-note"
NOTE = (
    "*This notebook is a chapter of the book \"CNNs, layer by layer\". The numbers in its "
    "text come from the book's stored run of the cells below; re-running the cells "
    "computes them afresh (the outputs then show the new values; the text keeps the "
    "stored ones).*"
)


class GlueError(ValueError):
    """A role names a value the notebook did not glue, or one that cannot take its format."""


def glue_texts(nb: dict) -> dict[str, str]:
    """The ``text/plain`` of every value ``nb`` glued, by name (what ``{glue:text}`` formats)."""
    texts: dict[str, str] = {}
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        for out in cell.get("outputs", []) or []:
            scrapbook = (out.get("metadata") or {}).get("scrapbook")
            if not scrapbook:
                continue
            prefix = scrapbook.get("mime_prefix", "")
            text = (out.get("data") or {}).get(prefix + "text/plain")
            if text is not None:
                texts[scrapbook["name"]] = "".join(text) if isinstance(text, list) else text
    return texts


@lru_cache(maxsize=None)
def _stored_glue(path: Path, mtime_ns: int) -> dict[str, str]:
    return glue_texts(json.loads(path.read_text(encoding="utf-8")))


def _glue_of(path: Path) -> dict[str, str]:
    if not path.is_file():
        raise GlueError(f"{path} is missing: a glue role refers to it")
    return _stored_glue(path.resolve(), path.stat().st_mtime_ns)


def resolve_role(content: str, local: dict[str, str], folder: Path, where: str) -> str:
    """The text the web book shows for a role with this content (MyST-NB's rules).

    As in MyST-NB: the format spec is what follows the last ``:`` (``s`` if there is
    none), and ``doc::key`` reads ``key`` from the notebook ``doc`` next to this one.
    """
    key_fmt = content.rsplit(":", 1)
    key, fmt = (key_fmt[0], key_fmt[1]) if len(key_fmt) == 2 else (key_fmt[0], "s")
    if "::" in key:
        doc, key = key.split("::", 1)
        source, values = folder / doc, _glue_of(folder / doc)
    else:
        source, values = Path(where), local
    if key not in values:
        raise GlueError(
            f"{where}: the role `{content}` names {key!r}, which {source.name} does not glue; "
            f"glue it there (myst_nb.glue) and re-execute that chapter"
        )
    try:
        return format_plain_text(values[key], fmt)
    except (TypeError, ValueError) as exc:
        raise GlueError(f"{where}: the value of {key!r} ({values[key]!r}) cannot take the format {fmt!r}: {exc}") from exc


#: Code, where a role is an example shown as written: fenced blocks (``` or ~~~) and
#: inline code between two or more backticks (`` {glue:text}`n:,` ``).
CODE = re.compile(r"(?ms)^[ \t]*(`{3,}|~{3,}).*?^[ \t]*\1[ \t]*$|(`{2,}).+?\2")


def resolve_text(text: str, local: dict[str, str], folder: Path, where: str) -> str:
    """``text`` with every glue role replaced by its value, except in code (as the web book)."""
    out, start = [], 0
    for code in CODE.finditer(text):
        out.append(ROLE.sub(lambda m: resolve_role(m.group(1), local, folder, where), text[start:code.start()]))
        out.append(code.group(0))
        start = code.end()
    out.append(ROLE.sub(lambda m: resolve_role(m.group(1), local, folder, where), text[start:]))
    return "".join(out)


def _is_title(cell: dict) -> bool:
    return cell.get("cell_type") == "markdown" and "".join(cell.get("source", [])).lstrip().startswith("# ")


def reader_notebook(nb: dict, path: Path) -> dict:
    """The reader's version of the chapter ``nb`` (read from ``path``); ``nb`` is not changed."""
    out = copy.deepcopy(nb)
    local = glue_texts(nb)
    for cell in out["cells"]:
        if cell.get("cell_type") != "markdown":
            continue
        source = "".join(cell.get("source", []))
        source = resolve_text(source, local, path.parent, str(path))
        cell["source"] = MD_LINK.sub(r"](../chapters/\1\2", source)
    cells = out["cells"]
    if not any(NOTE_TAG in c.get("metadata", {}).get("tags", []) for c in cells):
        at = 1 if cells and _is_title(cells[0]) else 0
        cells.insert(at, {"cell_type": "markdown", "metadata": {"tags": [NOTE_TAG]}, "source": NOTE})
    return out


def reader_text(path: Path) -> str:
    """The reader's notebook of the chapter at ``path``, as the file's text."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    node = nbformat.from_dict(reader_notebook(nb, path))
    for i, cell in enumerate(node.cells):  # nbformat >= 4.5 wants an id on every cell
        cell.setdefault("id", f"{NOTE_TAG}-{i}")
    return nbformat.writes(node)


def resolve_markdown_page(path: Path) -> str:
    """A Markdown page's text with its glue roles resolved (its download in the web book)."""
    return resolve_text(path.read_text(encoding="utf-8"), {}, path.parent, str(path))


def chapters(folder: Path = CHAPTERS) -> list[Path]:
    """The chapters that are notebooks, in file order."""
    return sorted(folder.glob("[0-9][0-9]_*.ipynb"))


def write_readers(target: Path = READERS, sources: list[Path] | None = None) -> list[Path]:
    """Write the readers' notebooks of ``sources`` (all chapters) into ``target``; return those changed.

    A chapter whose roles cannot all be resolved (a value not stored: the chapter
    needs re-executing) gets no new reader's notebook; the others are still written,
    then :class:`GlueError` names every such chapter.
    """
    changed, failed = [], []
    target.mkdir(parents=True, exist_ok=True)
    for path in sources or chapters():
        try:
            text = reader_text(path)
        except GlueError as exc:
            failed.append(str(exc))
            continue
        dest = target / path.name
        if not dest.exists() or dest.read_text(encoding="utf-8") != text:
            atomic_write_text(dest, text)
            changed.append(dest)
    if failed:
        raise GlueError("\n".join(failed))
    return changed


def stale_readers(target: Path = READERS) -> list[str]:
    """What is out of step between ``chapters/`` and ``target`` (empty when all is in step)."""
    problems = []
    wanted = {p.name: p for p in chapters()}
    for name, path in wanted.items():
        dest = target / name
        try:
            text = reader_text(path)
        except GlueError as exc:
            problems.append(f"{exc}")
            continue
        if not dest.exists():
            problems.append(f"{dest} is missing")
        elif dest.read_text(encoding="utf-8") != text:
            problems.append(f"{dest} is out of step with {path}")
    problems += [f"{p} has no chapter" for p in sorted(target.glob("*.ipynb")) if p.name not in wanted]
    return problems


def write_downloads(html_dir: Path, chapter_dir: Path = CHAPTERS) -> list[Path]:
    """Replace the web book's downloadable sources (``_sources/chapters/``) with readers' versions."""
    sources = html_dir / "_sources" / chapter_dir.name
    written, failed = [], []
    pages = [(p, reader_text) for p in chapters(chapter_dir)]
    pages += [(p, resolve_markdown_page) for p in sorted(chapter_dir.glob("*.md"))]
    for path, make in pages:
        dest = sources / path.name
        if not dest.exists():
            continue
        try:
            atomic_write_text(dest, make(path))
        except GlueError as exc:
            failed.append(str(exc))
            continue
        written.append(dest)
    if failed:
        raise GlueError("\n".join(failed))
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m book_tools.reader_notebooks", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a reader's notebook is out of step")
    args = parser.parse_args(argv)
    try:
        if args.check:
            problems = stale_readers()
            for p in problems:
                print(f"[readers] {p}", file=sys.stderr)
            if problems:
                print("[readers] run: python -m book_tools.reader_notebooks", file=sys.stderr)
            return 1 if problems else 0
        changed = write_readers()
    except GlueError as exc:
        print(f"[readers] FAILED: {exc}", file=sys.stderr)
        return 1
    print(f"[readers] {len(changed)} of {len(chapters())} readers' notebooks written to {READERS.relative_to(ROOT)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
