"""Measure what a chapter's trained-network numbers do across training runs.

``python -m book_tools.bands chapters/04_pooling.ipynb [--seeds 0-4]`` runs the
chapter through papermill once per random seed (its ``parameters`` cell must
have ``seed``), with oneDNN on and with oneDNN off (each setting with its own
model cache, as ``make test`` and ``make portability`` use: the reader's
``CNN_BOOK_CACHE`` and the ``-onednn-off`` folder beside it), collects every
number the chapter glues, and prints each one's minimum and maximum over the
runs. The bands the chapters assert for facts about a trained network are
derived from these tables; the tables are written to ``_build/bands/`` as JSON.

A run whose cell fails (for example a band that is too narrow) is reported with
the failing cell, and the numbers glued before it still count.

With ``--ledger`` it also collects every value the chapter checks with
:func:`cnn_helpers.ledger.check` and writes each claim's measured range, the runs, the
machine and the versions into the ledger's record (``cnn_helpers/ledger.json``), then
regenerates the appendix's ledger table. ``--appendix`` only regenerates the table.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from cnn_helpers import ledger, store

from .paths import ROOT  # the one root

OUT = ROOT / "_build" / "bands"

#: The two kinds of arithmetic every chapter is checked under.
SETTINGS = ("onednn-on", "onednn-off")


def kernel_env(setting: str) -> dict[str, str]:
    """The environment a run's kernel gets for ``setting``: oneDNN on or off, and its cache.

    Passed to the chapter's kernel only (``run_with_parameters(env=...)``); this
    process's environment is never changed.
    """
    if setting not in SETTINGS:
        raise ValueError(f"unknown setting {setting!r}; the settings are {', '.join(SETTINGS)}")
    on = setting == "onednn-on"
    cache = store.cache_dir() if on else store.onednn_off_cache_dir()
    return {"TF_ENABLE_ONEDNN_OPTS": "1" if on else "0", store.CACHE_VARIABLE: str(cache)}


def parse_seeds(text: str) -> list[int]:
    """``"0-4"`` -> ``[0, 1, 2, 3, 4]``; ``"0,3,5"`` -> ``[0, 3, 5]``.

    A reversed range (``5-3``), a repeated seed or anything but whole numbers
    >= 0 raises ``ValueError`` naming the part, never dropping or rounding it.
    """
    seeds: list[int] = []
    for part in text.split(","):
        lo, dash, hi = part.strip().partition("-")
        if not lo.isdigit() or (dash and not hi.isdigit()):
            raise ValueError(
                f"--seeds: {part!r} in {text!r} is not a seed or a range; write e.g. "
                "0-4 or 0,3,5 (whole numbers >= 0)"
            )
        first, last = int(lo), int(hi) if dash else int(lo)
        if last < first:
            raise ValueError(f"--seeds: the range {part!r} in {text!r} is reversed; write {last}-{first}")
        seeds.extend(range(first, last + 1))
    repeated = sorted({s for s in seeds if seeds.count(s) > 1})
    if repeated:
        raise ValueError(f"--seeds: {text!r} names seeds {repeated} more than once")
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

    ``parameters`` are more of the chapter's parameters (e.g. ``n_seeds=5``). The values
    the chapter checks through the ledger are logged to ``<run>.ledger.jsonl``.
    """
    from cnn_helpers.notebooks import glued_values, run_with_parameters

    out = OUT / chapter.stem / f"{setting}-seed{seed}.ipynb"
    log = out.with_suffix(".ledger.jsonl")
    log.parent.mkdir(parents=True, exist_ok=True)
    log.unlink(missing_ok=True)
    env = {**kernel_env(setting), ledger.LOG_VARIABLE: str(log)}
    try:
        return run_with_parameters(chapter, out, env=env, seed=seed, **parameters), None
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


def ledger_ranges(chapter: Path, runs: list[str]) -> dict[str, list[float]]:
    """Per claim the chapter checked: [min, max] over every run's logged values."""
    ranges: dict[str, list[float]] = {}
    for run in runs:
        setting, seed = run.split("/")
        log = OUT / chapter.stem / f"{setting}-{seed}.ledger.jsonl"
        for line in log.read_text().splitlines() if log.exists() else []:
            row = json.loads(line)
            lo, hi = ranges.get(row["claim"], [row["min"], row["max"]])
            ranges[row["claim"]] = [min(lo, row["min"]), max(hi, row["max"])]
    return ranges


