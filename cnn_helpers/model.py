"""The tutorial's network, and the arithmetic behind its summary.

``build_tutorial_model()`` rebuilds the tutorial's network in Keras 3 style. The
formulas below (output size, parameter counts) let a chapter derive every row
of the summary by hand; ``layer_table`` reads the same rows off any Keras model
and ``derived_table`` computes them from the layers' settings alone, so the two
can be compared, and both can be set beside the tutorial's printed Keras 2 summary
(``tutorial_summary``).
"""
from __future__ import annotations

import math
import re
from pathlib import Path

from . import import_tensorflow_quietly
from .layers import output_size
from .recipe import TUTORIAL_RECIPE

import_tensorflow_quietly()
import keras  # noqa: E402

INPUT_SHAPE = (28, 28, 1)
NUM_CLASSES = 10
TUTORIAL_SUMMARY_FILE = Path(__file__).with_name("tutorial_summary.txt")


# ---------------------------------------------------------------- formulas
def conv_output_size(n: int, kernel: int, stride: int = 1, padding: str = "valid") -> int:
    """Length of one spatial side after a convolution or pooling window.

    VALID keeps only windows that fit wholly inside: ``floor((n - kernel) / stride) + 1``.
    SAME pads with zeros so that the result is ``ceil(n / stride)``. The rule itself
    is written once, in :func:`cnn_helpers.layers.output_size`.
    """
    if n < 1 or kernel < 1 or stride < 1:
        raise ValueError(f"sizes must be positive, got n={n}, kernel={kernel}, stride={stride}")
    return output_size(n, kernel, stride, padding)


def pool_output_size(n: int, pool: int = 2, stride: int | None = None, padding: str = "valid") -> int:
    """Side length after pooling; the stride defaults to the pool size, as in Keras."""
    return conv_output_size(n, pool, stride or pool, padding)


def conv_params(kernel_h: int, kernel_w: int, in_channels: int, filters: int, bias: bool = True) -> int:
    """Weights of a Conv2D: one ``kernel_h x kernel_w x in_channels`` kernel (+1 bias) per filter."""
    return (kernel_h * kernel_w * in_channels + int(bias)) * filters


def dense_params(inputs: int, units: int, bias: bool = True) -> int:
    """Weights of a Dense layer: every input to every unit, plus one bias per unit."""
    return (inputs + int(bias)) * units


# ---------------------------------------------------------------- the model
#: The names Keras 3 gives the tutorial's layers in a fresh session. They are set
#: explicitly, because Keras numbers automatic names with a per-process counter:
#: a model built after others would get ``conv2d_3``, and chapters that look a
#: layer up by name would then break.
TUTORIAL_LAYER_NAMES = ("conv2d", "max_pooling2d", "conv2d_1", "max_pooling2d_1", "conv2d_2", "flatten", "dense", "dense_1")


def _relu_layer(layer_type, *args, name: str, **kwargs) -> list[keras.layers.Layer]:
    """The tutorial's hidden layer: the layer itself, with ReLU as its activation."""
    return [layer_type(*args, activation="relu", name=name, **kwargs)]


def tutorial_layers(hidden=_relu_layer, dtype: str | None = None) -> list[keras.layers.Layer]:
    """The tutorial's layers in order, without the input (used to build fresh copies).

    The architecture is written here once. ``hidden(layer_type, *args, name=...,
    **kwargs)`` returns the layers that stand for each hidden Conv2D or Dense layer:
    by default the layer with a ReLU; the speedrun passes one that adds BatchNorm.
    ``dtype`` (a Keras dtype policy such as ``"mixed_bfloat16"``) is given to every
    layer except the softmax, which then computes in float32.
    """
    L = keras.layers
    n = iter(TUTORIAL_LAYER_NAMES)
    kw = {} if dtype is None else {"dtype": dtype}
    head = {} if dtype is None else {"dtype": "float32"}
    return [
        *hidden(L.Conv2D, 32, (3, 3), name=next(n), **kw),
        L.MaxPooling2D((2, 2), name=next(n), **kw),
        *hidden(L.Conv2D, 64, (3, 3), name=next(n), **kw),
        L.MaxPooling2D((2, 2), name=next(n), **kw),
        *hidden(L.Conv2D, 64, (3, 3), name=next(n), **kw),
        L.Flatten(name=next(n), **kw),
        *hidden(L.Dense, 64, name=next(n), **kw),
        L.Dense(NUM_CLASSES, activation="softmax", name=next(n), **head),
    ]


