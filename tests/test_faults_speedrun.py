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


def test_numpy_seed_gives_the_same_result_key():
    from cnn_helpers.speedrun import _result_key

    assert _result_key(SpeedRecipe(seed=np.int64(1)), 0.5) == _result_key(
        SpeedRecipe(seed=1), 0.5
    )


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


def test_the_result_key_hashes_every_module_the_training_depends_on():
    """The key hashed speedrun.py only: an edit of ``data.preprocess`` kept it."""
    from cnn_helpers.speedrun import speedrun_modules

    names = {m.__name__.removeprefix("cnn_helpers.") for m in speedrun_modules()}
    assert {"speedrun", "speedrun_recipe", "batchnorm", "schedule", "precision",
            "train", "model", "recipe", "data"} <= names
