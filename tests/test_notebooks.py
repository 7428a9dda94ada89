"""cnn_helpers.notebooks: glued values, a notebook's parameters, runs with a kernel environment."""
from __future__ import annotations

import os

import nbformat
import pytest

from cnn_helpers import notebooks
from cnn_helpers.sweep import RUN_NOTEBOOK


def _notebook(path, parameters: str, body: str) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    cells = [nbformat.v4.new_code_cell(parameters, metadata={"tags": ["parameters"]})]
    nb.cells = (cells if parameters else []) + [nbformat.v4.new_code_cell(body)]
    nbformat.write(nb, path)


def test_parameter_names_are_what_the_parameters_cell_assigns(tmp_path):
    _notebook(tmp_path / "a.ipynb", "seed = 0\nrate: float = 0.5\nx, y = 1, 2  # a pair\n", "")
    assert notebooks.parameter_names(tmp_path / "a.ipynb") == ["seed", "rate"]
    _notebook(tmp_path / "b.ipynb", "", "seed = 0")
    assert notebooks.parameter_names(tmp_path / "b.ipynb") == []


def test_the_training_notebook_has_every_recipe_setting():
    names = notebooks.parameter_names(RUN_NOTEBOOK)
    assert {"seeds", "dropout", "optimizer", "learning_rate", "augment_shift"} <= set(names)


def test_an_unknown_parameter_is_refused_naming_the_known_ones(tmp_path):
    _notebook(tmp_path / "a.ipynb", "seed = 0\n", "")
    notebooks.check_parameters(tmp_path / "a.ipynb", {"seed": 3})
    with pytest.raises(ValueError, match="has no parameter sed; its parameters are seed"):
        notebooks.check_parameters(tmp_path / "a.ipynb", {"sed": 3})
    _notebook(tmp_path / "b.ipynb", "", "")
    with pytest.raises(ValueError, match="no parameters cell"):
        notebooks.run_with_parameters(tmp_path / "b.ipynb", tmp_path / "out.ipynb", seed=1)
    assert not (tmp_path / "out.ipynb").exists(), "refused before running"


@pytest.mark.slow
def test_env_reaches_the_kernel_and_not_this_process(tmp_path):
    """Starts one Jupyter kernel (a few seconds); trains nothing."""
    _notebook(
        tmp_path / "a.ipynb", "seed = 0\n",
        "import os\nfrom myst_nb import glue\n"
        "glue('cache', os.environ.get('CNN_BOOK_CACHE'), display=False)\n"
        "glue('seed', seed, display=False)\n",
    )
    before = dict(os.environ)
    glued = notebooks.run_with_parameters(
        tmp_path / "a.ipynb", tmp_path / "out.ipynb", env={"CNN_BOOK_CACHE": "/elsewhere"},
        seed=4,
    )
    assert glued["cache"] == "'/elsewhere'" and glued["seed"] == "4"
    assert dict(os.environ) == before
