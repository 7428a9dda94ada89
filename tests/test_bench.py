"""Unit tests of book_tools.bench's arithmetic and command line (no timing)."""

from __future__ import annotations

import math

import pytest

import cnn_helpers  # noqa: F401
from book_tools import bench


def test_time_to_adds_the_epochs_up_to_the_first_hit():
    assert bench.time_to([10.0, 9.0, 9.5], [0.985, 0.991, 0.992]) == 19.0
    assert bench.time_to([10.0, 9.0], [0.98, 0.989]) == math.inf
    assert bench.time_to([3.0], [0.99]) == 3.0


def test_unknown_peer_fails_loudly(capsys):
    with pytest.raises(SystemExit):
        bench.main(["--peers", "book train(),warp drive"])
    assert "warp drive" in capsys.readouterr().err


def test_every_peer_is_documented():
    for name in bench.PEERS:
        assert f"``{name}``" in bench.__doc__
