"""Training the seed network: reproducible, fast on a CPU, and never done twice.

``train(recipe)`` trains one recipe on the real MNIST data and evaluates it on the
real test set. ``trained_model(recipe)`` (and ``trained_seed_model()``) return a
cached result when the exact same training has been done before on this machine
set-up, and train otherwise.

Why the input pipeline looks the way it does: with Keras's default per-epoch
iterator, every epoch after the first starts with a 13-19 s idle stall on this
2-core CPU while the previous iterator is torn down. One ``Dataset.repeat()``
with ``steps_per_epoch`` keeps a single iterator alive for the whole run, so
the stall never happens. The shuffle is seeded and reshuffles every epoch, like
``fit(shuffle=True)`` does.

Why the cache is safe: its key is a hash of everything that changes the weights
(the recipe, the data's fingerprint, TensorFlow/Keras/NumPy versions, the oneDNN
setting, this module's cache format). An entry is used only when its metadata
parses, its key matches and the model file's SHA-256 matches the one recorded
when it was written; anything else is reported, deleted and trained again.
Entries are written to a temporary folder and renamed into place, so an
interrupted run never leaves a half-written entry behind.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import platform
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import import_tensorflow_quietly
from .data import cache_dir, fingerprint, load_mnist, preprocess
from .model import build_seed_model

tf = import_tensorflow_quietly()
import keras  # noqa: E402

CACHE_FORMAT = 2  # 2: the seed model's layers have fixed names
OPTIMIZERS = ("rmsprop", "adam", "sgd")


@dataclass(frozen=True)
class Recipe:
    """Everything about a training run that changes the resulting weights."""

    optimizer: str = "rmsprop"
    loss: str = "categorical_crossentropy"
    epochs: int = 5
    batch_size: int = 64
    seed: int = 0

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if self.loss != "categorical_crossentropy":
            raise ValueError(f"only 'categorical_crossentropy' is supported (labels are one-hot), got {self.loss!r}")
        for name in ("epochs", "batch_size", "seed"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
                raise ValueError(f"{name} must be an integer, got {value!r}")
        if self.epochs < 1 or self.batch_size < 1 or self.seed < 0:
            raise ValueError(
                f"epochs and batch_size must be >= 1 and seed >= 0, got epochs={self.epochs}, "
                f"batch_size={self.batch_size}, seed={self.seed}"
            )


#: The seed tutorial's recipe: rmsprop, categorical cross-entropy, 5 epochs, batch 64.
SEED_RECIPE = Recipe()

#: The book's claim for the seed recipe, asserted in the training chapter for seed 0
#: and in the "How sure are we" chapter for every seed it measures. The seed
#: tutorial reported 0.9913 from one run, but "at least 0.99" does not hold for
#: every seed (chapter 8 measures one below it). The claim is a round number far
#: enough below the runs' mean (several standard deviations) that only a real
#: regression, not an unlucky seed, can break it.
CLAIMED_TEST_ACCURACY = 0.985

#: What the seed tutorial printed after its one training run.
SEED_REPORTED_ACCURACY = 0.9913


@dataclass
class TrainResult:
    """What one training run produced."""

    model: keras.Model
    recipe: Recipe
    history: dict[str, list[float]]
    test_loss: float
    test_acc: float
    epoch_seconds: list[float] = field(default_factory=list)
    from_cache: bool = False


class _EpochLog(keras.callbacks.Callback):
    """Times every epoch and (optionally) prints one short line per epoch.

    One line per epoch reads well in a notebook and in the built book, where
    Keras's progress bars turn into pages of backspaces.
    """

    def __init__(self, verbose: bool) -> None:
        super().__init__()
        self.verbose = verbose
        self.seconds: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)
        if self.verbose:
            logs = logs or {}
            print(
                f"Epoch {epoch + 1}/{self.params['epochs']}: loss {logs.get('loss', float('nan')):.4f}, "
                f"accuracy {logs.get('accuracy', float('nan')):.4f} ({self.seconds[-1]:.1f} s)",
                flush=True,
            )


def training_dataset(x: np.ndarray, y: np.ndarray, batch_size: int, seed: int) -> tf.data.Dataset:
    """Shuffled batches that repeat forever; use with ``steps_per_epoch = ceil(N / batch_size)``.

    Shuffling before batching and repeating after it keeps the batches of each
    epoch aligned with the epoch (the last batch of an epoch is the short one).
    """
    ds = tf.data.Dataset.from_tensor_slices((x, y))
    ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size).repeat().prefetch(2)


def train(recipe: Recipe = SEED_RECIPE, verbose: bool = True) -> TrainResult:
    """Train ``recipe`` on the 60,000 MNIST training images and evaluate on the 10,000 test images.

    Seeds Python, NumPy and TensorFlow through ``keras.utils.set_random_seed``,
    so a rerun on the same machine set-up gives the same weights.
    """
    (x_train, y_train), (x_test, y_test) = load_mnist()
    x, y = preprocess(x_train, y_train)
    xt, yt = preprocess(x_test, y_test)

    keras.utils.set_random_seed(recipe.seed)
    model = build_seed_model(compile=False)
    model.compile(optimizer=recipe.optimizer, loss=recipe.loss, metrics=["accuracy"])
    log = _EpochLog(verbose)
    history = model.fit(
        training_dataset(x, y, recipe.batch_size, recipe.seed),
        epochs=recipe.epochs,
        steps_per_epoch=math.ceil(len(x) / recipe.batch_size),
        shuffle=False,  # the dataset is already shuffled
        verbose=0,
        callbacks=[log],
    )
    test_loss, test_acc = model.evaluate(xt, yt, batch_size=256, verbose=0)
    return TrainResult(
        model=model,
        recipe=recipe,
        history={k: [float(v) for v in vs] for k, vs in history.history.items()},
        test_loss=float(test_loss),
        test_acc=float(test_acc),
        epoch_seconds=log.seconds,
    )


# ---------------------------------------------------------------- cache
def cache_key(recipe: Recipe) -> str:
    """Hash of everything that affects the trained weights."""
    parts = {
        "format": CACHE_FORMAT,
        "recipe": dataclasses.asdict(recipe),
        "data": {k: list(v) if isinstance(v, tuple) else v for k, v in fingerprint(load_mnist()).items()},
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS", ""),
        "machine": platform.machine(),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:20]


def model_cache_dir() -> Path:
    """Folder holding one sub-folder per cached training run."""
    return cache_dir() / "models"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _load_entry(entry: Path, key: str, recipe: Recipe) -> TrainResult:
    """Load a cache entry, raising ``ValueError`` saying what is wrong with it."""
    try:
        meta = json.loads((entry / "meta.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"meta.json unreadable ({exc})") from exc
    if meta.get("key") != key:
        raise ValueError(f"stale entry: key {meta.get('key')!r} != {key!r}")
    model_file = entry / "model.keras"
    if not model_file.exists():
        raise ValueError("model.keras is missing")
    if _sha256(model_file) != meta.get("model_sha256"):
        raise ValueError("model.keras does not match the checksum recorded when it was written")
    # The optimizer's state is only needed to go on training; the book evaluates
    # and inspects cached models, so load the weights and compile afresh.
    model = keras.models.load_model(model_file, compile=False)
    model.compile(optimizer=recipe.optimizer, loss=recipe.loss, metrics=["accuracy"])
    return TrainResult(
        model=model,
        recipe=recipe,
        history=meta["history"],
        test_loss=meta["test_loss"],
        test_acc=meta["test_acc"],
        epoch_seconds=meta["epoch_seconds"],
        from_cache=True,
    )


def _save_entry(result: TrainResult, key: str) -> Path:
    """Write a cache entry atomically: build it in a temporary folder, then rename it."""
    root = model_cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=root, prefix=f".{key}.tmp-"))
    try:
        result.model.save(tmp / "model.keras")
        meta = {
            "key": key,
            "recipe": dataclasses.asdict(result.recipe),
            "history": result.history,
            "test_loss": result.test_loss,
            "test_acc": result.test_acc,
            "epoch_seconds": result.epoch_seconds,
            "model_sha256": _sha256(tmp / "model.keras"),
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
        final = root / key
        if final.exists():
            shutil.rmtree(final)
        os.rename(tmp, final)
        return final
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def trained_model(recipe: Recipe = SEED_RECIPE, verbose: bool = True) -> TrainResult:
    """The trained result of ``recipe``: from the cache when a valid entry exists, else trained now.

    A damaged or stale entry is never used: it is reported, deleted, and the
    recipe is trained again.
    """
    key = cache_key(recipe)
    entry = model_cache_dir() / key
    if entry.exists():
        try:
            return _load_entry(entry, key, recipe)
        except Exception as exc:
            print(f"The cached model in {entry} cannot be used ({exc}); training it again.")
            shutil.rmtree(entry, ignore_errors=True)
    result = train(recipe, verbose=verbose)
    _save_entry(result, key)
    return result


def trained_seed_model(verbose: bool = True) -> TrainResult:
    """The seed recipe (rmsprop, 5 epochs, batch 64, seed 0), trained once and cached."""
    return trained_model(SEED_RECIPE, verbose=verbose)
