"""cnn_helpers.train: recipes, the input pipeline, the model cache, and reproducibility."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from cnn_helpers import train as t
from cnn_helpers.model import build_tutorial_model


@pytest.mark.parametrize(
    "kwargs, message",
    [({"optimizer": "adagradx"}, "optimizer must be one of"), ({"epochs": 0}, "epochs and batch_size must be >= 1"),
     ({"batch_size": 2.5}, "batch_size must be an integer"), ({"seed": -1}, "seed >= 0"),
     ({"loss": "mse"}, "only 'categorical_crossentropy'")],
)
def test_recipe_rejects_bad_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        t.Recipe(**kwargs)


def test_seed_recipe_is_the_tutorials():
    r = t.TUTORIAL_RECIPE
    assert (r.optimizer, r.loss, r.epochs, r.batch_size) == ("rmsprop", "categorical_crossentropy", 5, 64)


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


# ---------------------------------------------------------------- the cache, with a fast fake trainer
@pytest.fixture
def fake_training(tmp_path, monkeypatch):
    """Replace the (minutes-long) training with an untrained model; count the calls."""
    calls = []

    def fake_train(recipe, verbose=True):
        calls.append(recipe)
        return t.TrainResult(model=build_tutorial_model(), recipe=recipe, history={"loss": [1.0], "accuracy": [0.5]},
                             test_loss=1.0, test_acc=0.5, epoch_seconds=[0.1])

    monkeypatch.setattr(t, "train", fake_train)
    monkeypatch.setattr(t.cache, "model_cache_dir", lambda: tmp_path / "models")
    return calls


def test_second_call_comes_from_the_cache(fake_training, tmp_path):
    recipe = t.Recipe(seed=7)
    first = t.trained_model(recipe)
    assert not first.from_cache and len(fake_training) == 1
    second = t.trained_model(recipe)
    assert second.from_cache and len(fake_training) == 1
    for a, b in zip(first.model.get_weights(), second.model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert [p.name for p in (tmp_path / "models").iterdir()] == [t.cache_key(recipe)]


@pytest.mark.parametrize("damage, message", [
    ("model bytes", "does not match the checksum"),
    ("model missing", "model.keras is missing"),
    ("meta garbage", "meta.json unreadable"),
    ("stale key", "stale entry"),
])
def test_damaged_or_stale_entry_is_replaced_not_used(fake_training, capsys, damage, message):
    recipe = t.Recipe(seed=8)
    t.trained_model(recipe)
    entry = t.cache.model_cache_dir() / t.cache_key(recipe)
    if damage == "model bytes":
        blob = bytearray((entry / "model.keras").read_bytes())
        blob[len(blob) // 2] ^= 0xFF
        (entry / "model.keras").write_bytes(bytes(blob))
    elif damage == "model missing":
        (entry / "model.keras").unlink()
    elif damage == "meta garbage":
        (entry / "meta.json").write_text("{not json")
    else:
        meta = json.loads((entry / "meta.json").read_text())
        meta["key"] = "0" * 20
        (entry / "meta.json").write_text(json.dumps(meta))
    capsys.readouterr()
    result = t.trained_model(recipe)
    out = capsys.readouterr().out
    assert "cannot be used" in out and message in out
    assert not result.from_cache and len(fake_training) == 2
    assert t.trained_model(recipe).from_cache  # the replacement is valid


def test_interrupted_write_leaves_nothing_behind(fake_training, monkeypatch):
    def broken_save(self, path, *args, **kwargs):
        open(path, "wb").write(b"half a model")
        raise KeyboardInterrupt("interrupted while saving")

    monkeypatch.setattr(t.keras.Model, "save", broken_save)
    with pytest.raises(KeyboardInterrupt):
        t.trained_model(t.Recipe(seed=9))
    assert list(t.cache.model_cache_dir().iterdir()) == []


# ---------------------------------------------------------------- real training
@pytest.mark.slow
def test_a_rerun_gives_the_same_weights():
    """Keras's seeding makes training repeatable on one machine set-up (one real epoch, twice)."""
    recipe = t.Recipe(epochs=1, seed=3)
    a = t.train(recipe, verbose=False)
    b = t.train(recipe, verbose=False)
    for wa, wb in zip(a.model.get_weights(), b.model.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    assert a.test_acc == b.test_acc > 0.95
