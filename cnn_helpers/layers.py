"""NumPy reference implementations of every layer the tutorial's network uses.

Why this module exists: a chapter can show what ``keras.layers.Conv2D`` or
``MaxPooling2D`` *computes* by doing the same arithmetic in a few lines of
plain NumPy, and the tests check that the two agree (to 1e-5) on random inputs.
They favour clarity over speed: no framework, no clever indexing, just
``sliding_window_view`` to cut out the windows and ``einsum`` to multiply and
sum them. (The draw page's JavaScript, ``_assets/draw/cnn.js``, computes the
same layers with plain loops; the browser tests hold it to these functions.)

Conventions, all chosen to match Keras 3 exactly:

- Images are channels-last: one image is ``(H, W, C)``, a batch ``(N, H, W, C)``.
  Every image function accepts either and returns the same rank it was given.
- A convolution kernel has Keras's layout ``(kh, kw, C_in, C_out)`` and a Dense
  weight matrix ``(inputs, units)``, so ``layer.get_weights()`` can be passed
  straight in.
- ``Conv2D`` is a cross-correlation: the kernel is *not* flipped.
- ``padding`` is ``"valid"`` (only windows that fit wholly inside) or ``"same"``
  (TensorFlow's rule: output side ``ceil(n / s)``; the total padding
  ``max((out - 1) * s + k - n, 0)`` is split with the smaller half before, so an
  odd extra row or column goes at the bottom or right).
- Results are float64, whatever the input's dtype.
- NaN and infinity behave as in Keras, with two documented exceptions
  (``tests/test_layers.py`` checks both): a max-pooling window holding nothing
  but NaN and ``-inf`` gives ``-inf`` here, where TensorFlow's kernel gives
  ``-3.4028235e38`` (float32's lowest value); and :func:`softmax` computes in
  float64, so ``softmax([inf, 1])`` is ``[nan, nan]`` as Keras gives for float64
  input (Keras's float32 kernel gives ``[nan, 0]`` with oneDNN, ``[nan, nan]`` without).

Bad inputs raise ``ValueError`` naming the function, what was expected and
what was given.
"""
from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = [
    "conv2d",
    "conv2d_at",
    "output_size",
    "same_pads",
    "relu",
    "max_pool2d",
    "avg_pool2d",
    "flatten",
    "dense",
    "softmax",
]

IntPair = int | tuple[int, int]


# ---------------------------------------------------------------- validation helpers
def _as_float(x, fn: str, name: str) -> np.ndarray:
    """``x`` as a float64 array; refuse strings, objects and complex numbers."""
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"{fn}: {name} must hold real numbers; got dtype {arr.dtype}")
    return arr.astype(np.float64)


def _as_batch(x, fn: str) -> tuple[np.ndarray, bool]:
    """An image or batch of images as a 4-D float array, and whether it was one image."""
    arr = _as_float(x, fn, "x")
    if arr.ndim not in (3, 4):
        raise ValueError(f"{fn}: x must have shape (H, W, C) or (N, H, W, C); got {arr.shape}")
    if min(arr.shape[-3:]) < 1:
        raise ValueError(f"{fn}: x must have H, W and C of at least 1; got {arr.shape}")
    return (arr[np.newaxis], True) if arr.ndim == 3 else (arr, False)


def _kernel(kernel, fn: str, name: str = "kernel", ndim: int = 4) -> np.ndarray:
    """A kernel as floats: ``(kh, kw, C_in, C_out)`` (or ``(kh, kw)``), every side at least 1.

    An empty kernel would make an empty sum, a silent 0, so it is refused.
    """
    k = _as_float(kernel, fn, name)
    layout = "(kh, kw, C_in, C_out)" if ndim == 4 else "(kh, kw)"
    if k.ndim != ndim:
        raise ValueError(f"{fn}: {name} must have shape {layout}; got {k.shape}")
    if min(k.shape) < 1:
        raise ValueError(
            f"{fn}: every side of the {name} must be at least 1; got shape {k.shape}"
        )
    return k


