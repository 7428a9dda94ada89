"""The book's one figure style, and the plots several chapters share.

Call :func:`use_book_style` once at the top of a chapter (``set_up_chapter`` in
the chapters does it). Every helper returns the matplotlib ``Figure`` so a
chapter can adjust it or a test can inspect it; the chapters end plotting cells
with ``plt.show()`` so no stray object repr is printed.

Colour conventions used throughout the book:

- digits and images in [0, 1]: ``gray_r`` (ink is dark, paper is white, as on paper);
- signed values (kernels, raw convolution outputs): ``RdBu_r`` centred on zero,
  so red is positive, blue negative and white zero;
- non-negative activations (after ReLU or pooling): ``magma``.
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

BOOK_STYLE = {
    "figure.figsize": (8.0, 4.5),
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
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": False,
    "image.interpolation": "nearest",
    "image.cmap": DIGIT_CMAP,
}


def use_book_style() -> None:
    """Apply the book's figure style (sizes, fonts, colour maps) to matplotlib."""
    matplotlib.rcParams.update(BOOK_STYLE)


def _no_ticks(ax: plt.Axes) -> None:
    ax.set_xticks([])
    ax.set_yticks([])


def _squeeze_image(image: np.ndarray) -> np.ndarray:
    """Accept (H, W) or (H, W, 1) and return (H, W)."""
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.ndim != 2:
        raise ValueError(f"expected an image of shape (H, W) or (H, W, 1), got {image.shape}")
    return image


def show_digits(
    images: np.ndarray,
    labels: Sequence[int] | None = None,
    predictions: Sequence[int] | None = None,
    ncols: int = 10,
    title: str | None = None,
    captions: Sequence[str] | None = None,
) -> plt.Figure:
    """A grid of digits, each captioned with its label (and prediction, red when wrong)."""
    images = np.asarray(images)
    n = len(images)
    ncols = min(ncols, n)
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.1 * ncols + 0.4, 1.3 * nrows + 0.6), squeeze=False)
    for k, ax in enumerate(axes.flat):
        _no_ticks(ax)
        if k >= n:
            ax.axis("off")
            continue
        ax.imshow(_squeeze_image(images[k]), cmap=DIGIT_CMAP, vmin=0, vmax=images.max() or 1)
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
        ax.set_title(text, fontsize=9, color=color)
    if title:
        fig.suptitle(title)
    return fig