def make_optimizer(name: str, learning_rate=None) -> keras.optimizers.Optimizer | str:
    """An optimizer by Keras's name, with ``learning_rate`` (a number or a schedule).

    ``learning_rate=None`` keeps Keras's default rate and returns the name itself,
    exactly what the tutorial passes to ``compile``.
    """
    if learning_rate is None:
        return name
    optimizer = keras.optimizers.get(name)
    return type(optimizer)(learning_rate=learning_rate)


def compile_model(
    model: keras.Model,
    optimizer: str = TUTORIAL_RECIPE.optimizer,
    learning_rate=None,
    loss: str = TUTORIAL_RECIPE.loss,
    metrics: tuple[str, ...] = ("accuracy",),
    **options,
) -> keras.Model:
    """Compile ``model`` the book's one way; by default with the tutorial's recipe.

    Every training in the book compiles through here, so the tutorial's optimizer and
    loss are written once, in :data:`cnn_helpers.recipe.TUTORIAL_RECIPE`. ``options``
    go to ``model.compile`` (e.g. ``steps_per_execution``).
    """
    model.compile(
        optimizer=make_optimizer(optimizer, learning_rate),
        loss=loss,
        metrics=list(metrics),
        **options,
    )
    return model


def build_tutorial_model(compile: bool = True, head: bool = True) -> keras.Sequential:
    """The tutorial's network, with the input declared the Keras 3 way (``keras.Input``).

    ``head=False`` stops after the third convolution, as the tutorial's first summary
    does. When ``compile`` is true the model gets the tutorial's settings
    (:func:`compile_model`: the optimizer and loss of ``TUTORIAL_RECIPE``, accuracy).
    """
    layers = tutorial_layers() if head else tutorial_layers()[:5]
    model = keras.Sequential([keras.Input(shape=INPUT_SHAPE), *layers], name="tutorial_cnn")
    if compile:
        compile_model(model)
    return model


def accuracy(model: keras.Model, x, y, batch_size: int = 1000, training: bool = False) -> float:
    """Fraction of ``x`` the model classifies as ``y`` (one-hot or class numbers).

    The book's one accuracy. In inference mode by default, as ``model.evaluate`` and
    ``model.predict`` are. ``training=True`` normalises each batch of ``batch_size``
    with its own statistics instead (BatchNorm); the moving statistics are restored
    afterwards, so this look leaves the model unchanged.
    """
    import numpy as np

    y = np.asarray(y)
    labels = y.argmax(axis=1) if y.ndim == 2 else y
    if len(labels) != len(x):
        raise ValueError(f"accuracy: {len(x)} images but {len(labels)} labels")
    if not training:
        probs = model.predict(x, batch_size=batch_size, verbose=0)
    else:
        saved = [v.numpy() for v in model.non_trainable_variables]
        probs = np.concatenate(
            [
                np.asarray(model(x[i : i + batch_size], training=True))
                for i in range(0, len(x), batch_size)
            ]
        )
        for v, value in zip(model.non_trainable_variables, saved):
            v.assign(value)
    return float(np.mean(probs.argmax(axis=1) == labels))


def build_dense_model(hidden: int, dropout: float = 0.0, name: str = "dense") -> keras.Sequential:
    """A fully-connected network: flatten, one hidden ReLU layer of ``hidden`` units, softmax.

    With ``hidden=512`` it is the classic "earlier network" the tutorial compares
    its CNN with (407,050 parameters); with ``hidden=117`` it has about the CNN's
    parameter budget (93,025 against 93,322).
    """
    head = [keras.layers.Dropout(dropout, name="dropout")] if dropout else []
    return keras.Sequential(
        [
            keras.Input(shape=INPUT_SHAPE),
            keras.layers.Flatten(name="flatten"),
            keras.layers.Dense(hidden, activation="relu", name="dense"),
            *head,
            keras.layers.Dense(NUM_CLASSES, activation="softmax", name="dense_1"),
        ],
        name=name,
    )


