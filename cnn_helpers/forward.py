"""A Keras network run in plain NumPy: every layer's output, from the book's layers.

Chapters that look inside a network (what each layer makes of a digit) and the
"Draw a digit" page need the same thing: the network's layers as plain data,
and a forward pass that computes every layer's output with
:mod:`cnn_helpers.layers`. This module is that forward pass, written once.

- :func:`layer_specs` describes each layer of a model as a small dict (its
  type, settings, input and output shapes, and for convolutions and pooling the
  explicit padding amounts of :func:`cnn_helpers.layers.same_pads`).
- :func:`layer_weights` gives each layer's kernel and bias as float32 arrays.
- :func:`forward` runs those specs and weights on one image ``(H, W, C)`` or a
  batch ``(N, H, W, C)`` and returns every layer's output, in order; the last is
  the probabilities.
- :func:`forward_model` does both steps for a Keras model.

The supported layers are the book's: ``Conv2D``, ``MaxPooling2D``, ``Flatten``
and ``Dense``, with the activations ``linear``, ``relu`` and ``softmax``, in a
plain stack (a ``keras.Sequential``). Anything else raises ``ValueError`` naming
the layer. The module reads a model only through ``get_config()``,
``get_weights()`` and its shapes, and imports no TensorFlow.

Example::

    outputs = forward_model(model, x_test[0][..., None] / 255)
    probabilities = outputs[-1]
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import layers as L

__all__ = [
    "ACTIVATIONS",
    "LAYER_TYPES",
    "forward",
    "forward_model",
    "layer_specs",
    "layer_weights",
]

#: The layer types a spec can have, and the Keras classes they come from.
LAYER_TYPES = {
    "Conv2D": "conv2d",
    "MaxPooling2D": "max_pool2d",
    "Flatten": "flatten",
    "Dense": "dense",
}
#: The activations a Conv2D or Dense layer may have.
ACTIVATIONS = ("linear", "relu", "softmax")


def _activation(config: dict, name: str) -> str:
    act = config.get("activation", "linear")
    if not isinstance(act, str) or act not in ACTIVATIONS:
        raise ValueError(
            f"layer {name!r} has activation {act!r}; supported: {ACTIVATIONS}"
        )
    return act


def _check_2d(config: dict, name: str) -> None:
    if config.get("data_format", "channels_last") not in (None, "channels_last"):
        raise ValueError(
            f"layer {name!r} is channels_first; only channels_last is supported"
        )
    if (
        tuple(config.get("dilation_rate", (1, 1))) != (1, 1)
        or config.get("groups", 1) != 1
    ):
        raise ValueError(
            f"layer {name!r} uses dilation or groups, which are not supported"
        )


def _window(spec: dict, in_shape: list[int], size: list[int]) -> list[int]:
    """Set the padding amounts of a window layer and return its output's (H, W)."""
    (h, w), (sh, sw), mode = in_shape[:2], spec["strides"], spec["padding"]
    if mode == "same":
        spec["pads"] = [*L.same_pads(h, size[0], sh), *L.same_pads(w, size[1], sw)]
    else:
        spec["pads"] = [0, 0, 0, 0]
    return [L.output_size(h, size[0], sh, mode), L.output_size(w, size[1], sw, mode)]


def layer_specs(model) -> list[dict]:
    """One dict per layer of ``model``: all that :func:`forward` needs but the weights.

    Keys: ``name``, ``type`` (``conv2d``, ``max_pool2d``, ``flatten``, ``dense``),
    ``keras_class``, ``input_shape`` and ``output_shape`` (without the batch axis);
    convolutions and dense layers add ``activation`` and ``params`` (the names and
    shapes of ``kernel`` and ``bias``); convolutions and pooling add ``strides``,
    ``padding`` and ``pads`` (rows before, rows after, columns before, columns
    after), pooling adds ``pool``. The output shapes are computed with the book's
    rule (:func:`cnn_helpers.layers.output_size`) and checked against Keras's.
    """
    if len(model.inputs) != 1:
        raise ValueError(
            f"layer_specs: the model must have one input; it has {len(model.inputs)}"
        )
    shape = [int(d) for d in model.inputs[0].shape[1:]]
    specs: list[dict] = []
    for layer in model.layers:
        kind, config = type(layer).__name__, layer.get_config()
        name = config.get("name", layer.name)
        if kind not in LAYER_TYPES:
            raise ValueError(
                f"layer {name!r} is a {kind}; supported: {', '.join(LAYER_TYPES)}"
            )
        spec: dict[str, Any] = {
            "name": name,
            "type": LAYER_TYPES[kind],
            "keras_class": kind,
            "input_shape": shape,
        }
        if kind == "Conv2D":
            _check_2d(config, name)
            kh, kw = (int(k) for k in config["kernel_size"])
            spec.update(
                activation=_activation(config, name),
                strides=[int(s) for s in config["strides"]],
                padding=config["padding"].lower(),
            )
            out = [*_window(spec, shape, [kh, kw]), int(config["filters"])]
            spec["params"] = [
                {"name": "kernel", "shape": [kh, kw, shape[2], out[2]]},
                {"name": "bias", "shape": [out[2]]},
            ]
        elif kind == "MaxPooling2D":
            _check_2d(config, name)
            pool = [int(p) for p in config["pool_size"]]
            spec.update(
                pool=pool,
                strides=[int(s) for s in (config.get("strides") or pool)],
                padding=config["padding"].lower(),
            )
            out = [*_window(spec, shape, pool), shape[2]]
        elif kind == "Flatten":
            _check_2d(config, name)
            out = [int(np.prod(shape))]
        else:  # Dense
            activation = _activation(config, name)
            if len(shape) != 1:
                raise ValueError(
                    f"layer {name!r}: Dense needs a flat input; got shape {shape}"
                )
            units = int(config["units"])
            spec.update(activation=activation)
            spec["params"] = [
                {"name": "kernel", "shape": [shape[0], units]},
                {"name": "bias", "shape": [units]},
            ]
            out = [units]
        keras_out = [int(d) for d in layer.output.shape[1:]]
        if out != keras_out:
            raise ValueError(
                f"layer {name!r}: the book's shape rule gives {out}, Keras {keras_out}"
            )
        spec["output_shape"] = shape = out
        specs.append(spec)
    return specs


