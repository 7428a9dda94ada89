"""cnn_helpers.viz.plot_mistakes: writes exactly the mistakes, rejects what is not a
confusion matrix, and fits a phone-width page."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from cnn_helpers import viz  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    viz.use_book_style()
    yield
    plt.close("all")


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
