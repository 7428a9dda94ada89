"""The backward passes in ``cnn_helpers.layers`` against TensorFlow's own gradients.

Each ``<layer>_backward`` is compared with ``tf.GradientTape`` on the same
forward: the tape is given the same ``grad_out`` (as ``output_gradients``), so
both compute the gradient of ``sum(output * grad_out)`` with respect to every
array argument. Property tests (hypothesis) draw shapes, channels, kernel and
pool sizes, strides 1..3, VALID/SAME padding and batch-or-single-image, in
the style of ``test_layers.py``, and require agreement to 1e-5 (absolute and
relative). TensorFlow's oneDNN Conv2D forward bug (``test_layers.py``) needs
no skip here: the gradients do not use the forward's output. Example tests
pin max pooling's choice among tied inputs (the same as TensorFlow's) and a
few hand-computed gradients; the last group checks that bad input is refused
with a message that says what was expected.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cnn_helpers

tf = cnn_helpers.import_tensorflow_quietly()
import keras  # noqa: E402

from cnn_helpers import layers as L  # noqa: E402
from test_layers import (  # noqa: E402  (the forward tests' strategies and the TF bug map)
    batch_sizes,
    hits_onednn_one_column_bug,
    random_images,
    seeds,
    windowed_inputs,
)

FAST = settings(max_examples=40, deadline=None, database=None)
WIDE = settings(FAST, max_examples=100)
TOL = dict(atol=1e-5, rtol=1e-5)


def tape_gradients(forward, arrays: list[np.ndarray], grad_out: np.ndarray) -> list[np.ndarray]:
    """TensorFlow's gradients of ``sum(forward(*arrays) * grad_out)`` w.r.t. each array."""
    tensors = [tf.constant(a) for a in arrays]
    with tf.GradientTape() as tape:
        for t in tensors:
            tape.watch(t)
        out = forward(*tensors)
    grads = tape.gradient(out, tensors, output_gradients=tf.constant(grad_out))
    return [np.asarray(g) for g in grads]


def as_batch(x: np.ndarray, single: bool) -> np.ndarray:
    return x[np.newaxis] if single else x


# ---------------------------------------------------------------- agreement with TensorFlow
@WIDE
@given(case=windowed_inputs(), batch=batch_sizes, c_in=st.integers(1, 3),
       c_out=st.integers(1, 3), int_stride=st.booleans(), seed=seeds)
def test_conv2d_backward_matches_tensorflow(case, batch, c_in, c_out, int_stride, seed):
    (kh, kw), (sh, sw), padding, (h, w) = case
    stride = sh if int_stride else (sh, sw)
    strides = (sh, sh) if int_stride else (sh, sw)
    rng = np.random.default_rng(seed)
    x = random_images(rng, batch, h, w, c_in)
    kernel = rng.normal(size=(kh, kw, c_in, c_out)).astype(np.float32)
    bias = rng.normal(size=c_out).astype(np.float32)
    out = L.conv2d(x, kernel, bias, stride=stride, padding=padding)
    grad_out = rng.normal(size=out.shape).astype(np.float32)

    single = batch is None
    def forward(x_, k_, b_):
        return tf.nn.conv2d(x_, k_, strides=strides, padding=padding.upper()) + b_
    gx, gk, gb = tape_gradients(
        forward, [as_batch(x, single), kernel, bias], as_batch(grad_out, single)
    )
    got_x, got_k, got_b = L.conv2d_backward(x, kernel, grad_out, stride=stride, padding=padding)
    assert got_x.shape == x.shape and got_k.shape == kernel.shape and got_b.shape == (c_out,)
    np.testing.assert_allclose(got_x, gx[0] if single else gx, **TOL)
    np.testing.assert_allclose(got_k, gk, **TOL)
    np.testing.assert_allclose(got_b, gb, **TOL)


@WIDE
@given(case=windowed_inputs(), batch=batch_sizes, c=st.integers(1, 3),
       default_stride=st.booleans(), ties=st.booleans(), seed=seeds)
