"""cnn_helpers.cache (through cnn_helpers.train.trained_model): checked loads, atomic
writes, locking, stale temporary entries, permissions and failed writes.

A fake trainer replaces the minutes-long training with an untrained network, and
every test gets its own cache folder.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from cnn_helpers import train as t
from cnn_helpers.model import build_tutorial_model


@pytest.fixture
def fake_training(tmp_path, monkeypatch):
    """Replace the (minutes-long) training with an untrained model; count the calls."""
    calls = []

    def fake_train(recipe, verbose=True):
        calls.append(recipe)
        return t.TrainResult(
            model=build_tutorial_model(),
            recipe=recipe,
            history={"loss": [1.0], "accuracy": [0.5]},
            test_loss=1.0,
            test_acc=0.5,
            epoch_seconds=[0.1],
        )

    monkeypatch.setattr(t, "train", fake_train)
    monkeypatch.setattr(t.cache, "model_cache_dir", lambda: tmp_path / "models")
    return calls


def test_second_call_comes_from_the_cache(fake_training, tmp_path):
    recipe = t.Recipe(seed=7)
    first = t.trained_model(recipe)
    assert not first.from_cache and len(fake_training) == 1
    second = t.trained_model(recipe)
    assert second.from_cache and len(fake_training) == 1
    for a, b in zip(first.model.get_weights(), second.model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert [p.name for p in (tmp_path / "models").iterdir()] == [t.cache_key(recipe)]


@pytest.mark.parametrize(
    "damage, message",
    [
        ("model bytes", "does not match the checksum"),
        ("model missing", "model.keras is missing"),
        ("meta garbage", "meta.json unreadable"),
        ("stale key", "stale entry"),
    ],
)
def test_damaged_or_stale_entry_is_replaced_not_used(
    fake_training, capsys, damage, message
):
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


def test_saving_over_an_existing_entry_replaces_it(fake_training):
    """The final rename never meets a non-empty folder (it failed with ENOTEMPTY)."""
    recipe = t.Recipe(seed=10)
    key = t.cache_key(recipe)
    first = t.trained_model(recipe)
    entry = t.cache.save(
        key,
        first.model,
        {"history": {}, "test_loss": 2.0, "test_acc": 0.1, "epoch_seconds": []},
    )
    assert json.loads((entry / "meta.json").read_text())["test_loss"] == 2.0
    assert [p.name for p in t.cache.model_cache_dir().iterdir()] == [
        key
    ], "nothing left aside"


def test_stale_temporary_entries_are_removed_unless_their_lock_is_held(fake_training):
    root = t.cache.model_cache_dir()
    root.mkdir(parents=True)
    killed = root / ".aaaa.tmp-x1"  # left by a killed process: its lock is free
    busy = root / ".bbbb.tmp-x2"  # being written right now: its lock is held
    for d in (killed, busy):
        d.mkdir()
        (d / "model.keras").write_bytes(b"partial")
    with t.cache.locked("bbbb") as held:
        assert held
        t.trained_model(t.Recipe(seed=11))
        assert not killed.exists() and busy.exists()
    assert t.cache.remove_stale_temps() == [busy]


def test_entries_are_readable_by_the_group(fake_training):
    old = os.umask(0o022)
    try:
        t.trained_model(t.Recipe(seed=12))
    finally:
        os.umask(old)
    entry = next(t.cache.model_cache_dir().iterdir())
    assert stat.S_IMODE(entry.stat().st_mode) == 0o755, "mkdtemp's 0700 hid the entry"
    for f in entry.iterdir():
        assert stat.S_IMODE(f.stat().st_mode) == 0o644, f.name


@pytest.mark.parametrize("fault", ["cache path is a file", "disk full"])
def test_a_failed_write_after_training_keeps_the_model(
    fake_training, tmp_path, monkeypatch, fault
):
    if fault == "cache path is a file":
        (tmp_path / "file").write_text("not a folder")
        monkeypatch.setattr(
            t.cache, "model_cache_dir", lambda: tmp_path / "file" / "models"
        )
    else:

        def full(self, path, *args, **kwargs):
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(t.keras.Model, "save", full)
    with pytest.warns(t.cache.CacheNotWritten) as caught:
        result = t.trained_model(t.Recipe(seed=13))
    assert (
        not result.from_cache and result.model is not None and len(fake_training) == 1
    )
    message = str(caught[0].message)
    assert str(t.cache.model_cache_dir()) in message and "Fix:" in message


SCRIPT = textwrap.dedent("""
    import sys, time
    from cnn_helpers import train as t
    from cnn_helpers.model import build_tutorial_model

    def fake_train(recipe, verbose=True):
        with open(sys.argv[1], "a") as f:
            f.write("trained\\n")
        time.sleep(1.5)  # long enough for the other process to arrive meanwhile
        return t.TrainResult(model=build_tutorial_model(), recipe=recipe, history={},
                             test_loss=1.0, test_acc=0.5, epoch_seconds=[])

    t.train = fake_train
    print("from_cache", t.trained_model(t.Recipe(seed=14), verbose=False).from_cache)
""")


def test_two_processes_train_once_and_neither_crashes(tmp_path, mnist):
    """Before the lock, both trained and one failed in the final rename (ENOTEMPTY)."""
    from cnn_helpers.store import MNIST_FILE as CACHE_FILE_NAME, cache_dir

    (tmp_path / CACHE_FILE_NAME).write_bytes(
        (cache_dir() / CACHE_FILE_NAME).read_bytes()
    )
    env = {**os.environ, "CNN_BOOK_CACHE": str(tmp_path)}
    log, script = tmp_path / "trainings.txt", tmp_path / "train_once.py"
    script.write_text(
        SCRIPT
    )  # a file, not -c: the cache key reads the trainer's source
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(log)],
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    results = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, results, strict=True):
        assert p.returncode == 0, err[-2000:]
    assert (
        log.read_text().count("trained") == 1
    ), "the second process must wait and load"
    assert sorted(out.split()[-1] for out, _ in results) == ["False", "True"]