def _pair(value, fn: str, name: str) -> tuple[int, int]:
    """An int or a pair of ints as a pair of positive ints (e.g. ``2 -> (2, 2)``)."""
    pair = (value, value) if np.ndim(value) == 0 else tuple(value)
    if len(pair) != 2 or not all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v > 0 for v in pair
    ):
        raise ValueError(f"{fn}: {name} must be a positive int or a pair of positive ints; got {value!r}")
    return int(pair[0]), int(pair[1])


def _padding(padding, fn: str) -> str:
    """``"valid"`` or ``"same"``, whatever the case it was written in."""
    mode = padding.lower() if isinstance(padding, str) else None
    if mode not in ("valid", "same"):
        raise ValueError(f"{fn}: padding must be 'valid' or 'same'; got {padding!r}")
    return mode


def output_size(n: int, k: int, s: int = 1, padding: str = "valid") -> int:
    """How many positions a window of size ``k`` with stride ``s`` takes along a side of ``n``.

    VALID: only windows that fit wholly inside, ``floor((n - k) / s) + 1`` (an error
    when ``k > n``). SAME: ``ceil(n / s)``, TensorFlow's rule. This is the book's one
    definition of the rule; :func:`same_pads` and the page's model file use it.
    """
    mode = _padding(padding, "output_size")
    if mode == "same":
        return math.ceil(n / s)
    if k > n:
        raise ValueError(f"output_size: a window of {k} does not fit in {n} with padding='valid'")
    return (n - k) // s + 1


def same_pads(n: int, k: int, s: int) -> tuple[int, int]:
    """TensorFlow's SAME padding of one side of length ``n``: (before, after).

    The output has ``ceil(n / s)`` positions; the input is padded just enough
    for the last window to fit, the smaller half before and the rest after
    (so an odd extra row or column goes at the bottom or right).
    """
    out = output_size(n, k, s, "same")
    total = max((out - 1) * s + k - n, 0)
    return total // 2, total - total // 2


def _windows(
    x: np.ndarray, window: tuple[int, int], stride: tuple[int, int], mode: str, fill: float, fn: str
) -> np.ndarray:
    """Every window of a padded batch, shape ``(N, out_h, out_w, C, kh, kw)``.

    ``x`` is ``(N, H, W, C)``. With SAME padding the border is filled with
    ``fill`` (0 for convolution, -inf for max pooling).
    """
    (kh, kw), (sh, sw) = window, stride
    if mode == "same":
        top, bottom = same_pads(x.shape[1], kh, sh)
        left, right = same_pads(x.shape[2], kw, sw)
        x = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=fill)
    elif kh > x.shape[1] or kw > x.shape[2]:
        raise ValueError(
            f"{fn}: a {kh}x{kw} window does not fit in the {x.shape[1]}x{x.shape[2]} input "
            "with padding='valid'"
        )
    # sliding_window_view gives every window at stride 1; keep every s-th one.
    return sliding_window_view(x, (kh, kw), axis=(1, 2))[:, ::sh, ::sw]


# ---------------------------------------------------------------- convolution
def conv2d_at(x, kernel, i: int, j: int) -> float:
    """One step of the sliding window: the output of a convolution at position (i, j).

    ``x`` is one single-channel image ``(H, W)`` and ``kernel`` a 2-D kernel
    ``(kh, kw)``. The window whose top-left corner is pixel (i, j) is multiplied
    element by element with the kernel, and the products are added up (no
    padding, no flip -- exactly what Conv2D does at each position).
    """
    image = _as_float(x, "conv2d_at", "x")
    if image.ndim != 2:
        raise ValueError(f"conv2d_at: x must be one single-channel image of shape (H, W); got {image.shape}")
    k = _kernel(kernel, "conv2d_at", ndim=2)
    if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in (i, j)):
        raise ValueError(f"conv2d_at: i and j must be ints; got i={i!r}, j={j!r}")
    kh, kw = k.shape
    if not (0 <= i <= image.shape[0] - kh and 0 <= j <= image.shape[1] - kw):
        raise ValueError(
            f"conv2d_at: a {kh}x{kw} window at (i, j) = ({i}, {j}) does not fit in the "
            f"{image.shape[0]}x{image.shape[1]} image; i must be in 0..{image.shape[0] - kh} "
            f"and j in 0..{image.shape[1] - kw}"
        )
    window = image[i : i + kh, j : j + kw]
    return float(np.sum(window * k))


