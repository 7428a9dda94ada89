"""The NumPy layers in ``cnn_helpers.layers`` against the Keras layers they imitate.

Property tests (hypothesis) draw shapes, channels, kernel and pool sizes,
strides 1..3, VALID/SAME padding and batch-or-single-image, give the Keras
layer the same weights, and require agreement to 1e-5. Example tests pin the
teaching helper, SAME padding's lopsided border, flatten's order and
softmax's stability; the last group checks that bad input is refused with a
message that says what was expected.
"""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import cnn_helpers
from cnn_helpers.machine import onednn_enabled

tf = cnn_helpers.import_tensorflow_quietly()
import keras  # noqa: E402

from cnn_helpers import layers as L  # noqa: E402

# Few examples each, no deadline (the first Keras call is slow), no .hypothesis/ folder.
FAST = settings(max_examples=40, deadline=None, database=None)
WIDE = settings(FAST, max_examples=100)  # convolution and pooling have the most cases to cover
TOL = dict(atol=1e-5, rtol=1e-5)

paddings = st.sampled_from(["valid", "same"])
steps = st.integers(1, 3)
seeds = st.integers(0, 2**32 - 1)
batch_sizes = st.sampled_from([None, 1, 3])  # None: one image of rank 3


@st.composite
def windowed_inputs(draw, max_window: int = 4):
    """(window (rows, cols), stride (rows, cols), padding, image shape (H, W)).

    With VALID padding the image is drawn at least as large as the window,
    since Keras refuses (or crashes on) anything smaller.
    """
    window = (draw(st.integers(1, max_window)), draw(st.integers(1, max_window)))
    stride = (draw(steps), draw(steps))
    padding = draw(paddings)
    low = window if padding == "valid" else (1, 1)
    image = (draw(st.integers(low[0], 9)), draw(st.integers(low[1], 9)))
    return window, stride, padding, image


def random_images(rng: np.random.Generator, batch: int | None, h: int, w: int, c: int) -> np.ndarray:
    shape = (h, w, c) if batch is None else (batch, h, w, c)
    return rng.uniform(-2, 2, size=shape).astype(np.float32)


def hits_onednn_one_column_bug(h: int, w: int, c_in: int, kernel: tuple, stride: tuple, padding: str) -> bool:
    """Configurations where TensorFlow 2.21's oneDNN Conv2D is wrong (found by the test below).

    With oneDNN on (``TF_ENABLE_ONEDNN_OPTS=1``, as the book trains), a convolution
    of a single-channel input whose output is one column wide, with row stride 1,
    column stride > 1 and a kernel wider than one column, returns zeros for every
    output row after the first. The seed network (stride 1 everywhere) never meets
    it. (The wrong rows hold zeros or leftover memory such as 5.8e-27.) A superset
    of the failing cases, mapped out on all small shapes.
    """
    from cnn_helpers.model import conv_output_size

    (kh, kw), (sh, sw) = kernel, stride
    out_h, out_w = conv_output_size(h, kh, sh, padding), conv_output_size(w, kw, sw, padding)
    return out_w == 1 and out_h > 1 and sh == 1 and sw > 1 and kw > 1 and c_in == 1


#: The bug is asserted only where it was found: TensorFlow 2.21 with oneDNN active.
ONEDNN_ACTIVE = onednn_enabled()  # what TensorFlow runs, not the variable
BUGGY_TENSORFLOW = tf.__version__.startswith("2.21.")


