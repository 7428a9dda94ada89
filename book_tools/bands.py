"""Measure what a chapter's trained-network numbers do across training runs.

``python -m book_tools.bands chapters/04_pooling.ipynb [--seeds 0-4]`` runs the
chapter through papermill once per random seed (its ``parameters`` cell must
have ``seed``), with oneDNN on and with oneDNN off (each setting with its own
model cache, as ``make test`` and ``make portability`` use), collects every
number the chapter glues, and prints each one's minimum and maximum over the
runs. The bands the chapters assert for facts about a trained network are
derived from these tables; the tables are written to ``_build/bands/`` as JSON.

A run whose cell fails (for example a band that is too narrow) is reported with
the failing cell, and the numbers glued before it still count.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "_build" / "bands"

#: The two kinds of arithmetic every chapter is checked under, with their caches.
SETTINGS = {"onednn-on": ("1", ROOT / ".cache"), "onednn-off": ("0", ROOT / ".cache-onednn-off")}


def parse_seeds(text: str) -> list[int]:
    """``"0-4"`` -> ``[0, 1, 2, 3, 4]``; ``"0,3,5"`` -> ``[0, 3, 5]``."""
    seeds: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        seeds.extend(range(int(lo), int(hi or lo) + 1))
    if not seeds:
        raise ValueError(f"no seeds in {text!r}")
    return seeds


def parse_parameters(items: list[str]) -> dict:
    """``["n_seeds=5", 'optimizer="adam"']`` -> ``{"n_seeds": 5, "optimizer": "adam"}``."""
    parameters = {}
    for item in items:
        name, sep, text = item.partition("=")
        if not sep or not name.isidentifier():
            raise ValueError(f"--set takes NAME=VALUE, got {item!r}")
        try:
            parameters[name] = json.loads(text)
        except ValueError as exc:
            raise ValueError(f"--set {name}: {text!r} is not a JSON value") from exc
    return parameters


def run_once(
    chapter: Path, setting: str, seed: int, **parameters
) -> tuple[dict, str | None]:
    """Run ``chapter`` for one seed under one setting; return (glued values, error or None).

    ``parameters`` are more of the chapter's parameters (e.g. ``n_seeds=5``).
    """
    from cnn_helpers.notebooks import glued_values, run_with_parameters

    onednn, cache = SETTINGS[setting]
    os.environ["TF_ENABLE_ONEDNN_OPTS"] = onednn  # inherited by the kernel papermill starts
    os.environ["CNN_BOOK_CACHE"] = str(cache)
    out = OUT / chapter.stem / f"{setting}-seed{seed}.ipynb"
    try:
        return run_with_parameters(chapter, out, seed=seed, **parameters), None
    except Exception as exc:  # a failing cell: keep what was glued before it
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        values = glued_values(out) if out.exists() else {}
        return values, first_line


def as_number(value) -> float | None:
    """A glued value as a float, or ``None``: numbers, and the text reprs glue stores for them."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.replace(",", "").strip("'\""))
        except ValueError:
            return None
    return None


def numeric(values: dict) -> dict[str, float]:
    """The glued values that are numbers, or text that reads as one (bools excluded)."""
    parsed = {k: as_number(v) for k, v in values.items()}
    return {k: v for k, v in parsed.items() if v is not None}


def summarise(runs: dict[str, dict]) -> dict[str, dict]:
    """Per glued name: min, max and every run's value (numbers), or the distinct values (others)."""
    names = sorted({name for values in runs.values() for name in values})
    table = {}
    for name in names:
        seen = {run: values[name] for run, values in runs.items() if name in values}
        nums = numeric(seen)
        if len(nums) == len(seen):
            table[name] = {"min": min(nums.values()), "max": max(nums.values()), "runs": seen}
        else:
            table[name] = {"distinct": sorted({json.dumps(v) for v in seen.values()}), "runs": seen}
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chapters", nargs="+", type=Path)
    parser.add_argument("--seeds", default="0-4", help="random seeds, e.g. 0-4 or 0,2,5")
    parser.add_argument("--settings", default="onednn-on,onednn-off")
    parser.add_argument(
        "--set", action="append", default=[], metavar="NAME=JSON",
        help="another parameter for every run, e.g. --set n_seeds=5 (repeatable)",
    )
    args = parser.parse_args(argv)
    seeds = parse_seeds(args.seeds)
    parameters = parse_parameters(args.set)
    failed = False
    for chapter in args.chapters:
        runs, errors = {}, {}
        for setting in args.settings.split(","):
            for seed in seeds:
                run = f"{setting}/seed{seed}"
                print(f"{chapter.name}: {run} ...", flush=True)
                runs[run], error = run_once(
                    chapter.resolve(), setting, seed, **parameters
                )
                if error:
                    errors[run] = error
                    print(f"  FAILED: {error}", flush=True)
        table = summarise(runs)
        OUT.mkdir(parents=True, exist_ok=True)
        report = {"chapter": chapter.name, "seeds": seeds, "table": table, "errors": errors}
        (OUT / f"{chapter.stem}.json").write_text(json.dumps(report, indent=1))
        print(f"\n{chapter.name}: {len(runs)} runs, {len(errors)} failed")
        for name, row in table.items():
            if "min" in row:
                print(f"  {name:40s} {row['min']:12.6g} .. {row['max']:<12.6g}")
            else:
                print(f"  {name:40s} {len(row['distinct'])} distinct: {', '.join(row['distinct'])[:80]}")
        failed |= bool(errors)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
