"""Your own network on the "Draw a digit" page: one call writes a file the page opens.

The page runs the book's trained network by default. A reader who trained a
variant (dropout, a dense baseline, the speedrun's BatchNorm network) writes it
out with::

    from cnn_helpers import export_for_page
    export_for_page(model, "my_net.js")

and opens ``my_net.js`` on the page with its file picker or by dropping it on
the page, from disk, offline. The file has the page's own model format
(:mod:`cnn_helpers.model_file`): a JSON header and the float32
weights, covered by one SHA-256. The page reads it as text and parses the JSON
inside (it never runs it as code), and checks it exactly as it checks its own
model file: checksum, shapes, offsets, layer types and activations.

What the page computes is the book's four layer kinds (``Conv2D``,
``MaxPooling2D``, ``Flatten``, ``Dense``) with the activations ``linear``,
``relu`` and ``softmax``. Other layers of a ``keras.Sequential`` are rewritten
into those, as at inference:

- ``BatchNormalization`` (and the speedrun's ``FusedBatchNorm``) is folded into
  the Conv2D or Dense layer before it: at inference it is ``gamma * (z - mean)
  / sqrt(var + eps) + beta``, an affine map of each channel, so the kernel's
  output channels are scaled by ``s = gamma / sqrt(var + eps)`` and the bias
  becomes ``(bias - mean) * s + beta``;
- a ``ReLU`` layer or an ``Activation`` layer becomes the activation of the
  Conv2D or Dense layer before it (which must have none of its own);
- ``Dropout`` is skipped: at inference it passes its input through.

Anything else raises ``ValueError`` naming the layer and what to do.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from . import model_file
from .store import atomic_write_text

__all__ = ["export_for_page", "page_network"]

#: Keras classes that are BatchNorm at inference (the speedrun's fused one included).
BATCHNORM_CLASSES = ("BatchNormalization", "FusedBatchNorm")
#: Layers that do nothing at inference.
SKIPPED_CLASSES = ("Dropout", "SpatialDropout2D", "GaussianDropout", "AlphaDropout")
#: Layers that carry on unchanged (the page computes them).
KEPT_CLASSES = ("Conv2D", "MaxPooling2D", "Flatten", "Dense")


def _batchnorm_affine(layer) -> tuple[np.ndarray, np.ndarray]:
    """``(scale, shift)`` of a BatchNorm layer at inference: ``y = scale * z + shift``."""
    config = layer.get_config()
    axis = config.get("axis", -1)
    if axis not in (-1, [-1], 3, [3], 1, [1]) or (
        isinstance(axis, list) and len(axis) != 1
    ):
        raise ValueError(
            f"export_for_page: BatchNorm layer {layer.name!r} normalises axis {axis!r}; "
            "only the channel axis (the last) can be folded"
        )

    def value(attr: str, default: float) -> np.ndarray | float:
        v = getattr(layer, attr, None)
        return default if v is None else np.asarray(v, dtype=np.float64)

    mean, var = value("moving_mean", 0.0), value("moving_variance", 1.0)
    gamma, beta = value("gamma", 1.0), value("beta", 0.0)
    eps = float(getattr(layer, "epsilon", config.get("epsilon", 1e-3)))
    scale = gamma / np.sqrt(var + eps)
    return np.asarray(scale, np.float64), np.asarray(beta - mean * scale, np.float64)


def _activation_of(layer) -> str:
    """The activation a ReLU or Activation layer applies, if the page has it."""
    config, kind = layer.get_config(), type(layer).__name__
    if kind == "ReLU":
        plain = (
            config.get("max_value") is None
            and not config.get("negative_slope")
            and not config.get("threshold")
        )
        if not plain:
            raise ValueError(
                f"export_for_page: layer {layer.name!r} is a ReLU with max_value, "
                "negative_slope or threshold; the page computes the plain max(0, x) only"
            )
        return "relu"
    act = config.get("activation")
    if act not in ("relu", "softmax", "linear"):
        raise ValueError(
            f"export_for_page: layer {layer.name!r} applies {act!r}; the page computes "
            "relu, softmax and linear only"
        )
    return act


def page_network(model):
    """``model`` rewritten into the page's layer kinds: a new float32 ``keras.Sequential``.

    BatchNorm is folded into the layer before it, ReLU and Activation layers become
    that layer's activation, Dropout is dropped (see the module's docstring). The
    result computes what ``model`` computes at inference, to float32 rounding.
    Returns ``(network, notes)``; ``notes`` lists what was folded or skipped.
    """
    import keras

    if len(model.inputs) != 1:
        raise ValueError("export_for_page: the model must have one input")
    # [keras class, config, [kernel, bias] float64 or None]
    plan: list[list] = []
    notes: list[str] = []
    for layer in model.layers:
        kind = type(layer).__name__
        if kind in SKIPPED_CLASSES:
            notes.append(f"{layer.name}: skipped ({kind} does nothing at inference)")
            continue
        if kind in KEPT_CLASSES:
            config = dict(layer.get_config())
            config["dtype"] = "float32"
            weights = None
            if kind in ("Conv2D", "Dense"):
                arrays = [np.asarray(w, np.float64) for w in layer.get_weights()]
                if len(arrays) == 1:  # use_bias=False
                    arrays.append(np.zeros(arrays[0].shape[-1]))
                config["use_bias"] = True
                weights = arrays
            plan.append([kind, config, weights, layer.name])
            continue
        prev = plan[-1] if plan else None
        if prev is None or prev[0] not in ("Conv2D", "Dense"):
            where = f"after {prev[3]!r} ({prev[0]})" if prev else "first"
            raise ValueError(
                f"export_for_page: layer {layer.name!r} ({kind}) comes {where}; a "
                f"{kind} can only follow a Conv2D or Dense layer, into which it is folded"
            )
        act = prev[1].get("activation", "linear")
        if kind in BATCHNORM_CLASSES:
            if act != "linear":
                raise ValueError(
                    f"export_for_page: BatchNorm layer {layer.name!r} follows "
                    f"{prev[3]!r}, which applies {act!r} first; only a BatchNorm right "
                    "after a layer without activation can be folded into it"
                )
            scale, shift = _batchnorm_affine(layer)
            kernel, bias = prev[2]
            prev[2] = [kernel * scale, bias * scale + shift]
            notes.append(f"{layer.name}: BatchNorm folded into {prev[3]}")
        elif kind in ("ReLU", "Activation"):
            new = _activation_of(layer)
            if act != "linear" and new != "linear":
                raise ValueError(
                    f"export_for_page: layer {layer.name!r} applies {new!r} after "
                    f"{prev[3]!r}, which already applies {act!r}"
                )
            if new != "linear":
                prev[1]["activation"] = new
            notes.append(f"{layer.name}: {new} applied by {prev[3]}")
        else:
            raise ValueError(
                f"export_for_page: layer {layer.name!r} is a {kind}, which the page cannot "
                f"compute. It computes {', '.join(KEPT_CLASSES)} with relu or softmax, "
                "and folds BatchNormalization, ReLU and Activation layers into the "
                "layer before them and skips Dropout"
            )
    network = keras.Sequential(
        [keras.Input(shape=tuple(int(d) for d in model.inputs[0].shape[1:]))]
        + [getattr(keras.layers, kind).from_config(config) for kind, config, _, _ in plan],
        name=model.name,
    )
    for layer, (_, _, weights, _) in zip(network.layers, plan, strict=True):
        if weights is not None:
            layer.set_weights([w.astype(np.float32) for w in weights])
    return network, notes


def export_for_page(model, path: str | Path, name: str | None = None) -> Path:
    """Write ``model`` to ``path`` as a file the "Draw a digit" page opens; return the path.

    ``model`` is a ``keras.Sequential`` of the book's layers (see the module's
    docstring for what is folded and skipped). The page shows ``name`` (default:
    the model's name) and the parameter count. The file is written atomically
    and read back with the page's own checks before it replaces anything.
    """
    network, notes = page_network(model)
    meta = {
        "name": name or model.name,
        "parameters": int(network.count_params()),
        "source": "cnn_helpers.export_for_page",
        "notes": notes,
    }
    text = model_file.export_model(network, meta)
    model_file.read_model_js(text)  # what the page will check, checked here first
    path = Path(path)
    atomic_write_text(path, text)
    return path