def test_tensorflow_onednn_one_column_bug_is_still_there_and_ours_is_right():
    """Keras (oneDNN) gets rows wrong where the NumPy layer and TensorFlow without oneDNN agree.

    Asserted as a bug only on TensorFlow 2.21 with oneDNN active; with oneDNN off
    (``make portability``) Keras must agree with the NumPy layer. If this test
    fails because Keras now gives the right answer, TensorFlow fixed the bug:
    delete ``hits_onednn_one_column_bug`` and its ``assume`` below.
    """
    rng = np.random.default_rng(0)
    x = rng.uniform(-2, 2, size=(3, 2, 3, 1)).astype(np.float32)
    kernel = rng.normal(size=(1, 2, 1, 1)).astype(np.float32)
    assert hits_onednn_one_column_bug(2, 3, 1, (1, 2), (1, 2), "valid")
    layer = keras.layers.Conv2D(1, (1, 2), strides=(1, 2), use_bias=False)
    layer.build(x.shape)
    layer.set_weights([kernel])
    ours = L.conv2d(x, kernel, stride=(1, 2))
    theirs = np.asarray(layer(x))
    np.testing.assert_allclose(theirs[:, :1], ours[:, :1], atol=1e-5)  # the first row is right
    if ONEDNN_ACTIVE and BUGGY_TENSORFLOW:
        assert not np.allclose(theirs[:, 1:], ours[:, 1:], atol=1e-3), (
            f"TensorFlow {tf.__version__}'s oneDNN bug is gone: see the docstring"
        )
    elif not ONEDNN_ACTIVE:
        np.testing.assert_allclose(theirs, ours, atol=1e-5)

    without_onednn = subprocess.run(
        [sys.executable, "-c", (
            "import os; os.environ['TF_ENABLE_ONEDNN_OPTS'] = '0'; import sys, json, numpy as np\n"
            "import cnn_helpers; cnn_helpers.import_tensorflow_quietly(); import tensorflow as tf\n"
            "x, k = (np.array(a, dtype=np.float32) for a in json.loads(sys.stdin.read()))\n"
            "print(json.dumps(tf.nn.conv2d(x, k, strides=(1, 1, 2, 1), padding='VALID').numpy().tolist()))"
        )],
        input=__import__("json").dumps([x.tolist(), kernel.tolist()]), capture_output=True, text=True, timeout=120,
    )
    assert without_onednn.returncode == 0, without_onednn.stderr[-2000:]
    reference = np.array(__import__("json").loads(without_onednn.stdout))
    np.testing.assert_allclose(ours, reference, atol=1e-5)


def keras_call(layer, x: np.ndarray, single: bool) -> np.ndarray:
    """Run a Keras layer on a batch, or on one image wrapped in a batch of one."""
    out = np.asarray(layer(x[np.newaxis] if single else x))
    return out[0] if single else out


# ---------------------------------------------------------------- agreement with Keras
@WIDE
@given(case=windowed_inputs(), batch=batch_sizes, c_in=st.integers(1, 3), c_out=st.integers(1, 3),
       use_bias=st.booleans(), int_stride=st.booleans(), seed=seeds)
def test_conv2d_matches_keras(case, batch, c_in, c_out, use_bias, int_stride, seed):
    (kh, kw), (sh, sw), padding, (h, w) = case
    stride = sh if int_stride else (sh, sw)
    if ONEDNN_ACTIVE:
        assume(not hits_onednn_one_column_bug(h, w, c_in, (kh, kw), (sh, sh) if int_stride else (sh, sw), padding))
    rng = np.random.default_rng(seed)
    x = random_images(rng, batch, h, w, c_in)
    kernel = rng.normal(size=(kh, kw, c_in, c_out)).astype(np.float32)
    bias = rng.normal(size=c_out).astype(np.float32) if use_bias else None

    layer = keras.layers.Conv2D(c_out, (kh, kw), strides=stride, padding=padding, use_bias=use_bias)
    layer.build((batch or 1, h, w, c_in))
    layer.set_weights([kernel, bias] if use_bias else [kernel])
    expected = keras_call(layer, x, batch is None)

    got = L.conv2d(x, kernel, bias, stride=stride, padding=padding)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, **TOL)


@WIDE
@given(case=windowed_inputs(), batch=batch_sizes, c=st.integers(1, 3), default_stride=st.booleans(),
       kind=st.sampled_from(["max", "avg"]), seed=seeds)
