"""Shared fixtures. Tests use the book's real cache folder unless they say otherwise."""
from __future__ import annotations

import cnn_helpers  # noqa: F401  (sets TensorFlow's environment before anything imports it)
import pytest


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
