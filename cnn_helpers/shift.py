"""Shifted digits: move test images by whole pixels and measure how a network copes.

The pooling chapter measures how much a one-pixel shift changes each layer's
output; the generalisation and "why convolutions" chapters ask the question a
reader cares about: how much *accuracy* is left when every test digit is moved
a few pixels. Shifts fill with background (0) and never wrap around the frame,
like the random shifts ``Recipe.augment_shift`` uses in training.
"""
from __future__ import annotations

import numpy as np

#: The four directions a digit is moved in: (rows down, columns right).
DIRECTIONS = ((0, 1), (0, -1), (1, 0), (-1, 0))


def shift_images(images: np.ndarray, down: int, right: int) -> np.ndarray:
    """Images ``(N, H, W[, C])`` moved ``down`` rows and ``right`` columns (negative: up/left).

    Pixels moved out of the frame are lost; the uncovered border is filled with 0.
    """
    images = np.asarray(images)
    if images.ndim not in (3, 4):
        raise ValueError(f"images must be (N, H, W) or (N, H, W, C), got shape {images.shape}")
    h, w = images.shape[1:3]
    if abs(down) >= h or abs(right) >= w:
        raise ValueError(f"a shift of ({down}, {right}) moves a {h}x{w} image out of its frame")
    out = np.zeros_like(images)
    src_r = slice(max(0, -down), h - max(0, down))
    dst_r = slice(max(0, down), h - max(0, -down))
    src_c = slice(max(0, -right), w - max(0, right))
    dst_c = slice(max(0, right), w - max(0, -right))
    out[:, dst_r, dst_c] = images[:, src_r, src_c]
    return out


def shifted_accuracy(model, x: np.ndarray, y: np.ndarray, pixels: int) -> float:
    """Accuracy of ``model`` on ``x`` moved ``pixels`` up, down, left and right (mean of the four).

    ``y`` is one-hot or integer labels. ``pixels=0`` is the plain accuracy.
    """
    if not isinstance(pixels, (int, np.integer)) or pixels < 0:
        raise ValueError(f"pixels must be an integer >= 0, got {pixels!r}")
    from .model import accuracy  # the book's one accuracy (imports Keras, as `model` has)

    moves = [(0, 0)] if pixels == 0 else [(d * pixels, r * pixels) for d, r in DIRECTIONS]
    accs = [accuracy(model, shift_images(x, d, r), y, batch_size=500) for d, r in moves]
    return float(np.mean(accs))


def robustness_curve(model, x: np.ndarray, y: np.ndarray, max_pixels: int) -> list[float]:
    """``shifted_accuracy`` for shifts of 0, 1, ..., ``max_pixels`` pixels."""
    return [shifted_accuracy(model, x, y, p) for p in range(max_pixels + 1)]
