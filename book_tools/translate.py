"""The Chinese edition: translation catalogs from the one English source, and the check.

The English chapters are the only source of code, outputs and prose. Their prose is cut
into *messages* (:func:`blocks`: a paragraph, a heading, a list, a table, an admonition,
an HTML block), which live in gettext catalogs, one per page, under
``locales/zh_CN/LC_MESSAGES/chapters/``. The Chinese book is then *generated*
(:mod:`book_tools.zh_sources`): the same notebooks, code cells and stored outputs, with
each message replaced by its translation. So a glued number in a Chinese sentence is
resolved from the same stored output as in the English one, and nothing is translated
by editing a copy of a chapter.

Commands (``python -m book_tools.translate ...``):

``update``  re-cut the English pages and merge the messages into the catalogs, as
            gettext's ``msgmerge`` does: a changed English message keeps its old
            translation marked *fuzzy* (to be checked), a new one is added empty, one
            no longer in the English text is kept as *obsolete* (to be deleted with
            ``update --prune`` once its translation has been reused).
``check``   list every problem: untranslated, fuzzy or obsolete messages, English
            messages missing from a catalog (the catalogs were not updated), and
            translations that lost a glue role, a math span, a code span, a link target
            or an HTML attribute of their source. Exit status 1 when there are any.
``stats``   messages and characters, English and Chinese.

Why not Sphinx's own gettext route: a glue role inside a translated message renders
empty ("No key ... found in glue data for this document"), since MyST-NB resolves glue
while parsing the notebook and the translated message is parsed apart from it.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

from cnn_helpers import ledger
from cnn_helpers.store import atomic_write_bytes

from .paths import ROOT

LANGUAGE = "zh_CN"
LOCALES = ROOT / "locales"
CATALOGS = LOCALES / LANGUAGE / "LC_MESSAGES"


def pages(root: Path = ROOT) -> list[Path]:
    """The book's pages in table-of-contents order (``_toc.yml``), as paths under ``root``."""
    names = re.findall(r"^(?:root|- file):\s*(\S+)\s*$", (root / "_toc.yml").read_text(), re.M)
    found = []
    for name in names:
        matches = [root / f"{name}{ext}" for ext in (".ipynb", ".md") if (root / f"{name}{ext}").exists()]
        if len(matches) != 1:
            raise FileNotFoundError(f"_toc.yml names {name}, but {len(matches)} files match it")
        found.append(matches[0])
    return found


# ------------------------------------------------------------------ cutting into messages
_FENCE = re.compile(r"^\s*(`{3,}|~{3,}|:{3,})")


def _fence_closes(line: str, token: str) -> bool:
    stripped = line.strip()
    return stripped.startswith(token) and set(stripped) == {token[0]}


def blocks(text: str) -> list[str]:
    """Cut Markdown into blocks separated by blank lines, never inside a fence.

    A fence (```` ``` ````, ``~~~``, ``:::`` or a ``$$`` math display) runs to its closing
    line, blank lines included, so an admonition or a display equation stays one block.
    """
    out: list[str] = []
    current: list[str] = []
    fence: str | None = None
    for line in text.split("\n"):
        if fence is None and not line.strip():
            if current:
                out.append("\n".join(current))
                current = []
            continue
        current.append(line)
        if fence is not None:
            if (fence == "$$" and line.strip().endswith("$$")) or (fence != "$$" and _fence_closes(line, fence)):
                fence = None
            continue
        m = _FENCE.match(line)
        if m:
            fence = m.group(1)
        elif line.strip().startswith("$$") and not (len(line.strip()) > 2 and line.strip().endswith("$$")):
            fence = "$$"
    if current:
        out.append("\n".join(current))
    return out


_CODE_FENCE = re.compile(r"^(`{3,}|~{3,})\s*[\w+-]*\s*$")


def translatable(block: str) -> bool:
    """False for what stays as it is in every language: code listings, bare math, bare tags."""
    lines = block.strip().split("\n")
    if lines[0] == ledger.TABLE_MARK:
        return False  # generated in each language (book_tools.zh_sources)
    if _CODE_FENCE.match(lines[0]) and len(lines) > 1:
        return False  # ```python ... ``` : code, never translated
    if lines[0].strip().startswith("$$") and lines[-1].strip().endswith("$$"):
        return False  # a display equation alone
    if all(re.fullmatch(r"\s*<(script|link|style|/?div)\b[^>]*>\s*(</script>)?\s*", ln) for ln in lines):
        return False
    return bool(re.search(r"[A-Za-z]", re.sub(r"<[^>]*>", "", block)))


