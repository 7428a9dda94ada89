"""Record the speedrun's ladder: ``python -m book_tools.speedrun_ladder``.

The speedrun chapter (``chapters/13_speedrun.ipynb``) goes from the tutorial's
recipe to the fastest one in steps that each change one thing
(:data:`cnn_helpers.speedrun_recipe.LADDER`). One run per step says little: seeds
move the test accuracy by about a tenth of a point and a busy machine moves the
time. So this tool trains every step for many seeds (``--seeds``, 20 by default)
on a quiet machine, once, and records each run in
``cnn_helpers/speedrun_ladder.json`` with the machine; the chapter reads that record.

Three phases, in the record under their own keys:

- ``sweep``: the choices (peak rate and batch size, :data:`SWEEP`) made on a
  *validation* split, the last 5,000 training images, with the network trained on the
  other 55,000; the test set is not read.
- ``ladder``: every step on the 60,000 training images; the time is checkpointed
  every half epoch (the same resolution for every step) and the test set is read
  once, at the end.
- ``torch``: the PyTorch reference (:mod:`book_tools.torch_reference`) on the final
  recipe, run right after the book's final step for the same seed, so the two are
  measured side by side on the same machine in the same run.
- ``onednn_off`` (run with ``TF_ENABLE_ONEDNN_OPTS=0``, seeds 20-24 by default): the
  final recipe without oneDNN (so in float32), each seed followed by the PyTorch
  reference in float32 (``torch_float32``): what a machine without oneDNN gets.

Runs go seed by seed through all steps, so a disturbance of the machine spreads over
the steps instead of landing on one. The record is written after every run
(atomically), and a run already in it is not trained again: an interrupted recording
resumes where it stopped. A record made on another machine or with other versions is
refused (start a new one with ``--out``).
"""
from __future__ import annotations

import argparse
import datetime
import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from cnn_helpers import store
from cnn_helpers.speedrun_recipe import FINAL_RECIPE, LADDER, SpeedRecipe
from cnn_helpers.speedrun_record import LADDER_RECORD, PHASES

from .bands import parse_seeds
from .paths import ROOT  # the torch reference runs from here

#: Training images kept out of training for the choices; the rest train.
VALIDATION_IMAGES = 5_000

#: The choices made on validation: (batch size, peak rate) on the final recipe.
SWEEP = [
    replace(FINAL_RECIPE, batch_size=batch, learning_rate=rate)
    for batch, rates in ((128, (1e-3, 3e-3, 6e-3)), (256, (3e-3, 6e-3, 1e-2)))
    for rate in rates
]
SWEEP_SEEDS = range(3)

#: oneDNN off: seeds the ladder does not use, so these runs are independent draws of
#: the final recipe (the ladder's steps share seeds 0-19: the same initial weights).
OFF_SEEDS = range(20, 25)

#: Machine facts that must match for runs to share one record (oneDNN's state is
#: part of each phase instead: ``onednn_off`` is the only phase without it).
SAME_MACHINE = ("cpu", "cores", "versions")


def validation_split(mnist):
    """``((x, y), (x_val, y_val))``: MNIST's training set, its last images held out."""
    (x, y), _test = mnist
    n = len(x) - VALIDATION_IMAGES
    return (x[:n], y[:n]), (x[n:], y[n:])


def one_run(recipe: SpeedRecipe, data, test_checkpoints: bool) -> dict:
    """Train ``recipe`` once; its time and accuracy checkpoints every half epoch."""
    from cnn_helpers import speedrun as sr

    result = sr.speedrun(recipe, 0.5, data=data, test_checkpoints=test_checkpoints)
    return {
        "recipe": recipe.to_dict(),
        "precision": result.precision,
        "train_seconds": round(result.train_seconds, 3),
        "accuracy": result.test_acc,
        "checkpoints": [
            [round(c.epochs, 4), round(c.seconds, 3), c.test_acc]
            for c in result.checkpoints
        ],
    }