def conv2d(x, kernel, bias=None, stride: IntPair = 1, padding: str = "valid") -> np.ndarray:
    """Multi-channel 2-D convolution, exactly like ``keras.layers.Conv2D`` (no activation).

    ``x`` is ``(H, W, C_in)`` or ``(N, H, W, C_in)``; ``kernel`` is
    ``(kh, kw, C_in, C_out)``; ``bias`` is ``(C_out,)`` or None. Each output
    value is the sum, over the window and over all input channels, of input
    times kernel, plus that filter's bias. The result is
    ``(out_h, out_w, C_out)``, with a leading ``N`` if ``x`` had one.
    """
    batch, single = _as_batch(x, "conv2d")
    k = _kernel(kernel, "conv2d")
    if k.shape[2] != batch.shape[3]:
        raise ValueError(
            f"conv2d: kernel expects C_in={k.shape[2]} input channels (kernel shape {k.shape}) "
            f"but x has {batch.shape[3]} (x shape {np.shape(x)})"
        )
    strides = _pair(stride, "conv2d", "stride")
    mode = _padding(padding, "conv2d")

    b = np.zeros(k.shape[3]) if bias is None else _as_float(bias, "conv2d", "bias")
    if b.shape != (k.shape[3],):
        raise ValueError(f"conv2d: bias must have shape (C_out,) = ({k.shape[3]},); got {b.shape}")

    windows = _windows(batch, k.shape[:2], strides, mode, 0.0, "conv2d")  # (N, oh, ow, C_in, kh, kw)
    out = np.einsum("nhwcij,ijco->nhwo", windows, k) + b
    return out[0] if single else out


# ---------------------------------------------------------------- activations
def relu(x) -> np.ndarray:
    """Rectified linear unit, element by element: ``max(x, 0)``."""
    return np.maximum(_as_float(x, "relu", "x"), 0.0)


def softmax(x, axis: int = -1) -> np.ndarray:
    """Turn scores into probabilities along ``axis`` (each slice sums to 1).

    ``exp(x - max) / sum(exp(x - max))``: subtracting the largest score first
    changes nothing mathematically but keeps ``exp`` from overflowing on large
    scores (``exp(1000)`` is ``inf`` in float64). An infinite score gives NaN, as
    in Keras for float64 input: ``softmax([inf, 1])`` is ``[nan, nan]``.
    """
    arr = _as_float(x, "softmax", "x")
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, (bool, np.bool_)):
        raise ValueError(f"softmax: axis must be an int, such as -1 for the last axis; got {axis!r}")
    if arr.ndim == 0 or arr.size == 0:
        raise ValueError(f"softmax: x must have at least one axis and one value; got shape {arr.shape}")
    if not -arr.ndim <= axis < arr.ndim:
        raise ValueError(f"softmax: axis {axis} is out of range for x of shape {arr.shape}")
    with np.errstate(invalid="ignore"):  # inf - inf is NaN, as in Keras (see above)
        shifted = arr - np.max(arr, axis=axis, keepdims=True)
        e = np.exp(shifted)
        return e / np.sum(e, axis=axis, keepdims=True)


# ---------------------------------------------------------------- pooling
def _pool_config(pool: IntPair, stride: IntPair | None, padding: str, fn: str):
    """Shared checks of the two poolings: window size, strides (default: the window size), mode."""
    size = _pair(pool, fn, "pool")
    strides = size if stride is None else _pair(stride, fn, "stride")
    return size, strides, _padding(padding, fn)


