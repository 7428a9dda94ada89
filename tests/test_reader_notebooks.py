"""Readers' notebooks (book_tools.reader_notebooks): the chapters with their numbers in the prose.

The web book's side (the same text as the HTML's glued spans, the download button,
the launch buttons) is checked in tests/test_browser.py on a built book.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from book_tools import reader_notebooks as rn
from book_tools.sphinx_ext import readers_url


def _glue_output(name: str, text: str) -> dict:
    return {
        "output_type": "display_data",
        "data": {rn.GLUE_PREFIX + "text/plain": text},
        "metadata": {"scrapbook": {"name": name, "mime_prefix": rn.GLUE_PREFIX}},
    }


def _notebook(markdown: list[str], glued: dict[str, str]) -> dict:
    cells = [{"cell_type": "markdown", "metadata": {}, "source": md} for md in markdown]
    cells.append({
        "cell_type": "code", "execution_count": 1, "metadata": {}, "source": "glue(...)",
        "outputs": [_glue_output(k, v) for k, v in glued.items()],
    })
    return {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def _markdown(nb: dict) -> list[str]:
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"]


def test_roles_take_the_web_books_formats(tmp_path):
    # The stored text/plain of each value, as glue() writes it; the expected texts are
    # Python's format() of those values, worked out by hand.
    nb = _notebook(
        ["# Title", "There are {glue:text}`n:,` images, accuracy {glue:text}`acc:.4f` "
         "({glue:text}`acc:.1%`), shape {glue:text}`shape`, {glue}`n` in all."],
        {"n": "60000", "acc": "0.123456", "shape": "'(28, 28, 1)'"},
    )
    out = rn.reader_notebook(nb, tmp_path / "01_x.ipynb")
    assert _markdown(out)[-1] == (
        "There are 60,000 images, accuracy 0.1235 (12.3%), shape (28, 28, 1), 60000 in all."
    )
    assert _markdown(nb)[-1].startswith("There are {glue:text}`n:,`"), "the chapter itself must not change"


def test_roles_shown_as_code_stay_as_written(tmp_path):
    text = (
        "the prose writes `` {glue:text}`n:,` ``, shown as {glue:text}`n:,`:\n\n"
        "```python\nglue(\"n\", 60000)  # then {glue:text}`n:,`\n```\n"
    )
    nb = _notebook([text], {"n": "60000"})
    out = rn.reader_notebook(nb, tmp_path / "15_x.ipynb")
    assert _markdown(out)[-1] == text.replace("shown as {glue:text}`n:,`", "shown as 60,000")


def test_roles_read_another_notebook(tmp_path):
    other = _notebook([], {"test_acc": "0.99125"})
    (tmp_path / "08_training.ipynb").write_text(json.dumps(other), encoding="utf-8")
    nb = _notebook(["a network that scores {glue:text}`08_training.ipynb::test_acc:.1%`"], {})
    out = rn.reader_notebook(nb, tmp_path / "14_x.ipynb")
    assert "a network that scores 99.1%" in _markdown(out)


def test_a_missing_value_fails_loudly(tmp_path):
    nb = _notebook(["{glue:text}`nowhere:,` images"], {"n": "1"})
    with pytest.raises(rn.GlueError, match="'nowhere'.*re-execute"):
        rn.reader_notebook(nb, tmp_path / "01_x.ipynb")


def test_note_after_the_title_once_and_md_links_into_chapters(tmp_path):
    nb = _notebook(["# 3. Title\n\nIntro.", "See [the appendix](15_checks.md) and [next](04_x.ipynb)."], {})
    once = rn.reader_notebook(nb, tmp_path / "03_x.ipynb")
    twice = rn.reader_notebook(once, tmp_path / "03_x.ipynb")
    texts = _markdown(twice)
    assert texts[0].startswith("# 3. Title")
    assert texts[1] == rn.NOTE and texts.count(rn.NOTE) == 1
    assert "re-running the cells computes them afresh" in rn.NOTE
    assert texts[2] == "See [the appendix](../chapters/15_checks.md) and [next](04_x.ipynb)."


def test_committed_readers_notebooks_are_in_step_with_the_chapters():
    problems = rn.stale_readers()
    assert not problems, "\n".join(problems) + "\nrun: python -m book_tools.reader_notebooks"


def test_no_raw_role_in_any_readers_notebook():
    readers = sorted(rn.READERS.glob("*.ipynb"))
    assert [p.name for p in readers] == [p.name for p in rn.chapters()], "one reader's notebook per chapter"
    for path in readers:
        reader = json.loads(path.read_text(encoding="utf-8"))
        raw = [md[:80] for md in _markdown(reader) if "{glue" in md]
        assert not raw, f"readers/{path.name} still shows glue roles: {raw}"
        assert _markdown(reader)[1] == rn.NOTE, f"readers/{path.name} lacks the note after its title"


def test_a_real_chapter_reads_like_the_book():
    reader = json.loads((rn.READERS / "01_input.ipynb").read_text(encoding="utf-8"))
    prose = " ".join(_markdown(reader))
    # MNIST's split (an exact fact), glued as {glue:text}`n_train:,` and `n_test:,`.
    assert "There are 60,000 training images and\n10,000 test images" in prose


def test_download_sources_are_replaced(tmp_path):
    chapters = tmp_path / "chapters"
    chapters.mkdir()
    nb = _notebook(["# 1. X", "{glue:text}`n:,` images"], {"n": "60000"})
    (chapters / "01_x.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    (chapters / "14_page.md").write_text("# 14\n\nscores {glue:text}`01_x.ipynb::n:,`\n", encoding="utf-8")
    sources = tmp_path / "html" / "_sources" / "chapters"
    sources.mkdir(parents=True)
    for name in ("01_x.ipynb", "14_page.md"):
        (sources / name).write_text((chapters / name).read_text(encoding="utf-8"), encoding="utf-8")
    written = rn.write_downloads(tmp_path / "html", chapters)
    assert written == [sources / "01_x.ipynb", sources / "14_page.md"]
    served = json.loads((sources / "01_x.ipynb").read_text(encoding="utf-8"))
    assert _markdown(served) == ["# 1. X", rn.NOTE, "60,000 images"]
    assert (sources / "14_page.md").read_text(encoding="utf-8") == "# 14\n\nscores 60,000\n"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://colab.research.google.com/github/o/r/blob/main/chapters/01_input.ipynb",
         "https://colab.research.google.com/github/o/r/blob/main/readers/01_input.ipynb"),
        ("https://mybinder.org/v2/gh/o/r/main?urlpath=lab/tree/chapters/01_input.ipynb",
         "https://mybinder.org/v2/gh/o/r/main?urlpath=lab/tree/readers/01_input.ipynb"),
        # Markdown pages have no reader's notebook: unchanged.
        ("https://mybinder.org/v2/gh/o/r/main?urlpath=lab/tree/chapters/14_draw.md",
         "https://mybinder.org/v2/gh/o/r/main?urlpath=lab/tree/chapters/14_draw.md"),
    ],
)
def test_launch_buttons_point_at_readers(url, expected):
    page = Path(expected).stem if "readers" in expected else "14_draw"
    assert readers_url(url, f"chapters/{page}", rn.ROOT) == expected