def torch_run(seed: int, precision: str = "auto") -> dict:
    """The PyTorch reference on the final recipe for ``seed``, in its own process."""
    done = subprocess.run(
        [sys.executable, "-m", "book_tools.torch_reference", "--seeds", str(seed),
         "--precision", precision],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )
    if done.returncode:
        raise RuntimeError(f"the PyTorch reference failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def load_record(path: Path, machine: dict) -> dict:
    """The record at ``path`` (new if missing); one from another machine is refused."""
    if not path.exists():
        return {"machine": machine, **{phase: [] for phase in PHASES}}
    record = json.loads(path.read_text())
    for phase in PHASES:
        record.setdefault(phase, [])
    theirs = {k: record["machine"].get(k) for k in SAME_MACHINE}
    ours = {k: machine.get(k) for k in SAME_MACHINE}
    if theirs != ours:
        raise SystemExit(
            f"{path} was recorded on {theirs}, this machine is {ours}: "
            "write a new record with --out"
        )
    return record


def save(record: dict, path: Path) -> None:
    """Write the record atomically, with today's date."""
    record["machine"]["date"] = datetime.date.today().isoformat()
    store.atomic_write_text(path, json.dumps(record, indent=1) + "\n")


def has(runs: list[dict], recipe: SpeedRecipe) -> bool:
    """Whether ``runs`` already holds ``recipe`` (seed included)."""
    return any(run["recipe"] == recipe.to_dict() for run in runs)


def plan(phase: str, seeds: list[int]) -> list[SpeedRecipe]:
    """The recipes ``phase`` trains, seed by seed."""
    if phase == "sweep":
        return [replace(r, seed=s) for s in SWEEP_SEEDS for r in SWEEP]
    if phase == "onednn_off":
        return [replace(FINAL_RECIPE, seed=s) for s in seeds]
    return [replace(step.recipe, seed=s) for s in seeds for step in LADDER]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phase", choices=("sweep", "ladder", "onednn_off"),
                        default="ladder")
    parser.add_argument("--seeds", type=parse_seeds, default=None,
                        help="seeds, e.g. 0-19 (default: 0-19; 20-24 for onednn_off)")
    parser.add_argument("--no-torch", action="store_true",
                        help="skip the PyTorch reference (it needs the torch extra)")
    parser.add_argument("--out", type=Path, default=LADDER_RECORD, help="the record")
    args = parser.parse_args(argv)
    seeds = args.seeds or list(OFF_SEEDS if args.phase == "onednn_off" else range(20))

    from cnn_helpers import speedrun as sr
    from cnn_helpers.machine import describe

    if (args.phase == "onednn_off") == sr.onednn_enabled():
        raise SystemExit(
            f"the {args.phase} phase needs oneDNN "
            f"{'off' if sr.onednn_enabled() else 'on'}: run it with "
            "TF_ENABLE_ONEDNN_OPTS=0 (onednn_off) or without it (the others)"
        )
    record = load_record(args.out, describe())
    mnist = sr.load_mnist()
    off = args.phase == "onednn_off"
    torch_phase = "torch_float32" if off else "torch"
    torch_precision = "float32" if off else "auto"
    for recipe in plan(args.phase, seeds):
        if not has(record[args.phase], recipe):
            held_out = args.phase == "sweep"
            data = validation_split(mnist) if held_out else mnist
            run = one_run(recipe, data, test_checkpoints=held_out)
            record[args.phase].append(run)
            save(record, args.out)
            print(args.phase, recipe.seed, run["train_seconds"], run["accuracy"],
                  flush=True)
        final = recipe == replace(FINAL_RECIPE, seed=recipe.seed)
        done = {r["seed"] for r in record[torch_phase]}
        wanted = final and args.phase != "sweep" and not args.no_torch
        if wanted and recipe.seed not in done:
            record[torch_phase].append(torch_run(recipe.seed, torch_precision))
            save(record, args.out)
            print(torch_phase, record[torch_phase][-1], flush=True)


if __name__ == "__main__":
    main()
