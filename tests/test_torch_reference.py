"""The PyTorch reference (book_tools.torch_reference) against the Keras speedrun model.

Fast, and no training: the network's shape, its parameter counts and its outputs
beside :func:`cnn_helpers.speedrun.build_speedrun_model` given the same weights;
the schedule beside :class:`cnn_helpers.schedule.OneCycle`; the batching. PyTorch is
optional: without it these tests skip, except the one that checks the error
message a missing PyTorch gives.
"""
from __future__ import annotations

import importlib
import sys

import numpy as np
import pytest

from cnn_helpers.speedrun_recipe import FINAL_RECIPE

SKIP_REASON = "PyTorch is optional and not installed: pip install 'cnn-helpers[torch]'"


@pytest.fixture(scope="module")
def tr():
    """The module under test, or a skip when PyTorch is not installed."""
    pytest.importorskip("torch", reason=SKIP_REASON)
    return importlib.import_module("book_tools.torch_reference")


@pytest.fixture(scope="module")
def keras_model():
    """The speedrun's Keras network for the final recipe, in float32."""
    from cnn_helpers.speedrun import build_speedrun_model

    return build_speedrun_model(FINAL_RECIPE.batchnorm, FINAL_RECIPE.bn_momentum)


def test_importing_without_torch_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now fails
    monkeypatch.delitem(sys.modules, "book_tools.torch_reference", raising=False)
    with pytest.raises(ImportError, match=r"pip install torch.*cnn-helpers\[torch\]"):
        importlib.import_module("book_tools.torch_reference")


def test_forward_pass_gives_ten_logits_per_image(tr):
    import torch

    net = tr.build_network().eval()
    x = torch.rand(3, 1, 28, 28).contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        out = net(x)
    assert out.shape == (3, 10) and out.dtype == torch.float32


def test_parameter_counts_equal_the_keras_networks(tr, keras_model):
    net = tr.build_network(FINAL_RECIPE.batchnorm, FINAL_RECIPE.bn_momentum)
    trainable = sum(p.numel() for p in net.parameters())
    moving = sum(b.numel() for name, b in net.named_buffers() if "running" in name)

    def count(weights) -> int:
        return sum(int(np.prod(w.shape)) for w in weights)

    assert trainable == count(keras_model.trainable_weights) == 93_546
    assert moving == count(keras_model.non_trainable_weights) == 448
    assert trainable + moving == keras_model.count_params() == 93_994


def test_outputs_equal_the_keras_networks_with_its_weights(tr, keras_model):
    """Same layers, order, flatten order, BatchNorm epsilon: Keras's weights, loaded
    into the PyTorch network, give Keras's probabilities (inference mode)."""
    import torch

    rng = np.random.default_rng(0)
    for w in keras_model.weights:  # non-trivial moving statistics, so epsilon counts
        w.assign(rng.uniform(0.5, 1.5, w.shape).astype("float32"))
    values = iter(np.asarray(w) for w in keras_model.weights)
    net = tr.build_network(FINAL_RECIPE.batchnorm, FINAL_RECIPE.bn_momentum).eval()
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, torch.nn.Conv2d):
                kernel = next(values).transpose(3, 2, 0, 1)  # HWIO -> OIHW
                module.weight.copy_(torch.from_numpy(kernel))
            elif isinstance(module, torch.nn.Linear):
                module.weight.copy_(torch.from_numpy(next(values).T))
                if module.bias is not None:
                    module.bias.copy_(torch.from_numpy(next(values)))
            elif isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
                for t in (module.weight, module.bias, module.running_mean,
                          module.running_var):
                    t.copy_(torch.from_numpy(next(values)))
    assert next(values, None) is None  # every Keras weight was used
    x = rng.uniform(0, 1, (4, 28, 28, 1)).astype("float32")
    expected = np.asarray(keras_model(x, training=False))
    with torch.inference_mode():
        logits = net(torch.from_numpy(x).permute(0, 3, 1, 2))
    np.testing.assert_allclose(logits.softmax(1).numpy(), expected, atol=1e-5)


def test_starting_weights_follow_keras_initialisers(tr):
    net = tr.build_network()
    # glorot_uniform: uniform within sqrt(6 / (fan_in + fan_out))
    conv = net.conv2[0].weight.detach()
    limit = (6 / (9 * 32 + 9 * 64)) ** 0.5
    assert float(conv.abs().max()) <= limit and float(conv.abs().max()) > 0.9 * limit
    assert not net.head.bias.any()


def test_schedule_equals_keras_one_cycle_at_every_step(tr):
    from cnn_helpers.schedule import learning_rate

    total = FINAL_RECIPE.steps()
    keras_rates = learning_rate(FINAL_RECIPE, total)(np.arange(total)).numpy()
    ours = [tr.learning_rate_at(s, FINAL_RECIPE, total) for s in range(total)]
    np.testing.assert_allclose(ours, keras_rates, rtol=1e-6, atol=1e-12)


def test_batches_cover_each_epoch_once_with_the_short_batch_last(tr):
    import torch

    gen = torch.Generator().manual_seed(0)
    batches = list(tr.batch_indices(10, 4, 5, gen))
    assert [len(b) for b in batches] == [4, 4, 2, 4, 4]
    assert sorted(torch.cat(batches[:3]).tolist()) == list(range(10))


def test_seed_ranges_parse(tr):
    assert tr.parse_seeds("0-2") == [0, 1, 2]
    assert tr.parse_seeds("0,3-4") == [0, 3, 4]


def test_every_optimizer_a_recipe_may_name_gets_kerass_defaults(tr):
    from cnn_helpers.recipe import OPTIMIZERS
    from cnn_helpers.speedrun_recipe import SpeedRecipe

    net = tr.build_network()
    for name in OPTIMIZERS:
        optimizer = tr.make_optimizer(net, SpeedRecipe(optimizer=name))
        assert type(optimizer).__name__.lower() == name
    assert tr.make_optimizer(net, FINAL_RECIPE).defaults["eps"] == 1e-7
