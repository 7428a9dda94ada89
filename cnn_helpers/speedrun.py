"""The speedrun: how fast can a 2-core CPU train the tutorial's network to 0.99?

A :class:`SpeedRecipe` is one point on the way from the tutorial's recipe to the
fastest one: batch size, optimizer, learning-rate schedule, BatchNorm (and its
momentum), precision, and the length of training in epochs (fractions allowed).
:func:`speedrun` trains it on the 60,000 MNIST training images and evaluates on
the real 10,000 test images at checkpoints, so a chapter can read off the
*training time to 0.99 test accuracy*. Evaluation time is not counted as
training time.

Why each ingredient is here:

- ``batchnorm``: normalising every layer's inputs lets a high learning rate
  work from the first step. Its trap: Keras evaluates with *moving* averages of
  the batch statistics, updated with ``momentum=0.99`` by default, which after a
  few hundred steps of fast-changing weights still describe the early network.
  ``bn_momentum=0.9`` follows the weights closely enough;
  :func:`recompute_batchnorm_statistics` is the other fix.
- ``schedule``: a one-cycle learning rate (a short linear warm-up to a peak,
  then a linear decay to zero) lets one epoch do the work of several.
- ``precision``: bfloat16 matrix units (AMX, AVX-512 BF16) roughly double the
  speed where the CPU has them; :func:`bfloat16_supported` detects them and the
  recipe falls back to float32 elsewhere (and when oneDNN is off, where
  TensorFlow's bfloat16 kernels are slow).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from . import import_tensorflow_quietly
from .data import load_mnist, preprocess
from .model import INPUT_SHAPE, NUM_CLASSES
from .train import training_dataset

tf = import_tensorflow_quietly()
import keras  # noqa: E402

OPTIMIZERS = ("rmsprop", "adam")
SCHEDULES = ("constant", "one_cycle", "linear")
PRECISIONS = ("auto", "float32", "bfloat16")
TARGET_ACCURACY = 0.99
TRAIN_IMAGES = 60_000


# ---------------------------------------------------------------- the recipe
@dataclass(frozen=True)
class SpeedRecipe:
    """One set-up of the speedrun; each field changes the weights or the speed."""

    batch_size: int = 64
    optimizer: str = "rmsprop"
    learning_rate: float = 1e-3  # the peak of a schedule
    schedule: str = "constant"
    warmup: float = 0.2  # fraction of the steps spent warming up (one_cycle only)
    batchnorm: bool = False
    bn_momentum: float = 0.99  # Keras's default
    precision: str = "float32"
    epochs: float = 5.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(
                f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}"
            )
        if self.schedule not in SCHEDULES:
            raise ValueError(
                f"schedule must be one of {SCHEDULES}, got {self.schedule!r}"
            )
        if self.precision not in PRECISIONS:
            raise ValueError(
                f"precision must be one of {PRECISIONS}, got {self.precision!r}"
            )
        if not isinstance(self.batch_size, (int, np.integer)) or self.batch_size < 1:
            raise ValueError(
                f"batch_size must be a positive integer, got {self.batch_size!r}"
            )
        if not self.epochs > 0:
            raise ValueError(
                f"epochs must be > 0 (fractions allowed), got {self.epochs!r}"
            )
        if not 0 < self.learning_rate < 1:
            raise ValueError(
                f"learning_rate must be in (0, 1), got {self.learning_rate!r}"
            )
        if not 0 <= self.warmup < 1:
            raise ValueError(
                f"warmup is a fraction of the steps in [0, 1), got {self.warmup!r}"
            )
        if not 0 <= self.bn_momentum < 1:
            raise ValueError(f"bn_momentum must be in [0, 1), got {self.bn_momentum!r}")
        if not isinstance(self.seed, (int, np.integer)) or self.seed < 0:
            raise ValueError(f"seed must be an integer >= 0, got {self.seed!r}")

    def steps(self, n_images: int = TRAIN_IMAGES) -> int:
        """Steps of ``epochs`` passes over ``n_images``, rounded up to whole batches."""
        return math.ceil(self.epochs * n_images / self.batch_size)

    def to_dict(self) -> dict:
        """The recipe as a plain dict (JSON-serialisable)."""
        return asdict(self)


#: The tutorial's recipe in speedrun terms: rmsprop, batch 64, constant rate, 5 epochs.
TUTORIAL_SPEED_RECIPE = SpeedRecipe()

#: The speedrun's final recipe: BatchNorm, Adam with a one-cycle rate, batch 128,
#: bfloat16 where the CPU has it, one epoch.
FINAL_RECIPE = SpeedRecipe(
    batch_size=128,
    optimizer="adam",
    learning_rate=3e-3,
    schedule="one_cycle",
    batchnorm=True,
    bn_momentum=0.9,
    precision="auto",
    epochs=1.0,
)


#: The final recipe's runs while the speedrun chapter was written (seeds 0-4, one
#: process each, oneDNN on and off), on an Intel Xeon with AMX, 2 cores, TensorFlow
#: 2.21: the evidence that the chapter's threshold of 0.99 holds with a margin.
#: ``train_seconds`` includes building the training graph in the first step.
FINAL_RECIPE_RUNS = [
    {"seed": 0, "onednn": True, "precision": "bfloat16",
     "test_acc": 0.9912, "train_seconds": 16.0},
    {"seed": 1, "onednn": True, "precision": "bfloat16",
     "test_acc": 0.9917, "train_seconds": 12.9},
    {"seed": 2, "onednn": True, "precision": "bfloat16",
     "test_acc": 0.9918, "train_seconds": 14.5},
    {"seed": 3, "onednn": True, "precision": "bfloat16",
     "test_acc": 0.9908, "train_seconds": 13.1},
    {"seed": 4, "onednn": True, "precision": "bfloat16",
     "test_acc": 0.9918, "train_seconds": 12.1},
    {"seed": 0, "onednn": False, "precision": "float32",
     "test_acc": 0.991, "train_seconds": 35.8},
    {"seed": 1, "onednn": False, "precision": "float32",
     "test_acc": 0.9915, "train_seconds": 38.3},
    {"seed": 2, "onednn": False, "precision": "float32",
     "test_acc": 0.9913, "train_seconds": 38.6},
    {"seed": 3, "onednn": False, "precision": "float32",
     "test_acc": 0.9904, "train_seconds": 39.4},
    {"seed": 4, "onednn": False, "precision": "float32",
     "test_acc": 0.9908, "train_seconds": 41.2},
]


# ---------------------------------------------------------------- precision
def cpu_flags() -> set[str]:
    """The CPU feature flags Linux reports in ``/proc/cpuinfo`` (empty elsewhere)."""
    path = Path("/proc/cpuinfo")
    if not path.exists():
        return set()
    for line in path.read_text().splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def onednn_enabled() -> bool:
    """Whether TensorFlow's oneDNN kernels are on (``TF_ENABLE_ONEDNN_OPTS`` != 0)."""
    return os.environ.get("TF_ENABLE_ONEDNN_OPTS", "1").strip() not in (
        "0",
        "false",
        "False",
    )