def markdown_sources(page: Path) -> list[tuple[int | None, str]]:
    """``(cell number from 1, text)`` of each Markdown cell of a notebook; ``(None, text)``
    for a Markdown page."""
    if page.suffix == ".ipynb":
        nb = json.loads(page.read_text(encoding="utf-8"))
        cells = enumerate(nb["cells"], start=1)
        return [(n, "".join(c["source"])) for n, c in cells if c["cell_type"] == "markdown"]
    return [(None, page.read_text(encoding="utf-8"))]


def messages(page: Path) -> list[tuple[str, str]]:
    """``(message, where)`` for every translatable block of a page, in order, repeats kept."""
    found = []
    for cell, text in markdown_sources(page):
        where = (page.name, cell)  # written "#: 04_pooling.ipynb:3", the third cell
        found.extend((b, where) for b in blocks(text) if translatable(b))
    return found


#: The gettext context of a figure's alt text (built from its title by
#: ``sphinx_ext.figure_alt``; the figure itself keeps its English labels).
ALT_CONTEXT = "figure alt text"


def alt_messages(page: Path) -> list[tuple[str, tuple]]:
    """``(alt text, where)`` for every figure a notebook's code cells draw, in order."""
    if page.suffix != ".ipynb":
        return []
    from .sphinx_ext import figure_alt

    nb = json.loads(page.read_text(encoding="utf-8"))
    found = []
    for n, cell in enumerate(nb["cells"], start=1):
        if cell["cell_type"] == "code" and any("image/png" in (o.get("data") or {}) for o in cell.get("outputs", [])):
            found.append((figure_alt("".join(cell["source"])), (page.name, n)))
    return found


def catalog_path(page: Path, root: Path = ROOT) -> Path:
    """``chapters/01_input.ipynb`` -> ``locales/zh_CN/LC_MESSAGES/chapters/01_input.po``."""
    rel = page.relative_to(root).with_suffix(".po")
    return root / "locales" / LANGUAGE / "LC_MESSAGES" / rel


def template(page: Path) -> Catalog:
    """The page's messages as an untranslated catalog (gettext's ``.pot``)."""
    cat = Catalog(locale=LANGUAGE, project="CNNs, layer by layer", fuzzy=False)
    for message, where in messages(page):
        if message in cat:
            cat[message].locations.append(where)
        else:
            cat.add(message, locations=[where])
    for alt, where in alt_messages(page):
        if cat.get(alt, context=ALT_CONTEXT) is None:
            cat.add(alt, locations=[where], context=ALT_CONTEXT)
    return cat


def read_catalog(path: Path) -> Catalog:
    with path.open("rb") as f:
        return read_po(f, locale=LANGUAGE)


def write_catalog(path: Path, catalog: Catalog) -> None:
    """Write atomically, lines unwrapped (``width=0``): one message, one readable block."""
    import io

    buf = io.BytesIO()
    write_po(buf, catalog, width=0, omit_header=False, sort_output=False, include_previous=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, buf.getvalue())


def update(root: Path = ROOT, prune: bool = False, only: list[str] | None = None) -> list[str]:
    """Merge every page's messages into its catalog; return one line per catalog changed.

    ``only`` names pages (e.g. ``chapters/04_pooling.ipynb``): the others are left alone,
    so translators working on different pages never write each other's catalogs.
    """
    said = []
    chosen = pages(root)
    if only:
        wanted = {(root / name).resolve() for name in only}
        unknown = wanted - {page.resolve() for page in chosen}
        if unknown:
            raise SystemExit(f"update: not pages of the book: {sorted(map(str, unknown))}")
        chosen = [page for page in chosen if page.resolve() in wanted]
    for page in chosen:
        path = catalog_path(page, root)
        fresh = template(page)
        if path.exists():
            cat = read_catalog(path)
            before = {m.id: m.string for m in cat if m.id}
            cat.update(fresh, no_fuzzy_matching=False, update_header_comment=False)
            if prune:
                cat.obsolete.clear()
            after = {m.id: m.string for m in cat if m.id}
            changed = before != after or bool(cat.obsolete) or prune
        else:
            cat, changed = fresh, True
        if changed:
            write_catalog(path, cat)
            said.append(f"{path.relative_to(root)}: {len(fresh)} messages")
    return said


# ------------------------------------------------------------------ what must be kept
_GLUE = re.compile(r"\{glue(?::\w+)?\}`[^`]*`")
_ROLE = re.compile(r"\{[\w:-]+\}`[^`]*`")
_DIRECTIVE = re.compile(r"^\s*(?:`{3,}|:{3,})\{[\w:-]+\}", re.M)
_MATH = re.compile(r"\$\$.+?\$\$|(?<![\\$])\$(?!\s)[^$\n]+?(?<![\s\\])\$", re.S)
_CODE = re.compile(r"(?<!`)`[^`]+`(?!`)")  # a code span may wrap a line
_LINK = re.compile(r"\]\(([^)\s]+)\)")
_ATTR = re.compile(r"\b(id|href|src|class|data-[\w-]+|for|type|role|tabindex)=\"([^\"]*)\"")
_LABEL = re.compile(r"^\((\S+)\)=\s*$", re.M)


