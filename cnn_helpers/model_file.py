"""The file format of a network the "Draw a digit" page runs: write it, read it back, check it.

A trained Keras model becomes a compact, self-contained JavaScript file,
``window.CNN_MODEL = {...}``: a JSON header (the layers of
:func:`cnn_helpers.forward.layer_specs` with each weight array's offset, the metadata,
and the page's constants) and the float32 weights, stored exactly (bytes regrouped by
significance, deflated, base64). One SHA-256 covers the header and the weights; the page's
``cnn.js`` and :func:`read_model_js` check it, and the bounds of every offset, before they
use anything. :func:`read_model_js` accepts data only and refuses layer types and
activations the page does not compute, even in a file whose checksum was recomputed.

It lives in the readers' package because a reader exports their own network with
:func:`cnn_helpers.page_export.export_for_page`; the book's build
(``book_tools.draw_page``) writes the book's network with the same code.
"""
from __future__ import annotations

import base64
import hashlib
import json
import re
import zlib

import numpy as np

from . import forward as F

FORMAT = "cnn-book-model/2"
JS_MODEL_VAR = "CNN_MODEL"
MODEL_FILE = "model.js"

#: Geometry of the MNIST recipe: the ink fits a 20x20 box inside a 28x28 image,
#: and the centre of mass lands on pixel (14, 14) (row, column; measured on the
#: real test set: mean centre 13.99, 14.01).
SIDE = 28
BOX = 20
CENTRE = 14.0

#: Where each kind of layer is taught: the page's panels link there (file, title).
CHAPTER_LINKS = {
    "input": ["01_input.html", "The input"],
    "conv2d": ["02_convolution.html", "Convolution"],
    "relu": ["03_relu.html", "ReLU"],
    "max_pool2d": ["04_pooling.html", "Max pooling"],
    "dense": ["05_dense.html", "Dense"],
}
#: How many steps of the activation colour map the page's look-up table has.
COLOUR_STEPS = 64


# ---------------------------------------------------------------- export
def page_constants() -> dict:
    """What the page's JavaScript needs besides the network: geometry, colours, links.

    The colours are the book's (:mod:`cnn_helpers.viz`): the activation colour map
    as ``COLOUR_STEPS`` hex colours, the bar colour and the highlight colour.
    """
    import matplotlib
    from matplotlib.colors import to_hex

    from cnn_helpers import viz

    cmap = matplotlib.colormaps[viz.ACTIVATION_CMAP]
    steps = [to_hex(cmap(i / (COLOUR_STEPS - 1))) for i in range(COLOUR_STEPS)]
    return {
        "side": SIDE,
        "box": BOX,
        "centre": CENTRE,
        "activation_colours": steps,
        "primary": viz.PRIMARY,
        "accent": viz.ACCENT,
        "chapters": CHAPTER_LINKS,
    }


def model_layers(model) -> tuple[list[dict], list[np.ndarray]]:
    """The layers of ``model`` (:func:`cnn_helpers.forward.layer_specs`) and its weight arrays in order.

    The arrays are float32 in Keras's layouts, kernel then bias of each layer that
    has weights, the order of the model file's data.
    """
    specs = F.layer_specs(model)
    weights = F.layer_weights(model)
    arrays = [weights[s["name"]][p["name"]] for s in specs for p in s.get("params", [])]
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
    # Data only: one optional comment, then the assignment of one JSON object, nothing
    # else (the page's cnn.js reads a file the reader opens the same way, never runs it).
    pattern = r"\s*(?:/\*.*?\*/\s*)?window\.%s\s*=\s*(\{.*\})\s*;?\s*" % re.escape(var)
    match = re.fullmatch(pattern, text, re.S)
    if not match:
        if f"window.{var}" in text:  # there, but cut short, edited or with code around it
            raise ValueError(
                f"the model file is damaged: it must hold 'window.{var} = {{...}};' "
                "with one JSON object and nothing else"
            )
        raise ValueError(f"not a generated file: no 'window.{var} = {{...}};' in it")
    try:
        return json.loads(match.group(1))
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"the model file is damaged: window.{var} is not valid JSON ({exc})"
        ) from None


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_checksum(header: str, raw: bytes) -> str:
    """The model file's SHA-256: of the header's UTF-8 bytes followed by the weights' bytes."""
    return _sha256(header.encode("utf-8") + raw)


