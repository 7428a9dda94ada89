"""The book's trained network on a web page: export, preprocessing, reference forward pass.

The "Draw a digit" chapter runs the reader's trained CNN in the browser. This
module is the Python side of that page:

- :func:`export_model` turns a trained Keras model into a compact, self-contained
  JavaScript file, ``window.CNN_MODEL = {...}``. A plain ``<script src=...>``
  loads it, so the page also works when the book is opened from disk
  (``file://``, where ``fetch()`` of a local file is blocked). The float32
  weights are stored exactly (no quantisation): their bytes are regrouped by
  significance (all first bytes, then all second bytes, ...), deflated and
  base64-encoded -- 93,322 parameters fit in about 425 KB instead of 498 KB
  for plain base64. :func:`read_model_js` reads such a file back.
- :func:`forward` is the reference forward pass of an exported model, written
  with the book's own NumPy layers (:mod:`cnn_helpers.layers`). The page's
  JavaScript (``_assets/draw/cnn.js``) mirrors it function by function.
- :func:`preprocess_drawing` turns a drawing into a 28x28 MNIST-style digit the
  way the MNIST digits were made: the ink's bounding box is scaled (keeping its
  aspect ratio, anti-aliased by area averaging) to fit a 20x20 box, then placed
  in a 28x28 image so that its centre of mass falls on pixel (14, 14), and
  stored as uint8 grey levels (the network sees ``pixels / 255``, as in
  training). The page's JavaScript does the same, step by step.
- :func:`page_model` is the trained model the page shows: the recipe of
  :func:`cnn_helpers.recipe.page_recipe` (the tutorial's, unless the reader sets
  ``CNN_BOOK_PAGE_RECIPE``), from the training cache.

The export reads a model through ``layer.get_config()`` and ``layer.get_weights()``
only; :func:`page_model` imports TensorFlow to train or load the model.
"""
from __future__ import annotations

import base64
import json
import re
import time
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from cnn_helpers import layers as L

FORMAT = "cnn-book-model/1"
DIGITS_FORMAT = "cnn-book-digits/1"
JS_MODEL_VAR = "CNN_MODEL"
JS_DIGITS_VAR = "CNN_DIGITS"
MODEL_FILE = "model.js"
DIGITS_FILE = "digits.js"

#: Geometry of the MNIST recipe: the ink fits a 20x20 box inside a 28x28 image,
#: and the centre of mass lands on pixel (14, 14) (row, column; measured on the
#: real test set: mean centre 13.99, 14.01).
SIDE = 28
BOX = 20
CENTRE = 14.0

_ACTIVATIONS = ("linear", "relu", "softmax")


# ---------------------------------------------------------------- export
def _activation(config: dict, name: str) -> str:
    act = config.get("activation", "linear")
    if not isinstance(act, str) or act not in _ACTIVATIONS:
        raise ValueError(f"export_model: layer {name!r} has activation {act!r}; the page supports {_ACTIVATIONS}")
    return act


def _check_2d(config: dict, name: str) -> None:
    if config.get("data_format", "channels_last") != "channels_last":
        raise ValueError(f"export_model: layer {name!r} is channels_first; the page needs channels_last")
    if tuple(config.get("dilation_rate", (1, 1))) != (1, 1) or config.get("groups", 1) != 1:
        raise ValueError(f"export_model: layer {name!r} uses dilation or groups, which the page does not support")