def bfloat16_supported(
    flags: set[str] | None = None, onednn: bool | None = None
) -> bool:
    """True when bfloat16 training is fast here: bf16 hardware and oneDNN's kernels.

    The hardware is AMX (``amx_bf16``, Intel Sapphire Rapids and later) or
    AVX-512 BF16 (``avx512_bf16``, e.g. AMD Zen 4). Without oneDNN, TensorFlow's
    own bfloat16 convolutions are emulated and far slower than float32.
    """
    flags = cpu_flags() if flags is None else flags
    onednn = onednn_enabled() if onednn is None else onednn
    return onednn and bool({"amx_bf16", "avx512_bf16"} & flags)


def resolve_precision(precision: str) -> str:
    """``"auto"``: ``"bfloat16"`` if :func:`bfloat16_supported`, else ``"float32"``."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if precision == "auto":
        return "bfloat16" if bfloat16_supported() else "float32"
    return precision


# ---------------------------------------------------------------- the network
class FusedBatchNorm(keras.layers.Layer):
    """Keras's ``BatchNormalization`` (last axis) in one fused TensorFlow kernel.

    Keras 3 normalises with several small TensorFlow operations (mean, variance,
    subtract, scale; and as many again backwards), each a pass over memory, and
    in float32 even under bfloat16. TensorFlow's ``FusedBatchNormV3`` does the
    forward pass in one kernel and the backward pass in one more, in the
    activations' own precision (the statistics stay float32). Same maths:
    training normalises with the batch's mean and variance and moves the
    moving averages ``m <- momentum * m + (1 - momentum) * batch``; inference
    normalises with the moving averages. (TensorFlow's fused kernel moves the
    variance towards the batch's *unbiased* variance, ``n / (n - 1)`` times the
    biased one Keras uses: a difference of 1 in 3,000 or less here.)
    """

    def __init__(self, momentum: float = 0.99, epsilon: float = 1e-3, **kwargs) -> None:
        # float32 variables, read as float32; the activations keep their own dtype
        # (bfloat16 under mixed precision): no autocasting of inputs or variables.
        kwargs.pop("dtype", None)
        super().__init__(autocast=False, dtype="float32", **kwargs)
        self.momentum, self.epsilon = float(momentum), float(epsilon)

    def build(self, input_shape) -> None:
        c = int(input_shape[-1])
        self.gamma = self.add_weight(
            shape=(c,), initializer="ones", name="gamma", dtype="float32"
        )
        self.beta = self.add_weight(
            shape=(c,), initializer="zeros", name="beta", dtype="float32"
        )
        self.moving_mean = self.add_weight(
            shape=(c,),
            initializer="zeros",
            name="moving_mean",
            trainable=False,
            dtype="float32",
        )
        self.moving_variance = self.add_weight(
            shape=(c,),
            initializer="ones",
            name="moving_variance",
            trainable=False,
            dtype="float32",
        )

    def call(self, inputs, training=False):
        x = inputs
        flat = (
            len(x.shape) == 2
        )  # Dense outputs: the fused kernel wants 4-D (N, 1, 1, C)
        if flat:
            x = x[:, None, None, :]
        if training:
            y, mean, var = tf.compat.v1.nn.fused_batch_norm(
                x,
                self.gamma.value,
                self.beta.value,
                self.moving_mean.value,
                self.moving_variance.value,
                self.epsilon,
                is_training=True,
                exponential_avg_factor=1.0 - self.momentum,
            )
            self.moving_mean.assign(mean)
            self.moving_variance.assign(var)
        else:
            y, _, _ = tf.compat.v1.nn.fused_batch_norm(
                x,
                self.gamma.value,
                self.beta.value,
                self.moving_mean.value,
                self.moving_variance.value,
                self.epsilon,
                is_training=False,
            )
        return y[:, 0, 0, :] if flat else y

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "momentum": self.momentum,
            "epsilon": self.epsilon,
        }


def build_speedrun_model(
    batchnorm: bool = True,
    bn_momentum: float = 0.9,
    precision: str = "float32",
    fused: bool = True,
) -> keras.Sequential:
    """The tutorial's network, optionally with BatchNorm after every hidden layer.

    With ``batchnorm`` each Conv2D/Dense loses its bias (BatchNorm's shift does
    that job) and is followed by ``BatchNormalization`` and then ReLU. With
    ``precision="bfloat16"`` the layers compute in bfloat16 and keep float32
    weights (Keras's ``mixed_bfloat16``); the softmax stays float32, so the
    probabilities and the loss are computed accurately.
    """
    precision = resolve_precision(precision)
    dtype = "mixed_bfloat16" if precision == "bfloat16" else "float32"
    L = keras.layers
    norm = FusedBatchNorm if fused else L.BatchNormalization

    def block(layer_type, *args, name):
        if not batchnorm:
            return [layer_type(*args, activation="relu", name=name, dtype=dtype)]
        return [
            layer_type(*args, use_bias=False, name=name, dtype=dtype),
            norm(momentum=bn_momentum, name=f"{name}_bn", dtype=dtype),
            L.ReLU(name=f"{name}_relu", dtype=dtype),
        ]

    layers = [
        *block(L.Conv2D, 32, (3, 3), name="conv2d"),
        L.MaxPooling2D((2, 2), name="max_pooling2d", dtype=dtype),
        *block(L.Conv2D, 64, (3, 3), name="conv2d_1"),
        L.MaxPooling2D((2, 2), name="max_pooling2d_1", dtype=dtype),
        *block(L.Conv2D, 64, (3, 3), name="conv2d_2"),
        L.Flatten(name="flatten", dtype=dtype),
        *block(L.Dense, 64, name="dense"),
        L.Dense(NUM_CLASSES, activation="softmax", name="dense_1", dtype="float32"),
    ]
    return keras.Sequential(
        [keras.Input(shape=INPUT_SHAPE), *layers], name="speedrun_cnn"
    )


# ---------------------------------------------------------------- the schedule
class OneCycle(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up from ``peak / 10`` to ``peak`` over ``warmup`` of the steps, then
    linear decay to zero at ``total_steps``. ``warmup=0`` is a plain linear decay."""

    def __init__(self, peak: float, total_steps: int, warmup: float = 0.2) -> None:
        if total_steps < 1:
            raise ValueError(f"total_steps must be >= 1, got {total_steps}")
        self.peak, self.total_steps, self.warmup = (
            float(peak),
            int(total_steps),
            float(warmup),
        )

    def __call__(self, step):
        step = tf.cast(step, tf.float32)
        total = float(self.total_steps)
        up = self.warmup * total
        falling = self.peak * (total - step) / (total - up)
        if up == 0:
            return tf.maximum(falling, 0.0)
        rising = self.peak * (0.1 + 0.9 * step / up)
        return tf.maximum(tf.where(step < up, rising, falling), 0.0)

    def get_config(self) -> dict:
        return {
            "peak": self.peak,
            "total_steps": self.total_steps,
            "warmup": self.warmup,
        }


def learning_rate(recipe: SpeedRecipe, total_steps: int):
    """The recipe's learning rate: a number, or a :class:`OneCycle` schedule."""
    if recipe.schedule == "constant":
        return recipe.learning_rate
    warmup = recipe.warmup if recipe.schedule == "one_cycle" else 0.0
    return OneCycle(recipe.learning_rate, total_steps, warmup)


def make_optimizer(recipe: SpeedRecipe, total_steps: int) -> keras.optimizers.Optimizer:
    """The recipe's optimizer with its learning rate (or schedule)."""
    rate = learning_rate(recipe, total_steps)
    if recipe.optimizer == "adam":
        return keras.optimizers.Adam(learning_rate=rate)
    return keras.optimizers.RMSprop(learning_rate=rate)


# ---------------------------------------------------------------- BatchNorm statistics
def recompute_batchnorm_statistics(
    model: keras.Model, x: np.ndarray, batch_size: int = 500
) -> None:
    """Set every BatchNorm layer's moving mean and variance to the final network's
    statistics over ``x`` (the other fix for the momentum trap).

    Runs ``x`` through the network one layer at a time in inference mode and, at
    each BatchNorm, replaces the moving statistics by the exact mean and variance
    of its inputs, before the next layer sees the normalised values.
    """
    h = np.asarray(x, dtype="float32")
    for layer in model.layers:
        if isinstance(layer, (keras.layers.BatchNormalization, FusedBatchNorm)):
            mean = np.zeros(h.shape[-1], "float64")
            sq = np.zeros(h.shape[-1], "float64")
            axes = tuple(range(h.ndim - 1))
            for i in range(0, len(h), batch_size):
                part = h[i : i + batch_size].astype("float64")
                mean += part.sum(axis=axes)
                sq += (part**2).sum(axis=axes)
            n = math.prod(h.shape[:-1])
            mean /= n
            layer.moving_mean.assign(mean.astype("float32"))
            layer.moving_variance.assign((sq / n - mean**2).astype("float32"))
        h = np.concatenate(
            [
                np.asarray(layer(h[i : i + batch_size], training=False), "float32")
                for i in range(0, len(h), batch_size)
            ]
        )


# ---------------------------------------------------------------- training
@dataclass
class Checkpoint:
    """The test accuracy after ``epochs`` of training that took ``seconds``."""

    epochs: float
    seconds: float
    test_acc: float


@dataclass
class SpeedResult:
    """What one speedrun training produced."""

    recipe: SpeedRecipe
    precision: str
    model: keras.Model
    checkpoints: list[Checkpoint] = field(default_factory=list)
    train_seconds: float = 0.0

    @property
    def test_acc(self) -> float:
        """The test accuracy at the end of training."""
        return self.checkpoints[-1].test_acc

    def time_to(self, target: float = TARGET_ACCURACY) -> float:
        """Training seconds until a checkpoint first reached ``target`` (or ``inf``)."""
        return time_to_target(self.checkpoints, target)


def time_to_target(
    checkpoints: list[Checkpoint], target: float = TARGET_ACCURACY
) -> float:
    """Training seconds at the first checkpoint with test accuracy >= ``target``."""
    for c in checkpoints:
        if c.test_acc >= target:
            return c.seconds
    return math.inf


class _Timer(keras.callbacks.Callback):
    """Times training, excluding the test evaluations it runs every ``every`` steps."""

    def __init__(
        self, every: int, total: int, evaluate, epochs_per_step: float, verbose: bool
    ) -> None:
        super().__init__()
        self.every, self.total, self.evaluate = every, total, evaluate
        self.epochs_per_step, self.verbose = epochs_per_step, verbose
        self.step = 0
        self.seconds = 0.0
        self.checkpoints: list[Checkpoint] = []

    def on_train_begin(self, logs=None):
        self._t = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        if self.step % self.every and self.step != self.total:
            return
        self.seconds += time.perf_counter() - self._t
        epochs = self.step * self.epochs_per_step
        acc = self.evaluate(self.model)
        self.checkpoints.append(Checkpoint(epochs, self.seconds, acc))
        if self.verbose:
            print(
                f"  {epochs:5.2f} epochs  {self.seconds:6.1f} s  "
                f"test accuracy {acc:.4f}",
                flush=True,
            )
        self._t = time.perf_counter()


def speedrun(
    recipe: SpeedRecipe = FINAL_RECIPE,
    evaluate_every: float = 1.0,
    data=None,
    verbose: bool = False,
) -> SpeedResult:
    """Train ``recipe``; test every ``evaluate_every`` epochs and at the end.

    ``data`` is ``((x_train, y_train), (x_test, y_test))`` as :func:`load_mnist`
    returns it (the real MNIST by default; tests pass a small slice). Training
    time excludes the evaluations; it includes the first step's tracing, as any
    real run does.
    """
    (x_train, y_train), (x_test, y_test) = data if data is not None else load_mnist()
    x, y = preprocess(x_train, y_train)
    xt, yt = preprocess(x_test, y_test)
    precision = resolve_precision(recipe.precision)

    keras.utils.set_random_seed(recipe.seed)
    model = build_speedrun_model(recipe.batchnorm, recipe.bn_momentum, precision)
    total = math.ceil(recipe.epochs * len(x) / recipe.batch_size)
    model.compile(
        optimizer=make_optimizer(recipe, total), loss="categorical_crossentropy"
    )
    every = max(1, round(evaluate_every * len(x) / recipe.batch_size))

    def evaluate(m: keras.Model) -> float:
        return test_accuracy(m, xt, yt)

    timer = _Timer(every, total, evaluate, recipe.batch_size / len(x), verbose)
    model.fit(
        training_dataset(x, y, recipe.batch_size, recipe.seed),
        epochs=1,
        steps_per_epoch=total,
        shuffle=False,  # the dataset is already shuffled
        verbose=0,
        callbacks=[timer],
    )
    return SpeedResult(recipe, precision, model, timer.checkpoints, timer.seconds)


# ---------------------------------------------------------------- measured runs, cached
def _result_key(recipe: SpeedRecipe, evaluate_every: float) -> str:
    """Hash of what changes a run's numbers: recipe, code, versions, oneDNN, CPU."""
    parts = {
        "recipe": recipe.to_dict(),
        "evaluate_every": evaluate_every,
        "code": hashlib.sha256(Path(__file__).read_bytes()).hexdigest(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "onednn": onednn_enabled(),
        "cpu": platform.processor() or platform.machine(),
        "flags": sorted(cpu_flags() & {"amx_bf16", "avx512_bf16", "avx512f"}),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:20]


def measured_run(
    recipe: SpeedRecipe, evaluate_every: float = 1.0, verbose: bool = False
) -> dict:
    """The checkpoints of ``speedrun(recipe, evaluate_every)``, measured once.

    Returns ``{"recipe", "evaluate_every", "precision", "checkpoints": [[epochs,
    seconds, test_acc], ...], "train_seconds", "from_cache"}``. The chapter's step
    table needs only these numbers, not the model, so a rerun of the chapter reads
    them from the book's cache folder (``speedrun/``) instead of training again.
    The key covers the recipe, this module's code, the library versions, the oneDNN
    setting and the processor, so numbers measured elsewhere are never shown as
    this machine's.
    """
    from .data import cache_dir

    path = cache_dir() / "speedrun" / f"{_result_key(recipe, evaluate_every)}.json"
    if path.exists():
        try:
            found = json.loads(path.read_text())
            if found.get("recipe") == recipe.to_dict():
                return {**found, "from_cache": True}
        except (OSError, ValueError):
            pass  # damaged: measure again and overwrite it
    result = speedrun(recipe, evaluate_every, verbose=verbose)
    found = {
        "recipe": recipe.to_dict(),
        "evaluate_every": evaluate_every,
        "precision": result.precision,
        "checkpoints": [[c.epochs, c.seconds, c.test_acc] for c in result.checkpoints],
        "train_seconds": result.train_seconds,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(found))
    os.replace(tmp, path)
    return {**found, "from_cache": False}


# ------------------------------------------------------------ the recorded step table
#: The speedrun chapter's step table as measured on one machine, with that machine:
#: written by ``python -m book_tools.speedrun_steps``, read by :func:`recorded_run`.
RECORDED_STEPS = Path(__file__).with_name("speedrun_steps.json")


def recorded_steps(path: Path = RECORDED_STEPS) -> dict:
    """The record: ``{"machine": {...}, "runs": [measured run, ...]}``.

    A missing or damaged record raises ``FileNotFoundError`` / ``ValueError``
    naming the command that writes it.
    """
    again = "record it again with `python -m book_tools.speedrun_steps`"
    if not path.exists():
        raise FileNotFoundError(
            f"the speedrun's step record {path} is missing: {again}"
        )
    try:
        record = json.loads(path.read_text())
        runs, machine = record["runs"], record["machine"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(
            f"the speedrun's step record {path} is damaged ({exc}): {again}"
        ) from exc
    if not isinstance(runs, list) or not isinstance(machine, dict):
        raise ValueError(f"the speedrun's step record {path} is damaged: {again}")
    return record


def recorded_run(
    recipe: SpeedRecipe, evaluate_every: float = 1.0, path: Path = RECORDED_STEPS
) -> dict:
    """The recorded measurement of ``recipe``.

    The fields of :func:`measured_run`, with ``"recorded": True`` in place of
    ``"from_cache"`` (it was neither measured now nor read from this machine's cache).

    Measuring the whole step table trains for several minutes, so the chapter reads
    it from the record by default. A recipe that is not in the record (the chapter's
    steps changed since it was measured) raises ``LookupError``: a stale table is
    never shown.
    """
    for run in recorded_steps(path)["runs"]:
        same = run.get("recipe") == recipe.to_dict()
        if same and run.get("evaluate_every") == evaluate_every:
            return {**run, "recorded": True}
    raise LookupError(
        f"{recipe} (evaluated every {evaluate_every} epochs) is not in the step record "
        f"{path}: the chapter's steps changed since it was measured. Record them again "
        "with `python -m book_tools.speedrun_steps`, or set measure_here = True."
    )


def machine_description() -> dict:
    """What a measured time depends on: processor, its bf16 units, oneDNN, versions."""
    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "bf16_units": sorted(cpu_flags() & {"amx_bf16", "avx512_bf16"}),
        "onednn": onednn_enabled(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
    }


def test_accuracy(
    model: keras.Model,
    x: np.ndarray,
    y: np.ndarray,
    batch_size: int = 1000,
    training: bool = False,
) -> float:
    """Fraction of ``x`` the model classifies as ``y`` (one-hot or class numbers).

    In inference mode by default, as ``model.evaluate`` and ``model.predict`` do.
    ``training=True`` normalises each batch of ``batch_size`` with its own
    statistics instead; the moving statistics are restored afterwards, so this
    look leaves the model unchanged.
    """
    labels = y.argmax(axis=1) if np.ndim(y) == 2 else np.asarray(y)
    if not training:
        probs = model.predict(x, batch_size=batch_size, verbose=0)
    else:
        saved = [v.numpy() for v in model.non_trainable_variables]
        probs = np.concatenate(
            [
                np.asarray(model(x[i : i + batch_size], training=True))
                for i in range(0, len(x), batch_size)
            ]
        )
        for v, value in zip(model.non_trainable_variables, saved):
            v.assign(value)
    return float(np.mean(probs.argmax(axis=1) == labels))


__all__ = [
    "SpeedRecipe",
    "TUTORIAL_SPEED_RECIPE",
    "FINAL_RECIPE",
    "bfloat16_supported",
    "resolve_precision",
    "build_speedrun_model",
    "OneCycle",
    "make_optimizer",
    "recompute_batchnorm_statistics",
    "speedrun",
    "measured_run",
    "recorded_run",
    "machine_description",
    "SpeedResult",
    "Checkpoint",
    "time_to_target",
    "test_accuracy",
    "replace",
]
