"""book_tools.execute: a chapter re-run in place, with fresh outputs and counts 1, 2, ..."""
from __future__ import annotations

import nbformat
import pytest

from book_tools import execute


def test_a_notebook_is_run_top_to_bottom_and_saved_in_place(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# A chapter"),
        nbformat.v4.new_code_cell("import os\nx = 6 * 7"),
        nbformat.v4.new_code_cell("print(x, os.path.basename(os.getcwd()))"),
    ]
    nb.cells[2].outputs = [nbformat.v4.new_output("stream", text="stale\n")]
    path = tmp_path / "chapter" / "nb.ipynb"
    path.parent.mkdir()
    nbformat.write(nb, path)
    execute.execute_in_place(path, timeout=120)
    done = nbformat.read(path, as_version=4)
    code = [c for c in done.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == [1, 2]
    # run in the notebook's own folder, as the chapters are; the stale output is gone
    assert [o.get("text") for o in code[1].outputs] == ["42 chapter\n"]


def test_no_notebook_is_a_usage_error():
    with pytest.raises(SystemExit, match="usage"):
        execute.main([])
