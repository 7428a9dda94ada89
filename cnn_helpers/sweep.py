"""Sweeps: one parameterised training notebook, run once per variant through papermill.

The generalisation chapter compares variants of a recipe (dropout, random shifts,
optimizers, learning rates) without keeping a copy of the training code per
variant: ``train_recipe.ipynb`` (:data:`RUN_NOTEBOOK`, shipped inside this
package, so it is there wherever the package is installed, Colab included) trains
one recipe for a list of random seeds and glues its results, and
:func:`run_variant` runs it with other settings and reads the results back as
Python lists.
"""
from __future__ import annotations

import ast
from pathlib import Path

import numpy as np

from .notebooks import run_with_parameters

#: The one parameterised training notebook the sweeps run.
RUN_NOTEBOOK = Path(__file__).with_name("train_recipe.ipynb")

#: What the run notebook glues: one entry per random seed (the curves: one list per seed).
RUN_KEYS = ("seeds", "test_acc", "shifted_acc", "accuracy", "loss", "val_accuracy", "val_loss")


def parse_run(glued: dict) -> dict[str, list]:
    """The run notebook's glued values as Python lists.

    ``glue`` stores a list as its text (``"[0.5, 0.25]"``); this reads it back
    with ``ast.literal_eval`` (never ``eval``). A missing name raises ``KeyError``
    naming it: the run notebook and this list have drifted apart.
    """
    missing = [k for k in RUN_KEYS if k not in glued]
    if missing:
        raise KeyError(f"the run notebook glued no {missing}; it glued {sorted(glued)}")
    values = {}
    for key in RUN_KEYS:
        value = glued[key]
        values[key] = ast.literal_eval(value) if isinstance(value, str) else value
    return values


def check_seeds(seeds) -> list[int]:
    """``seeds`` as a list of plain ints; ``ValueError`` unless each is a whole number >= 0.

    Python and NumPy integers are accepted; floats (even 2.0), bools and strings
    are refused, so that no seed is silently rounded to another.
    """
    seeds = list(seeds)
    bad = [s for s in seeds
           if not isinstance(s, (int, np.integer)) or isinstance(s, bool) or s < 0]
    if bad or not seeds:
        raise ValueError(
            f"seeds must be a non-empty list of whole numbers >= 0, got {seeds!r}"
            + (f" ({bad!r} not allowed)" if bad else "")
        )
    return [int(s) for s in seeds]


def run_variant(notebook: str | Path, out_path: str | Path, seeds, **settings) -> dict[str, list]:
    """Run the training notebook for ``seeds`` with ``settings`` injected; return its results.

    ``settings`` are the notebook's parameters (recipe fields such as
    ``dropout=0.5`` or ``optimizer="sgd"``); a name the notebook's ``parameters``
    cell lacks (a typo such as ``dropot``) raises ``ValueError`` naming it and the
    known ones, before anything trains. ``seeds`` must be whole numbers >= 0 (a
    float such as 1.9 is refused, never rounded). The executed copy is kept at
    ``out_path``. A run that did not train the seeds asked for raises.
    """
    seeds = check_seeds(seeds)
    values = parse_run(run_with_parameters(notebook, out_path, seeds=seeds, **settings))
    if list(values["seeds"]) != seeds:
        raise RuntimeError(f"asked for seeds {seeds}, the run trained {values['seeds']}")
    return values


def tail_mean(curves, epochs: int = 5) -> np.ndarray:
    """Mean of the last ``epochs`` values of each curve (one curve per seed).

    One epoch's validation accuracy wobbles from epoch to epoch; the mean of
    the last few is a steadier summary of where a run ended up.
    """
    curves = [list(c) for c in curves]
    if epochs < 1 or any(len(c) < epochs for c in curves):
        raise ValueError(f"every curve needs at least {epochs} epochs (and epochs >= 1)")
    return np.array([float(np.mean(c[-epochs:])) for c in curves])
