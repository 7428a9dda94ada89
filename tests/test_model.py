"""cnn_helpers.model: the seed network, the formulas, and the seed's printed summary as test data."""
from __future__ import annotations

import warnings

import pytest
from hypothesis import assume, given, settings, strategies as st

from cnn_helpers import model as m

keras = m.keras

KERAS2_TYPE_NAMES = {"MaxPooling2": "MaxPooling2D"}  # Keras 2 cut its fixed-width first column mid-word


@pytest.fixture(scope="module")
def seed_model():
    return m.build_tutorial_model()


def test_every_row_of_the_tutorial_summary_matches_keras_3_and_the_formulas(seed_model):
    seed_rows = m.tutorial_summary()
    assert len(seed_rows) == 8, "the seed prints 5 rows before the head and 3 after"
    keras_rows = m.layer_table(seed_model)
    formula_rows = m.derived_table(seed_model)
    for seed, ours, formula in zip(seed_rows, keras_rows, formula_rows, strict=True):
        assert KERAS2_TYPE_NAMES.get(seed["type"], seed["type"]) == ours["type"] == formula["type"]
        assert seed["output_shape"] == ours["output_shape"] == formula["output_shape"]
        assert seed["params"] == ours["params"] == formula["params"]


def test_totals(seed_model):
    assert seed_model.count_params() == 93_322
    base = m.build_tutorial_model(compile=False, head=False)
    assert base.count_params() == m.tutorial_summary_total() == 55_744


def test_seed_model_is_compiled_like_the_seed(seed_model):
    assert seed_model.optimizer.__class__.__name__ == "RMSprop"
    assert seed_model.loss == "categorical_crossentropy"
    assert seed_model.input_shape == (None, 28, 28, 1)
    assert seed_model.layers[-1].activation.__name__ == "softmax"


def test_building_the_seed_model_gives_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m.build_tutorial_model()


def test_input_shape_argument_warns_in_keras_3():
    """The seed's `input_shape=` style still works but Keras 3 warns about it (the book explains why)."""
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
    [((2, 3), "does not fit in 2 pixels"), ((28, 3, 0), "sizes must be positive"), ((28, 3, 1, "full"), "'valid' or 'same'")],
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


def test_forward_macs_of_the_seed_model(seed_model):
    macs = [count for _, count in m.forward_macs(seed_model)]
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
