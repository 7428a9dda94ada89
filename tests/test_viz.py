"""cnn_helpers.viz: every shared plot draws, is titled and labelled, rejects wrong
shapes, frames its image panels fully and fits a phone-width page."""
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
    top = panels[0].images[0].get_clim()[1]
    assert {p.images[0].get_clim() for p in panels} == {(0.0, top)}


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
    fig = viz.show_digits(images, labels=list(range(12)), predictions=[0] * 12, ncols=6,
                          title="digits")
    assert fig.axes[1].get_title() == "true 1, pred 0"
    assert fig.axes[1].title.get_color() == viz.ACCENT
    fig = viz.show_pixels(images[0, :6, :6], title="pixels")
    assert fig.axes[0].get_xlabel() == "column"
    assert colorbar_labels(fig) == ["pixel value"]
    fig = viz.plot_history({"loss": [0.3, 0.1], "accuracy": [0.9, 0.95]})
    assert [ax.get_ylabel() for ax in fig.axes] == ["loss", "accuracy"]
    fig = viz.plot_probabilities(np.full(10, 0.1), highlight=3)
    assert fig.axes[0].get_xlabel() == "class (digit)"

    from cnn_helpers.model import build_tutorial_model, derived_table

    rows = derived_table(build_tutorial_model(compile=False))
    fig = viz.plot_network_map(rows, input_shape=(28, 28, 1))
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "26 x 26 x 32" in texts and "93,322" in fig.axes[0].get_title()


def image_panels(fig):
    return [ax for ax in fig.axes if ax.images and ax.get_label() != "<colorbar>"]


def test_every_image_panel_has_a_full_frame_never_an_l_shaped_one():
    images = rng.random((8, 28, 28))
    figures = [
        viz.show_digits(images, labels=list(range(8))),
        viz.show_feature_maps(rng.random((6, 6, 5))),
        viz.show_kernels(rng.normal(size=(3, 3, 1, 3))),
        viz.show_pixels(images[0, :5, :5], fmt="{:.1f}"),
    ]
    _, ax = plt.subplots()
    viz.imshow(ax, images[0])
    figures.append(ax.figure)
    for fig in figures:
        for panel in image_panels(fig):
            spines = panel.spines.items()
            sides = {name for name, spine in spines if spine.get_visible()}
            assert sides == {"left", "right", "top", "bottom"}


@pytest.mark.parametrize(
    "kind, values, cmap, clim",
    [
        ("digit", np.array([[0.0, 0.5], [0.2, 0.9]]), viz.DIGIT_CMAP, (0.0, 1.0)),
        ("signed", np.array([[-2.0, 0.5], [1.0, 0.0]]), viz.SIGNED_CMAP, (-2.0, 2.0)),
        ("activation", np.array([[0.0, 3.0], [1.0, 0.0]]), viz.ACTIVATION_CMAP,
         (0.0, 3.0)),
    ],
)
def test_imshow_picks_the_colour_map_from_the_kind_of_values(kind, values, cmap, clim):
    _, ax = plt.subplots()
    image = viz.imshow(ax, values, kind)
    assert image.get_cmap().name == cmap and image.get_clim() == clim
    assert ax.get_xticks().size == 0


def test_imshow_rejects_an_unknown_kind_and_negative_activations():
    _, ax = plt.subplots()
    with pytest.raises(ValueError, match="kind must be one of"):
        viz.imshow(ax, np.zeros((2, 2)), "rainbow")
    with pytest.raises(ValueError, match="use kind='signed'"):
        viz.imshow(ax, -np.ones((2, 2)), "activation")


def test_write_values_writes_zero_plainly_and_white_on_dark_cells():
    _, ax = plt.subplots()
    viz.imshow(ax, np.array([[-0.001, 1.0], [0.0, 0.5]]), "digit")
    viz.write_values(ax, np.array([[-0.001, 1.0], [0.0, 0.5]]))
    texts = {t.get_text(): t.get_color() for t in ax.texts}
    assert set(texts) == {"0", "1.00", "0.50"}
    assert texts["1.00"] == "white" and texts["0"] == "black"


def test_shared_plots_fit_a_phone_width_page():
    figures = [
        viz.show_digits(rng.random((30, 28, 28))),
        viz.show_feature_maps(rng.random((13, 13, 32))),
        viz.show_kernels(rng.normal(size=(3, 3, 1, 32))),
        viz.plot_history({"loss": [0.3, 0.1], "accuracy": [0.9, 0.95]}),
        viz.plot_probabilities(np.full(10, 0.1)),
    ]
    for fig in figures:
        assert fig.get_figwidth() <= viz.MAX_WIDTH, fig.get_figwidth()


# ---------------------------------------------------------------- plot_mistakes
def written(fig) -> dict[tuple[int, int], str]:
    """The numbers written on the matrix, by (row, column)."""
    ax = fig.axes[0]
    return {(round(t.get_position()[1]), round(t.get_position()[0])): t.get_text()
            for t in ax.texts}


def test_writes_every_mistake_and_nothing_else():
    m = np.array([[50, 0, 3], [1, 40, 0], [0, 12, 30]])
    fig = viz.plot_mistakes(m, title="three classes")
    assert written(fig) == {(0, 2): "3", (1, 0): "1", (2, 1): "12"}
    ax = fig.axes[0]
    assert ax.get_title() == "three classes"
    assert ax.get_xlabel() == "predicted class" and ax.get_ylabel() == "true class"
    assert all(t.get_fontsize() >= 12 for t in ax.texts)
    assert fig.get_size_inches()[0] <= viz.MAX_WIDTH
    assert any(a.get_label() == "<colorbar>" for a in fig.axes)


def test_largest_mistake_is_written_white_on_dark():
    m = np.array([[5, 9], [1, 5]])
    texts = {t.get_text(): t.get_color() for t in viz.plot_mistakes(m).axes[0].texts}
    assert texts == {"9": "white", "1": "black"}


NOT_CONFUSION_MATRICES = [
    np.zeros((3, 4), int), np.zeros(5, int), np.zeros((1, 1), int),
    np.full((2, 2), 0.5), np.array([[1, -1], [0, 1]]),
]


@pytest.mark.parametrize("bad", NOT_CONFUSION_MATRICES)
def test_rejects_what_is_not_a_confusion_matrix(bad):
    with pytest.raises(ValueError, match="plot_mistakes"):
        viz.plot_mistakes(bad)
