"""Unit tests of book_tools.bench's arithmetic and command line (no timing)."""

from __future__ import annotations

import json
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


def test_each_peer_gets_only_what_it_uses(monkeypatch, capsys, tmp_path):
    """book_path took a data argument it ignored; the speedrun loaded MNIST again."""
    calls = {}

    def fake(name):
        def peer(*args):
            calls[name] = args
            return {"seconds": [1.0], "t99": 1.0, "weights": []}
        return peer

    for name in ("book_path", "book_path_steps_per_execution", "plain_fit", "bare_step",
                 "speedrun_path", "pytorch_path"):
        monkeypatch.setattr(bench, name, fake(name))
    monkeypatch.setattr(bench, "matmul_gflops", lambda: 100.0)
    monkeypatch.setattr(bench, "numpy_matmul_gflops", lambda: 100.0)
    out = tmp_path / "bench.json"
    bench.main(["--epochs", "2", "--peers", ",".join(bench.PEERS), "--out", str(out)])
    assert calls["pytorch_path"] == ()
    record = json.loads(out.read_text())
    assert {"cpu", "cores", "onednn"} <= set(record["machine"])
    assert set(record["peers"]) == set(bench.PEERS)
    assert calls["book_path"] == (2,)
    (raw_train, _), _ = calls["speedrun_path"][0]
    assert raw_train.dtype == "uint8" and raw_train.shape == (60_000, 28, 28)
    epochs, ((x, y), _) = calls["plain_fit"]
    assert epochs == 2 and x.dtype == "float32" and y.shape == (60_000, 10)
    assert "to 0.99" in capsys.readouterr().out


def test_the_pytorch_peer_is_a_default_only_when_torch_is_installed(monkeypatch):
    monkeypatch.setattr(bench, "torch_installed", lambda: False)
    assert "pytorch" not in bench.default_peers() and "speedrun" in bench.default_peers()
    monkeypatch.setattr(bench, "torch_installed", lambda: True)
    assert bench.default_peers() == list(bench.PEERS)
