"""The speedrun: how fast can a 2-core CPU train the tutorial's network to 0.99?

:func:`speedrun` trains a :class:`SpeedRecipe` on the 60,000 MNIST training images
and evaluates on the real 10,000 test images at checkpoints, so a chapter can read
off the *training time to 0.99 test accuracy*. Evaluation time is not counted as
training time. The network is the tutorial's (:func:`cnn_helpers.model.tutorial_layers`),
optionally with BatchNorm after every hidden layer.

The speedrun's parts live in one module per concept, and this module re-exports
them, so a chapter needs only ``from cnn_helpers import speedrun as sr``:

- :mod:`cnn_helpers.speedrun_recipe`: the recipe, the 0.99 target, time to target
  (no TensorFlow);
- :mod:`cnn_helpers.batchnorm`: ``FusedBatchNorm`` and the fix for the momentum
  trap (Keras evaluates with moving averages that, at ``momentum=0.99``, still
  describe the early network after a few hundred fast steps);
- :mod:`cnn_helpers.schedule`: the one-cycle learning rate, which lets one epoch do
  the work of several;
- :mod:`cnn_helpers.precision`: bfloat16 where the CPU has bf16 units (AMX,
  AVX-512 BF16) and oneDNN is on, float32 elsewhere. How much faster it is depends
  on the machine; the chapter's step table shows what it gained on the recorded one;
- :mod:`cnn_helpers.speedrun_record`: the recorded ladder (every step over twenty
  seeds, the choices made on validation, the PyTorch reference) and its summaries;
- :func:`cnn_helpers.model.accuracy` (here as ``test_accuracy``) and
  :func:`cnn_helpers.machine.onednn_enabled`.
"""

from __future__ import annotations

import math
import numbers
import time
from dataclasses import dataclass, field

from . import import_tensorflow_quietly

tf = import_tensorflow_quietly()
import keras  # noqa: E402

from .batchnorm import FusedBatchNorm, recompute_batchnorm_statistics
from .data import load_mnist, preprocess
from .machine import onednn_enabled
from .model import INPUT_SHAPE, accuracy, compile_model, tutorial_layers
from .model import make_optimizer as optimizer_by_name
from .precision import bfloat16_supported, resolve_precision
from .schedule import OneCycle, learning_rate
from .speedrun_recipe import (
    FINAL_RECIPE,
    LADDER,
    TARGET_ACCURACY,
    TUTORIAL_SPEED_RECIPE,
    Checkpoint,
    SpeedRecipe,
    time_to_target,
)
from .speedrun_record import (
    LADDER_RECORD,
    choose,
    difference,
    ladder_record,
    runs_of,
    summarize,
)
from .train import training_dataset

#: The speedrun's accuracy on the test set: the book's one accuracy.
test_accuracy = accuracy


def build_speedrun_model(
    batchnorm: bool = True,
    bn_momentum: float = 0.9,
    precision: str = "float32",
    fused: bool = True,
) -> keras.Sequential:
    """The tutorial's network, optionally with BatchNorm after every hidden layer.

    The layers come from :func:`cnn_helpers.model.tutorial_layers`. With
    ``batchnorm`` each Conv2D/Dense loses its bias (BatchNorm's shift does that
    job) and is followed by BatchNorm (:class:`FusedBatchNorm`, or Keras's own with
    ``fused=False``) and then ReLU. With ``precision="bfloat16"`` the layers compute
    in bfloat16 and keep float32 weights (Keras's ``mixed_bfloat16``); the softmax
    stays float32, so the probabilities and the loss are computed accurately.
    """
    precision = resolve_precision(precision)
    dtype = "mixed_bfloat16" if precision == "bfloat16" else "float32"
    norm = FusedBatchNorm if fused else keras.layers.BatchNormalization

    def with_batchnorm(layer_type, *args, name, **kwargs):
        return [
            layer_type(*args, use_bias=False, name=name, **kwargs),
            norm(momentum=bn_momentum, name=f"{name}_bn", **kwargs),
            keras.layers.ReLU(name=f"{name}_relu", **kwargs),
        ]

    layers = (
        tutorial_layers(with_batchnorm, dtype=dtype)
        if batchnorm
        else tutorial_layers(dtype=dtype)
    )
    return keras.Sequential(
        [keras.Input(shape=INPUT_SHAPE), *layers], name="speedrun_cnn"
    )


