"""The Chinese edition's catalogs: cut, kept in step with the English, and whole.

The catalog test names every untranslated, fuzzy, obsolete or damaged message with its
file, so an English edit without its translation fails here (``book_tools.translate``).
"""
from __future__ import annotations

import json

import pytest

from book_tools import translate, zh_sources
from book_tools.sphinx_ext import other_edition


def test_blocks_keep_fences_and_math_whole():
    text = "# Title\n\nOne line\nand two.\n\n```{admonition} Note\nA\n\nB\n```\n\n$$\na\n\nb\n$$\n\nEnd."
    assert translate.blocks(text) == [
        "# Title", "One line\nand two.", "```{admonition} Note\nA\n\nB\n```", "$$\na\n\nb\n$$", "End."
    ]


def test_code_listings_and_bare_math_are_not_messages():
    assert not translate.translatable("```python\nx = 1\n```")
    assert not translate.translatable("$$\nx^2\n$$")
    assert not translate.translatable('<script src="../draw/draw.js"></script>')
    assert translate.translatable("```{note}\nRead this.\n```")
    assert translate.translatable('<button aria-label="Clear the pad">Clear</button>')


def test_a_translation_must_keep_glue_math_code_links_and_attributes():
    source = ('It reaches {glue:text}`acc:.2%` ($p = 0.5$) with `fit()`, see '
              '[Training](08_training.ipynb) and <b id="x">here</b>.')
    good = '它达到 {glue:text}`acc:.2%`（$p = 0.5$），用的是 `fit()`，见[训练](08_training.ipynb)和<b id="x">这里</b>。'
    assert translate.lost_spans(source, good) == []
    for broken, lost in [
        (good.replace("{glue:text}`acc:.2%`", "99%"), "lost role"),
        (good.replace("$p = 0.5$", "p = 0.5"), "lost math"),
        (good.replace("`fit()`", "fit()"), "lost code"),
        (good.replace("(08_training.ipynb)", "(08.ipynb)"), "lost link"),
        (good.replace('id="x"', 'id="y"'), "lost attribute"),
    ]:
        assert any(p.startswith(lost) for p in translate.lost_spans(source, broken)), lost
    doubled = good + " {glue:text}`acc:.2%`"
    assert translate.lost_spans(source, doubled) == ["added role '{glue:text}`acc:.2%`'"]


def test_update_marks_a_changed_message_fuzzy_and_a_removed_one_obsolete(tmp_path):
    (tmp_path / "chapters").mkdir()
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: chapters/a\n")
    page = tmp_path / "chapters" / "a.md"
    page.write_text("# Pooling\n\nPooling keeps the largest value of each window.\n")
    translate.update(tmp_path)
    po = translate.catalog_path(page, tmp_path)
    cat = translate.read_catalog(po)
    cat["# Pooling"].string = "# 汇聚"
    cat["Pooling keeps the largest value of each window."].string = "汇聚保留每个窗口中的最大值。"
    translate.write_catalog(po, cat)
    assert translate.problems(tmp_path) == []
    assert zh_sources.translate_page(page, translate.translation_table(page, tmp_path)).startswith("# 汇聚\n\n汇聚")

    page.write_text("# Pooling\n\nPooling keeps the largest value of every window.\n")
    found = translate.problems(tmp_path)
    assert [p.kind.split(" ")[0] for p in found] == ["English"], found  # before update
    translate.update(tmp_path)
    assert [p.kind.split(" ")[0] for p in translate.problems(tmp_path)] == ["fuzzy"]
    with pytest.raises(zh_sources.TranslationMissing, match="a.md"):
        zh_sources.translate_page(page, translate.translation_table(page, tmp_path))

    page.write_text("Pooling keeps the largest value of every window.\n")  # the heading is gone
    translate.update(tmp_path)
    kinds = sorted(p.kind.split(" ")[0] for p in translate.problems(tmp_path))
    assert kinds == ["fuzzy", "obsolete"]
    translate.update(tmp_path, prune=True)
    assert [p.kind.split(" ")[0] for p in translate.problems(tmp_path)] == ["fuzzy"]


def test_update_of_some_pages_leaves_the_other_catalogs_alone(tmp_path):
    (tmp_path / "chapters").mkdir()
    (tmp_path / "_toc.yml").write_text(
        "format: jb-book\nroot: chapters/a\nchapters:\n- file: chapters/b\n")
    a, b = tmp_path / "chapters" / "a.md", tmp_path / "chapters" / "b.md"
    a.write_text("# A\n")
    b.write_text("# B\n")
    said = translate.update(tmp_path, only=["chapters/b.md"])
    assert len(said) == 1 and "b.po" in said[0]
    assert not translate.catalog_path(a, tmp_path).exists()
    with pytest.raises(SystemExit, match="not pages of the book"):
        translate.update(tmp_path, only=["chapters/c.md"])


def test_the_chinese_notebook_keeps_code_and_outputs(tmp_path):
    nb = {"cells": [
        {"cell_type": "markdown", "metadata": {}, "source": ["# Pooling\n"]},
        {"cell_type": "code", "metadata": {}, "source": ["x = 1"], "outputs": [{"output_type": "stream",
         "name": "stdout", "text": ["1\n"]}], "execution_count": 1},
    ], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    page = tmp_path / "a.ipynb"
    page.write_text(json.dumps(nb))
    zh = json.loads(zh_sources.translate_page(page, {"# Pooling": "# 汇聚"}))
    assert zh["cells"][0]["source"] == ["# 汇聚\n"]
    assert zh["cells"][1] == nb["cells"][1]


def test_links_between_the_editions_go_both_ways():
    assert other_edition("chapters/04_pooling", chinese=False) == "../zh_CN/chapters/04_pooling.html"
    assert other_edition("chapters/04_pooling", chinese=True) == "../../chapters/04_pooling.html"
    assert other_edition("search", chinese=False) == "zh_CN/search.html"


def test_every_message_of_the_book_is_translated_and_in_step():
    """100% translated, nothing fuzzy or obsolete, every glue role, math span, code span,
    link target and HTML attribute kept: the list names the file and the message."""
    found = translate.problems()
    assert not found, f"{len(found)} problems in the Chinese catalogs:\n" + "\n".join(map(str, found[:40]))


def test_phrases_the_code_writes_have_a_chinese_twin():
    from cnn_helpers.bilingual import ZH_SUFFIX, join_numbers

    assert join_numbers([0, 2, 4, 6, 8]) == "0, 2, 4, 6 and 8"
    assert join_numbers([0, 2, 4], "zh_CN") == "0、2 和 4"
    assert join_numbers([5]) == "5"
    text = "是 {glue:text}`digit_text`，准确率 {glue:text}`acc:.2%`"
    twin = zh_sources.chinese_phrases(text, {"digit_text", "digit_text" + ZH_SUFFIX, "acc"})
    assert twin == "是 {glue:text}`digit_text__zh`，准确率 {glue:text}`acc:.2%`"
