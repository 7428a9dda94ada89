"""The ledger of checked claims (``cnn_helpers.ledger``): complete, measured, with margins.

Every fact about a trained network goes through ``ledger.check``; its band lives in
``cnn_helpers/ledger.json`` with the range measured by ``book_tools.bands --ledger``.
"""
from __future__ import annotations

import json
import re

import numpy as np
import pytest

from book_tools import bands
from book_tools.paths import ROOT
from cnn_helpers import ledger

CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
_CHECK = re.compile(r"ledger\.check\(\s*[\"']([\w.]+)[\"']")
#: What a band check written outside the ledger looks like: a band constant, or an
#: assert with its measured range in a comment.
_LOOSE_BAND = re.compile(r"\bBAND_[A-Z_]+\s*=|assert .*#.*\b(measured|band)\b", re.I)


def code_cells(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]


def claims_in_chapters() -> dict[str, str]:
    found = {}
    for path in CHAPTERS:
        for src in code_cells(path):
            for claim in _CHECK.findall(src):
                found[claim] = path.stem
    return found


def test_every_claim_the_chapters_check_has_an_entry_and_every_entry_is_used():
    used, known = claims_in_chapters(), ledger.entries()
    assert used, "no chapter checks anything through the ledger"
    missing = sorted(set(used) - set(known))
    assert not missing, f"claims checked in chapters but missing from ledger.json: {missing}"
    unused = sorted(set(known) - set(used))
    assert not unused, f"ledger.json entries no chapter checks (remove them): {unused}"
    wrong = {c: (used[c], known[c].chapter) for c in used if used[c] != known[c].chapter}
    assert not wrong, f"entries naming the wrong chapter: {wrong}"


def test_every_band_holds_its_measured_range_with_the_stated_margin():
    """Measured claims keep the margin; the unmeasured ones are exactly the record's
    ``to_measure`` list, which the appendix shows as not yet measured."""
    entries = ledger.entries()
    to_measure = set(json.loads(ledger.RECORD.read_text(encoding="utf-8")).get("to_measure", []))
    unmeasured = {c for c, e in entries.items() if e.measured is None}
    assert unmeasured == to_measure, (
        f"unmeasured but not listed in to_measure: {sorted(unmeasured - to_measure)}; "
        f"listed but measured: {sorted(to_measure - unmeasured)}"
    )
    problems = {c: e.margin_problem() for c, e in entries.items() if c not in to_measure and e.margin_problem()}
    assert not problems, "bands without their margin:\n" + "\n".join(f"{c}: {p}" for c, p in problems.items())


def test_no_band_check_outside_the_ledger():
    loose = [f"{p.name}: {line.strip()}" for p in CHAPTERS for src in code_cells(p)
             for line in src.splitlines() if _LOOSE_BAND.search(line)]
    assert not loose, "band checks outside ledger.check:\n" + "\n".join(loose)


def test_the_appendix_shows_the_ledger_as_generated():
    text = bands.APPENDIX.read_text(encoding="utf-8")
    assert bands.appendix_with_table(text, ledger.table_markdown("en")) == text, (
        "the appendix's ledger table is out of date: run python -m book_tools.bands --appendix"
    )


@pytest.fixture
def record(tmp_path):
    path = tmp_path / "ledger.json"
    path.write_text(json.dumps({"claims": {"demo.share": {
        "chapter": "04_pooling", "says": "most of the survivors are large", "band": [0.5, None],
        "measured": [0.8, 0.9], "runs": "seeds 0-4"}}}))
    return path


def test_check_passes_a_value_in_its_band_and_names_claim_and_sentence_when_not(record, monkeypatch):
    monkeypatch.delenv(ledger.LOG_VARIABLE, raising=False)
    assert ledger.check("demo.share", 0.85, record=record) == 0.85
    with pytest.raises(ledger.ClaimFailed, match=r"demo\.share .*most of the survivors.*0\.4 is outside"):
        ledger.check("demo.share", np.array([0.9, 0.4]), record=record)
    with pytest.raises(KeyError, match="no claim 'demo.other'"):
        ledger.check("demo.other", 1.0, record=record)


def test_margin_rule(record):
    entry = ledger.entries(record)["demo.share"]
    assert entry.margin_problem() is None  # 0.3 below the lowest measured, 0.05 needed
    tight = ledger.Entry("t", "c", "s", 0.79, None, (0.8, 0.9), "")
    assert "within 0.05" in tight.margin_problem()
    assert "nothing measured" in ledger.Entry("u", "c", "s", 0.0, None, None, "").margin_problem()


def test_bands_collects_the_logged_values_of_every_run(tmp_path, monkeypatch, record):
    monkeypatch.setattr(bands, "OUT", tmp_path)
    (tmp_path / "04_pooling").mkdir()
    for run, values in {"onednn-on-seed0": (0.81, 0.83), "onednn-off-seed1": (0.79, 0.86)}.items():
        line = json.dumps({"claim": "demo.share", "min": values[0], "max": values[1]})
        (tmp_path / "04_pooling" / f"{run}.ledger.jsonl").write_text(line + "\n")
    ranges = bands.ledger_ranges(ROOT / "chapters" / "04_pooling.ipynb", ["onednn-on/seed0", "onednn-off/seed1"])
    assert ranges == {"demo.share": [0.79, 0.86]}


def test_the_mark_follows_every_role_showing_a_checked_value_once():
    from book_tools.sphinx_ext import CHECK_MARK, checked_names, mark_checked

    nb = {"cells": [{"cell_type": "code", "source": ['ledger.check("a.b", v, glue_as="acc")\n']}]}
    assert checked_names(nb) == {"acc"}
    text = "It scores {glue:text}`acc:.2%`, not {glue:text}`accuracy` or {glue:text}`x`."
    marked = mark_checked(text, {"acc"})
    assert marked == "It scores {glue:text}`acc:.2%`" + CHECK_MARK + ", not {glue:text}`accuracy` or {glue:text}`x`."
    assert mark_checked(marked, {"acc"}) == marked
