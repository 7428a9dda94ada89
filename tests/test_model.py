"""cnn_helpers.model: the tutorial's network, the formulas, the tutorial's printed summary as test data,
and the per-layer outputs and tables the chapters print."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import assume, given, settings, strategies as st

from cnn_helpers import model as m

keras = m.keras

KERAS2_TYPE_NAMES = {"MaxPooling2": "MaxPooling2D"}  # Keras 2 cut its fixed-width first column mid-word


def test_every_row_of_the_tutorial_summary_matches_keras_3_and_the_formulas(tutorial_model):
    tutorial_rows = m.tutorial_summary()
    assert len(tutorial_rows) == 8, "the tutorial prints 5 rows before the head and 3 after"
    keras_rows = m.layer_table(tutorial_model)
    formula_rows = m.derived_table(tutorial_model)
    for theirs, ours, formula in zip(tutorial_rows, keras_rows, formula_rows, strict=True):
        assert KERAS2_TYPE_NAMES.get(theirs["type"], theirs["type"]) == ours["type"] == formula["type"]
        assert theirs["output_shape"] == ours["output_shape"] == formula["output_shape"]
        assert theirs["params"] == ours["params"] == formula["params"]


def test_totals(tutorial_model):
    assert tutorial_model.count_params() == 93_322
    base = m.build_tutorial_model(compile=False, head=False)
    assert base.count_params() == m.tutorial_summary_total() == 55_744


def test_tutorial_model_is_compiled_like_the_tutorials(tutorial_model):
    assert tutorial_model.optimizer.__class__.__name__ == "RMSprop"
    assert tutorial_model.loss == "categorical_crossentropy"
    assert tutorial_model.input_shape == (None, 28, 28, 1)
    assert tutorial_model.layers[-1].activation.__name__ == "softmax"


def test_building_the_tutorial_model_gives_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m.build_tutorial_model()


def test_input_shape_argument_warns_in_keras_3():
    """The tutorial's `input_shape=` style still works but Keras 3 warns about it (the book explains why)."""
    with pytest.warns(UserWarning, match="input_shape"):
        keras.layers.Conv2D(32, (3, 3), input_shape=(28, 28, 1))


@pytest.mark.parametrize(
    "n, k, s, pad, out",
    [(28, 3, 1, "valid", 26), (13, 3, 1, "valid", 11), (11, 2, 2, "valid", 5), (5, 3, 1, "valid", 3),
     (28, 3, 1, "same", 28), (28, 3, 2, "same", 14), (27, 3, 2, "same", 14), (28, 3, 2, "valid", 13)],
)
def test_conv_output_size_examples(n, k, s, pad, out):
    assert m.conv_output_size(n, k, s, pad) == out


def test_pool_output_size_defaults_to_pool_stride():
    assert m.pool_output_size(26) == 13
    assert m.pool_output_size(11) == 5


@pytest.mark.parametrize(
    "args, message",
    [((2, 3), "does not fit in 2"), ((28, 3, 0), "sizes must be positive"), ((28, 3, 1, "full"), "'valid' or 'same'")],
)
def test_conv_output_size_rejects_bad_input(args, message):
    with pytest.raises(ValueError, match=message):
        m.conv_output_size(*args)


def test_parameter_formulas():
    assert m.conv_params(3, 3, 1, 32) == 320
    assert m.conv_params(3, 3, 32, 64) == 18_496
    assert m.conv_params(3, 3, 64, 64) == 36_928
    assert m.dense_params(576, 64) == 36_928
    assert m.dense_params(64, 10) == 650


def test_forward_macs_of_the_tutorial_model(tutorial_model):
    macs = [count for _, count in m.forward_macs(tutorial_model)]
    assert sum(macs) == 2_794_240  # BOOK.md: 2.79 M multiply-adds per image
    assert macs[0] == 26 * 26 * 32 * 9  # the first convolution
    assert len(macs) == 5  # three convolutions and two dense layers


@settings(max_examples=25, deadline=None)
@given(
    size=st.integers(8, 20),
    kernel=st.integers(1, 4),
    stride=st.integers(1, 3),
    padding=st.sampled_from(["valid", "same"]),
    pool=st.integers(1, 3),
    filters=st.integers(1, 5),
    units=st.integers(1, 7),
)
def test_derived_table_agrees_with_keras_on_other_models(size, kernel, stride, padding, pool, filters, units):
    after_conv = m.conv_output_size(size, kernel, stride, padding)
    assume(padding == "same" or pool <= after_conv)  # Keras rejects a pool window larger than its input
    model = keras.Sequential([
        keras.Input(shape=(size, size + 1, 2)),
        keras.layers.Conv2D(filters, kernel, strides=stride, padding=padding),
        keras.layers.MaxPooling2D(pool, padding=padding),
        keras.layers.AveragePooling2D(1),
        keras.layers.Flatten(),
        keras.layers.Dense(units),
    ])
    assert m.derived_table(model, (size, size + 1, 2)) == m.layer_table(model)