def test_pooling_matches_keras(case, batch, c, default_stride, kind, seed):
    pool, stride, padding, (h, w) = case
    stride = None if default_stride else stride
    x = random_images(np.random.default_rng(seed), batch, h, w, c)

    keras_layer = keras.layers.MaxPooling2D if kind == "max" else keras.layers.AveragePooling2D
    expected = keras_call(keras_layer(pool, strides=stride, padding=padding), x, batch is None)

    ours = L.max_pool2d if kind == "max" else L.avg_pool2d
    got = ours(x, pool, stride=stride, padding=padding)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, **TOL)


@FAST
@given(batch=st.sampled_from([None, 1, 4]), n_in=st.integers(1, 50), units=st.integers(1, 12),
       use_bias=st.booleans(), seed=seeds)
def test_dense_matches_keras(batch, n_in, units, use_bias, seed):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, 2, size=(n_in,) if batch is None else (batch, n_in)).astype(np.float32)
    weights = rng.normal(size=(n_in, units)).astype(np.float32)
    bias = rng.normal(size=units).astype(np.float32) if use_bias else None

    layer = keras.layers.Dense(units, use_bias=use_bias)
    layer.build((batch or 1, n_in))
    layer.set_weights([weights, bias] if use_bias else [weights])
    expected = keras_call(layer, x, batch is None)

    got = L.dense(x, weights, bias)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, **TOL)


@FAST
@given(batch=batch_sizes, h=st.integers(1, 6), w=st.integers(1, 6), c=st.integers(1, 4), seed=seeds)
def test_flatten_and_relu_match_keras(batch, h, w, c, seed):
    x = random_images(np.random.default_rng(seed), batch, h, w, c)
    single = batch is None
    np.testing.assert_allclose(L.flatten(x), keras_call(keras.layers.Flatten(), x, single), **TOL)
    np.testing.assert_allclose(L.relu(x), np.asarray(keras.layers.ReLU()(x)), **TOL)


@FAST
@given(shape=st.lists(st.integers(1, 6), min_size=1, max_size=3), data=st.data(),
       scale=st.sampled_from([1.0, 30.0]), seed=seeds)
def test_softmax_matches_keras(shape, data, scale, seed):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1), label="axis")
    shape[axis] = max(shape[axis], 2)  # Keras warns about a softmax over a single value
    x = (scale * np.random.default_rng(seed).normal(size=shape)).astype(np.float32)
    expected = np.asarray(keras.layers.Softmax(axis=axis)(x))
    got = L.softmax(x, axis=axis)
    np.testing.assert_allclose(got, expected, **TOL)
    np.testing.assert_allclose(got.sum(axis=axis), 1.0, atol=1e-12)


# ---------------------------------------------------------------- worked examples
def test_conv2d_at_hand_computed_3x3():
    image = np.arange(16).reshape(4, 4)  # rows 0-3, 4-7, 8-11, 12-15
    kernel = np.arange(1, 10).reshape(3, 3)  # 1..9, not symmetric
    # Window at (0, 0) is [[0, 1, 2], [4, 5, 6], [8, 9, 10]]; multiply by [[1, 2, 3], [4, 5, 6], [7, 8, 9]]:
    # (0 + 2 + 6) + (16 + 25 + 36) + (56 + 72 + 90) = 303.
    assert L.conv2d_at(image, kernel, 0, 0) == 303
    # A flipped kernel (true convolution) would give 147: Keras does not flip.
    assert L.conv2d_at(image, kernel[::-1, ::-1], 0, 0) == 147
    # Sliding one column right adds 1 to every pixel of the window, so the sum grows by 1+2+...+9 = 45.
    assert L.conv2d_at(image, kernel, 0, 1) == 303 + 45
    # One row down adds 4 to every pixel: 303 + 4 * 45.
    assert L.conv2d_at(image, kernel, 1, 0) == 303 + 180


def test_conv2d_at_finds_a_vertical_edge():
    image = np.array([[0, 0, 1, 1, 1]] * 5)  # dark left, bright right
    kernel = np.array([[-1, 0, 1]] * 3)  # responds to dark-to-bright, left to right
    row = [L.conv2d_at(image, kernel, 0, j) for j in range(3)]
    assert row == [3.0, 3.0, 0.0]