def test_max_pool2d_backward_matches_tensorflow(case, batch, c, default_stride, ties, seed):
    """With ``ties`` the pixels take only the values 0, 1, 2, so most windows hold a tie."""
    pool, stride, padding, (h, w) = case
    stride = None if default_stride else stride
    rng = np.random.default_rng(seed)
    x = random_images(rng, batch, h, w, c)
    if ties:
        x = rng.integers(0, 3, size=x.shape).astype(np.float32)
    out = L.max_pool2d(x, pool, stride=stride, padding=padding)
    grad_out = rng.normal(size=out.shape).astype(np.float32)

    single = batch is None
    def forward(x_):
        return tf.nn.max_pool2d(x_, pool, stride or pool, padding.upper())
    (expected,) = tape_gradients(forward, [as_batch(x, single)], as_batch(grad_out, single))
    got = L.max_pool2d_backward(x, grad_out, pool, stride=stride, padding=padding)
    assert got.shape == x.shape
    np.testing.assert_allclose(got, expected[0] if single else expected, **TOL)


@FAST
@given(batch=batch_sizes, h=st.integers(1, 6), w=st.integers(1, 6), c=st.integers(1, 4),
       seed=seeds)
def test_relu_and_flatten_backward_match_tensorflow(batch, h, w, c, seed):
    rng = np.random.default_rng(seed)
    x = random_images(rng, batch, h, w, c)
    x[rng.random(x.shape) < 0.2] = 0.0  # exact zeros: the slope there must be 0, as in TF
    grad = rng.normal(size=x.shape).astype(np.float32)
    (expected,) = tape_gradients(tf.nn.relu, [x], grad)
    np.testing.assert_allclose(L.relu_backward(x, grad), expected, **TOL)

    single = batch is None
    flat_grad = rng.normal(size=L.flatten(x).shape).astype(np.float32)
    def forward(x_):
        return tf.reshape(x_, (x_.shape[0], -1))
    (expected,) = tape_gradients(forward, [as_batch(x, single)], as_batch(flat_grad, single))
    got = L.flatten_backward(x, flat_grad)
    np.testing.assert_allclose(got, expected[0] if single else expected, **TOL)


@FAST
@given(batch=st.sampled_from([None, 1, 4]), n_in=st.integers(1, 50), units=st.integers(1, 12),
       seed=seeds)
def test_dense_backward_matches_tensorflow(batch, n_in, units, seed):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, 2, size=(n_in,) if batch is None else (batch, n_in)).astype(np.float32)
    weights = rng.normal(size=(n_in, units)).astype(np.float32)
    bias = rng.normal(size=units).astype(np.float32)
    grad_out = rng.normal(size=(*x.shape[:-1], units)).astype(np.float32)

    single = batch is None
    gx, gw, gb = tape_gradients(
        lambda x_, w_, b_: x_ @ w_ + b_,
        [np.atleast_2d(x), weights, bias], np.atleast_2d(grad_out),
    )
    got_x, got_w, got_b = L.dense_backward(x, weights, grad_out)
    assert got_x.shape == x.shape and got_w.shape == weights.shape and got_b.shape == (units,)
    np.testing.assert_allclose(got_x, gx[0] if single else gx, **TOL)
    np.testing.assert_allclose(got_w, gw, **TOL)
    np.testing.assert_allclose(got_b, gb, **TOL)


@FAST
@given(batch=st.sampled_from([None, 1, 5]), classes=st.integers(2, 10),
       scale=st.sampled_from([1.0, 30.0]), seed=seeds)
def test_softmax_cross_entropy_matches_keras(batch, classes, scale, seed):
    rng = np.random.default_rng(seed)
    n = 1 if batch is None else batch
    logits = (scale * rng.normal(size=(n, classes))).astype(np.float32)
    labels = keras.utils.to_categorical(rng.integers(0, classes, size=n), classes)
    if batch is None:
        logits, labels = logits[0], labels[0]

    def loss(z):
        per_image = keras.losses.categorical_crossentropy(
            np.atleast_2d(labels), tf.reshape(z, (n, classes)), from_logits=True
        )
        return tf.reduce_mean(per_image)

    (expected_grad,) = tape_gradients(loss, [logits], np.float32(1.0))
    np.testing.assert_allclose(L.softmax_cross_entropy(logits, labels), loss(logits), **TOL)
    np.testing.assert_allclose(L.softmax_cross_entropy_backward(logits, labels), expected_grad,
                               **TOL)


