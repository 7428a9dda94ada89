"""The book's one figure style, and the plots several chapters share.

Call :func:`use_book_style` once at the top of a chapter (``cnn_helpers.setup()``
in every chapter's first cell does it). Every helper returns the matplotlib ``Figure`` so a
chapter can adjust it or a test can inspect it; the chapters end plotting cells
with ``plt.show()`` so no stray object repr is printed.

Colour conventions used throughout the book:

- digits and images in [0, 1]: ``gray_r`` (ink is dark, paper is white, as on paper);
- signed values (kernels, raw convolution outputs): ``RdBu_r`` centred on zero,
  so red is positive, blue negative and white zero;
- non-negative activations (after ReLU or pooling): ``magma``.

Image panels have one look everywhere: a full thin frame (never the open, L-shaped
frame of a line plot). :func:`imshow` draws a panel in that style and picks the
colour map from what the values are. Figures are sized for a phone-width page too:
at most about 6.5 inches wide, with fonts that stay readable when the page shrinks
the figure to ~390 pixels (stack panels rather than put many side by side).
"""
from __future__ import annotations

from typing import Sequence

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import TwoSlopeNorm

DIGIT_CMAP = "gray_r"
SIGNED_CMAP = "RdBu_r"
ACTIVATION_CMAP = "magma"
ACCENT = "#d62728"   # highlights: windows, wrong answers
PRIMARY = "#1f77b4"  # bars and curves

FRAME_COLOR = "#444444"
MAX_WIDTH = 6.5  # inches: wider figures shrink below readability on a phone

BOOK_STYLE = {
    "figure.figsize": (6.4, 4.2),
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "figure.constrained_layout.use": True,
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "figure.titlesize": 14,
    "figure.titleweight": "bold",
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "legend.fontsize": 10,
    # A full frame on every axes: image panels must not get L-shaped half frames.
    "axes.spines.top": True,
    "axes.spines.right": True,
    "axes.edgecolor": FRAME_COLOR,
    "axes.linewidth": 0.8,
    "axes.grid": False,
    "image.interpolation": "nearest",
    "image.cmap": DIGIT_CMAP,
}


def use_book_style() -> None:
    """Apply the book's figure style (sizes, fonts, colour maps) to matplotlib.

    In a notebook, figures are also stored at twice their pixel density ("retina" PNG,
    shown at their normal size), so they stay sharp on HiDPI screens and phones.
    """
    matplotlib.rcParams.update(BOOK_STYLE)
    try:
        from IPython import get_ipython
        from matplotlib_inline.backend_inline import set_matplotlib_formats
    except ImportError:
        return
    if get_ipython() is not None:
        set_matplotlib_formats("retina")


def _no_ticks(ax: plt.Axes) -> None:
    ax.set_xticks([])
    ax.set_yticks([])


def frame(ax: plt.Axes) -> None:
    """Give an image panel the book's full thin frame (all four sides, one colour)."""
    for spine in ax.spines.values():
        spine.set_visible(True)
        spine.set_color(FRAME_COLOR)
        spine.set_linewidth(0.8)


IMAGE_KINDS = ("digit", "signed", "activation")


def imshow(
    ax: plt.Axes,
    values: np.ndarray,
    kind: str = "digit",
    lim: float | None = None,
    ticks: bool = False,
    **imshow_kwargs,
) -> matplotlib.image.AxesImage:
    """Draw one image panel in the book's style and return it (for a colour bar).

    ``kind`` says what the values are, and so picks the colour map:

    - ``"digit"``: ink in [0, lim] (pixels, blurs), ``gray_r`` from 0 (paper) to ``lim``
      (default 1, or the maximum when it is larger);
    - ``"signed"``: values of either sign, ``RdBu_r`` centred on zero, from ``-lim`` to
      ``lim`` (default: the largest absolute value);
    - ``"activation"``: non-negative values, ``magma`` from 0 to ``lim`` (default: max).

    The panel gets a full thin frame and, unless ``ticks``, no ticks. Other keyword
    arguments (``extent``, ``alpha``) go to ``ax.imshow``.
    """
    values = _squeeze_image(values)
    if kind not in IMAGE_KINDS:
        raise ValueError(f"kind must be one of {IMAGE_KINDS}, got {kind!r}")
    biggest = float(np.abs(values).max()) if values.size else 0.0
    if kind == "digit":
        top = lim if lim is not None else max(1.0, biggest)
        kwargs = {"cmap": DIGIT_CMAP, "vmin": 0, "vmax": top}
    elif kind == "signed":
        top = lim if lim is not None else (biggest or 1.0)
        kwargs = {"cmap": SIGNED_CMAP, "norm": TwoSlopeNorm(0, -top, top)}
    else:
        if values.min() < 0:
            raise ValueError(
                "kind='activation' is for non-negative values: use kind='signed'"
            )
        top = lim if lim is not None else (biggest or 1.0)
        kwargs = {"cmap": ACTIVATION_CMAP, "vmin": 0, "vmax": top}
    image = ax.imshow(values, **kwargs, **imshow_kwargs)
    if not ticks:
        _no_ticks(ax)
    frame(ax)
    return image


