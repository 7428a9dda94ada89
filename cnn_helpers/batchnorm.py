"""BatchNorm for the speedrun: one fused kernel, and the fix for its momentum trap.

Keras evaluates a BatchNorm layer with *moving* averages of the batch statistics,
updated with ``momentum=0.99`` by default; after a few hundred steps of fast-changing
weights they still describe the early network. A lower momentum follows the weights
closely enough; :func:`recompute_batchnorm_statistics` is the other fix.
"""
from __future__ import annotations

import math

import numpy as np

from . import import_tensorflow_quietly

tf = import_tensorflow_quietly()
import keras  # noqa: E402


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
    biased one Keras uses: a difference of 1 / (n - 1), about 0.4% at the speedrun's
    dense layer, where n is the batch of 256, and far less at the convolutions.)
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
