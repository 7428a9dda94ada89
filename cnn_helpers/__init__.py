"""Helpers shared by the chapters of the CNN book and checked by its tests.

Import this package *before* Keras or TensorFlow: it sets the environment
variables TensorFlow reads once, at import time (quiet C++ logs, the oneDNN
kernels that are fastest on this CPU, the Keras backend).

Modules, one concept each (ARCHITECTURE.md maps them, with what each imports):

- ``store``     -- what goes on disk: the cache folder, atomic writes, the one lock
- ``data``      -- real MNIST (online or offline), its fingerprint, the tutorial's preprocessing
- ``layers``    -- NumPy forward and backward passes of every layer the tutorial's network uses
- ``forward``   -- a whole network as plain data, and its forward pass with ``layers``
- ``shift``     -- digits moved by whole pixels, and accuracy on shifted test sets
- ``model``     -- the tutorial's network (written once), compile, accuracy, shape formulas
- ``recipe``    -- what a training run is (no TensorFlow): the tutorial's recipe, the claim
- ``machine``   -- the machine a number was computed on, and oneDNN as TensorFlow loaded it
- ``train``     -- reproducible, fast training
- ``cache``     -- the safe cache of trained models
- ``seed_record`` and ``claims`` -- many runs of the tutorial's recipe, and claims judged on them
- ``page_export`` -- any network of the book's layers as a file the draw page opens
- ``speedrun``  -- the fastest recipe to 0.99 (with ``speedrun_recipe``, ``batchnorm``,
  ``schedule``, ``precision`` and ``speedrun_record``, which it re-exports)
- ``notebooks`` -- numbers glued by an executed chapter, and running a chapter with parameters
- ``sweep``     -- one training notebook run per variant of a recipe (papermill)
- ``viz``       -- the book's one figure style and shared plots

The book's own tooling (building, the draw page's export, benchmarks) lives
apart, in the ``book_tools`` package.
"""
from __future__ import annotations

import contextlib
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

__version__ = "1.0.0"


def import_tensorflow_quietly():
    """Import TensorFlow with its start-up chatter on stderr silenced, and return it.

    TensorFlow's C++ runtime prints CUDA and CPU-feature lines straight to file
    descriptor 2 when it loads, which ``TF_CPP_MIN_LOG_LEVEL`` does not silence.
    In a notebook those lines would be stored as a stray stderr output, so the
    descriptor points at ``/dev/null`` for the length of the import. Modules of
    this package that need TensorFlow call this first; a notebook that imports
    ``cnn_helpers.model`` (or ``train``) before ``keras`` gets a clean output.
    """
    import sys

    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    with stderr_silenced():
        import tensorflow as tf
        import keras  # noqa: F401  (Keras 3 registers its TensorFlow backend here)
    return tf


@contextlib.contextmanager
def stderr_silenced():
    """Point file descriptor 2 at ``/dev/null`` for the length of a ``with`` block.

    Works on what C libraries and child processes write, not only on Python's
    ``sys.stderr``: Jupyter captures descriptor 2 into the notebook, so chatter
    from TensorFlow's runtime or from a kernel started by papermill would
    otherwise be stored as a stray stderr output.
    """
    import sys

    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def setup() -> None:
    """One call at the top of every chapter: quiet TensorFlow, the book's figure style, tidy NumPy printing."""
    import numpy as np

    import_tensorflow_quietly()
    from .viz import use_book_style

    use_book_style()
    np.set_printoptions(precision=4, suppress=True, linewidth=100)


def export_for_page(model, path, name=None):
    """Write ``model`` as a file the "Draw a digit" page opens: :func:`cnn_helpers.page_export.export_for_page`."""
    from .page_export import export_for_page as export

    return export(model, path, name)
