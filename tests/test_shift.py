"""cnn_helpers.shift: whole-pixel shifts and accuracy on shifted digits."""
from __future__ import annotations

import numpy as np
import pytest

from cnn_helpers.shift import robustness_curve, shift_images, shifted_accuracy


def test_shift_moves_every_pixel_and_fills_with_zeros():
    x = np.arange(1, 17, dtype=np.float32).reshape(1, 4, 4)
    out = shift_images(x, 1, -2)
    expected = np.zeros_like(x)
    expected[0, 1:, :2] = x[0, :3, 2:]
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("down, right", [(0, 0), (2, 0), (-3, 1), (0, -1), (5, 5)])
def test_shift_agrees_with_roll_on_a_padded_image(down, right):
    rng = np.random.default_rng(0)
    x = np.zeros((3, 20, 20, 1), dtype=np.float32)
    x[:, 6:14, 6:14] = rng.random((3, 8, 8, 1))  # ink away from the border: nothing is lost
    out = shift_images(x, down, right)
    np.testing.assert_array_equal(out, np.roll(x, (down, right), axis=(1, 2)))
    assert out.sum() == pytest.approx(x.sum())


def test_shift_rejects_bad_input():
    with pytest.raises(ValueError, match="out of its frame"):
        shift_images(np.zeros((1, 4, 4)), 4, 0)
    with pytest.raises(ValueError, match="must be"):
        shift_images(np.zeros((4, 4)), 1, 0)


class _CentreInk:
    """A stand-in model: predicts 1 when the centre pixel has ink, else 0 (two 'classes')."""

    def predict(self, x, batch_size=None, verbose=0):
        ink = x[:, 2, 2, 0] > 0
        return np.stack([~ink, ink], axis=1).astype(np.float32)


def test_shifted_accuracy_counts_what_the_model_gets_right_after_the_shift():
    x = np.zeros((2, 5, 5, 1), dtype=np.float32)
    x[0, 2, 2] = 1.0  # a single dot in the centre: class 1
    y = np.array([1, 0])
    model = _CentreInk()
    assert shifted_accuracy(model, x, y, 0) == 1.0
    # Any one-pixel move takes the dot off the centre: image 0 becomes wrong, image 1 stays right.
    assert shifted_accuracy(model, x, np.eye(2)[y], 1) == 0.5
    assert robustness_curve(model, x, y, 2) == [1.0, 0.5, 0.5]
    with pytest.raises(ValueError, match="pixels"):
        shifted_accuracy(model, x, y, -1)
