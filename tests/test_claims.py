"""The claim rule (cnn_helpers.claims) and the seed record it reads (cnn_helpers.seed_record)."""
import json
import math

import pytest

from cnn_helpers import claims, seed_record
from cnn_helpers.claims import ClaimNotSupported, RunDistribution

# Student's t, from printed tables: (p, degrees of freedom) -> quantile
T_TABLE = {(0.975, 5): 2.571, (0.975, 10): 2.228, (0.995, 1): 63.657, (0.999, 30): 3.385,
           (0.95, 20): 1.725}


@pytest.mark.parametrize("p_df, expected", T_TABLE.items())
def test_t_quantile_matches_the_printed_table(p_df, expected):
    p, df = p_df
    assert claims.t_quantile(p, df) == pytest.approx(expected, abs=1e-3)
    assert claims.t_quantile(1 - p, df) == pytest.approx(-expected, abs=1e-3)


def test_t_cdf_tends_to_the_normal_for_many_degrees_of_freedom():
    normal = 0.5 * (1 + math.erf(-3 / math.sqrt(2)))
    assert claims.t_cdf(-3.0, 1_000_000) == pytest.approx(normal, rel=1e-4)
    assert claims.t_cdf(0.0, 4) == 0.5


def test_false_alarm_and_lower_bound_are_inverse():
    dist = RunDistribution((0.990, 0.991, 0.992, 0.993, 0.989, 0.9905))
    for rate in (1e-2, 1e-3, 1e-5):
        assert dist.false_alarm(dist.lower_bound(rate)) == pytest.approx(rate, rel=1e-6)
    assert dist.lower_bound(1e-5) < dist.lower_bound(1e-3) < min(dist.values) + 0.01


def test_a_threshold_too_close_to_the_runs_is_not_a_claim():
    dist = RunDistribution((0.990, 0.991, 0.992, 0.993, 0.989, 0.9905))
    with pytest.raises(ClaimNotSupported, match="lower the claim"):
        claims.check_run(0.995, 0.989, dist)
    supported = claims.supported_threshold(dist)
    assert claims.require_supported(dist, supported, "x") <= claims.MAX_FALSE_ALARM
    assert round(supported, 3) == supported


def test_a_run_below_the_claim_fails_naming_seed_value_and_record():
    dist = RunDistribution((0.990, 0.991, 0.992, 0.993, 0.989, 0.9905))
    threshold = claims.supported_threshold(dist)
    assert claims.check_run(0.9905, threshold, dist, seed=7) <= claims.MAX_FALSE_ALARM
    with pytest.raises(AssertionError, match=r"seed 7: test accuracy 0\.9500 is below"):
        claims.check_run(0.95, threshold, dist, seed=7)
    with pytest.raises(AssertionError):
        claims.check_run(float("nan"), threshold, dist, seed=7)


def test_a_distribution_needs_three_finite_runs():
    with pytest.raises(ValueError, match="at least 3 finite"):
        RunDistribution((0.99, 0.98))
    with pytest.raises(ValueError):
        RunDistribution((0.99, 0.98, float("nan")))


def test_the_seed_record_round_trip(tmp_path):
    path = tmp_path / "record.json"
    assert seed_record.load(path)["runs"] == []
    run = {"seed": 3, "test_acc": 0.99, "onednn": True, "cpu": "X"}
    seed_record.add_run(path, run)
    assert seed_record.has_run(path, 3, True, "X")
    assert not seed_record.has_run(path, 3, False, "X")
    assert seed_record.accuracies(seed_record.load(path), onednn=True) == [0.99]
    seed_record.add_run(path, {"seed": 4, "test_acc": 0.99129998, "onednn": False, "cpu": "X"})
    assert seed_record.accuracies(seed_record.load(path), onednn=False) == [0.9913]
    path.write_text(json.dumps({"runs": "broken"}))
    with pytest.raises(ValueError, match="not a seed record"):
        seed_record.load(path)


def test_the_committed_record_supports_the_headline_claim():
    """60 runs (30 with oneDNN on, 30 off), every one with its CPU, and the claim they support."""
    from cnn_helpers.recipe import CLAIMED_TEST_ACCURACY

    record = seed_record.load()
    for onednn in (True, False):
        assert len(seed_record.accuracies(record, onednn)) >= 30
    assert all(run["cpu"] and "versions" in run for run in record["runs"])
    for onednn in (None, True, False):  # all runs, and each arithmetic's alone
        dist = claims.tutorial_distribution(onednn)
        assert claims.require_supported(dist, CLAIMED_TEST_ACCURACY, "x") <= claims.MAX_FALSE_ALARM
    # the highest multiple of 0.005 so supported (recipe.py's comment says so)
    assert CLAIMED_TEST_ACCURACY + 0.005 > min(
        claims.supported_threshold(claims.tutorial_distribution(on)) for on in (None, True, False))