def test_conv2d_at_agrees_with_conv2d():
    rng = np.random.default_rng(1)
    image, kernel = rng.normal(size=(6, 5)), rng.normal(size=(3, 2))
    full = L.conv2d(image[:, :, None], kernel[:, :, None, None])[:, :, 0]
    by_hand = [[L.conv2d_at(image, kernel, i, j) for j in range(4)] for i in range(4)]
    np.testing.assert_allclose(full, by_hand, atol=1e-12)


def test_same_padding_puts_the_extra_pixel_after():
    # 4x4 of ones, 2x2 kernel of ones, stride 1, SAME: output 4x4, one row and one
    # column of padding in total, all of it at the bottom and right.
    out = L.conv2d(np.ones((4, 4, 1)), np.ones((2, 2, 1, 1)), padding="same")[:, :, 0]
    expected = [[4, 4, 4, 2], [4, 4, 4, 2], [4, 4, 4, 2], [2, 2, 2, 1]]
    np.testing.assert_array_equal(out, expected)
    layer = keras.layers.Conv2D(1, 2, padding="same", use_bias=False)
    layer.build((1, 4, 4, 1))
    layer.set_weights([np.ones((2, 2, 1, 1))])
    np.testing.assert_allclose(np.asarray(layer(np.ones((1, 4, 4, 1))))[0, :, :, 0], expected)


def test_padding_is_case_insensitive():
    x, k = np.ones((5, 5, 2)), np.ones((3, 3, 2, 1))
    np.testing.assert_array_equal(L.conv2d(x, k, padding="SAME"), L.conv2d(x, k, padding="same"))
    np.testing.assert_array_equal(L.max_pool2d(x, padding="Valid"), L.max_pool2d(x))


def test_valid_pooling_drops_leftovers():
    x = np.arange(25.0).reshape(5, 5, 1)
    np.testing.assert_array_equal(L.max_pool2d(x)[:, :, 0], [[6, 8], [16, 18]])
    np.testing.assert_array_equal(L.avg_pool2d(x)[:, :, 0], [[3, 5], [13, 15]])


def test_same_average_pooling_ignores_padding():
    x = np.arange(9.0).reshape(3, 3, 1)  # 2x2 SAME: one padded row and column, bottom and right
    expected = [[(0 + 1 + 3 + 4) / 4, (2 + 5) / 2], [(6 + 7) / 2, 8]]
    np.testing.assert_allclose(L.avg_pool2d(x, 2, padding="same")[:, :, 0], expected)
    keras_out = np.asarray(keras.layers.AveragePooling2D(2, padding="same")(x[None]))[0, :, :, 0]
    np.testing.assert_allclose(keras_out, expected)
    # Max pooling pads with -inf, so an all-negative image stays negative.
    np.testing.assert_array_equal(L.max_pool2d(-1 - x, 2, padding="same")[:, :, 0], [[-1, -3], [-7, -9]])


def test_flatten_order_is_channels_last():
    x = np.arange(2 * 3 * 4 * 5).reshape(2, 3, 4, 5)  # (N, H, W, C)
    flat = L.flatten(x)
    np.testing.assert_array_equal(flat, np.asarray(keras.layers.Flatten()(x)))
    # Entry (row r, column c, channel ch) lands at (r * W + c) * C + ch.
    n, r, c, ch = 1, 2, 3, 4
    assert flat[n, (r * 4 + c) * 5 + ch] == x[n, r, c, ch]
    assert L.flatten(x[0]).shape == (3 * 4 * 5,)
    np.testing.assert_array_equal(L.flatten(x[1]), flat[1])