def max_pool2d(x, pool: IntPair = 2, stride: IntPair | None = None, padding: str = "valid") -> np.ndarray:
    """The largest value of each window, channel by channel, like ``keras.layers.MaxPooling2D``.

    ``x`` is ``(H, W, C)`` or ``(N, H, W, C)``; ``pool`` and ``stride`` are an
    int or a pair ``(rows, columns)``. ``stride`` defaults to the pool size, so
    windows do not overlap. With VALID padding leftover rows and columns that do
    not fill a window are dropped (output ``floor((n - pool) / stride) + 1``);
    with SAME the border is padded with ``-inf``, which never wins the maximum.
    A NaN never wins either, as in TensorFlow: a window gives the largest of its
    other values (``-inf`` if it holds nothing else; TensorFlow gives -3.4028235e38).
    """
    batch, single = _as_batch(x, "max_pool2d")
    size, strides, mode = _pool_config(pool, stride, padding, "max_pool2d")
    batch = np.where(np.isnan(batch), -np.inf, batch)  # NaN is skipped, like TensorFlow's kernel
    windows = _windows(batch, size, strides, mode, -np.inf, "max_pool2d")  # (N, oh, ow, C, ph, pw)
    out = windows.max(axis=(4, 5))
    return out[0] if single else out


def avg_pool2d(x, pool: IntPair = 2, stride: IntPair | None = None, padding: str = "valid") -> np.ndarray:
    """The mean of each window, channel by channel, like ``keras.layers.AveragePooling2D``.

    Same windows as ``max_pool2d``. With SAME padding, as in TensorFlow, the
    padded cells are left out of the mean: each window's sum is divided by the
    number of real pixels it covers, not by the window size.
    """
    batch, single = _as_batch(x, "avg_pool2d")
    size, strides, mode = _pool_config(pool, stride, padding, "avg_pool2d")
    sums = _windows(batch, size, strides, mode, 0.0, "avg_pool2d").sum(axis=(4, 5))
    # Count the real pixels under each window by summing a one-channel image of ones the same way.
    ones = np.ones((1, batch.shape[1], batch.shape[2], 1))
    counts = _windows(ones, size, strides, mode, 0.0, "avg_pool2d").sum(axis=(4, 5))
    out = sums / counts
    return out[0] if single else out


# ---------------------------------------------------------------- flatten and dense
def flatten(x) -> np.ndarray:
    """Lay the feature maps out in one row, in Keras's channels-last order.

    ``(N, H, W, C) -> (N, H*W*C)`` for a batch and ``(H, W, C) -> (H*W*C,)`` for
    one image. It is just a C-order reshape: the channel index changes fastest,
    then the column, then the row, so entry ``(r, c, ch)`` lands at
    ``(r * W + c) * C + ch``. The order matters because the next Dense layer's
    weight rows are tied to these positions: weights trained in Keras give
    nonsense after a flatten that reads the same numbers in another order
    (channels-first, say, or column by column).
    """
    arr = _as_float(x, "flatten", "x")
    if arr.ndim == 3:
        return arr.reshape(-1)
    if arr.ndim == 4:  # explicit sizes: reshape(0, -1) cannot infer -1 for an empty batch
        return arr.reshape(arr.shape[0], arr.shape[1] * arr.shape[2] * arr.shape[3])
    raise ValueError(f"flatten: x must have shape (H, W, C) or (N, H, W, C); got {arr.shape}")


def dense(x, weights, bias=None) -> np.ndarray:
    """A fully connected layer, like ``keras.layers.Dense`` (no activation): ``x @ W + b``.

    ``x`` is one vector ``(inputs,)`` or a batch ``(N, inputs)``; ``weights`` is
    Keras's ``(inputs, units)``; ``bias`` is ``(units,)`` or None. Each output
    unit is a weighted sum of every input plus its bias.
    """
    v = _as_float(x, "dense", "x")
    w = _as_float(weights, "dense", "weights")
    if v.ndim not in (1, 2):
        raise ValueError(f"dense: x must have shape (inputs,) or (N, inputs); got {v.shape}")
    if w.ndim != 2:
        raise ValueError(f"dense: weights must have shape (inputs, units); got {w.shape}")
    if v.shape[-1] != w.shape[0]:
        raise ValueError(
            f"dense: x has {v.shape[-1]} inputs (shape {v.shape}) but weights expect "
            f"{w.shape[0]} (weights shape {w.shape})"
        )
    b = np.zeros(w.shape[1]) if bias is None else _as_float(bias, "dense", "bias")
    if b.shape != (w.shape[1],):
        raise ValueError(f"dense: bias must have shape (units,) = ({w.shape[1]},); got {b.shape}")
    return v @ w + b


