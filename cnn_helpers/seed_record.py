"""The record of many training runs of the tutorial's recipe, one per seed and arithmetic.

Written by ``python -m book_tools.seed_record`` (which trains), read by the seeds
chapter and by :mod:`cnn_helpers.claims`. Each run holds the seed, the test
accuracy, the training time and the machine that computed it
(:func:`cnn_helpers.machine.describe`), so runs from different CPUs and oneDNN
settings can sit in one record.
"""
from __future__ import annotations

import json
from pathlib import Path

from .store import atomic_write_text, file_lock

#: The committed record (package data, so it travels to Colab with the package).
RECORD = Path(__file__).with_name("seed_record.json")


def load(path: Path = RECORD) -> dict:
    """The record as a dict with a ``runs`` list; a missing file is an empty record."""
    if not path.exists():
        return {"recipe": "TUTORIAL_RECIPE", "runs": []}
    record = json.loads(path.read_text())
    if not isinstance(record.get("runs"), list):
        raise ValueError(f"{path} is not a seed record (no 'runs' list): re-record it with "
                         "python -m book_tools.seed_record")
    return record


#: Test images in MNIST: an accuracy is a whole number of them divided by this.
N_TEST = 10_000


def accuracies(record: dict, onednn: bool | None = None) -> list[float]:
    """The test accuracies of the record's runs (only one oneDNN setting, if given).

    Keras reports accuracy in float32 (0.9913 is stored as 0.99129998...); it is
    rounded back to the whole number of test images it counts, so that a run equal
    to 0.9913 compares equal to 0.9913.
    """
    return [round(run["test_acc"] * N_TEST) / N_TEST for run in record["runs"]
            if onednn is None or run["onednn"] == onednn]


def has_run(path: Path, seed: int, onednn: bool, cpu: str) -> bool:
    """Whether ``path`` already records ``seed`` for this CPU model and oneDNN setting."""
    return any(r["seed"] == seed and r["onednn"] == onednn and r["cpu"] == cpu
               for r in load(path)["runs"])


def add_run(path: Path, run: dict) -> None:
    """Append one run to the record at ``path``, under a lock and atomically."""
    with file_lock(path.with_suffix(".lock")):
        record = load(path)
        record["runs"].append(run)
        record["runs"].sort(key=lambda r: (r["cpu"], not r["onednn"], r["seed"]))
        atomic_write_text(path, json.dumps(record, indent=1) + "\n")