def test_softmax_survives_huge_logits():
    logits = np.array([[1000.0, 1000.0, 999.0], [-1000.0, 0.0, 1000.0]])
    # Overflow (exp(1000) = inf) or inf/inf = nan would fail the test; exp(-2000)
    # underflowing to 0 is harmless and expected.
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        p = L.softmax(logits)
    assert np.all(np.isfinite(p))
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    e = np.exp(-1.0)
    np.testing.assert_allclose(p[0], [1 / (2 + e), 1 / (2 + e), e / (2 + e)])
    np.testing.assert_allclose(p[1], [0.0, 0.0, 1.0])


def test_relu_and_dense_examples():
    np.testing.assert_array_equal(L.relu([-2, -0.5, 0, 3]), [0, 0, 0, 3])
    w = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    np.testing.assert_array_equal(L.dense([1, 2, 3], w, [0.5, -1.0]), [4.5, 6.0])
    np.testing.assert_array_equal(L.dense([[1, 2, 3]], w), [[4.0, 7.0]])


def test_layers_module_does_not_import_tensorflow():
    code = "import sys, cnn_helpers.layers; sys.exit('tensorflow' in sys.modules or 'keras' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0


# ---------------------------------------------------------------- bad input
IMG = np.zeros((5, 5, 2))
K3 = np.zeros((3, 3, 2, 4))