# ---------------------------------------------------------------- hand-made kernels, stacked convolutions (chapters 2-3)
def edge_kernels() -> dict[str, np.ndarray]:
    """Two hand-made 3x3 edge detectors (Prewitt's), as fresh float64 arrays ``(3, 3)``.

    - ``"vertical"``: every row is ``[-1, 0, 1]``, so a window's output is its right
      column minus its left column. On a digit (ink high, paper 0) it is positive on
      the left side of a vertical stroke, negative on its right side, and 0 on flat
      paper or flat ink.
    - ``"horizontal"``: the transpose, bottom row minus top row: positive along the
      top side of a horizontal stroke, negative along its bottom side.

    Stack them for :func:`conv2d` with ``np.stack(list(k.values()), -1)[:, :, None, :]``.
    """
    vertical = np.array([[-1.0, 0.0, 1.0]] * 3)
    return {"vertical": vertical, "horizontal": vertical.T.copy()}


def compose_conv2d(kernel1, bias1, kernel2, bias2) -> tuple[np.ndarray, np.ndarray]:
    """The one convolution that equals two stacked linear ones (VALID padding, stride 1).

    ``conv2d(conv2d(x, kernel1, bias1), kernel2, bias2) == conv2d(x, K, b)`` for every
    input ``x``, where ``kernel1`` is ``(h1, w1, C_in, C_mid)``, ``kernel2`` is
    ``(h2, w2, C_mid, C_out)`` and the biases are ``(C_mid,)``, ``(C_out,)`` or None.
    The combined kernel ``K`` is ``(h1 + h2 - 1, w1 + w2 - 1, C_in, C_out)``: output
    pixel (r, c) of the second layer sees the input pixels ``r .. r + h1 + h2 - 2``,
    and ``K[a, b] = sum over (i, j) of kernel1[a - i, b - j] @ kernel2[i, j]`` (a full
    2-D convolution of the two kernels, summed over the middle channels). The first
    bias passes through the second kernel: ``b = bias1 @ kernel2.sum((0, 1)) + bias2``.

    With an activation such as ReLU between the two layers no such ``K`` exists; that
    is the point of chapter 3.
    """
    k1 = _kernel(kernel1, "compose_conv2d", "kernel1")
    k2 = _kernel(kernel2, "compose_conv2d", "kernel2")
    if k1.shape[3] != k2.shape[2]:
        raise ValueError(
            f"compose_conv2d: kernel1 makes {k1.shape[3]} channels (shape {k1.shape}) but kernel2 "
            f"expects {k2.shape[2]} (shape {k2.shape})"
        )
    (h1, w1, c_in, c_mid), (h2, w2, _, c_out) = k1.shape, k2.shape
    b1 = np.zeros(c_mid) if bias1 is None else _as_float(bias1, "compose_conv2d", "bias1")
    b2 = np.zeros(c_out) if bias2 is None else _as_float(bias2, "compose_conv2d", "bias2")
    if b1.shape != (c_mid,) or b2.shape != (c_out,):
        raise ValueError(
            f"compose_conv2d: bias1 must have shape ({c_mid},) and bias2 ({c_out},); "
            f"got {b1.shape} and {b2.shape}"
        )
    combined = np.zeros((h1 + h2 - 1, w1 + w2 - 1, c_in, c_out))
    for i in range(h2):
        for j in range(w2):
            combined[i : i + h1, j : j + w1] += np.einsum("abcm,mo->abco", k1, k2[i, j])
    return combined, b1 @ k2.sum(axis=(0, 1)) + b2


# ---------------------------------------------------------------- the digits' margin (chapters 1-2)
def border_ink(images, width: int = 1) -> np.ndarray:
    """Which images have ink (a non-zero pixel) in the outer ring ``width`` pixels wide.

    ``images`` is one image ``(H, W)`` or a stack ``(N, H, W)`` (a trailing channel axis,
    ``(N, H, W, C)``, is allowed too). Returns a bool array ``(N,)``, or a bool for one
    image. MNIST centres each digit by its centre of mass, so most digits leave a blank
    margin, but not all: some touch the outermost row or column.
    """
    x = np.asarray(images)
    if x.ndim == 4:
        x = (x != 0).any(axis=-1)  # a pixel is inked if any of its channels is
    if x.ndim not in (2, 3):
        raise ValueError(f"border_ink: images must be (H, W), (N, H, W) or (N, H, W, C); got shape {x.shape}")
    if not isinstance(width, (int, np.integer)) or width < 1 or 2 * width > min(x.shape[-2:]):
        raise ValueError(f"border_ink: width must be a positive int at most half the image side; got {width!r}")
    ink = x != 0
    inner = np.zeros(ink.shape[-2:], dtype=bool)
    inner[width:-width, width:-width] = True
    touched = (ink & ~inner).any(axis=(-2, -1))
    return bool(touched) if x.ndim == 2 else touched


