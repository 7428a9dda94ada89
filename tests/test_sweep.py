"""cnn_helpers.sweep: reading the run notebook's results, running a variant through papermill."""
from __future__ import annotations

import nbformat
import numpy as np
import pytest

from cnn_helpers.sweep import RUN_KEYS, parse_run, run_variant, tail_mean


def test_parse_run_reads_lists_back_from_their_text():
    glued = {k: "[0.5, 0.25]" for k in RUN_KEYS}
    glued["val_loss"] = "[[1.0, 0.5], [0.9, 0.4]]"
    values = parse_run(glued)
    assert values["test_acc"] == [0.5, 0.25]
    assert values["val_loss"] == [[1.0, 0.5], [0.9, 0.4]]


def test_parse_run_names_what_is_missing():
    glued = {k: "[1]" for k in RUN_KEYS if k != "shifted_acc"}
    with pytest.raises(KeyError, match="shifted_acc"):
        parse_run(glued)


def test_parse_run_never_evaluates_code():
    glued = {k: "[1]" for k in RUN_KEYS}
    glued["loss"] = "__import__('os').getcwd()"
    with pytest.raises(ValueError):
        parse_run(glued)


def test_tail_mean_averages_the_last_epochs_of_each_curve():
    np.testing.assert_allclose(tail_mean([[0, 1, 2, 3], [4, 4, 6, 8]], epochs=2), [2.5, 7.0])
    with pytest.raises(ValueError, match="at least 5 epochs"):
        tail_mean([[1, 2, 3]])


def _fake_run_notebook(path):
    """A stand-in for the training notebook: glues its parameters back, trains nothing."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_code_cell("seeds = [0]\ndropout = 0.0", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(
            "from myst_nb import glue\n"
            "glue('seeds', list(seeds), display=False)\n"
            "for k in ('test_acc', 'shifted_acc'):\n"
            "    glue(k, [dropout + s for s in seeds], display=False)\n"
            "for k in ('accuracy', 'loss', 'val_accuracy', 'val_loss'):\n"
            "    glue(k, [[dropout, s] for s in seeds], display=False)\n"
        ),
    ]
    nbformat.write(nb, path)


@pytest.mark.slow
def test_run_variant_injects_the_settings_and_reads_every_seed(tmp_path):
    _fake_run_notebook(tmp_path / "run.ipynb")
    values = run_variant(tmp_path / "run.ipynb", tmp_path / "out.ipynb", [3, 4], dropout=0.5)
    assert values["seeds"] == [3, 4]
    assert values["test_acc"] == [3.5, 4.5]
    assert values["val_loss"] == [[0.5, 3], [0.5, 4]]
    assert (tmp_path / "out.ipynb").exists()