def layer_weights(model) -> dict[str, dict[str, np.ndarray]]:
    """``{layer name: {"kernel": ..., "bias": ...}}`` (float32) of layers with weights.

    A layer built with ``use_bias=False`` gets an explicit zero bias, so every
    convolution and dense layer has both arrays.
    """
    weights = {}
    for spec, layer in zip(layer_specs(model), model.layers, strict=True):
        arrays = [np.asarray(w, dtype=np.float32) for w in layer.get_weights()]
        if "params" not in spec:
            if arrays:
                raise ValueError(
                    f"layer {spec['name']!r} ({spec['keras_class']}) has weights"
                )
            continue
        if len(arrays) == 1:
            arrays.append(np.zeros(arrays[0].shape[-1], np.float32))
        if [list(a.shape) for a in arrays] != [p["shape"] for p in spec["params"]]:
            raise ValueError(
                f"layer {spec['name']!r} has weights {[a.shape for a in arrays]}, "
                f"expected {[p['shape'] for p in spec['params']]}"
            )
        weights[spec["name"]] = dict(zip(("kernel", "bias"), arrays))
    return weights


def _activate(x: np.ndarray, activation: str) -> np.ndarray:
    if activation == "relu":
        return L.relu(x)
    if activation == "softmax":
        return L.softmax(x, axis=-1)
    return x


def forward(specs: list[dict], weights: dict, x) -> list[np.ndarray]:
    """Each layer's output for one image ``(H, W, C)`` or a batch ``(N, H, W, C)``.

    ``specs`` comes from :func:`layer_specs` (or the draw page's model file) and
    ``weights`` from :func:`layer_weights`. Feed the network what it was trained
    on: for the book's network, pixels divided by 255. The last output is the
    probabilities, ``(10,)`` for one image or ``(N, 10)`` for a batch.
    """
    x = np.asarray(x, dtype=np.float64)
    want = tuple(specs[0]["input_shape"]) if specs else x.shape
    if x.shape != want and x.shape[1:] != want:
        raise ValueError(
            f"forward: x must have shape {want} or (N, *{want}); got {x.shape}"
        )
    outputs = []
    for spec in specs:
        kind = spec["type"]
        if kind == "conv2d":
            w = weights[spec["name"]]
            x = L.conv2d(
                x,
                w["kernel"],
                w["bias"],
                stride=tuple(spec["strides"]),
                padding=spec["padding"],
            )
            x = _activate(x, spec["activation"])
        elif kind == "max_pool2d":
            x = L.max_pool2d(
                x,
                pool=tuple(spec["pool"]),
                stride=tuple(spec["strides"]),
                padding=spec["padding"],
            )
        elif kind == "flatten":
            x = L.flatten(x)
        elif kind == "dense":
            w = weights[spec["name"]]
            x = _activate(L.dense(x, w["kernel"], w["bias"]), spec["activation"])
        else:
            raise ValueError(
                f"forward: unknown layer type {kind!r} (layer {spec.get('name')!r})"
            )
        outputs.append(x)
    return outputs


def forward_model(model, x) -> list[np.ndarray]:
    """Each layer's output of a Keras ``model`` for ``x`` (an image or a batch).

    Equal to Keras's own outputs to float32 rounding (``tests/test_forward.py``).
    """
    return forward(layer_specs(model), layer_weights(model), x)
