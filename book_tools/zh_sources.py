"""The Chinese book's sources, generated: ``python -m book_tools.zh_sources [--build]``.

Every page of the English book is copied to ``_build/zh-src/`` with its prose replaced,
message by message, by the translations in ``locales/zh_CN`` (:mod:`book_tools.translate`).
Code cells and their stored outputs are copied unchanged, so every glued number of a
Chinese sentence is resolved from the same stored output as its English twin, and nothing
is executed. The table of contents is the English one; the configuration is the English
one with the Chinese title and ``language: zh_CN`` (Sphinx's and the theme's own strings
in Chinese, ``<html lang="zh-CN">``). ``_assets/`` and ``readers/`` are linked, not copied.

With ``--build`` it then runs ``jupyter-book build`` on that tree (warnings are errors) and
puts the HTML beside the English book, in ``_build/html/zh_CN/``.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

from cnn_helpers import ledger
from cnn_helpers.bilingual import ZH_SUFFIX
from cnn_helpers.notebooks import glued_values

from . import translate
from .paths import ROOT

SOURCE = ROOT / "_build" / "zh-src"
#: Where the Chinese HTML book goes: beside the English one, one folder down.
HTML = ROOT / "_build" / "html" / translate.LANGUAGE
LINKED = ("_assets", "readers")
#: The figures' alt texts in Chinese, English -> Chinese, read by ``book_tools.sphinx_ext``.
ALT_TEXTS = "_alt_texts.zh_CN.json"


class TranslationMissing(RuntimeError):
    """A page's prose has a message with no finished translation."""


def translate_markdown(text: str, table: dict[str, str], where: str, fallback: bool = False) -> str:
    """``text`` with every translatable block replaced by its translation from ``table``.

    A block without one raises :class:`TranslationMissing`, unless ``fallback`` (a
    translator's preview of a half-done page) keeps it in English.
    """
    out = []
    for block in translate.blocks(text):
        if block.startswith(ledger.TABLE_MARK):
            out.append(ledger.TABLE_MARK + "\n" + ledger.table_markdown(translate.LANGUAGE))
        elif not translate.translatable(block):
            out.append(block)
        elif block in table:
            out.append(table[block])
        elif fallback:
            out.append(block)
        else:
            first = block.strip().split("\n")[0][:80]
            raise TranslationMissing(
                f"{where}: no finished translation for {first!r}: run "
                "`python -m book_tools.translate check` and translate what it lists"
            )
    return "\n\n".join(out) + ("\n" if text.endswith("\n") else "")


_GLUE_KEY = re.compile(r"(\{glue(?::\w+)?\}`)([\w.-]+)((?::[^`]*)?`)")


def chinese_phrases(text: str, glued: set[str]) -> str:
    """Glue roles pointed at the Chinese twin of a glued phrase, where the code glued one
    (:func:`cnn_helpers.bilingual.glue_phrase`); numbers keep their one key."""
    def swap(m: re.Match) -> str:
        twin = m.group(2) + ZH_SUFFIX
        return m.group(1) + (twin if twin in glued else m.group(2)) + m.group(3)

    return _GLUE_KEY.sub(swap, text)


def translate_page(page: Path, table: dict[str, str], fallback: bool = False) -> str:
    """The Chinese text of one page (a notebook's JSON or a Markdown file)."""
    if page.suffix != ".ipynb":
        return translate_markdown(page.read_text(encoding="utf-8"), table, page.name, fallback)
    nb = json.loads(page.read_text(encoding="utf-8"))
    glued = set(glued_values(nb))
    for n, cell in enumerate(nb["cells"], start=1):
        if cell["cell_type"] == "markdown":
            where = f"{page.name}, cell {n}"
            text = translate_markdown("".join(cell["source"]), table, where, fallback)
            cell["source"] = chinese_phrases(text, glued).splitlines(keepends=True)
    return json.dumps(nb, ensure_ascii=False, indent=1) + "\n"


def book_title(root: Path = ROOT) -> str:
    """The Chinese title: the translation of the root page's heading (one home for it)."""
    first = translate.pages(root)[0]
    table = translate.translation_table(first, root)
    heading = next(m for m, _ in translate.messages(first) if m.startswith("# "))
    if heading not in table:
        raise TranslationMissing(f"{first.name}: its heading {heading!r} has no translation")
    return table[heading][2:].strip()


def zh_config(english: str, title: str) -> str:
    """The Chinese ``_config.yml``: the English one, the Chinese title, ``language: zh_CN``."""
    config = yaml.safe_load(english)
    config["title"] = title
    sphinx = config.setdefault("sphinx", {}).setdefault("config", {})
    sphinx["language"] = translate.LANGUAGE
    # MyST-NB's fold toggles ("Show code cell source") are not in Sphinx's locale.
    sphinx["nb_code_prompt_show"] = "展开代码单元格"
    sphinx["nb_code_prompt_hide"] = "收起代码单元格"
    return yaml.safe_dump(config, allow_unicode=True, sort_keys=False)


def write_sources(out: Path = SOURCE, root: Path = ROOT, fallback: bool = False) -> list[Path]:
    """Write the Chinese source tree to ``out`` (replaced whole); return the pages written."""
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    written = []
    for page in translate.pages(root):
        table = translate.translation_table(page, root)
        target = tmp / page.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(translate_page(page, table, fallback), encoding="utf-8")
        written.append(target)
    alts = {}
    for page in translate.pages(root):
        alts.update(translate.translation_table(page, root, context=translate.ALT_CONTEXT))
    (tmp / ALT_TEXTS).write_text(json.dumps(alts, ensure_ascii=False, indent=1), encoding="utf-8")
    shutil.copy2(root / "_toc.yml", tmp / "_toc.yml")
    (tmp / "_config.yml").write_text(zh_config((root / "_config.yml").read_text(), book_title(root)), encoding="utf-8")
    for name in LINKED:
        os.symlink(root / name, tmp / name, target_is_directory=True)
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    return [out / p.relative_to(tmp) for p in written]


def build(source: Path = SOURCE, html: Path = HTML) -> None:
    """``jupyter-book build`` of the Chinese tree (warnings are errors) into ``html``."""
    cmd = [sys.executable, "-c", "from jupyter_book.cli.main import main; main()",
           "build", str(source), "-W", "--keep-going", "--all"]
    print("[zh] jupyter-book build _build/zh-src -W --keep-going --all", flush=True)
    proc = subprocess.run(cmd, cwd=source)
    if proc.returncode != 0:
        raise RuntimeError(f"the Chinese book's build failed (exit status {proc.returncode}); see above")
    shutil.rmtree(html, ignore_errors=True)
    shutil.copytree(source / "_build" / "html", html)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m book_tools.zh_sources", description=__doc__.split("\n")[0])
    parser.add_argument("--build", action="store_true", help="also build the HTML into _build/html/zh_CN")
    parser.add_argument("--preview", action="store_true",
                        help="a translator's preview: untranslated messages stay English (never for release)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        pages = write_sources(fallback=args.preview)
        print(f"[zh] {len(pages)} pages written to {SOURCE.relative_to(ROOT)}", flush=True)
        if args.build:
            build()
    except (TranslationMissing, RuntimeError) as exc:
        print(f"[zh] FAILED: {exc}", file=sys.stderr, flush=True)
        return 1
    print(f"[zh] done in {time.perf_counter() - start:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
