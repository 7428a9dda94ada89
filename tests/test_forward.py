"""cnn_helpers.forward: the NumPy forward pass of a Keras model, layer by layer, against Keras."""

from __future__ import annotations

import numpy as np
import pytest

import cnn_helpers

cnn_helpers.import_tensorflow_quietly()
import keras  # noqa: E402

from cnn_helpers import forward as F  # noqa: E402


def _keras_outputs(model, x):
    probe = keras.Model(model.inputs, [layer.output for layer in model.layers])
    return [np.asarray(o) for o in probe.predict(x, verbose=0)]


def test_every_layer_equals_keras_on_a_batch(tutorial_model, mnist):
    (_, _), (x_test, _) = mnist
    x = x_test[:8, ..., None].astype("float32") / 255
    ours = F.forward_model(tutorial_model, x)
    theirs = _keras_outputs(tutorial_model, x)
    assert [o.shape for o in ours] == [o.shape for o in theirs]
    for spec, a, b in zip(F.layer_specs(tutorial_model), ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, atol=2e-5, err_msg=spec["name"])
    np.testing.assert_allclose(ours[-1].sum(axis=1), 1.0, atol=1e-12)


def test_one_image_gives_unbatched_outputs(tutorial_model, mnist):
    (_, _), (x_test, _) = mnist
    x = x_test[0][..., None] / 255
    one = F.forward_model(tutorial_model, x)
    batch = F.forward_model(tutorial_model, x[None])
    assert [o.shape for o in one] == [o.shape[1:] for o in batch]
    for a, b in zip(one, batch, strict=True):
        np.testing.assert_array_equal(a, b[0])


def test_specs_state_shapes_and_explicit_padding(unusual_model):
    model = unusual_model
    specs = F.layer_specs(model)
    assert [s["type"] for s in specs] == [
        "conv2d",
        "max_pool2d",
        "conv2d",
        "flatten",
        "dense",
    ]
    # SAME, 9 rows, kernel 3, stride 2: 5 outputs need 11 rows, 1 before and 1 after;
    # 8 columns, kernel 2, stride 1: 1 extra column, after.
    assert specs[0]["pads"] == [1, 1, 0, 1] and specs[0]["output_shape"] == [5, 8, 4]
    assert specs[2]["pads"] == [0, 0, 0, 0]
    assert [s["input_shape"] for s in specs[1:]] == [
        s["output_shape"] for s in specs[:-1]
    ]
    weights = F.layer_weights(model)
    assert not weights[specs[0]["name"]][
        "bias"
    ].any(), "use_bias=False exports a zero bias"
    x = np.random.default_rng(0).random((5, 9, 8, 2)).astype("float32")
    np.testing.assert_allclose(
        F.forward_model(model, x)[-1], model.predict(x, verbose=0), atol=1e-6
    )


def test_unsupported_layers_and_wrong_inputs_are_refused(tutorial_model):
    model = keras.Sequential(
        [
            keras.Input((6, 6, 1)),
            keras.layers.Conv2D(2, 3),
            keras.layers.BatchNormalization(),
        ]
    )
    with pytest.raises(ValueError, match="BatchNormalization"):
        F.layer_specs(model)
    with pytest.raises(ValueError, match=r"x must have shape \(28, 28, 1\)"):
        F.forward_model(tutorial_model, np.zeros((28, 28)))


def test_forward_does_not_import_tensorflow():
    import subprocess
    import sys

    code = "import sys, cnn_helpers.forward; print('tensorflow' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"