def record_ledger(chapter: Path, ranges: dict[str, list[float]], seeds: list[int], settings: list[str],
                  record: Path = ledger.RECORD) -> list[str]:
    """Write the measured ranges of ``chapter``'s claims into the ledger's record."""
    from cnn_helpers.machine import describe

    data = json.loads(record.read_text(encoding="utf-8"))
    machine = {k: v for k, v in describe().items() if k != "onednn"}
    runs = f"seeds {seeds[0]}-{seeds[-1]}" if seeds == list(range(seeds[0], seeds[-1] + 1)) else f"seeds {seeds}"
    runs += ", " + " and ".join(settings)
    said = []
    for claim, (lo, hi) in sorted(ranges.items()):
        entry = data["claims"].get(claim)
        if entry is None:
            said.append(f"{claim}: checked by {chapter.name} but not in the record; add it")
            continue
        entry.update(measured=[lo, hi], runs=runs, source=f"python -m book_tools.bands --ledger {chapter.name}",
                     recorded=machine)
        if claim in data.get("to_measure", []):
            data["to_measure"].remove(claim)
        said.append(f"{claim}: measured {lo:.6g} .. {hi:.6g}, band {entry['band']}")
    store.atomic_write_text(record, json.dumps(data, indent=1, ensure_ascii=False) + "\n")
    return said


APPENDIX = ROOT / "chapters" / "15_checks.md"
TABLE_MARK = ledger.TABLE_MARK


def appendix_with_table(text: str, table: str) -> str:
    """``text`` (the appendix) with the block after :data:`TABLE_MARK` replaced by ``table``."""
    start = text.find(TABLE_MARK)
    if start < 0:
        raise ValueError(f"{APPENDIX.name} has no line {TABLE_MARK!r} to put the ledger's table under")
    end = text.find("\n\n", start)
    end = len(text) if end < 0 else end
    return text[:start] + TABLE_MARK + "\n" + table + text[end:]


def write_appendix() -> bool:
    """Regenerate the appendix's ledger table; True when it changed."""
    old = APPENDIX.read_text(encoding="utf-8")
    new = appendix_with_table(old, ledger.table_markdown("en"))
    if new != old:
        store.atomic_write_text(APPENDIX, new)
    return new != old


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chapters", nargs="*", type=Path)
    parser.add_argument("--ledger", action="store_true",
                        help="write the measured range of every ledger claim into cnn_helpers/ledger.json")
    parser.add_argument("--appendix", action="store_true", help="only regenerate the appendix's ledger table")
    parser.add_argument("--seeds", default="0-4", help="random seeds, e.g. 0-4 or 0,2,5")
    parser.add_argument("--settings", default="onednn-on,onednn-off")
    parser.add_argument(
        "--set", action="append", default=[], metavar="NAME=JSON",
        help="another parameter for every run, e.g. --set n_seeds=5 (repeatable)",
    )
    args = parser.parse_args(argv)
    if args.appendix:
        print("appendix table " + ("regenerated" if write_appendix() else "already current"))
        return 0
    if not args.chapters:
        parser.error("name at least one chapter (or --appendix)")
    seeds = parse_seeds(args.seeds)
    parameters = parse_parameters(args.set)
    settings = args.settings.split(",")
    for setting in settings:
        kernel_env(setting)  # an unknown setting fails here, before any run
    from cnn_helpers.notebooks import check_parameters

    for chapter in args.chapters:  # as does a parameter a chapter lacks
        check_parameters(chapter, {"seed": seeds[0], **parameters})
    failed = False
    for chapter in args.chapters:
        runs, errors = {}, {}
        for setting in settings:
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
        report = {"chapter": chapter.name, "seeds": seeds, "table": table, "errors": errors}
        store.atomic_write_text(OUT / f"{chapter.stem}.json", json.dumps(report, indent=1))
        print(f"\n{chapter.name}: {len(runs)} runs, {len(errors)} failed")
        for name, row in table.items():
            if "min" in row:
                print(f"  {name:40s} {row['min']:12.6g} .. {row['max']:<12.6g}")
            else:
                print(f"  {name:40s} {len(row['distinct'])} distinct: {', '.join(row['distinct'])[:80]}")
        if args.ledger:
            for line in record_ledger(chapter, ledger_ranges(chapter, list(runs)), seeds, settings):
                print("  ledger: " + line)
            write_appendix()
        failed |= bool(errors)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
