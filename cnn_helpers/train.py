"""Training the tutorial's network: reproducible, fast on a CPU, and never done twice.

``train(recipe)`` trains one recipe on the real MNIST data and evaluates it on the
real test set. ``trained_model(recipe)`` (and ``trained_tutorial_model()``) return a
cached result when the exact same training has been done before on this machine
set-up, and train otherwise.

Why the input pipeline looks the way it does: with Keras's default per-epoch
iterator, every epoch after the first starts with a 13-19 s idle stall on this
2-core CPU while the previous iterator is torn down. One ``Dataset.repeat()``
with ``steps_per_epoch`` keeps a single iterator alive for the whole run, so
the stall never happens. The shuffle is seeded and reshuffles every epoch, like
``fit(shuffle=True)`` does.

Why the cache is safe: :func:`cache_key` hashes everything that changes the
weights: the recipe, the architecture, the code of every module training runs
(:data:`TRAINING_MODULES`: this one, the network, the recipe, the data's loading and
preprocessing; :func:`code_hash`), the data's fingerprint, the library versions, and
whether TensorFlow runs oneDNN (as TensorFlow reports it). :mod:`cnn_helpers.cache`
checks every entry on load and writes entries atomically, and a training whose loss
or weights are not finite is refused (:class:`NonFiniteTraining`), never cached.
"""
from __future__ import annotations

import ast
import dataclasses
import hashlib
import json
import math
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import numpy as np

from . import cache, import_tensorflow_quietly
from .data import fingerprint, load_mnist, preprocess
from .machine import onednn_enabled
from .model import build_network, compile_model
from .recipe import CLAIMED_TEST_ACCURACY, TUTORIAL_RECIPE, TUTORIAL_REPORTED_ACCURACY, Recipe  # noqa: F401

tf = import_tensorflow_quietly()
import keras  # noqa: E402

CACHE_FORMAT = 4  # 4: the key covers every training module and oneDNN as TensorFlow runs it


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
            line = (
                f"Epoch {epoch + 1}/{self.params['epochs']}: loss {logs.get('loss', float('nan')):.4f}, "
                f"accuracy {logs.get('accuracy', float('nan')):.4f}"
            )
            if "val_accuracy" in logs:
                line += f", validation accuracy {logs['val_accuracy']:.4f}"
            print(f"{line} ({self.seconds[-1]:.1f} s)", flush=True)


def training_dataset(
    x: np.ndarray, y: np.ndarray, batch_size: int, seed: int, augment_shift: int = 0
) -> tf.data.Dataset:
    """Shuffled batches that repeat forever; use with ``steps_per_epoch = ceil(N / batch_size)``.

    Shuffling before batching and repeating after it keeps the batches of each
    epoch aligned with the epoch (the last batch of an epoch is the short one).
    ``augment_shift > 0`` shifts every image by a random whole number of pixels,
    up to that many in each direction, filling with background (0).
    """
    ds = tf.data.Dataset.from_tensor_slices((x, y))
    ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)
    if augment_shift:
        ds = ds.map(lambda xb, yb: (random_shift(xb, augment_shift, seed), yb))
    return ds.repeat().prefetch(2)


def random_shift(images: tf.Tensor, max_shift: int, seed: int) -> tf.Tensor:
    """Shift each image of a batch ``(N, H, W, C)`` by whole pixels in [-max_shift, max_shift].

    Pads with zeros (the background) and crops back to the original size, so a
    shifted digit never wraps around the frame.
    """
    n, h, w = tf.shape(images)[0], images.shape[1], images.shape[2]
    padded = tf.pad(images, [[0, 0], [max_shift, max_shift], [max_shift, max_shift], [0, 0]])
    offsets = tf.random.uniform((n, 2), 0, 2 * max_shift + 1, dtype=tf.int32, seed=seed)
    return tf.map_fn(
        lambda args: tf.slice(args[0], [args[1][0], args[1][1], 0], [h, w, -1]),
        (padded, offsets),
        fn_output_signature=images.dtype,
    )


