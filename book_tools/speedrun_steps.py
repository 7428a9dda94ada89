"""Record the speedrun chapter's step table: ``python -m book_tools.speedrun_steps``.

The step table of ``chapters/13_speedrun.ipynb`` trains six recipes for about five
minutes on 2 cores, and its times describe one machine. So it is measured here, once,
and recorded with the machine in ``cnn_helpers/speedrun_steps.json``, which the
chapter reads (its ``measure_here`` parameter, ``False`` by default). This runs the
chapter through papermill with ``measure_here=True`` and a cache folder of its own,
so that every step is trained now, one after another, on a quiet machine; then it
writes every measured run, with :func:`cnn_helpers.speedrun.machine_description`,
to the record (atomically: an interrupted run leaves the old record as it was).

Run it after changing a step's recipe in the chapter or the training code in
``cnn_helpers/speedrun.py``; the chapter refuses a recipe the record lacks.
"""
from __future__ import annotations

import argparse
import datetime
import json
import tempfile
from pathlib import Path

from cnn_helpers import store

from .paths import ROOT  # the one root

CHAPTER = ROOT / "chapters" / "13_speedrun.ipynb"


def measure_steps(chapter: Path = CHAPTER) -> list[dict]:
    """Run ``chapter`` with ``measure_here=True`` in an empty cache; return its runs."""
    from cnn_helpers.notebooks import run_with_parameters

    with tempfile.TemporaryDirectory(prefix="speedrun-steps-") as tmp:
        cache = Path(tmp) / "cache"
        run_with_parameters(
            chapter, Path(tmp) / chapter.name, measure_here=True,
            env={store.CACHE_VARIABLE: str(cache)},  # the chapter's kernel only
        )
        found = sorted((cache / store.SPEEDRUN).glob("*.json"))
        runs = [json.loads(p.read_text()) for p in found]
    if not runs:
        raise RuntimeError(
            f"{chapter} measured no step: is measure_here still a parameter?"
        )
    return runs


def write_record(runs: list[dict], path: Path) -> dict:
    """Write ``runs`` with this machine's description to ``path``, atomically."""
    from cnn_helpers.speedrun import machine_description

    record = {
        "machine": {**machine_description(), "date": datetime.date.today().isoformat()},
        "runs": sorted(runs, key=lambda run: json.dumps(run["recipe"], sort_keys=True)),
    }
    store.atomic_write_text(path, json.dumps(record, indent=1) + "\n")
    return record


def main(argv: list[str] | None = None) -> None:
    from cnn_helpers.speedrun import RECORDED_STEPS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=RECORDED_STEPS, help="the record to write"
    )
    args = parser.parse_args(argv)
    record = write_record(measure_steps(), args.out)
    machine = record["machine"]["cpu"]
    print(f"{len(record['runs'])} runs recorded in {args.out} on {machine}")


if __name__ == "__main__":
    main()