def build_network(name: str, dropout: float = 0.0) -> keras.Sequential:
    """The untrained network a recipe names (see ``cnn_helpers.recipe.MODELS``), not compiled.

    ``dropout`` adds a ``Dropout`` layer of that rate before the classifier
    (after ``Flatten`` in the CNN, after the hidden layer in a dense network).
    """
    if name == "tutorial_cnn":
        layers = tutorial_layers()
        if dropout:
            layers.insert(6, keras.layers.Dropout(dropout, name="dropout"))
        return keras.Sequential([keras.Input(shape=INPUT_SHAPE), *layers], name="tutorial_cnn")
    if name.startswith("dense_") and name[6:].isdigit():
        return build_dense_model(int(name[6:]), dropout, name=name)
    raise ValueError(f"unknown network {name!r}; known: 'tutorial_cnn' and 'dense_<units>'")


# ---------------------------------------------------------------- summary tables
def layer_table(model: keras.Model) -> list[dict]:
    """One row per layer as Keras reports it: name, type, output shape, parameter count."""
    return [
        {
            "name": layer.name,
            "type": type(layer).__name__,
            "output_shape": tuple(layer.output.shape),
            "params": layer.count_params(),
        }
        for layer in model.layers
    ]


def derived_table(model: keras.Sequential, input_shape: tuple[int, ...] = INPUT_SHAPE) -> list[dict]:
    """The same rows as :func:`layer_table`, computed from each layer's settings by formula.

    Supports the layer types of the tutorial's network (Conv2D, MaxPooling2D,
    AveragePooling2D, Flatten, Dense); anything else raises ``ValueError``.
    """
    shape = tuple(input_shape)
    rows = []
    for layer in model.layers:
        kind = type(layer).__name__
        if kind == "Conv2D":
            (kh, kw), (sh, sw), pad = layer.kernel_size, layer.strides, layer.padding
            h, w, c = shape
            shape = (conv_output_size(h, kh, sh, pad), conv_output_size(w, kw, sw, pad), layer.filters)
            params = conv_params(kh, kw, c, layer.filters, layer.use_bias)
        elif kind in ("MaxPooling2D", "AveragePooling2D"):
            (ph, pw), (sh, sw), pad = layer.pool_size, layer.strides, layer.padding
            h, w, c = shape
            shape = (pool_output_size(h, ph, sh, pad), pool_output_size(w, pw, sw, pad), c)
            params = 0
        elif kind == "Flatten":
            shape = (math.prod(shape),)
            params = 0
        elif kind == "Dense":
            params = dense_params(shape[-1], layer.units, layer.use_bias)
            shape = (*shape[:-1], layer.units)
        else:
            raise ValueError(f"derived_table does not know the formulas for a {kind} layer ({layer.name})")
        rows.append({"name": layer.name, "type": kind, "output_shape": (None, *shape), "params": params})
    return rows


def tutorial_summary() -> list[dict]:
    """The rows of the tutorial's printed Keras 2 summary (both parts), parsed from its text.

    The text is kept verbatim in ``tutorial_summary.txt``; note that Keras 2 printed
    the first column ("name (type)") at a fixed width, which cut
    ``max_pooling2d_1 (MaxPooling2D)`` to ``max_pooling2d_1 (MaxPooling2``.
    """
    pattern = re.compile(r"^(\w+) \((\w+)\)?\s+\(None((?:, \d+)+)\)\s+(\d+)\s*$")
    rows = []
    for line in TUTORIAL_SUMMARY_FILE.read_text(encoding="utf-8").splitlines():
        m = pattern.match(line.strip())
        if m:
            dims = tuple(int(d) for d in m.group(3).split(",")[1:])
            rows.append({"name": m.group(1), "type": m.group(2), "output_shape": (None, *dims), "params": int(m.group(4))})
    return rows