def split(recipe: Recipe, x: np.ndarray, y: np.ndarray):
    """``(x_fit, y_fit), (x_val, y_val)``: the recipe's training subset and validation split.

    The validation images are the last ``validation_size`` of the training set;
    the training subset is the first ``train_size`` of the rest.
    """
    end = len(x) - recipe.validation_size
    fit_end = end if recipe.train_size is None else recipe.train_size
    return (x[:fit_end], y[:fit_end]), (x[end:], y[end:])


def compile_recipe(model: keras.Model, recipe: Recipe) -> keras.Model:
    """Compile ``model`` with the recipe's optimizer, rate and loss (the book's one compile)."""
    return compile_model(model, recipe.optimizer, recipe.learning_rate, recipe.loss)


def train(recipe: Recipe = TUTORIAL_RECIPE, verbose: bool = True) -> TrainResult:
    """Train ``recipe`` on MNIST's training images and evaluate on the 10,000 test images.

    Seeds Python, NumPy and TensorFlow through ``keras.utils.set_random_seed``,
    so a rerun on the same machine set-up gives the same weights. With a
    ``validation_size``, the history also holds ``val_loss`` and ``val_accuracy``
    after every epoch.
    """
    (x_train, y_train), (x_test, y_test) = load_mnist()
    (x, y), (xv, yv) = split(recipe, *preprocess(x_train, y_train))
    xt, yt = preprocess(x_test, y_test)

    keras.utils.set_random_seed(recipe.seed)
    model = build_model(recipe)
    compile_recipe(model, recipe)
    log = _EpochLog(verbose)
    history = model.fit(
        training_dataset(x, y, recipe.batch_size, recipe.seed, recipe.augment_shift),
        epochs=recipe.epochs,
        steps_per_epoch=math.ceil(len(x) / recipe.batch_size),
        validation_data=(xv, yv) if len(xv) else None,
        validation_batch_size=256,
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
def build_model(recipe: Recipe) -> keras.Model:
    """The untrained network that ``train(recipe)`` trains (not compiled)."""
    return build_network(recipe.model, dropout=recipe.dropout)


def code_hash(*modules: ModuleType) -> str:
    """SHA-256 of the code of ``modules``: any change of what they compute changes it.

    Each module's source file is parsed and hashed without its comments and
    docstrings (the syntax tree, without line numbers), so editing an explanation
    keeps the hash and editing code, any function of the module, changes it. This
    is the one way the book's caches hash code: the training cache
    (:func:`training_code_hash`) and the speedrun's results use it.
    """
    h = hashlib.sha256()
    for module in modules:
        tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            body = getattr(node, "body", None)
            if (
                isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                and body
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)
            ):
                node.body = body[1:] or [ast.Pass()]
        h.update(module.__name__.encode() + b"\0" + ast.dump(tree).encode() + b"\0")
    return h.hexdigest()


#: The modules whose code turns a recipe into weights: the training loop (this
#: module), the networks, the recipe, and the data's loading and preprocessing.
#: (Each is imported above, so it is in ``sys.modules``.)
TRAINING_MODULES = tuple(
    sys.modules[f"{__package__}.{name}"] for name in ("train", "model", "recipe", "data")
)


def training_code_hash() -> str:
    """:func:`code_hash` of :data:`TRAINING_MODULES`."""
    return code_hash(*TRAINING_MODULES)


def architecture(model: keras.Model) -> str:
    """The network's layers and their settings as JSON, without Keras's per-process names."""
    layers = [
        [type(layer).__name__, {k: v for k, v in layer.get_config().items() if k != "name"}]
        for layer in model.layers
    ]
    return json.dumps([list(model.input_shape), layers], sort_keys=True, default=str)