def make_optimizer(recipe: SpeedRecipe, total_steps: int) -> keras.optimizers.Optimizer:
    """The recipe's optimizer with its learning rate (or schedule)."""
    return optimizer_by_name(recipe.optimizer, learning_rate(recipe, total_steps))


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


class _Timer(keras.callbacks.Callback):
    """Times training, excluding the test evaluations it runs every ``every`` steps."""

    def __init__(
        self, every: int, total: int, evaluate, epochs_per_step: float, verbose: bool,
        test_checkpoints: bool = True,
    ) -> None:
        super().__init__()
        self.every, self.total, self.evaluate = every, total, evaluate
        self.test_checkpoints = test_checkpoints
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
        last = self.step == self.total
        acc = self.evaluate(self.model) if last or self.test_checkpoints else math.nan
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
    test_checkpoints: bool = True,
) -> SpeedResult:
    """Train ``recipe``; checkpoint every ``evaluate_every`` epochs and at the end.

    ``data`` is ``((x_train, y_train), (x_test, y_test))`` as :func:`load_mnist`
    returns it (the real MNIST by default; tests pass a small slice; the speedrun
    ladder's choices pass a training/validation split). A checkpoint records the
    training seconds so far and the accuracy on the second pair; with
    ``test_checkpoints=False`` only the last one is evaluated (the others hold NaN),
    so the test set is read once. Training time excludes the evaluations; it
    includes the first step's tracing, as any real run does.
    """
    if not (isinstance(evaluate_every, numbers.Real) and 0 < evaluate_every < math.inf):
        raise ValueError(
            f"evaluate_every must be a finite number of epochs > 0, got {evaluate_every!r}"
        )
    (x_train, y_train), (x_test, y_test) = data if data is not None else load_mnist()
    x, y = preprocess(x_train, y_train)
    xt, yt = preprocess(x_test, y_test)
    precision = resolve_precision(recipe.precision)

    keras.utils.set_random_seed(recipe.seed)
    model = build_speedrun_model(recipe.batchnorm, recipe.bn_momentum, precision)
    total = recipe.steps(len(x))
    compile_model(
        model, recipe.optimizer, learning_rate(recipe, total), metrics=()
    )
    every = max(1, round(evaluate_every * len(x) / recipe.batch_size))

    def evaluate(m: keras.Model) -> float:
        return accuracy(m, xt, yt)

    timer = _Timer(every, total, evaluate, recipe.batch_size / len(x), verbose,
                   test_checkpoints)
    model.fit(
        training_dataset(x, y, recipe.batch_size, recipe.seed),
        epochs=1,
        steps_per_epoch=total,
        shuffle=False,  # the dataset is already shuffled
        verbose=0,
        callbacks=[timer],
    )
    return SpeedResult(recipe, precision, model, timer.checkpoints, timer.seconds)


__all__ = [
    "SpeedRecipe",
    "TUTORIAL_SPEED_RECIPE",
    "FINAL_RECIPE",
    "LADDER",
    "TARGET_ACCURACY",
    "FusedBatchNorm",
    "bfloat16_supported",
    "onednn_enabled",
    "resolve_precision",
    "build_speedrun_model",
    "OneCycle",
    "learning_rate",
    "make_optimizer",
    "recompute_batchnorm_statistics",
    "speedrun",
    "LADDER_RECORD",
    "ladder_record",
    "runs_of",
    "summarize",
    "choose",
    "difference",
    "SpeedResult",
    "Checkpoint",
    "time_to_target",
    "test_accuracy",
    "load_mnist",
    "preprocess",
]
