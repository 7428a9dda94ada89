"""The committed chapters, read as files: skeleton, glue, clean outputs, table of contents.

These checks are fast (no kernel); nbval re-executes the same notebooks separately.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from chapter_structure import SKELETON, glue_references, headings
from cnn_helpers.notebooks import glued_values, read_notebook

from book_tools.paths import ROOT  # noqa: E402  (the one root)
NOTEBOOKS = sorted((ROOT / "chapters").glob("*.ipynb"))


def toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for entry in toc.get("chapters", []):
        files.append(entry["file"])
    return files


def test_every_chapter_is_in_the_toc_and_every_toc_entry_exists():
    listed = toc_files()
    for name in listed:
        assert list(ROOT.glob(name + ".*")), f"_toc.yml lists {name}, which does not exist"
    for nb in NOTEBOOKS:
        assert str(nb.relative_to(ROOT).with_suffix("")) in listed, f"{nb.name} is not in _toc.yml"


def test_there_are_chapters():
    assert len(NOTEBOOKS) >= 9, "chapters 01-09 are notebooks"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_skeleton_headings_in_order(path):
    found = headings(path)
    positions = []
    for name in SKELETON:
        assert name in found, f"{path.name} has no '## {name}' heading (found: {found})"
        positions.append(found.index(name))
    assert positions == sorted(positions), f"{path.name}: skeleton headings out of order: {found}"
    assert found[0] == "Overview" and found[1] == "Prerequisites" and found[-1] == "What's next"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_glued_name_in_the_prose_exists(path):
    used = glue_references(path)
    glued = glued_values(path)
    missing = sorted(used - set(glued))
    assert not missing, f"{path.name}: the prose uses glue names that no cell glues: {missing}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_outputs_are_from_one_clean_run(path):
    nb = read_notebook(path)
    counts = [c.get("execution_count") for c in nb["cells"] if c["cell_type"] == "code"]
    assert counts == list(range(1, len(counts) + 1)), f"{path.name}: execution counts {counts} are not 1, 2, 3, ..."
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            assert out["output_type"] != "error", f"{path.name}: stored error {out.get('ename')}"
            if out.get("name") == "stderr":
                text = "".join(out.get("text", ""))
                assert "Warning" not in text and "warn" not in text.lower(), f"{path.name}: stored warning {text[:200]!r}"
    assert nb["metadata"]["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_exercise_solutions_are_hidden_and_executed(path):
    nb = read_notebook(path)
    solutions = [c for c in nb["cells"] if c["cell_type"] == "code" and "hide-cell" in c.get("metadata", {}).get("tags", [])]
    assert solutions, f"{path.name}: no exercise solution cell tagged hide-cell"
    assert all(c.get("execution_count") for c in solutions)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_glued_numbers_are_plain_python_values(path):
    """A NumPy scalar glues as 'np.float64(0.99)', which the prose's format specs cannot format."""
    bad = {k: v for k, v in glued_values(path).items() if isinstance(v, str) and v.startswith("np.")}
    assert not bad, f"{path.name}: glue plain int/float values (wrap NumPy scalars in float()/int()): {bad}"


@pytest.mark.parametrize("path", sorted((ROOT / "chapters").glob("*.md")), ids=lambda p: p.name)
def test_markdown_chapters_follow_the_skeleton_too(path):
    found = [line[3:].strip() for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("## ")]
    positions = [found.index(name) for name in SKELETON if name in found]
    missing = [name for name in SKELETON if name not in found]
    assert not missing, f"{path.name} has no '## ' heading for {missing} (found: {found})"
    assert positions == sorted(positions), f"{path.name}: skeleton headings out of order: {found}"


#: Calls that give a chapter trained weights (or train): such a chapter must also pass
#: `make portability`, the second pass under other arithmetic.
TRAINS = ("trained_model(", "trained_tutorial_model(", "speedrun(", "run_variant(",
          "run_with_parameters(")
#: Left out of the second pass: none (the headline claim's chapter is in it too).
NOT_IN_SECOND_PASS: set[str] = set()


def test_every_chapter_with_trained_weights_is_in_the_second_pass():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    block = makefile[makefile.index("PORTABILITY_CHAPTERS :="):]
    block = block[: block.index("\n\n")]
    second_pass = set(re.findall(r"\d\d_\w+\.ipynb", block))
    uses_weights = set()
    for path in NOTEBOOKS:
        code = "".join("".join(c["source"]) for c in read_notebook(path)["cells"]
                       if c["cell_type"] == "code")
        if any(call in code for call in TRAINS):
            uses_weights.add(path.name)
    assert {"08_training.ipynb", "13_speedrun.ipynb"} <= uses_weights  # the detection works
    assert uses_weights - NOT_IN_SECOND_PASS == second_pass, (
        "Makefile's PORTABILITY_CHAPTERS must be exactly the chapters with trained weights "
        f"(minus {sorted(NOT_IN_SECOND_PASS)}): missing "
        f"{sorted(uses_weights - NOT_IN_SECOND_PASS - second_pass)}, extra "
        f"{sorted(second_pass - uses_weights)}"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_code_lines_fit_the_page(path):
    """At most 88 characters: a longer line scrolls sideways in the book."""
    long = [(i, line) for i, cell in enumerate(read_notebook(path)["cells"])
            if cell["cell_type"] == "code"
            for line in "".join(cell["source"]).splitlines() if len(line) > 88]
    assert not long, f"code lines over 88 characters (cell, line): {long}"