def write_values(
    ax: plt.Axes, values: np.ndarray, fmt: str = "{:.2f}", fontsize: float = 10
) -> None:
    """Write each value on its cell of an image panel (white on dark cells).

    Dark means far from the middle of the panel's colour scale; values that round to
    zero are written as 0 (no "-0.00").
    """
    values = np.asarray(values, dtype=float)
    image = ax.images[-1] if ax.images else None
    for (r, c), v in np.ndenumerate(values):
        text = fmt.format(v)
        if float(text.replace("\u2212", "-")) == 0:
            text = "0"
        dark = False
        if image is not None:
            rgba = image.cmap(image.norm(v))
            dark = 0.299 * rgba[0] + 0.587 * rgba[1] + 0.114 * rgba[2] < 0.5
        ax.text(c, r, text, ha="center", va="center", fontsize=fontsize,
                color="white" if dark else "black")


def _squeeze_image(image: np.ndarray) -> np.ndarray:
    """Accept (H, W) or (H, W, 1) and return (H, W)."""
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.ndim != 2:
        raise ValueError(
            f"expected an image of shape (H, W) or (H, W, 1), got {image.shape}"
        )
    return image


def show_digits(
    images: np.ndarray,
    labels: Sequence[int] | None = None,
    predictions: Sequence[int] | None = None,
    ncols: int = 6,
    title: str | None = None,
    captions: Sequence[str] | None = None,
) -> plt.Figure:
    """A grid of digits, each captioned with its label (and prediction, red when wrong).

    Six columns by default, so that the grid and its captions read on a phone too.
    """
    images = np.asarray(images)
    n = len(images)
    ncols = min(ncols, n)
    nrows = int(np.ceil(n / ncols))
    size = (1.0 * ncols + 0.3, 1.25 * nrows + (0.5 if title else 0.1))
    fig, axes = plt.subplots(nrows, ncols, figsize=size, squeeze=False)
    top = float(images.max()) or 1.0
    for k, ax in enumerate(axes.flat):
        if k >= n:
            ax.axis("off")
            continue
        imshow(ax, images[k], "digit", lim=top)
        color = "black"
        if captions is not None:
            text = captions[k]
        elif predictions is not None and labels is not None:
            text = f"true {labels[k]}, pred {predictions[k]}"
            color = "black" if labels[k] == predictions[k] else ACCENT
        elif labels is not None:
            text = f"label {labels[k]}"
        else:
            text = ""
        ax.set_title(text, fontsize=10, color=color)
    if title:
        fig.suptitle(title)
    return fig


def show_pixels(
    image: np.ndarray,
    title: str = "",
    ax: plt.Axes | None = None,
    fmt: str = "{:d}",
    fontsize: float | None = None,
) -> plt.Figure:
    """One image with each pixel's value written on it (small images only).

    ``fontsize`` defaults to 8 points, or 5 for images wider than 20 pixels.
    """
    image = _squeeze_image(image)
    if ax is None:
        size = min(max(4.0, 0.34 * max(image.shape)), MAX_WIDTH - 1.2)
        fig, ax = plt.subplots(figsize=(size + 1.2, size))
    else:
        fig = ax.figure
    vmax = float(image.max()) or 1.0
    im = imshow(ax, image, "digit", lim=vmax, ticks=True)
    small = fontsize or (5 if max(image.shape) > 20 else 8)
    for (i, j), v in np.ndenumerate(image):
        if v:
            text = fmt.format(int(v)) if fmt == "{:d}" else fmt.format(v)
            ax.text(j, i, text, ha="center", va="center", fontsize=small,
                    color="white" if v > 0.5 * vmax else "black")
    ax.set_xlabel("column")
    ax.set_ylabel("row")
    ax.set_title(title)
    fig.colorbar(im, ax=ax, shrink=0.8, label="pixel value")
    return fig