def model_layers(model) -> tuple[list[dict], list[np.ndarray]]:
    """Describe every layer of a Keras model, and list its weight arrays in order.

    Returns ``(specs, arrays)``: one dict per layer (``type`` is one of
    ``conv2d``, ``max_pool2d``, ``flatten``, ``dense``; the settings the
    forward pass needs; the output shape) and the float32 weight arrays in
    Keras's own layouts (kernel ``(kh, kw, C_in, C_out)``, Dense ``(in, out)``).
    Anything the page cannot compute raises ``ValueError`` naming the layer.
    """
    specs: list[dict] = []
    arrays: list[np.ndarray] = []
    for layer in model.layers:
        kind = type(layer).__name__
        config = layer.get_config()
        name = config.get("name", layer.name)
        shape = [int(d) for d in layer.output.shape[1:]]
        spec: dict[str, Any] = {"name": name, "keras_class": kind, "output_shape": shape}
        weights = [np.asarray(w, dtype=np.float32) for w in layer.get_weights()]
        if kind == "Conv2D":
            _check_2d(config, name)
            spec.update(
                type="conv2d",
                activation=_activation(config, name),
                strides=[int(s) for s in config["strides"]],
                padding=config["padding"].lower(),
            )
        elif kind == "MaxPooling2D":
            _check_2d(config, name)
            spec.update(
                type="max_pool2d",
                pool=[int(p) for p in config["pool_size"]],
                strides=[int(s) for s in (config.get("strides") or config["pool_size"])],
                padding=config["padding"].lower(),
            )
        elif kind == "Flatten":
            if config.get("data_format", "channels_last") not in (None, "channels_last"):
                raise ValueError(f"export_model: layer {name!r} flattens channels_first")
            spec.update(type="flatten")
        elif kind == "Dense":
            spec.update(type="dense", activation=_activation(config, name))
        else:
            raise ValueError(
                f"export_model: layer {name!r} is a {kind}; the page supports Conv2D, MaxPooling2D, Flatten and Dense"
            )
        if spec["type"] in ("conv2d", "dense"):
            if len(weights) == 1:  # use_bias=False: an explicit zero bias keeps the format uniform
                weights.append(np.zeros(weights[0].shape[-1], np.float32))
            if len(weights) != 2:
                raise ValueError(f"export_model: layer {name!r} has {len(weights)} weight arrays, expected kernel and bias")
            spec["params"] = [{"name": "kernel", "shape": list(weights[0].shape)}, {"name": "bias", "shape": list(weights[1].shape)}]
            arrays.extend(weights)
        elif weights:
            raise ValueError(f"export_model: layer {name!r} ({kind}) unexpectedly has weights")
        specs.append(spec)
    return specs, arrays


def _shuffle(raw: bytes, width: int = 4) -> bytes:
    """Regroup bytes by significance: all first bytes of each value, then all second bytes, ..."""
    return np.frombuffer(raw, np.uint8).reshape(-1, width).T.tobytes()


def _unshuffle(data: bytes, width: int = 4) -> bytes:
    return np.frombuffer(data, np.uint8).reshape(width, -1).T.tobytes()


def _js_assignment(var: str, obj: dict, header: str) -> str:
    body = json.dumps(obj, separators=(",", ":"), allow_nan=False)
    return f"/* {header} */\nwindow.{var} = {body};\n"


def _read_js_assignment(text: str, var: str) -> dict:
    match = re.search(r"window\.%s\s*=\s*(\{.*\})\s*;\s*$" % re.escape(var), text, re.S)
    if not match:
        raise ValueError(f"not a generated file: no 'window.{var} = {{...}};' in it")
    return json.loads(match.group(1))


def export_model(model, meta: dict | None = None) -> str:
    """The text of the page's weights file for ``model``: ``window.CNN_MODEL = {...};``.

    ``meta`` (recipe, test accuracy, ...) is stored as given and shown on the page.
    """
    specs, arrays = model_layers(model)
    offset = 0
    for spec in specs:
        for p in spec.get("params", []):
            p["offset"] = offset  # in float32 values from the start of the data
            offset += int(np.prod(p["shape"]))
    raw = b"".join(np.ascontiguousarray(a, dtype="<f4").tobytes() for a in arrays)
    obj = {
        "format": FORMAT,
        "input_shape": [int(d) for d in model.inputs[0].shape[1:]],
        "layers": specs,
        "n_values": offset,
        "encoding": {"dtype": "float32", "byte_order": "little", "byte_shuffle": 4, "compression": "deflate", "text": "base64"},
        "sha256_values": _sha256(raw),
        "meta": meta or {},
        "data": base64.b64encode(zlib.compress(_shuffle(raw), 9)).decode("ascii"),
    }
    header = "Generated by book_tools.draw_page.export_model for the book's 'Draw a digit' page; do not edit."
    return _js_assignment(JS_MODEL_VAR, obj, header)


