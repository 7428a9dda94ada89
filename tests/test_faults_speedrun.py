"""Fault cases of the speedrun (issue 17): each bad value used to crash deep inside
``json`` or TensorFlow, or to run silently; now it is the right result or a clear
error naming the field."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

import cnn_helpers  # noqa: F401
from cnn_helpers.speedrun_recipe import SpeedRecipe


def test_numpy_values_become_plain_json_values():
    """``SpeedRecipe(seed=np.int64(1))`` failed at the cache key: "int64 not JSON serializable"."""
    recipe = SpeedRecipe(
        seed=np.int64(1),
        batch_size=np.int32(128),
        epochs=np.float32(0.5),
        learning_rate=np.float32(0.002),
        batchnorm=np.bool_(True),
    )
    fields = recipe.to_dict()
    assert json.loads(json.dumps(fields)) == fields
    assert (type(recipe.seed), type(recipe.batch_size)) == (int, int)
    assert (type(recipe.epochs), type(recipe.batchnorm)) == (float, bool)
    assert recipe == SpeedRecipe(seed=1, batch_size=128, epochs=0.5,
                                 learning_rate=float(np.float32(0.002)), batchnorm=True)


@pytest.mark.parametrize("epochs", [math.inf, math.nan, -math.inf, 1e12])
def test_infinite_or_endless_epochs_fail_naming_epochs(epochs):
    """``SpeedRecipe(epochs=inf)`` was accepted; ``steps()`` then raised OverflowError."""
    with pytest.raises(ValueError, match="epochs"):
        SpeedRecipe(epochs=epochs)


@pytest.mark.parametrize("batch_size", [2**63, 60_001, 1.0, True])
def test_a_batch_beyond_the_training_set_fails_naming_batch_size(batch_size):
    """``batch_size=2**63`` reached TensorFlow, which failed with an int64 overflow."""
    with pytest.raises(ValueError, match=r"batch_size.*60,000|batch_size must be an integer"):
        SpeedRecipe(batch_size=batch_size)
    assert SpeedRecipe(batch_size=60_000).steps() == 5  # the whole set per step


@pytest.mark.parametrize("field, value", [
    ("seed", 1.9), ("seed", -1), ("learning_rate", math.inf), ("warmup", math.nan),
    ("bn_momentum", "0.9"), ("batchnorm", "yes"),
])
def test_other_bad_fields_fail_naming_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        SpeedRecipe(**{field: value})


@pytest.mark.parametrize("every", [0, -1.0, math.inf, math.nan])
def test_evaluate_every_must_be_a_finite_positive_number(every):
    from cnn_helpers.speedrun import speedrun

    with pytest.raises(ValueError, match="evaluate_every"):
        speedrun(SpeedRecipe(), evaluate_every=every, data=((None, None), (None, None)))


# ---------------------------------------------------------------- the ladder's record tool
def test_the_ladder_tool_refuses_a_record_from_another_machine(tmp_path):
    from book_tools import speedrun_ladder

    path = tmp_path / "ladder.json"
    here = {"cpu": "A", "cores": 2, "versions": {"tensorflow": "2.21.0"}, "onednn": True}
    record = speedrun_ladder.load_record(path, here)  # none yet: a new one
    assert set(record) >= {"machine", "sweep", "ladder", "torch", "onednn_off"}
    speedrun_ladder.save(record, path)
    assert "date" in json.loads(path.read_text())["machine"]
    assert not list(tmp_path.glob("*.tmp*")), "written atomically"
    # oneDNN's state is per phase, not per record: the same record takes both
    assert speedrun_ladder.load_record(path, {**here, "onednn": False})["ladder"] == []
    with pytest.raises(SystemExit, match="--out"):
        speedrun_ladder.load_record(path, {**here, "cpu": "B"})


def test_the_ladder_tool_plans_seed_by_seed_and_skips_what_it_has():
    from dataclasses import replace

    from book_tools import speedrun_ladder
    from cnn_helpers.speedrun_recipe import FINAL_RECIPE, LADDER

    plan = speedrun_ladder.plan("ladder", [0, 1])
    assert len(plan) == 2 * len(LADDER)
    assert [r.seed for r in plan[: len(LADDER)]] == [0] * len(LADDER)  # seed by seed
    assert plan[len(LADDER) - 1] == FINAL_RECIPE
    assert speedrun_ladder.plan("onednn_off", [3]) == [replace(FINAL_RECIPE, seed=3)]
    runs = [{"recipe": FINAL_RECIPE.to_dict()}]
    assert speedrun_ladder.has(runs, FINAL_RECIPE)
    assert not speedrun_ladder.has(runs, replace(FINAL_RECIPE, seed=1))


def test_the_choices_never_see_the_test_set():
    from book_tools import speedrun_ladder

    x = np.arange(60_000)
    test = (np.full(10_000, -1), np.full(10_000, -1))
    (xt, yt), (xv, yv) = speedrun_ladder.validation_split(((x, x), test))
    assert len(xv) == speedrun_ladder.VALIDATION_IMAGES == 5_000
    assert len(xt) == 55_000 and not np.isin(xv, xt).any() and (xv >= 0).all()