# ---- backward passes
# Each ``<forward>_backward`` takes the forward's inputs and the gradient of the loss
# with respect to the forward's output (``grad_out``, the same shape as that output),
# and returns the gradients of the loss with respect to the forward's array arguments,
# in their order. This is the chain rule, one layer at a time: a network's backward
# pass calls them from the last layer to the first, each passing its ``grad_x`` on
# as the ``grad_out`` of the layer before it. Results are float64, like the forwards.

__all__ += [
    "conv2d_backward",
    "relu_backward",
    "max_pool2d_backward",
    "flatten_backward",
    "dense_backward",
    "softmax_cross_entropy",
    "softmax_cross_entropy_backward",
]


def _grad_out(grad_out, shape: tuple[int, ...], fn: str) -> np.ndarray:
    """``grad_out`` as floats; refused unless it has the forward output's shape."""
    g = _as_float(grad_out, fn, "grad_out")
    if g.shape != tuple(shape):
        raise ValueError(
            f"{fn}: grad_out must have the shape of the forward output, "
            f"{tuple(shape)}; got {g.shape}"
        )
    return g


def _pads(
    shape: tuple[int, ...], window: tuple[int, int], stride: tuple[int, int], mode: str
) -> tuple[int, int, int, int]:
    """The (top, bottom, left, right) border the forward added to an ``(N, H, W, C)``
    batch: none for VALID, TensorFlow's lopsided split for SAME."""
    if mode == "valid":
        return 0, 0, 0, 0
    top, bottom = same_pads(shape[1], window[0], stride[0])
    left, right = same_pads(shape[2], window[1], stride[1])
    return top, bottom, left, right


