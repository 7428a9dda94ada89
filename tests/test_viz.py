"""cnn_helpers.viz: every shared plot draws, is titled and labelled, and rejects wrong shapes."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from cnn_helpers import viz  # noqa: E402

rng = np.random.default_rng(0)


@pytest.fixture(autouse=True)
def close_figures():
    viz.use_book_style()
    yield
    plt.close("all")


def colorbar_labels(fig):
    return [ax.get_ylabel() for ax in fig.axes if ax.get_label() == "<colorbar>"]


def test_feature_maps_one_panel_per_channel_and_one_shared_colour_bar():
    fig = viz.show_feature_maps(rng.random((13, 13, 10)), title="maps", ncols=4)
    panels = [ax for ax in fig.axes if ax.get_label() != "<colorbar>" and ax.images]
    assert len(panels) == 10 and fig._suptitle.get_text() == "maps"
    assert colorbar_labels(fig) == ["activation"]
    assert {p.images[0].get_clim() for p in panels} == {(0.0, panels[0].images[0].get_clim()[1])}


def test_feature_maps_with_negative_values_use_a_zero_centred_map():
    fig = viz.show_feature_maps(rng.normal(size=(5, 5, 3)))
    assert fig.axes[0].images[0].get_cmap().name == viz.SIGNED_CMAP


def test_kernels_annotated_and_labelled():
    fig = viz.show_kernels(rng.normal(size=(3, 3, 1, 4)), title="k", annotate=True)
    assert colorbar_labels(fig) == ["weight"]
    assert len(fig.axes[0].texts) == 9  # one value per weight


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: viz.show_feature_maps(np.zeros((5, 5))), r"\(H, W, C\)"),
        (lambda: viz.show_kernels(np.zeros((3, 3, 2, 4))), "single-input-channel"),
        (lambda: viz.show_pixels(np.zeros((3, 4, 5))), r"\(H, W\) or \(H, W, 1\)"),
    ],
)
def test_wrong_shapes_are_rejected(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_digits_pixels_history_probabilities_confusion_and_map_draw():
    images = rng.integers(0, 256, size=(12, 28, 28), dtype=np.uint8)
    fig = viz.show_digits(images, labels=list(range(12)), predictions=[0] * 12, ncols=6, title="digits")
    assert fig.axes[1].get_title() == "true 1, pred 0" and fig.axes[1].title.get_color() == viz.ACCENT
    fig = viz.show_pixels(images[0, :6, :6], title="pixels")
    assert fig.axes[0].get_xlabel() == "column" and colorbar_labels(fig) == ["pixel value"]
    fig = viz.plot_history({"loss": [0.3, 0.1], "accuracy": [0.9, 0.95]})
    assert [ax.get_ylabel() for ax in fig.axes] == ["loss", "accuracy"]
    fig = viz.plot_probabilities(np.full(10, 0.1), highlight=3)
    assert fig.axes[0].get_xlabel() == "class (digit)"
    fig = viz.plot_confusion(np.eye(10, dtype=int) * 5 + 1)
    assert fig.axes[0].get_ylabel() == "true class"

    from cnn_helpers.model import build_tutorial_model, derived_table

    fig = viz.plot_network_map(derived_table(build_tutorial_model(compile=False)), input_shape=(28, 28, 1))
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "26 x 26 x 32" in texts and "93,322" in fig.axes[0].get_title()