# ---------------------------------------------------------------- worked examples
def test_max_pool_tie_goes_to_the_first_in_reading_order_as_in_tensorflow():
    x = np.zeros((4, 4, 1))
    x[0, 1] = x[1, 0] = 1.0  # top-left window: a tie between (0, 1) and (1, 0)
    x[2:, 2:] = 5.0          # bottom-right window: four equal values
    # Top-right and bottom-left windows are all zeros: a four-way tie at 0.
    expected = np.zeros((4, 4))
    expected[0, 1] = expected[0, 2] = expected[2, 0] = expected[2, 2] = 1.0
    got = L.max_pool2d_backward(x, np.ones((2, 2, 1)))[:, :, 0]
    np.testing.assert_array_equal(got, expected)
    (tf_grad,) = tape_gradients(lambda t: tf.nn.max_pool2d(t, 2, 2, "VALID"),
                                [x[None].astype(np.float32)], np.ones((1, 2, 2, 1), np.float32))
    np.testing.assert_array_equal(tf_grad[0, :, :, 0], expected)


def test_tensorflow_onednn_forward_bug_leaves_the_gradients_right():
    """The configurations where TF 2.21's oneDNN Conv2D *forward* is wrong (see
    ``test_layers.py``) are not skipped above: TensorFlow's gradients of a
    convolution do not use the forward's output, and they agree with ours there."""
    rng = np.random.default_rng(0)
    x = rng.uniform(-2, 2, size=(3, 2, 3, 1)).astype(np.float32)
    kernel = rng.normal(size=(1, 2, 1, 1)).astype(np.float32)
    grad_out = rng.normal(size=(3, 2, 1, 1)).astype(np.float32)
    assert hits_onednn_one_column_bug(2, 3, 1, (1, 2), (1, 2), "valid")
    def forward(x_, k_):
        return tf.nn.conv2d(x_, k_, strides=(1, 2), padding="VALID")
    gx, gk = tape_gradients(forward, [x, kernel], grad_out)
    got_x, got_k, _ = L.conv2d_backward(x, kernel, grad_out, stride=(1, 2))
    np.testing.assert_allclose(got_x, gx, **TOL)
    np.testing.assert_allclose(got_k, gk, **TOL)


def test_overlapping_pool_windows_add_up_at_a_shared_winner():
    x = np.zeros((3, 3, 1))
    x[1, 1] = 9.0  # the centre is the largest value of all four 2x2 windows at stride 1
    got = L.max_pool2d_backward(x, np.ones((2, 2, 1)), pool=2, stride=1)[:, :, 0]
    assert got[1, 1] == 4.0 and got.sum() == 4.0


def test_conv2d_backward_by_hand_on_one_window():
    # One 3x3 image, one 3x3 kernel, VALID: a single output, x . k + b.
    x = np.arange(9.0).reshape(3, 3, 1)
    k = np.arange(1.0, 10.0).reshape(3, 3, 1, 1)
    gx, gk, gb = L.conv2d_backward(x, k, np.array([[[2.0]]]))
    np.testing.assert_array_equal(gx, 2 * k[:, :, :, 0])  # d(x . k)/dx = k
    np.testing.assert_array_equal(gk, 2 * x[:, :, :, None])  # d(x . k)/dk = x
    np.testing.assert_array_equal(gb, [2.0])


def test_conv2d_backward_same_padding_drops_the_border_gradient():
    # A 1x1 image, 3x3 kernel, SAME: the only window is centred on the pixel, and
    # eight of its nine weights meet the zero border, which is not part of x.
    k = np.arange(1.0, 10.0).reshape(3, 3, 1, 1)
    gx, gk, _ = L.conv2d_backward(np.full((1, 1, 1), 3.0), k, np.ones((1, 1, 1)), padding="same")
    assert gx.shape == (1, 1, 1) and gx[0, 0, 0] == k[1, 1, 0, 0]
    expected_gk = np.zeros((3, 3, 1, 1))
    expected_gk[1, 1] = 3.0
    np.testing.assert_array_equal(gk, expected_gk)


def test_dense_backward_by_hand():
    w = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    gx, gw, gb = L.dense_backward([1.0, 2.0, 3.0], w, [1.0, -1.0])
    np.testing.assert_array_equal(gx, [1.0, -2.0, 0.0])  # W @ grad_out
    np.testing.assert_array_equal(gw, [[1.0, -1.0], [2.0, -2.0], [3.0, -3.0]])  # outer product
    np.testing.assert_array_equal(gb, [1.0, -1.0])


