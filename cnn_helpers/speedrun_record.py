"""The speedrun chapter's recorded step table, and the machine it was measured on.

The step table trains several recipes for minutes, and its times describe one
machine. ``python -m book_tools.speedrun_steps`` measures it once (with
:func:`cnn_helpers.speedrun.measured_run`) and records it, with
:func:`machine_description`, in ``cnn_helpers/speedrun_steps.json``;
:func:`recorded_run` reads it back.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from .machine import describe

if TYPE_CHECKING:
    from .speedrun_recipe import SpeedRecipe

#: The speedrun chapter's step table as measured on one machine, with that machine:
#: written by ``python -m book_tools.speedrun_steps``, read by :func:`recorded_run`.
RECORDED_STEPS = Path(__file__).with_name("speedrun_steps.json")


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