def conv2d_backward(
    x, kernel, grad_out, stride: IntPair = 1, padding: str = "valid"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of a :func:`conv2d`: ``(grad_x, grad_kernel, grad_bias)``.

    ``x``, ``kernel``, ``stride`` and ``padding`` are what the forward was given
    (the bias does not change any gradient, so it is not needed); ``grad_out`` is
    the gradient of the loss with respect to the forward's output. Every output
    value was a window of ``x`` times the kernel, plus the bias, so:

    - ``grad_bias[o]`` adds up ``grad_out`` over every position (and image) of filter o;
    - ``grad_kernel`` adds up every window of ``x`` weighted by its ``grad_out``;
    - ``grad_x`` sends each ``grad_out`` back through the kernel's weights to the
      pixels of its window. A pixel in several windows collects from all of them;
      gradient that lands on SAME's zero border is dropped, since the border is
      not part of ``x``.

    Shapes are those of ``x``, ``kernel`` and ``(C_out,)``.
    """
    fn = "conv2d_backward"
    batch, single = _as_batch(x, fn)
    k = _kernel(kernel, fn)
    if k.shape[2] != batch.shape[3]:
        raise ValueError(
            f"{fn}: kernel expects C_in={k.shape[2]} input channels "
            f"(kernel shape {k.shape}) but x has {batch.shape[3]} "
            f"(x shape {np.shape(x)})"
        )
    strides = _pair(stride, fn, "stride")
    mode = _padding(padding, fn)
    # Every window of x, (N, oh, ow, C_in, kh, kw), as the forward multiplied them.
    windows = _windows(batch, k.shape[:2], strides, mode, 0.0, fn)
    n, oh, ow = windows.shape[:3]
    out_shape = (oh, ow, k.shape[3]) if single else (n, oh, ow, k.shape[3])
    g = _grad_out(grad_out, out_shape, fn).reshape(n, oh, ow, k.shape[3])

    grad_bias = g.sum(axis=(0, 1, 2))
    grad_kernel = np.einsum("nhwcij,nhwo->ijco", windows, g)

    (kh, kw), (sh, sw) = k.shape[:2], strides
    top, bottom, left, right = _pads(batch.shape, (kh, kw), strides, mode)
    h, w = batch.shape[1:3]
    grad_padded = np.zeros((n, h + top + bottom, w + left + right, batch.shape[3]))
    # Weight (i, j) met padded input pixel (r * sh + i, c * sw + j) at output (r, c).
    for i in range(kh):
        for j in range(kw):
            rows = slice(i, i + (oh - 1) * sh + 1, sh)
            cols = slice(j, j + (ow - 1) * sw + 1, sw)
            grad_padded[:, rows, cols, :] += g @ k[i, j].T  # (N, oh, ow, C_in)
    grad_x = grad_padded[:, top : top + h, left : left + w]  # drop the border
    return (grad_x[0] if single else grad_x), grad_kernel, grad_bias


def relu_backward(x, grad_out) -> np.ndarray:
    """Gradient of :func:`relu` w.r.t. ``x``: ``grad_out`` where ``x > 0``, else 0.

    ReLU passes a positive input through unchanged (slope 1) and holds a negative
    one at 0 (slope 0). At exactly 0 the slope is taken as 0, as TensorFlow does.
    """
    arr = _as_float(x, "relu_backward", "x")
    g = _grad_out(grad_out, arr.shape, "relu_backward")
    return np.where(arr > 0, g, 0.0)


def max_pool2d_backward(
    x,
    grad_out,
    pool: IntPair = 2,
    stride: IntPair | None = None,
    padding: str = "valid",
) -> np.ndarray:
    """Gradient of :func:`max_pool2d` with respect to ``x``.

    Each window's output was one of its inputs, the largest, so the window's
    ``grad_out`` goes to that one input and the others get nothing. When several
    inputs tie for the largest, the first in reading order (row by row, left to
    right) gets it, as in TensorFlow. Overlapping windows (a stride smaller than
    the pool) can pick the same input; it then collects the sum.
    """
    fn = "max_pool2d_backward"
    batch, single = _as_batch(x, fn)
    size, strides, mode = _pool_config(pool, stride, padding, fn)
    windows = _windows(batch, size, strides, mode, -np.inf, fn)  # (N,oh,ow,C,ph,pw)
    n, oh, ow, c, ph, pw = windows.shape
    out_shape = (oh, ow, c) if single else (n, oh, ow, c)
    g = _grad_out(grad_out, out_shape, fn).reshape(n, oh, ow, c)

    winner = windows.reshape(n, oh, ow, c, ph * pw).argmax(axis=-1)  # the first largest
    nn, hh, ww, cc = np.indices((n, oh, ow, c))
    # The winner's row and column in the padded input.
    rows = hh * strides[0] + winner // pw
    cols = ww * strides[1] + winner % pw
    top, bottom, left, right = _pads(batch.shape, size, strides, mode)
    h, w = batch.shape[1:3]
    grad_padded = np.zeros((n, h + top + bottom, w + left + right, c))
    np.add.at(grad_padded, (nn, rows, cols, cc), g)  # add.at: a pixel may win twice
    grad_x = grad_padded[:, top : top + h, left : left + w]  # drop the border
    return grad_x[0] if single else grad_x


def flatten_backward(x, grad_out) -> np.ndarray:
    """Gradient of :func:`flatten` w.r.t. ``x``: ``grad_out`` put back in ``x``'s shape.

    Flatten only moves numbers, so its backward moves the gradients back, in the
    same channels-last order.
    """
    arr = _as_float(x, "flatten_backward", "x")
    if arr.ndim not in (3, 4):
        raise ValueError(
            "flatten_backward: x must have shape (H, W, C) or (N, H, W, C); "
            f"got {arr.shape}"
        )
    # The sizes from the shape: arr[0] does not exist in an empty batch.
    features = arr.shape[-3] * arr.shape[-2] * arr.shape[-1]
    out_shape = (features,) if arr.ndim == 3 else (arr.shape[0], features)
    return _grad_out(grad_out, out_shape, "flatten_backward").reshape(arr.shape)


def dense_backward(x, weights, grad_out) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of a :func:`dense` layer: ``(grad_x, grad_weights, grad_bias)``.

    The forward was ``x @ W + b``, so ``grad_x = grad_out @ W.T`` (each input
    collects from every unit it fed, through that unit's weight),
    ``grad_weights = x.T @ grad_out`` (weight (i, u) moves with input i times unit
    u's gradient, summed over the batch) and ``grad_bias`` is ``grad_out`` summed
    over the batch. Shapes are those of ``x``,
    ``weights`` and ``(units,)``.
    """
    fn = "dense_backward"
    v = _as_float(x, fn, "x")
    w = _as_float(weights, fn, "weights")
    if v.ndim not in (1, 2):
        raise ValueError(
            f"{fn}: x must have shape (inputs,) or (N, inputs); got {v.shape}"
        )
    if w.ndim != 2:
        raise ValueError(
            f"{fn}: weights must have shape (inputs, units); got {w.shape}"
        )
    if v.shape[-1] != w.shape[0]:
        raise ValueError(
            f"{fn}: x has {v.shape[-1]} inputs (shape {v.shape}) but weights expect "
            f"{w.shape[0]} (weights shape {w.shape})"
        )
    g = _grad_out(grad_out, (*v.shape[:-1], w.shape[1]), fn)
    # As a batch, even for one vector, so one formula serves both.
    rows, g_rows = v.reshape(-1, w.shape[0]), g.reshape(-1, w.shape[1])
    return g @ w.T, rows.T @ g_rows, g_rows.sum(axis=0)


def _logits_and_labels(logits, labels_onehot, fn: str) -> tuple[np.ndarray, np.ndarray]:
    """Scores ``(classes,)`` or ``(N, classes)``, and one-hot labels of that shape."""
    z = _as_float(logits, fn, "logits")
    y = _as_float(labels_onehot, fn, "labels_onehot")
    if z.ndim not in (1, 2) or z.shape[-1] < 1:
        raise ValueError(
            f"{fn}: logits must have shape (classes,) or (N, classes); got {z.shape}"
        )
    if y.shape != z.shape:
        raise ValueError(
            f"{fn}: labels_onehot must have the shape of logits, {z.shape}; "
            f"got {y.shape} "
            "(turn class numbers into one-hot rows with keras.utils.to_categorical)"
        )
    sums = y.reshape(-1, z.shape[-1]).sum(axis=1)
    if (y < 0).any() or not np.allclose(sums, 1.0, atol=1e-6):
        raise ValueError(
            f"{fn}: each row of labels_onehot must be non-negative and sum to 1 "
            f"(one-hot); got row sums {sums[:5]}{' ...' if len(sums) > 5 else ''} "
            f"and minimum {y.min()}"
        )
    return z, y


def softmax_cross_entropy(logits, labels_onehot) -> float:
    """Cross-entropy of ``softmax(logits)`` against one-hot labels, the batch's mean.

    For one image with true class c it is ``-log p_c``, where ``p = softmax(logits)``;
    for a batch ``(N, classes)`` it is the mean over the N images, as Keras's
    ``categorical_crossentropy`` loss reports it. ``logits`` are the scores *before*
    the softmax. Computed as ``log-sum-exp(logits) - logits[c]``, with the largest
    score subtracted first, so large scores cannot overflow.
    """
    z, y = _logits_and_labels(logits, labels_onehot, "softmax_cross_entropy")
    shifted = z - z.max(axis=-1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    return float(np.mean(-(y * log_p).sum(axis=-1)))


def softmax_cross_entropy_backward(logits, labels_onehot) -> np.ndarray:
    """Gradient of :func:`softmax_cross_entropy` with respect to ``logits``.

    For one image it is ``softmax(logits) - labels_onehot``: every wrong class's
    score is pushed down by its probability, the true class's pushed up by
    ``1 - p_c``. For a batch each row is divided by N, because the loss is the mean.
    """
    z, y = _logits_and_labels(logits, labels_onehot, "softmax_cross_entropy_backward")
    grad = softmax(z, axis=-1) - y
    return grad / len(z) if z.ndim == 2 else grad
