"""Helpers added for chapters 1-3: the hand-made edge kernels and ``compose_conv2d``.

``compose_conv2d`` claims that two stacked linear convolutions are one
convolution; these tests check it against ``conv2d`` applied twice (and against
Keras) on random shapes, and check that it refuses kernels that do not chain.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cnn_helpers

cnn_helpers.import_tensorflow_quietly()
import keras  # noqa: E402

from cnn_helpers import layers as L  # noqa: E402

FAST = settings(max_examples=40, deadline=None, database=None)


def test_edge_kernels_are_prewitt_and_fresh():
    k = L.edge_kernels()
    assert set(k) == {"vertical", "horizontal"}
    np.testing.assert_array_equal(k["vertical"], [[-1, 0, 1]] * 3)
    np.testing.assert_array_equal(k["horizontal"], k["vertical"].T)
    for kernel in k.values():
        assert kernel.shape == (3, 3) and kernel.dtype == np.float64 and kernel.sum() == 0
    k["vertical"][0, 0] = 99  # the caller's copy only
    assert L.edge_kernels()["vertical"][0, 0] == -1


def test_edge_kernels_respond_to_the_sides_of_a_stroke():
    image = np.zeros((8, 8))
    image[:, 3:5] = 1.0  # a vertical bar, 2 pixels wide
    k = L.edge_kernels()
    v = L.conv2d(image[..., None], k["vertical"][:, :, None, None])[..., 0]
    h = L.conv2d(image[..., None], k["horizontal"][:, :, None, None])[..., 0]
    # output column j looks at input columns j..j+2: left side of the bar positive, right side negative
    assert (v[:, 1] > 0).all() and (v[:, 3] < 0).all() and (v[:, 5] == 0).all()
    assert not h.any(), "a vertical bar has no horizontal edges"
    np.testing.assert_allclose(
        L.conv2d(image.T[..., None], k["horizontal"][:, :, None, None])[..., 0], v.T
    )


@FAST
@given(
    h1=st.integers(1, 3), w1=st.integers(1, 3), h2=st.integers(1, 3), w2=st.integers(1, 3),
    c_in=st.integers(1, 3), c_mid=st.integers(1, 3), c_out=st.integers(1, 3),
    biases=st.booleans(), seed=st.integers(0, 2**32 - 1),
)
def test_two_stacked_linear_convolutions_are_one(h1, w1, h2, w2, c_in, c_mid, c_out, biases, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(2, 9, 8, c_in))
    k1, k2 = rng.normal(size=(h1, w1, c_in, c_mid)), rng.normal(size=(h2, w2, c_mid, c_out))
    b1, b2 = (rng.normal(size=c_mid), rng.normal(size=c_out)) if biases else (None, None)
    kernel, bias = L.compose_conv2d(k1, b1, k2, b2)
    assert kernel.shape == (h1 + h2 - 1, w1 + w2 - 1, c_in, c_out) and bias.shape == (c_out,)
    twice = L.conv2d(L.conv2d(x, k1, b1), k2, b2)
    once = L.conv2d(x, kernel, bias)
    np.testing.assert_allclose(once, twice, atol=1e-9, rtol=1e-9)


def test_composed_kernel_in_keras_matches_two_keras_layers():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.random((3, 12, 12, 1)).astype("float32")
    first = keras.layers.Conv2D(4, 3, bias_initializer="random_normal")
    second = keras.layers.Conv2D(2, 3, bias_initializer="random_normal")
    stacked = np.asarray(second(first(x)))
    kernel, bias = L.compose_conv2d(*first.get_weights(), *second.get_weights())
    single = keras.layers.Conv2D(2, 5)
    single.build((None, 12, 12, 1))
    single.set_weights([kernel.astype("float32"), bias.astype("float32")])
    np.testing.assert_allclose(np.asarray(single(x)), stacked, atol=1e-5)


def test_compose_conv2d_refuses_kernels_that_do_not_chain():
    with pytest.raises(ValueError, match="kernel1 makes 4 channels"):
        L.compose_conv2d(np.ones((3, 3, 1, 4)), None, np.ones((3, 3, 2, 1)), None)
    with pytest.raises(ValueError, match="shape \\(kh, kw, C_in, C_out\\)"):
        L.compose_conv2d(np.ones((3, 3)), None, np.ones((3, 3, 1, 1)), None)
    with pytest.raises(ValueError, match="bias1 must have shape \\(4,\\)"):
        L.compose_conv2d(np.ones((3, 3, 1, 4)), np.ones(3), np.ones((3, 3, 4, 1)), None)


def test_border_ink_finds_ink_in_the_outer_ring_only():
    images = np.zeros((5, 28, 28), dtype=np.uint8)
    images[1, 0, 13] = 7      # top row
    images[2, 14, 27] = 255   # right column
    images[3, 1, 1] = 255     # just inside the ring
    images[4, 4:24, 4:24] = 1  # a centred 20 x 20 block
    np.testing.assert_array_equal(L.border_ink(images), [False, True, True, False, False])
    np.testing.assert_array_equal(L.border_ink(images, width=2), [False, True, True, True, False])
    np.testing.assert_array_equal(L.border_ink(images[..., None] / 255.0), L.border_ink(images))
    assert L.border_ink(images[1]) is True and L.border_ink(images[0]) is False


def test_border_ink_agrees_with_a_direct_count_on_random_images():
    rng = np.random.default_rng(0)
    images = (rng.random((200, 10, 12)) < 0.02).astype(np.uint8)
    ring = np.ones((10, 12), dtype=bool)
    ring[1:-1, 1:-1] = False
    np.testing.assert_array_equal(L.border_ink(images), images[:, ring].any(axis=1))


@pytest.mark.parametrize("width", [0, -1, 6, 1.5])
def test_border_ink_refuses_bad_widths(width):
    with pytest.raises(ValueError, match="border_ink"):
        L.border_ink(np.zeros((2, 10, 12)), width=width)


def test_border_ink_refuses_bad_shapes():
    with pytest.raises(ValueError, match="border_ink"):
        L.border_ink(np.zeros(5))
