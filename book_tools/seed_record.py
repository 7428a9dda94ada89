"""Record the tutorial recipe's test accuracy over many seeds: ``python -m book_tools.seed_record``.

The book's headline claim is about every training run of the tutorial's recipe,
not one. One run is one draw; a claim about all draws needs the distribution.
This trains the tutorial's recipe for many random seeds, with TensorFlow's oneDNN
kernels on and off (two arithmetics, as two kinds of CPU give), and records every
run's test accuracy with the machine that computed it in
``cnn_helpers/seed_record.json``. The seeds chapter reads that record, and
:mod:`cnn_helpers.claims` derives from it the threshold a live run is checked
against.

Each oneDNN setting runs in a fresh process (TensorFlow reads the setting once,
when it loads), with the same cache folder ``make test`` uses for that setting,
so the chapters later load these trainings instead of repeating them. A run is
written to the record as soon as it ends (atomically), so an interrupted record
resumes where it stopped: seeds already recorded for this CPU and setting are
skipped.

    python -m book_tools.seed_record --seeds 0-29            # oneDNN on, then off
    python -m book_tools.seed_record --seeds 0-29 --onednn off
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from .bands import parse_seeds  # the one reading of "0-4,7"
from .paths import ROOT  # noqa: E402  (the one root: book_tools.paths)
CACHES = {"on": ROOT / ".cache", "off": ROOT / ".cache-onednn-off"}




def _worker(seeds: list[int], record_path: Path) -> None:
    """Train each seed not yet recorded for this CPU and oneDNN setting; record it."""
    import dataclasses

    from cnn_helpers import machine, seed_record
    from cnn_helpers.recipe import TUTORIAL_RECIPE
    from cnn_helpers.train import trained_model

    here = machine.describe()
    for seed in seeds:
        if seed_record.has_run(record_path, seed, here["onednn"], here["cpu"]):
            print(f"seed {seed}: already recorded on this CPU, oneDNN {here['onednn']}")
            continue
        start = time.perf_counter()
        result = trained_model(dataclasses.replace(TUTORIAL_RECIPE, seed=seed), verbose=False)
        run = {
            "seed": seed,
            "test_acc": result.test_acc,
            "train_seconds": round(sum(result.epoch_seconds), 2),
            "wall_seconds": round(time.perf_counter() - start, 2),
            "from_cache": result.from_cache,
            **here,
        }
        seed_record.add_run(record_path, run)
        print(f"seed {seed}: test accuracy {result.test_acc:.4f} "
              f"({run['wall_seconds']:.0f} s, oneDNN {here['onednn']})", flush=True)


def main(argv: list[str] | None = None) -> None:
    from cnn_helpers.seed_record import RECORD

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0-29", help="e.g. 0-29 or 0-4,9")
    parser.add_argument("--onednn", nargs="+", choices=["on", "off"], default=["on", "off"])
    parser.add_argument("--out", type=Path, default=RECORD, help="the record to write")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    seeds = parse_seeds(args.seeds)
    if args.worker:
        _worker(seeds, args.out)
        return
    for setting in args.onednn:
        env = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": "1" if setting == "on" else "0",
               "CNN_BOOK_CACHE": str(CACHES[setting])}
        command = [sys.executable, "-m", "book_tools.seed_record", "--worker",
                   "--seeds", args.seeds, "--out", str(args.out)]
        subprocess.run(command, env=env, cwd=ROOT, check=True)


if __name__ == "__main__":
    main()
