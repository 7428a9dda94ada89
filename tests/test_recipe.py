"""cnn_helpers.recipe: what a training run is, checked when it is made, without TensorFlow."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from cnn_helpers.recipe import TUTORIAL_RECIPE, Recipe


@pytest.mark.parametrize(
    "kwargs, message",
    [({"optimizer": "adagradx"}, "optimizer must be one of"),
     ({"epochs": 0}, "epochs and batch_size must be >= 1"),
     ({"batch_size": 2.5}, "batch_size must be an integer"),
     ({"batch_size": 60_001}, "batch_size must be at most 60,000"),
     ({"seed": -1}, "seed >= 0"),
     ({"loss": "mse"}, "only 'categorical_crossentropy'"),
     ({"learning_rate": float("nan")}, "finite number > 0"),
     ({"learning_rate": 0}, "finite number > 0"),
     ({"dropout": 1.0}, r"dropout must be a rate in \[0, 1\)"),
     ({"validation_size": 1000, "train_size": 59_001}, "train_size must be None or an integer")],
)
def test_recipe_rejects_bad_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Recipe(**kwargs)


def test_seed_recipe_is_the_tutorials():
    r = TUTORIAL_RECIPE
    assert (r.optimizer, r.loss, r.epochs, r.batch_size) == ("rmsprop", "categorical_crossentropy", 5, 64)


def test_numpy_numbers_become_plain_ones_and_the_dict_round_trips():
    r = Recipe(seed=np.int64(3), batch_size=np.int32(32), learning_rate=np.float32(0.5))
    text = json.dumps(r.to_dict())  # plain ints and floats, or this would raise
    assert Recipe.from_dict(json.loads(text)) == r
    with pytest.raises(ValueError, match=r"unknown recipe fields \['dropot'\]"):
        Recipe.from_dict({"dropot": 0.5})


def test_the_recipe_module_imports_no_tensorflow():
    code = "import sys, cnn_helpers.recipe; print('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
