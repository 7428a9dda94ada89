"""The ledger of checked claims: every fact about a trained network, checked in one place.

A chapter states facts about the network it trained: an accuracy, a share of
activations, how much a shift changes the features. Those values change with the seed
and the CPU, so each is checked against a *band*, a range that every correct run stays
inside, derived from the range measured over many training runs. The bands live in one
committed record, ``cnn_helpers/ledger.json``, one entry per claim::

    "pooling.beaten": {
        "chapter": "04_pooling", "says": "the survivors beat most ...",
        "band": [0.75, null],                    # low, high (null: unbounded)
        "measured": [0.88, 0.96],                # min, max over the recorded runs
        "runs": "seeds 0-4, oneDNN on and off", "recorded": {...machine, versions}
    }

A chapter checks a value with one call, ``ledger.check("pooling.beaten", beaten)``: it
fails with a message naming the claim, the sentence it backs, the value, the band and
the measurement, and it glues the value (``glue_as``) for the prose. ``python -m
book_tools.bands --ledger`` re-measures the ranges and writes them here with the machine
and versions; ``tests/test_ledger.py`` checks that every claim the chapters make has an
entry and that every band holds its measured range with the margin below; the appendix
shows the ledger as a table generated from this record (:func:`table_markdown`).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

RECORD = Path(__file__).with_name("ledger.json")
#: A band must leave at least this fraction of the measured range's width between each
#: of its bounds and the measured range: runs not yet seen scatter beyond the ones seen.
#: Why a half: ten runs from a normal spread cover about 3.1 SDs, so the lowest lies about
#: 1.5 SDs below the mean, and a bound half the range further out about 3 SDs below it,
#: where a new correct run falls with probability about 1 in 1,000
#: (``claims.MAX_FALSE_ALARM``, the rule for claims about every run).
MARGIN_FRACTION = 0.5
#: Set by ``python -m book_tools.bands --ledger``: each checked value is appended here.
LOG_VARIABLE = "CNN_BOOK_LEDGER_LOG"


@dataclass(frozen=True)
class Entry:
    """One claim: what it says, where, its band and what was measured."""

    claim: str
    chapter: str
    says: str
    low: float | None
    high: float | None
    measured: tuple[float, float] | None
    runs: str
    #: Set only where a band keeps less than the margin on purpose: why, in a sentence.
    margin_reason: str = ""

    def contains(self, value: float) -> bool:
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)

    def band_text(self) -> str:
        if self.low is not None and self.high is not None:
            return f"{self.low:g} to {self.high:g}"
        return f">= {self.low:g}" if self.low is not None else f"<= {self.high:g}"

    def margin_problem(self) -> str | None:
        """Why the band does not hold the measured range with the margin, or ``None``."""
        if self.measured is None:
            return "nothing measured: run python -m book_tools.bands --ledger on its chapter"
        lo, hi = self.measured
        if (self.low is not None and lo < self.low) or (self.high is not None and hi > self.high):
            return f"the measured range {lo:g} to {hi:g} does not fit in the band {self.band_text()}"
        if self.margin_reason:
            return None
        margin = MARGIN_FRACTION * (hi - lo)
        if self.low is not None and lo - self.low < margin:
            return f"low bound {self.low:g} is within {margin:.3g} of the lowest measured {lo:g}"
        if self.high is not None and self.high - hi < margin:
            return f"high bound {self.high:g} is within {margin:.3g} of the highest measured {hi:g}"
        return None


def entries(record: Path = RECORD) -> dict[str, Entry]:
    """Every claim of the record, by name."""
    raw = json.loads(record.read_text(encoding="utf-8"))
    out = {}
    for claim, e in raw["claims"].items():
        measured = tuple(e["measured"]) if e.get("measured") else None
        out[claim] = Entry(claim, e["chapter"], e["says"], e["band"][0], e["band"][1], measured,
                           e.get("runs", ""), e.get("margin_reason", ""))
    return out


class ClaimFailed(AssertionError):
    """A value about a trained network fell outside its band."""


def check(claim: str, value, glue_as: str | None = None, record: Path = RECORD) -> float | np.ndarray:
    """Check ``value`` (a number, or an array whose every element must hold) against the
    claim's band; glue it as ``glue_as`` for the prose; return it.

    An unknown claim fails, naming the record to add it to.
    """
    known = entries(record)
    if claim not in known:
        raise KeyError(f"no claim {claim!r} in {record.name}: add its band and measured range there")
    entry = known[claim]
    values = np.atleast_1d(np.asarray(value, dtype=float))
    outside = [float(v) for v in values if not entry.contains(float(v))]
    _log(claim, values)
    if outside:
        measured = f"{entry.measured[0]:g} to {entry.measured[1]:g}" if entry.measured else "not measured"
        raise ClaimFailed(
            f"{claim} ({entry.chapter}: {entry.says!r}): {outside[0]:.6g} is outside the band "
            f"{entry.band_text()} (measured {measured} over {entry.runs}). A run this far out is a "
            "new fact: re-measure with python -m book_tools.bands --ledger and fix the sentence."
        )
    if glue_as is not None:
        from myst_nb import glue

        glue(glue_as, float(values[0]) if np.ndim(value) == 0 else values.tolist(), display=False)
    return value


def _log(claim: str, values: np.ndarray) -> None:
    path = os.environ.get(LOG_VARIABLE)
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"claim": claim, "min": float(values.min()), "max": float(values.max())}) + "\n")


#: The line under which the appendix shows the ledger's table (generated, in each language).
TABLE_MARK = "<!-- the ledger: generated by python -m book_tools.bands --appendix, do not edit -->"
#: The table's columns per language. The Chinese table leaves out the English sentences.
TABLE_HEADERS = {
    "en": ("claim", "chapter", "what it backs", "measured", "band"),
    "zh_CN": ("论断", "章节", "实测范围", "检查区间"),
}


def table_markdown(language: str = "en", record: Path = RECORD) -> str:
    """The ledger as the appendix shows it: one row per claim, in chapter order."""
    head = TABLE_HEADERS[language]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for e in sorted(entries(record).values(), key=lambda e: (e.chapter, e.claim)):
        measured = f"{e.measured[0]:.4g} to {e.measured[1]:.4g}" if e.measured else "-"
        cells = [f"`{e.claim}`", f"[{e.chapter[:2]}]({e.chapter}.ipynb)", e.says, measured, e.band_text()]
        if language != "en":
            cells.remove(e.says)
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)
