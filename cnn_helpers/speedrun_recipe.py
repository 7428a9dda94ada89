"""What a speedrun is (no TensorFlow): its recipe, the 0.99 target, time to target.

A :class:`SpeedRecipe` is one point on the way from the tutorial's recipe to the
fastest one: batch size, optimizer, learning-rate schedule, BatchNorm (and its
momentum), precision, and the length of training in epochs (fractions allowed).
Its defaults are the tutorial's recipe (:data:`cnn_helpers.recipe.TUTORIAL_RECIPE`),
so changing the tutorial's optimizer or batch size there changes them here too.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass, replace

import numpy as np

from .precision import PRECISIONS
from .recipe import OPTIMIZERS, TRAIN_IMAGES, TUTORIAL_RECIPE

SCHEDULES = ("constant", "one_cycle", "linear")  # built by cnn_helpers.schedule

#: The speedrun's target: the test accuracy the tutorial reported, rounded down.
TARGET_ACCURACY = 0.99


def _integer(name: str, value, low: int, high: int | None = None, note: str = "") -> int:
    """``value`` as a plain int in [low, high], or a ``ValueError`` naming the field."""
    if not isinstance(value, numbers.Integral) or isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    value = int(value)  # NumPy integers become plain ints, so the recipe is JSON
    if value < low or (high is not None and value > high):
        limit = f"from {low:,} to {high:,}" if high is not None else f">= {low}"
        raise ValueError(f"{name} must be an integer {limit}{note}, got {value:,}")
    return value


def _number(name: str, value, rule: str, ok) -> float:
    """``value`` as a finite plain float for which ``ok`` holds, or a ``ValueError``."""
    if not isinstance(value, numbers.Real) or isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be a number {rule}, got {value!r}")
    value = float(value)
    if not math.isfinite(value) or not ok(value):
        raise ValueError(f"{name} must be a finite number {rule}, got {value!r}")
    return value


@dataclass(frozen=True)
class SpeedRecipe:
    """One set-up of the speedrun; each field changes the weights or the speed.

    Every field is checked on creation and stored as a plain Python value, so a bad
    value fails here, with its name, not deep inside TensorFlow or ``json``.
    """

    batch_size: int = TUTORIAL_RECIPE.batch_size
    optimizer: str = TUTORIAL_RECIPE.optimizer
    learning_rate: float = 1e-3  # the peak of a schedule; Keras's default for rmsprop/adam
    schedule: str = "constant"
    warmup: float = 0.2  # fraction of the steps spent warming up (one_cycle only)
    batchnorm: bool = False
    bn_momentum: float = 0.99  # Keras's default
    precision: str = "float32"
    epochs: float = float(TUTORIAL_RECIPE.epochs)
    seed: int = TUTORIAL_RECIPE.seed

    def __post_init__(self) -> None:
        for name, known in (
            ("optimizer", OPTIMIZERS),
            ("schedule", SCHEDULES),
            ("precision", PRECISIONS),
        ):
            if getattr(self, name) not in known:
                raise ValueError(
                    f"{name} must be one of {known}, got {getattr(self, name)!r}"
                )
        fields = {
            "batch_size": _integer("batch_size", self.batch_size, 1, TRAIN_IMAGES,
                                   " (at most the training set)"),
            "seed": _integer("seed", self.seed, 0, 2**32 - 1),
            "epochs": _number("epochs", self.epochs, "> 0 (fractions allowed)",
                              lambda v: v > 0),
            "learning_rate": _number("learning_rate", self.learning_rate, "in (0, 1)",
                                     lambda v: 0 < v < 1),
            "warmup": _number("warmup", self.warmup,
                              "in [0, 1) (a fraction of the steps)", lambda v: 0 <= v < 1),
            "bn_momentum": _number("bn_momentum", self.bn_momentum, "in [0, 1)",
                                   lambda v: 0 <= v < 1),
        }
        if not isinstance(self.batchnorm, (bool, np.bool_)):
            raise ValueError(f"batchnorm must be True or False, got {self.batchnorm!r}")
        fields["batchnorm"] = bool(self.batchnorm)
        for name, value in fields.items():
            object.__setattr__(self, name, value)
        if self.steps() > 10**7:
            raise ValueError(
                f"epochs={self.epochs:g} at batch_size={self.batch_size} is "
                f"{self.steps():,} training steps: more than 10,000,000, far beyond any "
                "speedrun; choose fewer epochs"
            )

    def steps(self, n_images: int = TRAIN_IMAGES) -> int:
        """Steps of ``epochs`` passes over ``n_images``, rounded up to whole batches."""
        return math.ceil(self.epochs * n_images / self.batch_size)

    def to_dict(self) -> dict:
        """The recipe as a plain dict (JSON-serialisable)."""
        return asdict(self)


#: The tutorial's recipe in speedrun terms: its optimizer, batch size and epochs,
#: a constant rate.
TUTORIAL_SPEED_RECIPE = SpeedRecipe()

@dataclass(frozen=True)
class Step:
    """One step of the speedrun's ladder: its name, its one change, its recipe."""

    name: str
    change: str
    recipe: SpeedRecipe


def _ladder() -> list[Step]:
    """From the tutorial's recipe to the final one, changing one thing per step.

    The peak rate and the batch size of the last steps were chosen on a validation
    split (``python -m book_tools.speedrun_ladder --phase sweep``), not on the test set.
    """
    changes = [
        ("tutorial", "the tutorial's recipe", {}),
        ("1 epoch", "5 epochs become 1", {"epochs": 1.0}),
        ("one-cycle", "the constant rate becomes a one-cycle schedule",
         {"schedule": "one_cycle"}),
        ("Adam", "rmsprop becomes Adam", {"optimizer": "adam"}),
        ("BatchNorm",
         "BatchNorm between every hidden layer and its ReLU (momentum 0.9)",
         {"batchnorm": True, "bn_momentum": 0.9}),
        ("batch 256", "batch 64 becomes 256", {"batch_size": 256}),
        ("rate 6e-3", "the peak rate 1e-3 becomes 6e-3", {"learning_rate": 6e-3}),
        ("bfloat16", "float32 becomes bfloat16 where the CPU computes it fast",
         {"precision": "auto"}),
    ]
    steps, recipe = [], TUTORIAL_SPEED_RECIPE
    for name, change, fields in changes:
        recipe = replace(recipe, **fields)
        steps.append(Step(name, change, recipe))
    return steps


#: The speedrun's ladder: each step changes one thing of the step before.
LADDER = _ladder()

#: The speedrun's final recipe, the ladder's last step: BatchNorm, Adam with a
#: one-cycle rate peaking at 6e-3, batch 256, bfloat16 where the CPU has it, one epoch.
FINAL_RECIPE = LADDER[-1].recipe


@dataclass
class Checkpoint:
    """The test accuracy after ``epochs`` of training that took ``seconds``."""

    epochs: float
    seconds: float
    test_acc: float


def time_to_target(
    checkpoints: list[Checkpoint], target: float = TARGET_ACCURACY
) -> float:
    """Training seconds at the first checkpoint with test accuracy >= ``target`` (or inf)."""
    for c in checkpoints:
        if c.test_acc >= target:
            return c.seconds
    return math.inf