def show_pixels(image: np.ndarray, title: str = "", ax: plt.Axes | None = None, fmt: str = "{:d}") -> plt.Figure:
    """One image with each pixel's value written on it (small images only)."""
    image = _squeeze_image(image)
    if ax is None:
        size = max(4.0, 0.34 * max(image.shape))
        fig, ax = plt.subplots(figsize=(size + 1.2, size))
    else:
        fig = ax.figure
    vmax = float(image.max()) or 1.0
    im = ax.imshow(image, cmap=DIGIT_CMAP, vmin=0, vmax=vmax)
    small = 5 if max(image.shape) > 20 else 8
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
    ncols: int = 8,
    max_maps: int | None = None,
    signed: bool | None = None,
    cell: float = 1.2,
) -> plt.Figure:
    """The channels of one layer's output ``(H, W, C)`` as a grid with one shared colour bar.

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
        kwargs = {"cmap": ACTIVATION_CMAP, "vmin": 0, "vmax": float(maps[..., :count].max()) or 1.0}
    fig, axes = _channel_grid(maps[..., :count], "ch", ncols, cell, kwargs, "activation", title)
    return fig


def _channel_grid(stack: np.ndarray, name: str, ncols: int, cell: float, imshow_kwargs: dict,
                  colorbar_label: str, title: str) -> tuple[plt.Figure, np.ndarray]:
    """Draw ``stack[..., c]`` for every channel c in a grid of small panels with one shared colour bar."""
    count = stack.shape[-1]
    ncols = min(ncols, count)
    nrows = int(np.ceil(count / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(cell * ncols + 1.2, cell * nrows + 0.7), squeeze=False)
    im = None
    for c, ax in enumerate(axes.flat):
        _no_ticks(ax)
        if c >= count:
            ax.axis("off")
            continue
        im = ax.imshow(stack[..., c], **imshow_kwargs)
        ax.set_title(f"{name} {c}", fontsize=8)
    fig.colorbar(im, ax=axes, shrink=0.8, label=colorbar_label)
    if title:
        fig.suptitle(title)
    return fig, axes


def show_kernels(kernels: np.ndarray, title: str = "", ncols: int = 8, annotate: bool = False) -> plt.Figure:
    """Convolution kernels ``(kh, kw, 1, C)`` or ``(kh, kw, C)`` on one zero-centred colour scale."""
    k = np.asarray(kernels)
    if k.ndim == 4:
        if k.shape[2] != 1:
            raise ValueError(f"show_kernels draws single-input-channel kernels (kh, kw, 1, C), got {k.shape}")
        k = k[:, :, 0, :]
    if k.ndim == 2:
        k = k[..., None]
    if k.ndim != 3:
        raise ValueError(f"expected kernels of shape (kh, kw, C) or (kh, kw, 1, C), got {np.asarray(kernels).shape}")
    lim = float(np.abs(k).max()) or 1.0
    kwargs = {"cmap": SIGNED_CMAP, "norm": TwoSlopeNorm(0, -lim, lim)}
    fig, axes = _channel_grid(k, "kernel", ncols, 1.5 if annotate else 1.1, kwargs, "weight", title)
    if annotate:
        for c, ax in zip(range(k.shape[-1]), axes.flat):
            for (i, j), v in np.ndenumerate(k[..., c]):
                ax.text(j, i, f"{v:.2g}", ha="center", va="center", fontsize=8)
    return fig


def plot_history(history: dict[str, list[float]], title: str = "Learning curves") -> plt.Figure:
    """Loss and accuracy per epoch, side by side (validation curves too when present)."""
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    epochs = np.arange(1, len(history["loss"]) + 1)
    for ax, key, label in ((ax_loss, "loss", "loss"), (ax_acc, "accuracy", "accuracy")):
        ax.plot(epochs, history[key], "o-", color=PRIMARY, label=f"training {label}")
        if f"val_{key}" in history:
            ax.plot(epochs, history[f"val_{key}"], "s--", color=ACCENT, label=f"validation {label}")
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.set_xticks(epochs)
        ax.legend()
        ax.grid(alpha=0.3)
    ax_loss.set_title("Training loss")
    ax_acc.set_title("Training accuracy")
    fig.suptitle(title)
    return fig


def plot_probabilities(probs: np.ndarray, title: str = "", ax: plt.Axes | None = None, highlight: int | None = None) -> plt.Figure:
    """A bar per class (0-9) with its probability; the highlighted class in the accent colour."""
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


def plot_confusion(matrix: np.ndarray, title: str = "Confusion matrix") -> plt.Figure:
    """A confusion matrix (rows: true class, columns: predicted), counts printed in each cell.

    The colour scale is logarithmic-like in effect: the diagonal is drawn in grey so
    that the (few) off-diagonal mistakes get the colour range.
    """
    m = np.asarray(matrix)
    n = m.shape[0]
    off = m.astype(float).copy()
    np.fill_diagonal(off, np.nan)
    fig, ax = plt.subplots(figsize=(7.5, 6.5))
    im = ax.imshow(off, cmap="Reds", vmin=0, vmax=max(1.0, np.nanmax(off)))
    for i in range(n):
        ax.add_patch(plt.Rectangle((i - 0.5, i - 0.5), 1, 1, color="#dddddd"))
        for j in range(n):
            v = m[i, j]
            strong = i != j and v > 0.6 * np.nanmax(off)
            ax.text(j, i, str(v), ha="center", va="center", fontsize=9 if i == j else 10,
                    color="white" if strong else "black", fontweight="bold" if i != j and v else "normal")
    ax.set_xticks(range(n))
    ax.set_yticks(range(n))
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title)
    fig.colorbar(im, ax=ax, shrink=0.8, label="mistakes (off-diagonal count)")
    return fig


def plot_network_map(rows: list[dict], input_shape: tuple[int, ...], title: str = "The tutorial's network, layer by layer") -> plt.Figure:
    """A left-to-right map of a network: one box per layer, the tensor shape after it on the arrow.

    ``rows`` are ``model.derived_table`` / ``layer_table`` rows (name, type, output_shape, params),
    so every shape and count in the picture is computed, not typed.
    """
    colors = {"Input": "#e8e8e8", "Conv2D": "#c6dbef", "MaxPooling2D": "#fdd0a2", "Flatten": "#d9d9d9", "Dense": "#c7e9c0"}
    boxes = [{"type": "Input", "label": "Input", "shape": (None, *input_shape), "params": 0}] + [
        {"type": r["type"], "label": r["type"], "shape": r["output_shape"], "params": r["params"]} for r in rows
    ]
    fig, ax = plt.subplots(figsize=(1.55 * len(boxes) + 0.4, 2.4))
    ax.set_xlim(-0.6, len(boxes) - 0.4)
    ax.set_ylim(-1.45, 0.6)
    ax.axis("off")
    for k, box in enumerate(boxes):
        ax.add_patch(matplotlib.patches.FancyBboxPatch((k - 0.42, -0.45), 0.84, 0.9, boxstyle="round,pad=0.03",
                                                        facecolor=colors.get(box["type"], "#eeeeee"), edgecolor="#444444"))
        name = box["label"].replace("MaxPooling2D", "MaxPool\n2D")
        ax.text(k, 0.12, name, ha="center", va="center", fontsize=10, fontweight="bold")
        if box["params"]:
            ax.text(k, -0.25, f"{box['params']:,} params", ha="center", va="center", fontsize=8)
        shape = " x ".join(str(d) for d in box["shape"][1:])
        ax.text(k, -0.85, shape, ha="center", va="center", fontsize=9, color="#333333")
        if k:
            ax.annotate("", xy=(k - 0.45, 0), xytext=(k - 0.55, 0), arrowprops={"arrowstyle": "->", "lw": 1.5})
    ax.text(-0.55, -1.3, "tensor shape after each layer (height x width x channels), batch axis omitted",
            fontsize=9, color="#555555")
    total = sum(b["params"] for b in boxes)
    ax.set_title(f"{title}: {total:,} trainable parameters")
    return fig