def tutorial_summary_total() -> int:
    """The "Total params" line of the tutorial's first summary (the network before the head)."""
    m = re.search(r"Total params: ([\d,]+)", TUTORIAL_SUMMARY_FILE.read_text(encoding="utf-8"))
    if not m:
        raise ValueError(f"{TUTORIAL_SUMMARY_FILE} has no 'Total params' line")
    return int(m.group(1).replace(",", ""))


def forward_macs(model: keras.Sequential, input_shape: tuple[int, ...] = INPUT_SHAPE) -> list[tuple[str, int]]:
    """Multiply-adds per image in each Conv2D and Dense layer of a forward pass.

    A convolution output pixel costs ``kh * kw * C_in`` multiply-adds per filter;
    a Dense unit costs one per input. Pooling, ReLU and softmax are comparisons
    and exponentials, negligible next to these, and are not counted.
    """
    rows = []
    for layer, row in zip(model.layers, derived_table(model, input_shape)):
        kind = row["type"]
        if kind == "Conv2D":
            _, h, w, f = row["output_shape"]
            kh, kw = layer.kernel_size
            rows.append((layer.name, h * w * f * kh * kw * layer.input.shape[-1]))
        elif kind == "Dense":
            rows.append((layer.name, layer.input.shape[-1] * layer.units))
    return rows


# ---------------------------------------------------------------- looking inside (chapters 4-6)
def layer_outputs(model: keras.Sequential, x, batch_size: int = 256) -> dict:
    """Every layer's output for the images ``x``, by layer name, as NumPy arrays.

    The images go through ``model.layers`` one at a time, in order (a Sequential
    model), so a chapter can look at the real feature maps at every stage of a
    trained network. ``x`` is a batch ``(N, H, W, C)`` or one image ``(H, W, C)``;
    one image gives arrays without the batch axis. The batch is processed
    ``batch_size`` images at a time to keep memory small. Nothing is trained.
    """
    import numpy as np

    arr = np.asarray(x, dtype="float32")
    expected = tuple(model.input_shape[1:])
    single = arr.ndim == len(expected)
    if single:
        arr = arr[np.newaxis]
    if arr.shape[1:] != expected:
        raise ValueError(f"layer_outputs: the model expects images of shape {expected}; got {np.shape(x)}")
    chunks: dict[str, list] = {layer.name: [] for layer in model.layers}
    for start in range(0, len(arr), batch_size):
        h = arr[start : start + batch_size]
        for layer in model.layers:
            h = layer(h)
            chunks[layer.name].append(keras.ops.convert_to_numpy(h))
    outputs = {name: np.concatenate(parts) for name, parts in chunks.items()}
    return {name: out[0] for name, out in outputs.items()} if single else outputs


def format_table(rows, headers) -> str:
    """A plain-text table with aligned columns, for printing in a chapter.

    ``rows`` is a list of sequences, one value per column. Integers are written
    with thousands separators (``36,928``) and right-aligned, as are floats;
    everything else is written with ``str`` and left-aligned. The header is
    underlined with dashes. Plain text (no colour codes, no box drawing) reads
    the same in a terminal, a notebook and the built book.
    """
    headers = [str(h) for h in headers]
    rows = [list(r) for r in rows]
    for r in rows:
        if len(r) != len(headers):
            raise ValueError(f"format_table: every row needs {len(headers)} values (one per header); got {r!r}")

    import numbers

    def is_number(v) -> bool:
        return isinstance(v, numbers.Real) and not isinstance(v, bool)

    def text(v) -> str:
        return f"{int(v):,}" if isinstance(v, numbers.Integral) and not isinstance(v, bool) else str(v)

    cells = [[text(v) for v in r] for r in rows]
    right = [bool(rows) and all(is_number(r[k]) for r in rows) for k in range(len(headers))]
    widths = [max([len(headers[k])] + [len(c[k]) for c in cells]) for k in range(len(headers))]

    def line(values) -> str:
        parts = [v.rjust(w) if r else v.ljust(w) for v, w, r in zip(values, widths, right)]
        return "  ".join(parts).rstrip()

    out = [line(headers), "  ".join("-" * w for w in widths)]
    out += [line(c) for c in cells]
    return "\n".join(out)
