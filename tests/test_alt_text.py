"""Alt text of figures (book_tools.sphinx_ext.figure_alt): a sentence from the figure's title.

The built book's alt texts are checked in tests/test_browser.py.
"""
from __future__ import annotations

from book_tools.sphinx_ext import figure_alt


def test_the_suptitle_is_the_sentence():
    code = (
        'fig.suptitle("Saliency of the predicted class, first five test digits\\n")\n'
        'ax.set_title(f"label {test_labels[n]}, predicted {predicted[n]}")\n'
    )
    assert figure_alt(code) == "Figure: Saliency of the predicted class, first five test digits."


def test_panel_titles_without_a_suptitle_and_run_time_values():
    code = (
        'plt.title("")\n'
        'ax.set_title(f"All {train_images.size:,} training pixels: {frac_zero:.0%} are 0")\n'
        "ax2.set_title('Loss (log scale)')\n"
    )
    assert figure_alt(code) == "Figure: All … training pixels: … are 0; Loss (log scale)."


def test_no_title_falls_back_to_the_section():
    assert figure_alt("viz.plot_network_map(rows)", "The map of the network") == (
        "Figure: The map of the network."
    )
    assert figure_alt("plt.imshow(x)") == "A figure drawn by the code cell above."


def test_line_breaks_and_escaped_braces():
    code = 'fig.suptitle(f"VALID keeps {{windows}}\\nthat fit: {n}")'
    assert figure_alt(code) == "Figure: VALID keeps {windows} that fit: …."
