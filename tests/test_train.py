"""cnn_helpers.train: recipes, the input pipeline, the model cache, and reproducibility."""
from __future__ import annotations

import math

import numpy as np
import pytest

from cnn_helpers import train as t


def test_training_dataset_keeps_epochs_aligned():
    x = np.arange(10, dtype="float32")[:, None]
    y = np.arange(10, dtype="float32")[:, None]
    steps = math.ceil(10 / 4)
    batches = [b[0].numpy()[:, 0] for b in t.training_dataset(x, y, 4, seed=1).take(2 * steps)]
    assert [len(b) for b in batches] == [4, 4, 2, 4, 4, 2]
    first, second = np.concatenate(batches[:steps]), np.concatenate(batches[steps:])
    assert sorted(first) == sorted(second) == list(range(10))  # each epoch sees every example once
    assert not np.array_equal(first, second)  # and in a new order


def test_cache_key_changes_with_the_recipe():
    assert t.cache_key(t.Recipe(seed=1)) != t.cache_key(t.Recipe(seed=2))
    assert t.cache_key(t.Recipe(seed=1)) == t.cache_key(t.Recipe(seed=1))


# ---------------------------------------------------------------- real training
@pytest.mark.slow
def test_a_rerun_gives_the_same_weights():
    """Keras's seeding makes training repeatable on one machine set-up.

    One real epoch on the first 6,000 training images, twice (a tenth of the data
    keeps the test fast; shuffling, dropout-free steps and the evaluation are the same).
    """
    recipe = t.Recipe(epochs=1, seed=3, train_size=6000)
    a = t.train(recipe, verbose=False)
    b = t.train(recipe, verbose=False)
    for wa, wb in zip(a.model.get_weights(), b.model.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)
    assert a.test_acc == b.test_acc > 0.85
