"""The speedrun's recorded ladder, its choices on validation, and their summaries.

The ladder (:data:`cnn_helpers.speedrun_recipe.LADDER`) trains eight recipes for
twenty seeds each: about an hour on 2 cores, and its times describe one machine. So
``python -m book_tools.speedrun_ladder`` measures it once, on a quiet machine, and
records every run, with the machine, in ``cnn_helpers/speedrun_ladder.json``; the
chapter reads it here. No TensorFlow is imported.
"""
from __future__ import annotations

import json
import math
import statistics
from dataclasses import dataclass
from pathlib import Path

from .claims import RunDistribution
from .speedrun_recipe import TARGET_ACCURACY, SpeedRecipe

#: The record: written by ``python -m book_tools.speedrun_ladder``.
LADDER_RECORD = Path(__file__).with_name("speedrun_ladder.json")

PHASES = ("sweep", "ladder", "torch", "onednn_off", "torch_float32")
AGAIN = "record it again with `python -m book_tools.speedrun_ladder`"


def ladder_record(path: Path = LADDER_RECORD) -> dict:
    """The record: ``{"machine", "sweep", "ladder", "torch", "onednn_off", ...}``.

    A missing or damaged record raises ``FileNotFoundError`` / ``ValueError``
    naming the command that writes it.
    """
    if not path.exists():
        raise FileNotFoundError(f"the speedrun's record {path} is missing: {AGAIN}")
    try:
        record = json.loads(path.read_text())
        ok = isinstance(record["machine"], dict) and all(
            isinstance(record.get(phase, []), list) for phase in PHASES
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(
            f"the speedrun's record {path} is damaged ({exc}): {AGAIN}"
        ) from exc
    if not ok:
        raise ValueError(f"the speedrun's record {path} is damaged: {AGAIN}")
    return record


def runs_of(record: dict, recipe: SpeedRecipe, phase: str = "ladder") -> list[dict]:
    """The runs of ``recipe`` (any seed) in one phase of the record, by seed.

    A recipe with no run raises ``LookupError``: the chapter's ladder changed since
    it was recorded, and a stale table is never shown.
    """
    fields = {k: v for k, v in recipe.to_dict().items() if k != "seed"}
    found = [
        run for run in record[phase]
        if {k: v for k, v in run["recipe"].items() if k != "seed"} == fields
    ]
    if not found:
        raise LookupError(f"{recipe} is not in the record's {phase!r} runs: {AGAIN}")
    return sorted(found, key=lambda run: run["recipe"]["seed"])


def wilson_interval(hits: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The 95% Wilson score interval of a share ``hits / n`` (good at 0 and n too)."""
    if n <= 0 or not 0 <= hits <= n:
        raise ValueError(f"need 0 <= hits <= n and n > 0, got hits={hits}, n={n}")
    share = hits / n
    centre = (share + z * z / (2 * n)) / (1 + z * z / n)
    spread = math.sqrt(share * (1 - share) / n + z * z / (4 * n * n))
    half = z * spread / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class StepSummary:
    """One step's runs: time (median, range) and accuracy (mean, SD, share at 0.99)."""

    n: int
    median_s: float
    min_s: float
    max_s: float
    mean_acc: float
    sd_acc: float
    min_acc: float
    hits: int  # runs at or above the target

    @property
    def share(self) -> float:
        return self.hits / self.n

    @property
    def share_interval(self) -> tuple[float, float]:
        return wilson_interval(self.hits, self.n)


def summarize(runs: list[dict], target: float = TARGET_ACCURACY) -> StepSummary:
    """The summary of ``runs`` (dicts with ``train_seconds`` and ``accuracy``)."""
    seconds = [run["train_seconds"] for run in runs]
    accs = [run["accuracy"] for run in runs]
    dist = RunDistribution(tuple(accs))
    return StepSummary(
        n=len(runs), median_s=statistics.median(seconds), min_s=min(seconds),
        max_s=max(seconds), mean_acc=dist.mean, sd_acc=dist.sd, min_acc=min(accs),
        hits=sum(acc >= target for acc in accs),
    )


def choose(sweep: list[dict]) -> dict:
    """The choice on validation of a batch size and a peak rate, by a stated rule.

    Keep the batch sizes whose best set-up's mean validation accuracy is within two
    standard errors of the best mean (closer gaps are noise); take the largest of them,
    the fastest per epoch; for it, take the rate with the best mean validation accuracy
    (a tie goes to the lower rate). The standard error is that of a difference of two
    set-ups' means, typical over the sweep (the median). Returns ``{"summaries":
    {(batch, rate): StepSummary}, "best_mean", "se", "batches", "chosen"}``.
    """
    groups: dict[tuple, list[dict]] = {}
    for run in sweep:
        key = (run["recipe"]["batch_size"], run["recipe"]["learning_rate"])
        groups.setdefault(key, []).append(run)
    summaries = {key: summarize(runs) for key, runs in sorted(groups.items())}
    best = max(s.mean_acc for s in summaries.values())
    se = statistics.median(s.sd_acc * math.sqrt(2 / s.n) for s in summaries.values())
    best_of = {}
    for (batch, rate), s in summaries.items():
        held = best_of.get(batch)
        if held is None or s.mean_acc > summaries[(batch, held)].mean_acc:
            best_of[batch] = rate  # sorted by rate: a tie keeps the lower one
    batches = [b for b, rate in best_of.items()
               if summaries[(b, rate)].mean_acc >= best - 2 * se]
    chosen = (max(batches), best_of[max(batches)])
    return {"summaries": summaries, "best_mean": best, "se": se, "batches": batches,
            "chosen": chosen}


def difference(before: StepSummary, after: StepSummary) -> tuple[float, float]:
    """The change of mean accuracy from ``before`` to ``after``, and its standard error.

    A change smaller than two standard errors is one that the seeds cannot tell from
    chance (Welch's standard error of a difference of two means).
    """
    se = math.sqrt(before.sd_acc**2 / before.n + after.sd_acc**2 / after.n)
    return after.mean_acc - before.mean_acc, se
