"""The book's trained network on a web page: the model file, preprocessing, sample digits.

The "Draw a digit" chapter runs the reader's trained CNN in the browser. This
module is the Python side of that page:

- :func:`export_model` turns a trained Keras model into a compact, self-contained
  JavaScript file, ``window.CNN_MODEL = {...}``. A plain ``<script src=...>``
  loads it, so the page also works when the book is opened from disk
  (``file://``, where ``fetch()`` of a local file is blocked). The file holds a
  JSON *header* as a string (the layers of :func:`cnn_helpers.forward.layer_specs`
  with each weight array's offset, the metadata, and the page's constants: image
  geometry, colours, chapter links) and the float32 weights, stored exactly:
  their bytes regrouped by significance (all first bytes, then all second
  bytes, ...), deflated and base64-encoded. One SHA-256 covers the header's
  bytes followed by the weights' bytes; the page's ``cnn.js`` verifies it, and
  the bounds of every offset, before it uses anything. :func:`read_model_js`
  reads such a file back with the same checks.
- The reference forward pass is :func:`cnn_helpers.forward.forward`, the one the
  chapters use; the page's JavaScript (``_assets/draw/cnn.js``) computes the same
  layers, with the padding amounts taken from the file, not re-derived.
- :func:`preprocess_drawing` turns a drawing into a 28x28 MNIST-style digit the
  way the MNIST digits were made: the ink's bounding box is scaled (keeping its
  aspect ratio, anti-aliased by area averaging) to fit a 20x20 box, then placed
  in a 28x28 image so that its centre of mass falls on pixel (14, 14), and
  stored as uint8 grey levels (the network sees ``pixels / 255``, as in
  training). The page's JavaScript does the same, step by step, with the
  geometry read from the model file.
- A reader's own network is written by :func:`cnn_helpers.page_export.export_for_page`
  in the same format; the page opens it with a file picker, reads the JSON inside
  without running it, and checks it as it checks ``model.js``. That is why
  :func:`read_model_js` accepts data only (one comment, one ``window.CNN_MODEL =
  {...};``) and refuses layer types and activations the page does not compute,
  even in a file whose checksum was recomputed.
- :func:`page_model` is the trained model the page shows: the recipe of
  :func:`cnn_helpers.recipe.page_recipe` (the tutorial's, unless the reader sets
  ``CNN_BOOK_PAGE_RECIPE``), from the training cache.

Exporting reads a model through ``get_config()`` and ``get_weights()`` only;
:func:`page_model` imports TensorFlow to train or load the model.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
import zlib
from pathlib import Path

import numpy as np

from cnn_helpers import forward as F
from cnn_helpers.store import atomic_write_text
from cnn_helpers.model_file import (  # the model file's format, shared with readers' exports
    FORMAT,
    JS_MODEL_VAR,
    MODEL_FILE,
    SIDE,
    BOX,
    CENTRE,
    CHAPTER_LINKS,
    COLOUR_STEPS,
    page_constants,
    model_layers,
    _shuffle,
    _unshuffle,
    _js_assignment,
    _read_js_assignment,
    _sha256,
    file_checksum,
    export_model,
    _check_layout,
    read_model_js,
    forward,
)

DIGITS_FORMAT = "cnn-book-digits/1"
JS_DIGITS_VAR = "CNN_DIGITS"
DIGITS_FILE = "digits.js"

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
    g = np.asarray(grey)
    if g.dtype.kind not in "biuf":
        raise ValueError(
            f"preprocess_drawing: grey must hold numbers (ink 0..1); got dtype {g.dtype}"
        )
    g = g.astype(np.float64)
    if g.ndim != 2 or g.size == 0:
        raise ValueError(
            f"preprocess_drawing: grey must be a 2-D image with at least one pixel; got shape {g.shape}"
        )
    if not np.isfinite(g).all():
        raise ValueError(
            f"preprocess_drawing: grey holds {int(np.size(g) - np.isfinite(g).sum())} NaN or "
            "infinite values; give ink amounts in [0, 1] (0 = paper)"
        )
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

    A real MNIST digit enlarged 10 times comes back unchanged (tests/test_draw_page.py).
    """
    fitted = fit_drawing(grey)
    if fitted is None:
        return None
    patch, (top, left) = fitted
    th, tw = patch.shape
    out = np.zeros((SIDE, SIDE))
    ys, xs = slice(max(top, 0), min(top + th, SIDE)), slice(
        max(left, 0), min(left + tw, SIDE)
    )
    if ys.start < ys.stop and xs.start < xs.stop:
        out[ys, xs] = patch[
            ys.start - top : ys.stop - top, xs.start - left : xs.stop - left
        ]
    return np.clip(_round_half_up(out * 255.0), 0, 255).astype(np.uint8)


# ---------------------------------------------------------------- sample digits
def sample_digits(
    x_test: np.ndarray, y_test: np.ndarray, per_class: int = 1
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The first ``per_class`` test digits of each class 0..9: ``(images, labels, indices)``."""
    idx = np.concatenate([np.flatnonzero(y_test == c)[:per_class] for c in range(10)])
    return x_test[idx], y_test[idx], idx


def export_digits(images: np.ndarray, labels: np.ndarray, indices: np.ndarray) -> str:
    """The text of the page's sample-digits file: ``window.CNN_DIGITS = {...};`` (uint8 pixels, base64)."""
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (SIDE, SIDE):
        raise ValueError(
            f"export_digits: images must be uint8 (N, 28, 28); got {images.dtype} {images.shape}"
        )
    obj = {
        "format": DIGITS_FORMAT,
        "source": "MNIST test set",
        "labels": [int(v) for v in labels],
        "indices": [int(v) for v in indices],
        "pixels": base64.b64encode(images.tobytes()).decode("ascii"),
    }
    return _js_assignment(
        JS_DIGITS_VAR,
        obj,
        "Generated by book_tools.draw_page.export_digits: MNIST test digits for the buttons.",
    )


def read_digits_js(text: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    obj = _read_js_assignment(text, JS_DIGITS_VAR)
    if obj.get("format") != DIGITS_FORMAT:
        raise ValueError(f"unknown digits format {obj.get('format')!r}")
    images = np.frombuffer(base64.b64decode(obj["pixels"]), np.uint8).reshape(
        -1, SIDE, SIDE
    )
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
    model_text = export_model(result.model, meta)
    read_model_js(model_text)  # the file the page gets must pass the page's own checks
    for name, text in (
        (MODEL_FILE, model_text),
        (DIGITS_FILE, export_digits(*sample_digits(x_test, y_test))),
    ):
        atomic_write_text(out_dir / name, text)
        written[name] = (out_dir / name).stat().st_size
    return {"dir": out_dir, "sizes": written, "meta": meta}