def kept_spans(text: str) -> Counter:
    """What a translation must keep exactly, with counts: roles (glue first), directives,
    math, code spans, link targets, the HTML attributes that are not prose, targets."""
    found: Counter = Counter()
    rest = text
    for kind, pattern in (("role", _ROLE), ("math", _MATH), ("code", _CODE)):
        for m in pattern.finditer(rest):
            found[(kind, m.group(0))] += 1
        rest = pattern.sub(" ", rest)
    for m in _DIRECTIVE.finditer(text):
        found[("directive", m.group(0).strip())] += 1
    for m in _LINK.finditer(text):
        found[("link", m.group(1))] += 1
    for m in _ATTR.finditer(text):
        found[("attribute", m.group(0))] += 1
    for m in _LABEL.finditer(text):
        found[("target", m.group(1))] += 1
    return found


def lost_spans(source: str, translation: str) -> list[str]:
    """What ``translation`` dropped or added, compared with ``source``: empty when all kept."""
    a, b = kept_spans(source), kept_spans(translation)
    problems = [f"lost {kind} {span!r}" for (kind, span), n in (a - b).items()]
    problems += [f"added {kind} {span!r}" for (kind, span), n in (b - a).items()]
    return problems


# ------------------------------------------------------------------ the check
@dataclass(frozen=True)
class Problem:
    """One thing wrong with the Chinese edition, with the file and the message it concerns."""

    path: str
    kind: str
    message: str

    def __str__(self) -> str:
        first = self.message.strip().split("\n")[0]
        return f"{self.path}: {self.kind}: {first[:100]!r}"


def problems(root: Path = ROOT) -> list[Problem]:
    """Every untranslated, fuzzy, obsolete, missing or damaged message of every page."""
    found = []
    for page in pages(root):
        path = catalog_path(page, root)
        rel = str(path.relative_to(root))
        english = [m for m, _ in messages(page)]
        if not path.exists():
            found.append(Problem(rel, "missing catalog (run: python -m book_tools.translate update)", page.name))
            continue
        cat = read_catalog(path)
        wanted = [(m, None) for m in english] + [(a, ALT_CONTEXT) for a, _ in alt_messages(page)]
        for msg, context in wanted:
            entry = cat.get(msg, context=context)
            if entry is None:
                found.append(Problem(rel, "English text not in the catalog (run update, then translate)", msg))
            elif not entry.string:
                found.append(Problem(rel, "untranslated", msg))
            elif entry.fuzzy:
                found.append(Problem(rel, "fuzzy (the English changed: check the translation, drop the flag)", msg))
            else:
                found.extend(Problem(rel, f"translation {p}", msg) for p in lost_spans(msg, entry.string))
        found.extend(Problem(rel, "obsolete (run update --prune)", m.id) for m in cat.obsolete.values())
    return found


def translation_table(page: Path, root: Path = ROOT, context: str | None = None) -> dict[str, str]:
    """English message -> Chinese, for a page whose catalog passes :func:`problems`
    (the prose, or with ``context=ALT_CONTEXT`` the figures' alt texts)."""
    cat = read_catalog(catalog_path(page, root))
    return {m.id: m.string for m in cat if m.id and m.string and not m.fuzzy and m.context == context}


def stats(root: Path = ROOT) -> dict[str, int]:
    """How much there is: messages, English characters, translated messages and characters."""
    total = {"messages": 0, "english_chars": 0, "translated": 0, "chinese_chars": 0}
    for page in pages(root):
        english = {m for m, _ in messages(page)}
        table = translation_table(page, root) if catalog_path(page, root).exists() else {}
        total["messages"] += len(english)
        total["english_chars"] += sum(len(m) for m in english)
        total["translated"] += sum(1 for m in english if m in table)
        total["chinese_chars"] += sum(len(table[m]) for m in english if m in table)
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m book_tools.translate", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("update", help="merge the English messages into the catalogs")
    up.add_argument("--prune", action="store_true", help="delete obsolete messages")
    up.add_argument("pages", nargs="*", help="only these pages (default: every page)")
    sub.add_parser("check", help="list untranslated, fuzzy, obsolete and damaged messages")
    sub.add_parser("stats", help="count messages and characters")
    args = parser.parse_args(argv)
    if args.command == "update":
        for line in update(prune=args.prune, only=args.pages):
            print(line)
        return 0
    if args.command == "stats":
        print(json.dumps(stats(), indent=1))
        return 0
    found = problems()
    for p in found:
        print(p)
    print(f"{len(found)} problems" if found else "the Chinese catalogs are complete and in step")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
