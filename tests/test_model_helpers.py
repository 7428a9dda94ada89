"""Helpers added for chapters 4-6 (pooling, dense layers, the whole model): layer_outputs, format_table."""
from __future__ import annotations

import numpy as np
import pytest

from cnn_helpers import model as m

keras = m.keras


@pytest.fixture(scope="module")
def seed_model():
    keras.utils.set_random_seed(0)
    yield m.build_tutorial_model(compile=False)
    # Layer names come from a global counter ("conv2d", "conv2d_1", ...); reset it so that
    # tests run after these see the names a fresh session would give.
    keras.backend.clear_session()


def test_layer_outputs_shapes_follow_the_formulas_and_end_in_the_prediction(seed_model):
    x = np.random.default_rng(0).random((5, 28, 28, 1), dtype=np.float32)
    outs = m.layer_outputs(seed_model, x, batch_size=2)  # several chunks
    rows = m.derived_table(seed_model)
    assert list(outs) == [row["name"] for row in rows]
    for row in rows:
        assert outs[row["name"]].shape == (5, *row["output_shape"][1:])
    np.testing.assert_allclose(outs[rows[-1]["name"]], seed_model.predict(x, verbose=0), atol=1e-6)


def test_layer_outputs_of_one_image_drop_the_batch_axis(seed_model):
    x = np.random.default_rng(1).random((28, 28, 1), dtype=np.float32)
    one = m.layer_outputs(seed_model, x)
    batch = m.layer_outputs(seed_model, x[None])
    assert next(iter(one.values())).shape == (26, 26, 32)  # the first convolution's maps
    for name in one:
        np.testing.assert_array_equal(one[name], batch[name][0])


def test_layer_outputs_rejects_the_wrong_image_shape(seed_model):
    with pytest.raises(ValueError, match=r"expects images of shape \(28, 28, 1\)"):
        m.layer_outputs(seed_model, np.zeros((2, 28, 28)))


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
