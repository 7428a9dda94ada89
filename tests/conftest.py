"""Shared fixtures. Tests use the book's real cache folder unless they say otherwise."""
from __future__ import annotations

import os

import cnn_helpers  # noqa: F401  (sets TensorFlow's environment before anything imports it)
import pytest

from book_tools.paths import CHROMIUM  # noqa: E402  (the one Chromium path)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def mnist():
    """The real MNIST arrays (from the book's cache after the first load)."""
    from cnn_helpers.data import load_mnist

    return load_mnist()


@pytest.fixture(scope="session")
def tutorial_model():
    """The tutorial's network, compiled with its settings, with seeded random weights (no training)."""
    import keras

    from cnn_helpers.model import build_tutorial_model

    keras.utils.set_random_seed(1)
    return build_tutorial_model()


@pytest.fixture(scope="session")
def unusual_model():
    """A small stack of the supported layers with every unusual setting at once.

    SAME padding with a stride along one axis only, a non-square kernel, no bias,
    a pooling window with its own strides, two input channels: what an export or
    a NumPy forward pass most easily gets wrong.
    """
    import keras

    keras.utils.set_random_seed(2)
    layers = keras.layers
    return keras.Sequential([
        keras.Input((9, 8, 2)),
        layers.Conv2D(4, (3, 2), strides=(2, 1), padding="same", use_bias=False,
                      activation="relu"),
        layers.MaxPooling2D((2, 3), strides=(1, 2), padding="same"),
        layers.Conv2D(3, 2, padding="valid"),
        layers.Flatten(),
        layers.Dense(3, activation="softmax"),
    ])


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's Chromium (or ``$CNN_BOOK_CHROMIUM``); the browser tests fail, never skip, without it."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(
            f"Chromium is missing ({CHROMIUM} not found), so the built book cannot be "
            "checked in a browser. Install Debian's Chromium with `sudo apt-get install "
            "chromium` (`make browser-deps` does it when run as root), or point "
            "CNN_BOOK_CHROMIUM at a Chromium binary.",
            pytrace=False,
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.fail(
            "The Playwright Python package is missing: `pip install -e '.[book]'` "
            "(make setup) installs it.",
            pytrace=False,
        )
    return CHROMIUM


@pytest.fixture(scope="session")
def browser(chromium):
    """One headless Chromium for the whole session, shared by every test that needs a page.

    Playwright's sync API allows one instance at a time per thread, so a test must
    take this fixture rather than start its own.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield b
        b.close()