def test_softmax_cross_entropy_by_hand():
    logits, label = np.zeros(4), np.array([0.0, 0.0, 1.0, 0.0])  # four equal scores
    assert np.isclose(L.softmax_cross_entropy(logits, label), np.log(4))
    np.testing.assert_allclose(L.softmax_cross_entropy_backward(logits, label),
                               [0.25, 0.25, -0.75, 0.25])
    # A batch averages: the gradient of each row is divided by the batch size.
    batch_grad = L.softmax_cross_entropy_backward(np.zeros((2, 4)), np.stack([label, label]))
    np.testing.assert_allclose(batch_grad, [[0.125, 0.125, -0.375, 0.125]] * 2)
    huge = L.softmax_cross_entropy([1000.0, -1000.0], [0.0, 1.0])  # no overflow: 2000
    assert np.isclose(huge, 2000.0)


def test_gradients_agree_with_finite_differences_through_a_small_network():
    """conv -> relu -> pool -> flatten -> dense -> softmax cross-entropy, chained by hand."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, 6, 6, 1))
    k, kb = rng.normal(size=(3, 3, 1, 2)), rng.normal(size=2)
    w, wb = rng.normal(size=(8, 3)), rng.normal(size=3)
    y = np.eye(3)[[0, 2]]

    def loss(k_):
        h = L.relu(L.conv2d(x, k_, kb))
        return L.softmax_cross_entropy(L.dense(L.flatten(L.max_pool2d(h)), w, wb), y)

    c = L.conv2d(x, k, kb)
    h = L.relu(c)
    p = L.max_pool2d(h)
    z = L.dense(L.flatten(p), w, wb)
    g = L.softmax_cross_entropy_backward(z, y)
    g, _, _ = L.dense_backward(L.flatten(p), w, g)
    g = L.max_pool2d_backward(h, L.flatten_backward(p, g))
    _, grad_k, _ = L.conv2d_backward(x, k, L.relu_backward(c, g))

    eps, numeric = 1e-6, np.zeros_like(k)
    for idx in np.ndindex(k.shape):
        step = np.zeros_like(k)
        step[idx] = eps
        numeric[idx] = (loss(k + step) - loss(k - step)) / (2 * eps)
    np.testing.assert_allclose(grad_k, numeric, atol=1e-7, rtol=1e-5)
    assert np.abs(grad_k).max() > 1e-3  # a real gradient, not zeros on both sides


# ---------------------------------------------------------------- bad input
IMG = np.zeros((5, 5, 2))
K3 = np.zeros((3, 3, 2, 4))
G3 = np.zeros((3, 3, 4))  # conv2d(IMG, K3)'s output shape

BAD_INPUTS = [
    (lambda: L.conv2d_backward(np.zeros((5, 5)), K3, G3),
     r"conv2d_backward: x must have shape \(H, W, C\) or \(N, H, W, C\); got \(5, 5\)"),
    (lambda: L.conv2d_backward(IMG, np.zeros((3, 3, 2)), G3),
     r"conv2d_backward: kernel must have shape \(kh, kw, C_in, C_out\); got \(3, 3, 2\)"),
    (lambda: L.conv2d_backward(IMG, np.zeros((3, 3, 1, 4)), G3),
     r"conv2d_backward: kernel expects C_in=1 input channels .* but x has 2"),
    (lambda: L.conv2d_backward(IMG, K3, np.zeros((1, 3, 3, 4))),
     r"conv2d_backward: grad_out must have the shape of the forward output, \(3, 3, 4\); "
     r"got \(1, 3, 3, 4\)"),
    (lambda: L.conv2d_backward(IMG, K3, G3, stride=2),
     r"conv2d_backward: grad_out must have the shape of the forward output, \(2, 2, 4\)"),
    (lambda: L.conv2d_backward(IMG, K3, G3, padding="full"),
     r"conv2d_backward: padding must be 'valid' or 'same'; got 'full'"),
    (lambda: L.conv2d_backward(IMG, K3, G3, stride=0),
     r"conv2d_backward: stride must be a positive int or a pair of positive ints; got 0"),
    (lambda: L.conv2d_backward(IMG, np.zeros((6, 3, 2, 4)), G3),
     r"conv2d_backward: a 6x3 window does not fit in the 5x5 input with padding='valid'"),
    (lambda: L.conv2d_backward(IMG, K3, np.full((3, 3, 4), "a")),
     r"conv2d_backward: grad_out must hold real numbers; got dtype <U1"),
    (lambda: L.relu_backward(np.zeros((2, 3)), np.zeros(6)),
     r"relu_backward: grad_out must have the shape of the forward output, \(2, 3\); got \(6,\)"),
    (lambda: L.max_pool2d_backward(np.zeros((4, 4)), np.zeros((2, 2))),
     r"max_pool2d_backward: x must have shape \(H, W, C\) or \(N, H, W, C\); got \(4, 4\)"),
    (lambda: L.max_pool2d_backward(IMG, np.zeros((3, 3, 2))),
     r"max_pool2d_backward: grad_out must have the shape of the forward output, \(2, 2, 2\)"),
    (lambda: L.max_pool2d_backward(IMG, np.zeros((2, 2, 2)), pool=(2, 0)),
     r"max_pool2d_backward: pool must be a positive int or a pair of positive ints"),
    (lambda: L.max_pool2d_backward(IMG, np.zeros((1, 1, 2)), pool=6),
     r"max_pool2d_backward: a 6x6 window does not fit in the 5x5 input"),
    (lambda: L.flatten_backward(np.zeros((3, 4)), np.zeros(12)),
     r"flatten_backward: x must have shape \(H, W, C\) or \(N, H, W, C\); got \(3, 4\)"),
    (lambda: L.flatten_backward(np.zeros((2, 3, 4, 5)), np.zeros(120)),
     r"flatten_backward: grad_out must have the shape of the forward output, \(2, 60\); "
     r"got \(120,\)"),
    (lambda: L.dense_backward(np.zeros((2, 5)), np.zeros((4, 3)), np.zeros((2, 3))),
     r"dense_backward: x has 5 inputs \(shape \(2, 5\)\) but weights expect 4"),
    (lambda: L.dense_backward(np.zeros(4), np.zeros(4), np.zeros(1)),
     r"dense_backward: weights must have shape \(inputs, units\); got \(4,\)"),
    (lambda: L.dense_backward(np.zeros((2, 3, 4)), np.zeros((4, 2)), np.zeros((2, 2))),
     r"dense_backward: x must have shape \(inputs,\) or \(N, inputs\); got \(2, 3, 4\)"),
    (lambda: L.dense_backward(np.zeros((2, 4)), np.zeros((4, 3)), np.zeros(3)),
     r"dense_backward: grad_out must have the shape of the forward output, \(2, 3\); "
     r"got \(3,\)"),
    (lambda: L.softmax_cross_entropy(np.zeros((4, 10)), np.array([1, 2, 3, 4])),
     r"softmax_cross_entropy: labels_onehot must have the shape of logits, \(4, 10\); "
     r"got \(4,\) \(turn class numbers into one-hot rows with keras.utils.to_categorical\)"),
    (lambda: L.softmax_cross_entropy(np.zeros(3), np.array([1.0, 1.0, 0.0])),
     r"softmax_cross_entropy: each row of labels_onehot must be non-negative and sum to 1"),
    (lambda: L.softmax_cross_entropy(np.zeros(3), np.array([1.5, -0.5, 0.0])),
     r"softmax_cross_entropy: each row .* and minimum -0.5"),
    (lambda: L.softmax_cross_entropy(np.zeros((2, 2, 3)), np.zeros((2, 2, 3))),
     r"softmax_cross_entropy: logits must have shape \(classes,\) or \(N, classes\); "
     r"got \(2, 2, 3\)"),
    (lambda: L.softmax_cross_entropy_backward(np.zeros((2, 3)), np.eye(3)[:1]),
     r"softmax_cross_entropy_backward: labels_onehot must have the shape of logits"),
    (lambda: L.softmax_cross_entropy_backward(["a"], [1.0]),
     r"softmax_cross_entropy_backward: logits must hold real numbers; got dtype <U1"),
]


@pytest.mark.parametrize(
    "call, message", BAD_INPUTS,
    ids=[f"{m.split(':')[0]}-{i}" for i, (_, m) in enumerate(BAD_INPUTS)],
)
def test_bad_input_is_refused_with_a_clear_message(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_backward_functions_are_exported_beside_the_forward_ones():
    for name in ("conv2d", "relu", "max_pool2d", "flatten", "dense"):
        assert name in L.__all__ and f"{name}_backward" in L.__all__
    assert {"softmax_cross_entropy", "softmax_cross_entropy_backward"} <= set(L.__all__)
