"""``book_tools.bands``: seed lists and the per-number summary of many chapter runs."""
from __future__ import annotations

import pytest

from book_tools import bands


def test_seed_ranges_and_lists():
    assert bands.parse_seeds("0-4") == [0, 1, 2, 3, 4]
    assert bands.parse_seeds("0,3,5") == [0, 3, 5]
    assert bands.parse_seeds("2") == [2]
    with pytest.raises(ValueError):
        bands.parse_seeds("a-b")


def test_summary_gives_min_and_max_of_numbers_and_the_distinct_other_values():
    runs = {
        "on/seed0": {"acc": 0.99, "worst": "4 as 9", "flag": True},
        "on/seed1": {"acc": 0.985, "worst": "7 as 2", "flag": True},
        "off/seed0": {"acc": 0.992, "worst": "4 as 9"},
    }
    table = bands.summarise(runs)
    assert table["acc"]["min"] == 0.985 and table["acc"]["max"] == 0.992
    assert len(table["acc"]["runs"]) == 3
    assert table["worst"]["distinct"] == ['"4 as 9"', '"7 as 2"']
    assert "min" not in table["flag"], "booleans are not numbers to band"


def test_numbers_glued_as_text_are_banded_too():
    runs = {"a": {"acc": "0.99", "n": "1,234"}, "b": {"acc": "0.98", "n": "1,300"}}
    table = bands.summarise(runs)
    assert (table["acc"]["min"], table["acc"]["max"]) == (0.98, 0.99)
    assert (table["n"]["min"], table["n"]["max"]) == (1234, 1300)
    assert bands.as_number("True") is None and bands.as_number(True) is None


def test_more_parameters_are_json_values_and_bad_ones_are_refused():
    assert bands.parse_parameters(["n_seeds=5", 'optimizer="adam"']) == {
        "n_seeds": 5, "optimizer": "adam"}
    for bad in ("n_seeds", "2x=1", "name=adam"):
        with pytest.raises(ValueError, match="--set"):
            bands.parse_parameters([bad])