def export_model(model, meta: dict | None = None) -> str:
    """The text of the page's weights file for ``model``: ``window.CNN_MODEL = {...};``.

    ``meta`` (recipe, test accuracy, ...) is stored as given and shown on the page.
    Refuses a model with NaN or infinite weights (``ValueError`` naming the layer).
    """
    specs, arrays = model_layers(model)
    offset, k = 0, 0
    for spec in specs:
        for p in spec.get("params", []):
            bad = int(np.size(arrays[k]) - np.isfinite(arrays[k]).sum())
            if bad:
                raise ValueError(
                    f"export_model: {spec['name']}.{p['name']} holds {bad} NaN or infinite "
                    "values; the training diverged, so there is nothing sensible to show "
                    "(train again, e.g. with a smaller learning rate)"
                )
            p["offset"] = offset  # in float32 values from the start of the data
            offset += int(np.prod(p["shape"]))
            k += 1
    raw = b"".join(np.ascontiguousarray(a, dtype="<f4").tobytes() for a in arrays)
    header = json.dumps(
        {
            "input_shape": specs[0]["input_shape"] if specs else [],
            "layers": specs,
            "n_values": offset,
            "encoding": {
                "dtype": "float32",
                "byte_order": "little",
                "byte_shuffle": 4,
                "compression": "deflate",
                "text": "base64",
            },
            "meta": meta or {},
            "page": page_constants(),
        },
        separators=(",", ":"),
        allow_nan=False,
    )
    obj = {
        "format": FORMAT,
        "header": header,
        "sha256": file_checksum(
            header, raw
        ),  # what the page verifies: header and weights
        "sha256_values": _sha256(
            raw
        ),  # the weights alone, to compare with a Keras model
        "data": base64.b64encode(zlib.compress(_shuffle(raw), 9)).decode("ascii"),
    }
    note = "Generated by book_tools.draw_page.export_model for the book's 'Draw a digit' page; do not edit."
    return _js_assignment(JS_MODEL_VAR, obj, note)


def _check_layout(spec: dict) -> None:
    """Every layer is one the page computes, and every weight array lies inside the data,
    one after the other, with a sensible shape.

    The checksum says a file is what its writer wrote, not that the page can run
    it: a file edited to say ``"sigmoid"`` and checksummed again is refused here
    (and by the page's ``cnn.js``), naming the layer.
    """
    expected = 0
    for layer in spec.get("layers", []):
        kind = layer.get("type")
        if kind not in F.LAYER_TYPES.values():
            raise ValueError(
                f"model file cannot be used: layer {layer.get('name')!r} has type {kind!r}; "
                f"the page computes {', '.join(F.LAYER_TYPES.values())} "
                "(export with cnn_helpers.export_for_page, which folds BatchNorm)"
            )
        if kind in ("conv2d", "dense") and layer.get("activation") not in F.ACTIVATIONS:
            raise ValueError(
                f"model file cannot be used: layer {layer.get('name')!r} has activation "
                f"{layer.get('activation')!r}; the page computes {', '.join(F.ACTIVATIONS)}"
            )
        for p in layer.get("params", []):
            shape, offset = p.get("shape"), p.get("offset")
            if not (
                isinstance(shape, list)
                and shape
                and all(isinstance(d, int) and d > 0 for d in shape)
            ):
                raise ValueError(
                    f"model file is damaged: {layer.get('name')}.{p.get('name')} has shape {shape!r}"
                )
            if offset != expected:
                raise ValueError(
                    f"model file is damaged: {layer.get('name')}.{p.get('name')} starts at value "
                    f"{offset!r}, expected {expected} (the arrays are stored one after another)"
                )
            expected += int(np.prod(shape))
    if expected != spec.get("n_values"):
        raise ValueError(
            f"model file is damaged: the layers need {expected} values, the data holds {spec.get('n_values')!r}"
        )


def read_model_js(text: str) -> tuple[dict, dict[str, dict[str, np.ndarray]]]:
    """Read a file written by :func:`export_model`: ``(spec, weights)``.

    ``spec`` is the header (``layers``, ``input_shape``, ``meta``, ``page``, ...);
    ``weights[layer_name]`` maps ``"kernel"`` and ``"bias"`` to float32 arrays. The
    checksum of header and weights, the arrays' bounds and their finiteness are
    verified; a damaged file raises ``ValueError`` saying what is wrong.
    """
    obj = _read_js_assignment(text, JS_MODEL_VAR)
    if obj.get("format") != FORMAT:
        raise ValueError(
            f"unknown model format {obj.get('format')!r}, expected {FORMAT!r} (rebuild the book)"
        )
    try:
        raw = _unshuffle(zlib.decompress(base64.b64decode(obj["data"], validate=True)))
    except (zlib.error, ValueError, KeyError) as exc:
        raise ValueError(
            f"model file is damaged: its data cannot be decoded ({exc})"
        ) from exc
    header = obj.get("header")
    if not isinstance(header, str) or file_checksum(header, raw) != obj.get("sha256"):
        raise ValueError(
            "model file is damaged: the checksum of its header and weights does not match"
        )
    spec = {"format": obj["format"], **json.loads(header)}
    _check_layout(spec)
    if len(raw) != 4 * spec["n_values"]:
        raise ValueError(
            f"model file is damaged: {len(raw)} bytes of data for {spec['n_values']} values"
        )
    values = np.frombuffer(raw, "<f4")
    if not np.isfinite(values).all():
        raise ValueError("model file is damaged: it holds NaN or infinite weights")
    weights: dict[str, dict[str, np.ndarray]] = {}
    for layer in spec["layers"]:
        for p in layer.get("params", []):
            n = int(np.prod(p["shape"]))
            weights.setdefault(layer["name"], {})[p["name"]] = values[
                p["offset"] : p["offset"] + n
            ].reshape(p["shape"])
    return spec, weights


def forward(spec: dict, weights: dict, image: np.ndarray) -> list[np.ndarray]:
    """Every layer's output for what :func:`read_model_js` returned: :func:`cnn_helpers.forward.forward`
    on ``spec["layers"]``."""
    return F.forward(spec["layers"], weights, image)