def cache_key(recipe: Recipe) -> str:
    """Hash of everything that affects the trained weights.

    The recipe, the network's architecture (its Keras config), the code of every
    training module (:func:`training_code_hash`), the data's fingerprint, the
    library versions, whether TensorFlow runs oneDNN (what it loaded, not the
    environment variable, which it reads once at import) and the machine type:
    changing any of them gives another key, so an old model is never served for a
    changed network, training or preprocessing.
    """
    parts = {
        "format": CACHE_FORMAT,
        "recipe": recipe.to_dict(),
        "architecture": architecture(build_model(recipe)),
        "training_code": training_code_hash(),
        "data": {k: list(v) if isinstance(v, tuple) else v for k, v in fingerprint(load_mnist()).items()},
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "onednn": onednn_enabled(),
        "machine": platform.machine(),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:20]


class NonFiniteTraining(ValueError):
    """A training produced a NaN or infinite loss or weight: it diverged."""


def check_finite(result: TrainResult) -> None:
    """Raise :class:`NonFiniteTraining`, naming the recipe, unless every loss and weight is finite.

    A diverged network (too large a learning rate, say) predicts nothing; it must
    never be cached and served as if it were a result.
    """
    losses = [result.test_loss, *result.history.get("loss", []), *result.history.get("val_loss", [])]
    bad_loss = not np.all(np.isfinite(losses))
    bad_weights = [getattr(w, "path", w.name) for w in result.model.weights
                   if not np.all(np.isfinite(np.asarray(w)))]
    if bad_loss or bad_weights:
        found = (["the loss"] if bad_loss else []) + (
            [f"{len(bad_weights)} weight arrays ({', '.join(bad_weights[:3])})"] if bad_weights else [])
        raise NonFiniteTraining(
            f"{result.recipe} diverged: {' and '.join(found)} hold NaN or infinite "
            "values, so the model is not cached. Fix: a smaller learning rate (or the "
            "optimizer's default, learning_rate=None)."
        )


def trained_model(recipe: Recipe = TUTORIAL_RECIPE, verbose: bool = True) -> TrainResult:
    """The trained result of ``recipe``: from the cache when a valid entry exists, else trained now.

    A damaged or stale entry is never used: it is reported, deleted, and the
    recipe is trained again. A training that diverged (a NaN or infinite loss or
    weight) raises :class:`NonFiniteTraining` and is not cached. Training and saving run under the entry's lock, so
    two processes asking at once train once (the second loads the first's
    entry). A model that cannot be saved is returned with a warning
    (:class:`cnn_helpers.cache.CacheNotWritten`) naming the path and the fix.
    """
    key = cache_key(recipe)
    with cache.locked(key):
        cache.remove_stale_temps(holding=key)
        found = cache.load(key)
        if found is not None:
            model, meta = found
            compile_recipe(model, recipe)
            return TrainResult(
                model=model,
                recipe=recipe,
                history=meta["history"],
                test_loss=meta["test_loss"],
                test_acc=meta["test_acc"],
                epoch_seconds=meta["epoch_seconds"],
                from_cache=True,
            )
        if os.environ.get("CNN_BOOK_NO_TRAINING"):
            raise RuntimeError(
                f"CNN_BOOK_NO_TRAINING is set and {recipe} is not in the cache "
                f"({cache.model_cache_dir()}): unset the variable to train it"
            )
        result = train(recipe, verbose=verbose)
        check_finite(result)
        meta = {
            "recipe": recipe.to_dict(),
            "history": result.history,
            "test_loss": result.test_loss,
            "test_acc": result.test_acc,
            "epoch_seconds": result.epoch_seconds,
        }
        cache.save_or_warn(key, result.model, meta)
    return result


def trained_tutorial_model(verbose: bool = True, seed: int = 0) -> TrainResult:
    """The tutorial's recipe (rmsprop, 5 epochs, batch 64) for one random seed, trained once and cached.

    Chapters that inspect the trained network take ``seed`` from their
    ``parameters`` cell, so they can be re-run on another training run.
    """
    return trained_model(dataclasses.replace(TUTORIAL_RECIPE, seed=seed), verbose=verbose)