def _sha256(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def read_model_js(text: str) -> tuple[dict, dict[str, dict[str, np.ndarray]]]:
    """Read a file written by :func:`export_model`: ``(spec, weights)``.

    ``weights[layer_name]`` maps ``"kernel"`` and ``"bias"`` to float32 arrays.
    The data's checksum is verified.
    """
    spec = _read_js_assignment(text, JS_MODEL_VAR)
    if spec.get("format") != FORMAT:
        raise ValueError(f"unknown model format {spec.get('format')!r}, expected {FORMAT!r}")
    try:
        raw = _unshuffle(zlib.decompress(base64.b64decode(spec["data"], validate=True)))
    except (zlib.error, ValueError) as exc:
        raise ValueError(f"model data is damaged: {exc}") from exc
    if len(raw) != 4 * spec["n_values"] or _sha256(raw) != spec["sha256_values"]:
        raise ValueError("model data is damaged: size or checksum does not match")
    values = np.frombuffer(raw, "<f4")
    weights: dict[str, dict[str, np.ndarray]] = {}
    for layer in spec["layers"]:
        for p in layer.get("params", []):
            n = int(np.prod(p["shape"]))
            weights.setdefault(layer["name"], {})[p["name"]] = values[p["offset"] : p["offset"] + n].reshape(p["shape"])
    return spec, weights


# ---------------------------------------------------------------- reference forward pass
def _activate(x: np.ndarray, activation: str) -> np.ndarray:
    if activation == "relu":
        return L.relu(x)
    if activation == "softmax":
        return L.softmax(x)
    return x


def forward(spec: dict, weights: dict, image: np.ndarray) -> list[np.ndarray]:
    """Every layer's output for one input ``(28, 28, 1)`` (floats, pixels / 255), the last being the probabilities.

    The page's JavaScript computes exactly this, layer by layer, for the
    feature maps it draws and the probability bars it shows.
    """
    x = np.asarray(image, dtype=np.float64)
    if x.shape != tuple(spec["input_shape"]):
        raise ValueError(f"forward: image must have shape {tuple(spec['input_shape'])}; got {x.shape}")
    outputs = []
    for layer in spec["layers"]:
        kind = layer["type"]
        if kind == "conv2d":
            w = weights[layer["name"]]
            x = _activate(L.conv2d(x, w["kernel"], w["bias"], stride=tuple(layer["strides"]), padding=layer["padding"]), layer["activation"])
        elif kind == "max_pool2d":
            x = L.max_pool2d(x, pool=tuple(layer["pool"]), stride=tuple(layer["strides"]), padding=layer["padding"])
        elif kind == "flatten":
            x = L.flatten(x)
        elif kind == "dense":
            w = weights[layer["name"]]
            x = _activate(L.dense(x, w["kernel"], w["bias"]), layer["activation"])
        else:
            raise ValueError(f"forward: unknown layer type {kind!r}")
        outputs.append(x)
    return outputs


# ---------------------------------------------------------------- preprocessing (the MNIST recipe)
def _area_weights(n_in: int, n_out: int) -> np.ndarray:
    """``(n_out, n_in)`` matrix: output cell ``t`` averages input cells over ``[t, t+1) * n_in / n_out``.

    Each row holds the overlap of every input cell with the output cell's
    interval, divided by the interval's length, so rows sum to 1: resampling
    by area averaging, which anti-aliases when shrinking.
    """
    scale = n_in / n_out
    w = np.zeros((n_out, n_in))
    for t in range(n_out):
        lo, hi = t * scale, (t + 1) * scale
        for k in range(int(np.floor(lo)), min(int(np.ceil(hi)), n_in)):
            overlap = min(hi, k + 1) - max(lo, k)
            if overlap > 0:
                w[t, k] = overlap / scale
    return w


def _round_half_up(v):
    return np.floor(np.asarray(v, dtype=np.float64) + 0.5)


def fit_drawing(grey: np.ndarray) -> tuple[np.ndarray, tuple[int, int]] | None:
    """Steps 1-3 of :func:`preprocess_drawing`: the scaled ink and where its top-left corner goes.

    Returns ``(patch, (top, left))`` -- ``patch`` is the ink's bounding box scaled
    to fit 20x20 (floats in [0, 1]), to be placed at row ``top``, column ``left``
    of the 28x28 image (either may be negative or push the patch past the
    border: that ink is dropped) -- or None when there is no ink.
    """
    g = np.asarray(grey, dtype=np.float64)
    if g.ndim != 2:
        raise ValueError(f"preprocess_drawing: grey must be a 2-D image; got shape {g.shape}")
    g = np.clip(g, 0.0, 1.0)
    rows = np.flatnonzero(g.max(axis=1) > 0)
    cols = np.flatnonzero(g.max(axis=0) > 0)
    if rows.size == 0:
        return None
    r0, r1, c0, c1 = rows[0], rows[-1], cols[0], cols[-1]
    h, w = r1 - r0 + 1, c1 - c0 + 1
    s = BOX / max(h, w)
    th = max(1, int(_round_half_up(h * s)))
    tw = max(1, int(_round_half_up(w * s)))
    patch = _area_weights(h, th) @ g[r0 : r1 + 1, c0 : c1 + 1] @ _area_weights(w, tw).T
    total = patch.sum()
    cy = (patch.sum(axis=1) * np.arange(th)).sum() / total
    cx = (patch.sum(axis=0) * np.arange(tw)).sum() / total
    return patch, (int(_round_half_up(CENTRE - cy)), int(_round_half_up(CENTRE - cx)))


def preprocess_drawing(grey: np.ndarray) -> np.ndarray | None:
    """A drawing as a 28x28 uint8 MNIST digit, or None when there is no ink.

    ``grey`` is a 2-D array of ink amounts in [0, 1] (0 = paper), any size.
    Steps (the page's ``CNN.preprocess`` does the same):

    1. the bounding box of the ink (every pixel > 0);
    2. scale it so the longer side is 20 pixels, keeping the aspect ratio
       (sides rounded half up, at least 1), by area averaging;
    3. place it in a 28x28 image so that its centre of mass, in (row, column)
       pixel indices, is as close to (14, 14) as a whole-pixel shift allows
       (ink shifted past the border is dropped);
    4. grey levels ``floor(255 * v + 0.5)`` as uint8.

    A real MNIST digit enlarged 10 times comes back unchanged (tests/test_web.py).
    """
    fitted = fit_drawing(grey)
    if fitted is None:
        return None
    patch, (top, left) = fitted
    th, tw = patch.shape
    out = np.zeros((SIDE, SIDE))
    ys, xs = slice(max(top, 0), min(top + th, SIDE)), slice(max(left, 0), min(left + tw, SIDE))
    if ys.start < ys.stop and xs.start < xs.stop:
        out[ys, xs] = patch[ys.start - top : ys.stop - top, xs.start - left : xs.stop - left]
    return np.clip(_round_half_up(out * 255.0), 0, 255).astype(np.uint8)


# ---------------------------------------------------------------- sample digits
def sample_digits(x_test: np.ndarray, y_test: np.ndarray, per_class: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The first ``per_class`` test digits of each class 0..9: ``(images, labels, indices)``."""
    idx = np.concatenate([np.flatnonzero(y_test == c)[:per_class] for c in range(10)])
    return x_test[idx], y_test[idx], idx


def export_digits(images: np.ndarray, labels: np.ndarray, indices: np.ndarray) -> str:
    """The text of the page's sample-digits file: ``window.CNN_DIGITS = {...};`` (uint8 pixels, base64)."""
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (SIDE, SIDE):
        raise ValueError(f"export_digits: images must be uint8 (N, 28, 28); got {images.dtype} {images.shape}")
    obj = {
        "format": DIGITS_FORMAT,
        "source": "MNIST test set",
        "labels": [int(v) for v in labels],
        "indices": [int(v) for v in indices],
        "pixels": base64.b64encode(images.tobytes()).decode("ascii"),
    }
    return _js_assignment(JS_DIGITS_VAR, obj, "Generated by book_tools.draw_page.export_digits: MNIST test digits for the buttons.")


def read_digits_js(text: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    obj = _read_js_assignment(text, JS_DIGITS_VAR)
    if obj.get("format") != DIGITS_FORMAT:
        raise ValueError(f"unknown digits format {obj.get('format')!r}")
    images = np.frombuffer(base64.b64decode(obj["pixels"]), np.uint8).reshape(-1, SIDE, SIDE)
    return images, np.array(obj["labels"]), np.array(obj["indices"])


# ---------------------------------------------------------------- which model the page shows
def page_model(verbose: bool = True):
    """The trained model the page shows, from the training cache (trained if missing).

    Its recipe is :func:`cnn_helpers.recipe.page_recipe`: the tutorial's, unless
    ``CNN_BOOK_PAGE_RECIPE`` says otherwise.
    """
    from cnn_helpers.recipe import page_recipe
    from cnn_helpers.train import trained_model

    return trained_model(page_recipe(), verbose=verbose)


def write_page_assets(out_dir: Path, result=None, verbose: bool = True) -> dict:
    """Write ``model.js`` and ``digits.js`` for the page into ``out_dir``; return what was written.

    ``result`` defaults to :func:`page_model`. Files are replaced atomically.
    """
    from cnn_helpers.data import load_mnist

    if result is None:
        result = page_model(verbose=verbose)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    meta = {
        "recipe": result.recipe.to_dict(),
        "test_accuracy": round(float(result.test_acc), 6),
        "parameters": int(result.model.count_params()),
        "exported": time.strftime("%Y-%m-%d %H:%M"),
    }
    (_, _), (x_test, y_test) = load_mnist()
    written = {}
    for name, text in ((MODEL_FILE, export_model(result.model, meta)), (DIGITS_FILE, export_digits(*sample_digits(x_test, y_test)))):
        tmp = out_dir / f".{name}.tmp"
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(out_dir / name)
        written[name] = (out_dir / name).stat().st_size
    return {"dir": out_dir, "sizes": written, "meta": meta}
