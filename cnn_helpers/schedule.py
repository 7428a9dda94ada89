"""Learning-rate schedules for the speedrun: constant, one-cycle, linear decay.

A one-cycle rate (a short linear warm-up to a peak, then a linear decay to zero)
lets one epoch do the work of several.
"""
from __future__ import annotations

from . import import_tensorflow_quietly

tf = import_tensorflow_quietly()
import keras  # noqa: E402


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


def learning_rate(recipe, total_steps: int):
    """A speedrun recipe's learning rate: a number, or a :class:`OneCycle` schedule.

    ``recipe`` has ``schedule``, ``learning_rate`` (the peak) and ``warmup``.
    """
    if recipe.schedule == "constant":
        return recipe.learning_rate
    warmup = recipe.warmup if recipe.schedule == "one_cycle" else 0.0
    return OneCycle(recipe.learning_rate, total_steps, warmup)