def show_feature_maps(
    maps: np.ndarray,
    title: str = "",
    ncols: int = 4,
    max_maps: int | None = None,
    signed: bool | None = None,
    cell: float = 1.3,
) -> plt.Figure:
    """The channels of one layer's output ``(H, W, C)``: a grid, one shared colour bar.

    One colour scale for all channels makes them comparable. ``signed`` picks a
    zero-centred diverging map; by default it is used when any value is negative.
    """
    maps = np.asarray(maps)
    if maps.ndim == 4 and maps.shape[0] == 1:
        maps = maps[0]
    if maps.ndim != 3:
        raise ValueError(f"expected feature maps of shape (H, W, C), got {maps.shape}")
    count = maps.shape[-1] if max_maps is None else min(max_maps, maps.shape[-1])
    if signed is None:
        signed = bool((maps < 0).any())
    if signed:
        lim = float(np.abs(maps[..., :count]).max()) or 1.0
        kwargs = {"cmap": SIGNED_CMAP, "norm": TwoSlopeNorm(0, -lim, lim)}
    else:
        top = float(maps[..., :count].max()) or 1.0
        kwargs = {"cmap": ACTIVATION_CMAP, "vmin": 0, "vmax": top}
    fig, axes = _channel_grid(
        maps[..., :count], "ch", ncols, cell, kwargs, "activation", title
    )
    return fig


def _channel_grid(stack: np.ndarray, name: str, ncols: int, cell: float,
                  imshow_kwargs: dict,
                  colorbar_label: str, title: str) -> tuple[plt.Figure, np.ndarray]:
    """Draw ``stack[..., c]`` for each channel c: framed panels, one colour bar."""
    count = stack.shape[-1]
    ncols = min(ncols, count)
    nrows = int(np.ceil(count / ncols))
    size = (cell * ncols + 1.2, cell * nrows + (0.8 if title else 0.3))
    fig, axes = plt.subplots(nrows, ncols, figsize=size, squeeze=False)
    im = None
    for c, ax in enumerate(axes.flat):
        if c >= count:
            ax.axis("off")
            continue
        im = ax.imshow(stack[..., c], **imshow_kwargs)
        _no_ticks(ax)
        frame(ax)
        ax.set_title(f"{name} {c}", fontsize=10)
    fig.colorbar(im, ax=axes, shrink=0.8, label=colorbar_label)
    if title:
        fig.suptitle(title)
    return fig, axes


def show_kernels(
    kernels: np.ndarray, title: str = "", ncols: int = 4, annotate: bool = False
) -> plt.Figure:
    """Kernels ``(kh, kw, 1, C)`` or ``(kh, kw, C)``, one zero-centred colour scale."""
    k = np.asarray(kernels)
    if k.ndim == 4:
        if k.shape[2] != 1:
            raise ValueError("show_kernels draws single-input-channel kernels "
                             f"(kh, kw, 1, C), got {k.shape}")
        k = k[:, :, 0, :]
    if k.ndim == 2:
        k = k[..., None]
    if k.ndim != 3:
        raise ValueError("expected kernels of shape (kh, kw, C) or (kh, kw, 1, C), "
                         f"got {np.asarray(kernels).shape}")
    lim = float(np.abs(k).max()) or 1.0
    kwargs = {"cmap": SIGNED_CMAP, "norm": TwoSlopeNorm(0, -lim, lim)}
    cell = 1.5 if annotate else 1.2
    fig, axes = _channel_grid(k, "kernel", ncols, cell, kwargs, "weight", title)
    if annotate:
        for c, ax in zip(range(k.shape[-1]), axes.flat):
            write_values(ax, k[..., c], "{:.2g}", fontsize=9)
    return fig


def plot_history(
    history: dict[str, list[float]], title: str = "Learning curves"
) -> plt.Figure:
    """Loss and accuracy per epoch, one above the other (with validation, if any)."""
    fig, (ax_loss, ax_acc) = plt.subplots(2, 1, figsize=(6.4, 6.2), sharex=True)
    epochs = np.arange(1, len(history["loss"]) + 1)
    for ax, key, label in ((ax_loss, "loss", "loss"), (ax_acc, "accuracy", "accuracy")):
        ax.plot(epochs, history[key], "o-", color=PRIMARY, label=f"training {label}")
        if f"val_{key}" in history:
            ax.plot(epochs, history[f"val_{key}"], "s--", color=ACCENT,
                    label=f"validation {label}")
        ax.set_ylabel(label)
        ax.set_xticks(epochs)
        ax.legend()
        ax.grid(alpha=0.3)
    ax_acc.set_xlabel("epoch")
    ax_loss.set_title("Training loss")
    ax_acc.set_title("Training accuracy")
    fig.suptitle(title)
    return fig


def plot_probabilities(
    probs: np.ndarray,
    title: str = "",
    ax: plt.Axes | None = None,
    highlight: int | None = None,
) -> plt.Figure:
    """A bar per class (0-9) with its probability; the highlighted one in the accent."""
    probs = np.asarray(probs, dtype=float).ravel()
    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 3.2))
    else:
        fig = ax.figure
    colors = [ACCENT if k == highlight else PRIMARY for k in range(len(probs))]
    ax.bar(np.arange(len(probs)), probs, color=colors)
    ax.set_xticks(np.arange(len(probs)))
    ax.set_xlabel("class (digit)")
    ax.set_ylabel("probability")
    ax.set_ylim(0, 1.05)
    ax.set_title(title)
    return fig


