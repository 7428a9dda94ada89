"""The speedrun's numbers kept: runs measured once per machine, and the recorded step table.

The speedrun chapter's step table trains several recipes for minutes, and its
times describe one machine. :func:`measured_run` measures a recipe once and keeps
its checkpoints in the book's cache folder; :func:`recorded_run` reads the table
recorded by ``python -m book_tools.speedrun_steps`` (with the machine it was
measured on) from ``cnn_helpers/speedrun_steps.json``.
"""
from __future__ import annotations

import hashlib
import json
import platform
from pathlib import Path
from typing import TYPE_CHECKING

from .machine import describe, onednn_enabled
from .precision import BF16_FLAGS, cpu_flags
from .store import SPEEDRUN, atomic_write_text, cache_dir

if TYPE_CHECKING:
    from .speedrun_recipe import SpeedRecipe

#: The speedrun chapter's step table as measured on one machine, with that machine:
#: written by ``python -m book_tools.speedrun_steps``, read by :func:`recorded_run`.
RECORDED_STEPS = Path(__file__).with_name("speedrun_steps.json")


def speedrun_modules() -> tuple:
    """The modules whose code turns a speed recipe into its numbers.

    The speedrun's own (run, recipe, BatchNorm, schedule, precision) and the
    training modules it shares with :mod:`cnn_helpers.train` (the network, the
    recipe, the data's loading and preprocessing, the input pipeline).
    """
    from . import batchnorm, precision, schedule, speedrun, speedrun_recipe, train

    return (speedrun, speedrun_recipe, batchnorm, schedule, precision,
            *train.TRAINING_MODULES)


def _result_key(recipe: SpeedRecipe, evaluate_every: float) -> str:
    """Hash of what changes a run's numbers: recipe, code, versions, oneDNN, CPU."""
    import keras
    import tensorflow as tf

    from .train import code_hash

    parts = {
        "recipe": recipe.to_dict(),
        "evaluate_every": evaluate_every,
        "code": code_hash(*speedrun_modules()),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "onednn": onednn_enabled(),
        "cpu": platform.processor() or platform.machine(),
        "flags": sorted(cpu_flags() & (BF16_FLAGS | {"avx512f"})),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:20]


def measured_run(
    recipe: SpeedRecipe, evaluate_every: float = 1.0, verbose: bool = False
) -> dict:
    """The checkpoints of ``speedrun(recipe, evaluate_every)``, measured once.

    Returns ``{"recipe", "evaluate_every", "precision", "checkpoints": [[epochs,
    seconds, test_acc], ...], "train_seconds", "from_cache"}``. The chapter's step
    table needs only these numbers, not the model, so a rerun of the chapter reads
    them from the book's cache folder (its ``speedrun/`` part) instead of training again.
    The key covers the recipe, the code of every module the training depends on
    (:func:`speedrun_modules`), the library versions, the oneDNN state and the
    processor, so numbers measured elsewhere or by other code are never shown as
    this machine's.
    """
    from .speedrun import speedrun

    path = cache_dir() / SPEEDRUN / f"{_result_key(recipe, evaluate_every)}.json"
    if path.exists():
        try:
            found = json.loads(path.read_text())
            if found.get("recipe") == recipe.to_dict():
                return {**found, "from_cache": True}
        except (OSError, ValueError):
            pass  # damaged: measure again and overwrite it
    result = speedrun(recipe, evaluate_every, verbose=verbose)
    found = {
        "recipe": recipe.to_dict(),
        "evaluate_every": evaluate_every,
        "precision": result.precision,
        "checkpoints": [[c.epochs, c.seconds, c.test_acc] for c in result.checkpoints],
        "train_seconds": result.train_seconds,
    }
    atomic_write_text(path, json.dumps(found))
    return {**found, "from_cache": False}


def recorded_steps(path: Path = RECORDED_STEPS) -> dict:
    """The record: ``{"machine": {...}, "runs": [measured run, ...]}``.

    A missing or damaged record raises ``FileNotFoundError`` / ``ValueError``
    naming the command that writes it.
    """
    again = "record it again with `python -m book_tools.speedrun_steps`"
    if not path.exists():
        raise FileNotFoundError(
            f"the speedrun's step record {path} is missing: {again}"
        )
    try:
        record = json.loads(path.read_text())
        runs, machine = record["runs"], record["machine"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(
            f"the speedrun's step record {path} is damaged ({exc}): {again}"
        ) from exc
    if not isinstance(runs, list) or not isinstance(machine, dict):
        raise ValueError(f"the speedrun's step record {path} is damaged: {again}")
    return record


def recorded_run(
    recipe: SpeedRecipe, evaluate_every: float = 1.0, path: Path = RECORDED_STEPS
) -> dict:
    """The recorded measurement of ``recipe``.

    The fields of :func:`measured_run`, with ``"recorded": True`` in place of
    ``"from_cache"`` (it was neither measured now nor read from this machine's cache).

    Measuring the whole step table trains for several minutes, so the chapter reads
    it from the record by default. A recipe that is not in the record (the chapter's
    steps changed since it was measured) raises ``LookupError``: a stale table is
    never shown.
    """
    for run in recorded_steps(path)["runs"]:
        same = run.get("recipe") == recipe.to_dict()
        if same and run.get("evaluate_every") == evaluate_every:
            return {**run, "recorded": True}
    raise LookupError(
        f"{recipe} (evaluated every {evaluate_every} epochs) is not in the step record "
        f"{path}: the chapter's steps changed since it was measured. Record them again "
        "with `python -m book_tools.speedrun_steps`, or set measure_here = True."
    )


def machine_description() -> dict:
    """This machine as :func:`cnn_helpers.machine.describe` describes it.

    The TensorFlow version is also given at the top level, where the step record of
    ``speedrun_steps.json`` (written before the one description existed) keeps it,
    so the chapter reads either the same way.
    """
    machine = describe()
    return {**machine, "tensorflow": machine["versions"]["tensorflow"]}