def test_derived_table_names_layers_it_cannot_derive():
    model = keras.Sequential([keras.Input(shape=(8, 8, 1)), keras.layers.Dropout(0.5)])
    with pytest.raises(ValueError, match="does not know the formulas for a Dropout layer"):
        m.derived_table(model, (8, 8, 1))


def test_layer_names_do_not_depend_on_what_was_built_before():
    keras.layers.Conv2D(4, 3)  # bumps Keras's automatic name counter
    first = [layer.name for layer in m.build_tutorial_model(compile=False).layers]
    second = [layer.name for layer in m.build_tutorial_model(compile=False).layers]
    assert first == second == list(m.TUTORIAL_LAYER_NAMES)


# ---------------------------------------------------------------- per-layer outputs and tables
def test_layer_outputs_shapes_follow_the_formulas_and_end_in_the_prediction(tutorial_model):
    x = np.random.default_rng(0).random((5, 28, 28, 1), dtype=np.float32)
    outs = m.layer_outputs(tutorial_model, x, batch_size=2)  # several chunks
    rows = m.derived_table(tutorial_model)
    assert list(outs) == [row["name"] for row in rows]
    for row in rows:
        assert outs[row["name"]].shape == (5, *row["output_shape"][1:])
    np.testing.assert_allclose(outs[rows[-1]["name"]], tutorial_model.predict(x, verbose=0), atol=1e-6)


def test_layer_outputs_of_one_image_drop_the_batch_axis(tutorial_model):
    x = np.random.default_rng(1).random((28, 28, 1), dtype=np.float32)
    one = m.layer_outputs(tutorial_model, x)
    batch = m.layer_outputs(tutorial_model, x[None])
    assert next(iter(one.values())).shape == (26, 26, 32)  # the first convolution's maps
    for name in one:
        np.testing.assert_array_equal(one[name], batch[name][0])


def test_layer_outputs_rejects_the_wrong_image_shape(tutorial_model):
    with pytest.raises(ValueError, match=r"expects images of shape \(28, 28, 1\)"):
        m.layer_outputs(tutorial_model, np.zeros((2, 28, 28)))


def test_format_table_aligns_numbers_right_and_text_left():
    text = m.format_table(
        [["conv2d", (None, 26, 26, 32), 320, 0.5], ["dense", "(None, 64)", np.int64(36928), np.float32(1.25)]],
        ["layer", "shape", "params", "x"],
    )
    lines = text.splitlines()
    assert lines[0].split() == ["layer", "shape", "params", "x"]
    assert set(lines[1].replace(" ", "")) == {"-"}
    assert lines[2].startswith("conv2d  (None, 26, 26, 32)     320")
    assert lines[3].startswith("dense   (None, 64)          36,928")
    assert len({len(line) for line in lines[:2]}) == 1  # header and rule have the same width
    assert lines[2].endswith(" 0.5") and lines[3].endswith("1.25")


def test_format_table_rejects_ragged_rows():
    with pytest.raises(ValueError, match="every row needs 2 values"):
        m.format_table([[1, 2, 3]], ["a", "b"])


# ---------------------------------------------------------------- written once
def test_the_tutorial_model_compiles_with_the_tutorials_recipe():
    from cnn_helpers.recipe import TUTORIAL_RECIPE

    model = m.build_tutorial_model()
    assert type(model.optimizer).__name__.lower() == TUTORIAL_RECIPE.optimizer
    assert model.loss == TUTORIAL_RECIPE.loss
    # another optimizer and rate go through the same one function
    adam = m.compile_model(m.build_tutorial_model(compile=False), "adam", learning_rate=0.01)
    assert type(adam.optimizer).__name__ == "Adam"
    assert float(adam.optimizer.learning_rate) == pytest.approx(0.01)


def test_make_optimizer_keeps_keras_default_rate_as_a_name():
    assert m.make_optimizer("rmsprop") == "rmsprop"
    assert float(m.make_optimizer("sgd", 0.5).learning_rate) == pytest.approx(0.5)


def test_tutorial_layers_with_another_hidden_block_and_dtype():
    """The speedrun's way of reusing the architecture: same names, its own blocks."""
    def block(layer_type, *args, name, **kwargs):
        return [layer_type(*args, name=name, **kwargs), keras.layers.ReLU(name=f"{name}_relu")]

    layers = m.tutorial_layers(block, dtype="mixed_bfloat16")
    names = [layer.name for layer in layers]
    assert [n for n in names if not n.endswith("_relu")] == list(m.TUTORIAL_LAYER_NAMES)
    assert len(names) == len(m.TUTORIAL_LAYER_NAMES) + 4  # one ReLU per hidden layer
    assert layers[0].compute_dtype == "bfloat16" and layers[-1].compute_dtype == "float32"


def test_accuracy_takes_one_hot_or_integer_labels():
    model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Softmax()])
    x = np.array([[5.0, 0, 0], [0, 5.0, 0], [0, 0, 5.0], [5.0, 0, 0]], "float32")
    labels = np.array([0, 1, 1, 0])
    assert m.accuracy(model, x, labels) == 0.75
    assert m.accuracy(model, x, np.eye(3)[labels]) == 0.75
    with pytest.raises(ValueError, match="4 images but 3 labels"):
        m.accuracy(model, x, labels[:3])