BAD_INPUTS = [
    # conv2d
    (lambda: L.conv2d(np.zeros((28, 28)), K3),
     r"conv2d: x must have shape \(H, W, C\) or \(N, H, W, C\); got \(28, 28\)"),
    (lambda: L.conv2d(np.zeros((1, 1, 5, 5, 2)), K3), r"conv2d: x must have shape .*; got \(1, 1, 5, 5, 2\)"),
    (lambda: L.conv2d(IMG, np.zeros((3, 3, 2))),
     r"conv2d: kernel must have shape \(kh, kw, C_in, C_out\); got \(3, 3, 2\)"),
    (lambda: L.conv2d(IMG, np.zeros((3, 3, 1, 4))),
     r"conv2d: kernel expects C_in=1 input channels .* but x has 2"),
    (lambda: L.conv2d(IMG, K3, np.zeros(3)), r"conv2d: bias must have shape \(C_out,\) = \(4,\); got \(3,\)"),
    (lambda: L.conv2d(IMG, np.zeros((6, 3, 2, 4))),
     r"conv2d: a 6x3 window does not fit in the 5x5 input with padding='valid'"),
    (lambda: L.conv2d(IMG, K3, padding="full"), r"conv2d: padding must be 'valid' or 'same'; got 'full'"),
    (lambda: L.conv2d(IMG, K3, padding=None), r"conv2d: padding must be 'valid' or 'same'; got None"),
    (lambda: L.conv2d(IMG, K3, stride=0),
     r"conv2d: stride must be a positive int or a pair of positive ints; got 0"),
    (lambda: L.conv2d(IMG, K3, stride=(1, -2)), r"conv2d: stride must be .*; got \(1, -2\)"),
    (lambda: L.conv2d(IMG, K3, stride=(1, 2, 3)), r"conv2d: stride must be .*; got \(1, 2, 3\)"),
    (lambda: L.conv2d(IMG, K3, stride=1.5), r"conv2d: stride must be .*; got 1.5"),
    (lambda: L.conv2d(np.full((5, 5, 2), "a"), K3), r"conv2d: x must hold real numbers; got dtype <U1"),
    # conv2d_at
    (lambda: L.conv2d_at(IMG, np.ones((3, 3)), 0, 0),
     r"conv2d_at: x must be one single-channel image of shape \(H, W\); got \(5, 5, 2\)"),
    (lambda: L.conv2d_at(np.ones((5, 5)), np.ones(3), 0, 0),
     r"conv2d_at: kernel must have shape \(kh, kw\); got \(3,\)"),
    (lambda: L.conv2d_at(np.ones((5, 5)), np.ones((3, 3)), 3, 0),
     r"conv2d_at: a 3x3 window at \(i, j\) = \(3, 0\) does not fit in the 5x5 image; i must be in 0..2"),
    (lambda: L.conv2d_at(np.ones((5, 5)), np.ones((3, 3)), 0, -1), r"conv2d_at: .* \(0, -1\) does not fit"),
    (lambda: L.conv2d_at(np.ones((5, 5)), np.ones((3, 3)), 1.0, 0), r"conv2d_at: i and j must be ints; got i=1.0, j=0"),
    # pooling
    (lambda: L.max_pool2d(np.zeros((4, 4))),
     r"max_pool2d: x must have shape \(H, W, C\) or \(N, H, W, C\); got \(4, 4\)"),
    (lambda: L.max_pool2d(IMG, pool=0),
     r"max_pool2d: pool must be a positive int or a pair of positive ints; got 0"),
    (lambda: L.max_pool2d(IMG, stride=(2, 0)), r"max_pool2d: stride must be .*; got \(2, 0\)"),
    (lambda: L.max_pool2d(IMG, pool=6),
     r"max_pool2d: a 6x6 window does not fit in the 5x5 input with padding='valid'"),
    (lambda: L.avg_pool2d(IMG, padding="causal"),
     r"avg_pool2d: padding must be 'valid' or 'same'; got 'causal'"),
    (lambda: L.avg_pool2d(np.zeros((2, 0, 5, 1))),
     r"avg_pool2d: x must have H, W and C of at least 1; got \(2, 0, 5, 1\)"),
    (lambda: L.avg_pool2d(np.zeros(5)), r"avg_pool2d: x must have shape .*; got \(5,\)"),
    (lambda: L.avg_pool2d(IMG, pool=(2, 7)), r"avg_pool2d: a 2x7 window does not fit in the 5x5 input"),
    # flatten, dense, softmax, relu
    (lambda: L.flatten(np.zeros((3, 4))),
     r"flatten: x must have shape \(H, W, C\) or \(N, H, W, C\); got \(3, 4\)"),
    (lambda: L.dense(np.zeros((2, 3, 4)), np.zeros((4, 2))),
     r"dense: x must have shape \(inputs,\) or \(N, inputs\); got \(2, 3, 4\)"),
    (lambda: L.dense(np.zeros(4), np.zeros(4)),
     r"dense: weights must have shape \(inputs, units\); got \(4,\)"),
    (lambda: L.dense(np.zeros((2, 5)), np.zeros((4, 3))),
     r"dense: x has 5 inputs \(shape \(2, 5\)\) but weights expect 4 \(weights shape \(4, 3\)\)"),
    (lambda: L.dense(np.zeros(4), np.zeros((4, 3)), np.zeros(4)),
     r"dense: bias must have shape \(units,\) = \(3,\); got \(4,\)"),
    (lambda: L.softmax(np.zeros((2, 3)), axis=2), r"softmax: axis 2 is out of range for x of shape \(2, 3\)"),
    (lambda: L.softmax(3.0), r"softmax: x must have at least one axis and one value; got shape \(\)"),
    (lambda: L.relu(["a", "b"]), r"relu: x must hold real numbers; got dtype <U1"),
]


@pytest.mark.parametrize(
    "call, message", BAD_INPUTS, ids=[f"{m.split(':')[0]}-{i}" for i, (_, m) in enumerate(BAD_INPUTS)]
)
def test_bad_input_is_refused_with_a_clear_message(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_output_size_and_same_pads_are_tensorflows_rule():
    from cnn_helpers.layers import output_size, same_pads

    assert [output_size(n, 3, 2, "same") for n in (5, 6, 7)] == [3, 3, 4]
    assert [output_size(n, 3, 2, "valid") for n in (5, 6, 7)] == [2, 2, 3]
    # 6 pixels, window 3, stride 2: 3 outputs need 7 pixels, the extra one after.
    assert same_pads(6, 3, 2) == (0, 1) and same_pads(5, 3, 2) == (1, 1) and same_pads(4, 1, 1) == (0, 0)
    with pytest.raises(ValueError, match="does not fit"):
        output_size(2, 3, 1, "valid")


# ---------------------------------------------------------------- teaching helpers: edge kernels, stacked convolutions, border ink
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