def plot_network_map(
    rows: list[dict],
    input_shape: tuple[int, ...],
    title: str = "The tutorial's network, layer by layer",
) -> plt.Figure:
    """A top-to-bottom map of a network: one box per layer, with the tensor shape it
    produces and its parameter count beside it.

    ``rows`` are ``model.derived_table`` / ``layer_table`` rows (name, type,
    output_shape, params), so every shape and count in the picture is computed, not
    typed. The map runs downwards so that it stays readable on a phone-width page.
    """
    colors = {"Input": "#e8e8e8", "Conv2D": "#c6dbef", "MaxPooling2D": "#fdd0a2",
              "Flatten": "#d9d9d9", "Dense": "#c7e9c0"}
    boxes = [{"type": "Input", "shape": (None, *input_shape), "params": 0}]
    boxes += [{"type": r["type"], "shape": r["output_shape"], "params": r["params"]}
              for r in rows]
    n = len(boxes)
    fig, ax = plt.subplots(figsize=(6.0, 0.55 * n + 1.0))
    ax.set_xlim(0, 10)
    ax.set_ylim(n - 0.4, -1.0)
    ax.axis("off")
    ax.text(2.0, -0.75, "layer", ha="center", fontsize=10, color="#555555")
    ax.text(6.2, -0.75, "output shape (H x W x C)", ha="center", fontsize=10,
            color="#555555")
    ax.text(9.6, -0.75, "parameters", ha="right", fontsize=10, color="#555555")
    for k, box in enumerate(boxes):
        patch = matplotlib.patches.FancyBboxPatch(
            (0.3, k - 0.32), 3.4, 0.64, boxstyle="round,pad=0.03",
            facecolor=colors.get(box["type"], "#eeeeee"), edgecolor=FRAME_COLOR)
        ax.add_patch(patch)
        ax.text(2.0, k, box["type"], ha="center", va="center", fontsize=11,
                fontweight="bold")
        shape = " x ".join(str(d) for d in box["shape"][1:])
        ax.text(6.2, k, shape, ha="center", va="center", fontsize=11)
        ax.text(9.6, k, f"{box['params']:,}", ha="right",
                va="center", fontsize=11)
        if k:
            ax.annotate("", xy=(2.0, k - 0.34), xytext=(2.0, k - 0.66),
                        arrowprops={"arrowstyle": "->", "lw": 1.3})
    total = sum(b["params"] for b in boxes)
    ax.set_title(f"{title}\n{total:,} trainable parameters (batch axis omitted)")
    return fig


def plot_mistakes(
    matrix: np.ndarray, title: str = "Mistakes: true class against predicted class"
) -> plt.Figure:
    """A confusion matrix drawn for its mistakes: off-diagonal counts, written large.

    The correct answers on the diagonal are thousands: written out they crowd the
    few mistakes and shrink the font. Here the diagonal is a plain grey cell
    (show the correct answers as a per-class accuracy instead), zero cells stay
    blank, and each mistake count is written large enough to read at phone width.
    """
    m = np.asarray(matrix)
    if m.ndim != 2 or m.shape[0] != m.shape[1] or m.shape[0] < 2:
        raise ValueError(
            f"plot_mistakes needs a square confusion matrix (classes x classes), "
            f"got shape {m.shape}"
        )
    if not np.issubdtype(m.dtype, np.integer) or (m < 0).any():
        raise ValueError("plot_mistakes needs counts: non-negative integers")
    n = m.shape[0]
    off = m.astype(float)
    np.fill_diagonal(off, np.nan)
    top = max(1.0, float(np.nanmax(off)))
    fig, ax = plt.subplots(figsize=(5.6, 5.0))
    im = ax.imshow(off, cmap="Reds", vmin=0, vmax=top)
    for i in range(n):
        ax.add_patch(plt.Rectangle((i - 0.5, i - 0.5), 1, 1, color="#dddddd"))
        for j in range(n):
            if i != j and m[i, j]:
                dark = m[i, j] > 0.6 * top
                ax.text(j, i, str(m[i, j]), ha="center", va="center", fontsize=14,
                        fontweight="bold", color="white" if dark else "black")
    ax.set_xticks(range(n))
    ax.set_yticks(range(n))
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title)
    frame(ax)
    fig.colorbar(im, ax=ax, shrink=0.8, label="mistakes (count)")
    return fig
