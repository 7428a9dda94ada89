"""A PyTorch reference for the speedrun: the final recipe, to time beside Keras's.

``python -m book_tools.torch_reference --seeds 0-2`` trains the speedrun
chapter's final recipe (:data:`cnn_helpers.speedrun_recipe.FINAL_RECIPE`) in
PyTorch, one seed after another in this process, and prints one JSON line per
run: ``{"seed", "train_seconds", "test_acc", "bf16", "torch"}``. Run it on the
machine that ran ``cnn_helpers.speedrun`` to compare training times side by side.
PyTorch is an optional dependency: ``pip install torch`` (or the package's
``torch`` extra, ``pip install -e '.[torch]'``).

What matches the Keras recipe exactly:

- the network: the tutorial's layers (:func:`cnn_helpers.model.tutorial_layers`)
  with the speedrun's BatchNorm placement (:func:`cnn_helpers.speedrun.
  build_speedrun_model`): each hidden Conv2D/Dense without bias, then BatchNorm
  (epsilon 1e-3, Keras momentum 0.9, i.e. PyTorch ``momentum=0.1``), then ReLU;
  the flatten reads the last feature map in Keras's height, width, channel
  order, so Keras weights load unchanged (the tests check the outputs agree);
- the starting distribution: Keras's initialisers (glorot_uniform kernels, zero
  biases; BatchNorm scale 1, shift 0, moving mean 0, moving variance 1);
- the data: the book's MNIST (:func:`cnn_helpers.data.load_mnist`) and the
  tutorial's preprocessing (:func:`cnn_helpers.data.preprocess`: pixels / 255,
  one-hot labels), the one-hot labels used as cross-entropy targets; the 60,000
  training images in batches of the recipe's size, reshuffled every epoch, the last batch of an
  epoch the short one; ``recipe.steps()`` steps; test accuracy on the 10,000
  test images in inference mode (moving statistics), evaluation not timed;
- the loss: categorical cross-entropy from the logits of a float32 head (Keras
  computes it from the softmax's logits too, and keeps the head in float32);
- the optimizer: Adam with Keras's defaults (betas 0.9 and 0.999, epsilon 1e-7),
  and the learning rate of every step from the same one-cycle formula as
  :class:`cnn_helpers.schedule.OneCycle`, indexed by the same 0-based step;
- the precision: bfloat16 compute with float32 weights where
  :func:`cnn_helpers.precision.bfloat16_supported` says the CPU computes bf16 fast
  (its own test of the CPU flags, with PyTorch's oneDNN in place of TensorFlow's),
  float32 elsewhere.

What cannot match, or does not:

- the kernels: PyTorch's oneDNN convolutions and its own BatchNorm, pooling and
  Adam, against TensorFlow's; sums are taken in other orders, so runs differ in
  the last bits from the first step and the trajectories drift apart;
- the random numbers: the same seed draws other initial weights and another
  data order (PyTorch's generator, not TensorFlow's), so the two frameworks give
  the same *distribution* of runs, never the same run;
- Adam's epsilon: Keras adds it to ``sqrt(v)`` before the bias correction,
  PyTorch after it, so Keras's is in effect ``1e-7 / sqrt(1 - 0.999**t)``
  (larger in early steps); both are tiny beside ``sqrt(v)`` here;
- the schedule is computed in double precision, Keras's in float32;
- timing: Keras's ``train_seconds`` includes tracing its training graph in the
  first step; PyTorch runs eagerly (no tracing) and the batches are gathered
  from tensors already in memory instead of a tf.data pipeline.
"""
from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Iterator
from dataclasses import replace

try:
    import torch
    from torch import nn
    from torch.nn import functional as F
except ImportError as exc:  # torch is optional: say how to get it
    raise ImportError(
        "book_tools.torch_reference needs PyTorch, an optional dependency: "
        "pip install torch (or the package's extra: "
        "pip install 'cnn-helpers[torch]')"
    ) from exc

from cnn_helpers.data import load_mnist, preprocess
from cnn_helpers.precision import bfloat16_supported
from cnn_helpers.speedrun_recipe import FINAL_RECIPE, SpeedRecipe

from .bands import parse_seeds  # the one reading of "0-4,7"

#: Keras's BatchNorm epsilon (PyTorch's default is 1e-5).
KERAS_BN_EPSILON = 1e-3

#: Each optimizer a recipe may name (Keras's name is PyTorch's class name in lower
#: case) with the settings that make it Keras's default: Adam's epsilon, RMSprop's
#: rho (PyTorch's alpha) and epsilon; SGD without momentum is the same in both.
KERAS_DEFAULTS: dict[type, dict] = {
    torch.optim.Adam: {"betas": (0.9, 0.999), "eps": 1e-7},
    torch.optim.RMSprop: {"alpha": 0.9, "eps": 1e-7},
    torch.optim.SGD: {},
}


class SpeedrunNet(nn.Module):
    """The tutorial's CNN with the speedrun's BatchNorm, in PyTorch.

    Inputs are ``(N, 1, 28, 28)`` (channels-last in memory); the output is the
    10 logits (the softmax is in the loss, as Keras's loss uses the logits).
    """

    def __init__(self, batchnorm: bool = True, bn_momentum: float = 0.9) -> None:
        super().__init__()
        self.batchnorm = batchnorm
        self.bn_momentum = bn_momentum
        self.conv1 = self._conv(1, 32)
        self.conv2 = self._conv(32, 64)
        self.conv3 = self._conv(64, 64)
        dense = nn.Linear(3 * 3 * 64, 64, bias=not batchnorm)
        self.dense = nn.Sequential(*self._hidden(dense, nn.BatchNorm1d(64)))
        self.head = nn.Linear(64, 10)

    def _hidden(self, layer: nn.Module, norm: nn.Module) -> list[nn.Module]:
        """A hidden layer as the speedrun builds it: layer, BatchNorm, ReLU."""
        if not self.batchnorm:
            return [layer, nn.ReLU()]
        # Keras moves averages by m <- momentum * m + (1 - momentum) * batch;
        # PyTorch's momentum is the batch's weight, 1 - Keras's.
        norm.momentum = 1.0 - self.bn_momentum
        norm.eps = KERAS_BN_EPSILON
        return [layer, norm, nn.ReLU()]

    def _conv(self, c_in: int, c_out: int) -> nn.Sequential:
        """A 3x3 VALID convolution block (bias only without BatchNorm)."""
        conv = nn.Conv2d(c_in, c_out, 3, bias=not self.batchnorm)
        return nn.Sequential(*self._hidden(conv, nn.BatchNorm2d(c_out)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(N, 10)``; the head is float32 even under bfloat16 autocast."""
        x = F.max_pool2d(self.conv1(x), 2)
        x = F.max_pool2d(self.conv2(x), 2)
        x = self.conv3(x)
        # Keras flattens (height, width, channels); in channels-last memory this
        # permute is a free view.
        x = self.dense(x.permute(0, 2, 3, 1).reshape(len(x), -1))
        with torch.autocast("cpu", enabled=False):
            return self.head(x.float())


def keras_init(net: nn.Module) -> None:
    """Keras's initialisers: glorot_uniform kernels, zero biases.

    PyTorch's defaults (Kaiming uniform, non-zero biases) would start from
    another distribution; ``xavier_uniform_`` computes Glorot's fans as Keras
    does (kernel size x channels in and out). BatchNorm's defaults already match.
    """
    for module in net.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(module.weight)
            if module.bias is not None:
                nn.init.zeros_(module.bias)


def build_network(batchnorm: bool = True, bn_momentum: float = 0.9) -> SpeedrunNet:
    """The network, Keras-initialised (from torch's seed), channels-last in memory."""
    net = SpeedrunNet(batchnorm, bn_momentum)
    keras_init(net)
    return net.to(memory_format=torch.channels_last)


def use_bf16(precision: str) -> bool:
    """Whether a recipe's ``precision`` computes in bfloat16 here.

    ``"auto"`` asks :func:`cnn_helpers.precision.bfloat16_supported`, the
    speedrun's own test (bf16 units in the CPU flags, and oneDNN), with
    PyTorch's oneDNN in place of TensorFlow's, so TensorFlow is never imported.
    """
    if precision == "auto":
        return bfloat16_supported(onednn=torch.backends.mkldnn.is_available())
    return precision == "bfloat16"


def learning_rate_at(step: int, recipe: SpeedRecipe, total_steps: int) -> float:
    """The rate of 0-based ``step``, as :func:`cnn_helpers.schedule.learning_rate`.

    One-cycle: from ``peak / 10`` up to ``peak`` over ``warmup`` of the steps,
    then linearly down to zero at ``total_steps``; ``linear`` is the decay alone.
    """
    peak = recipe.learning_rate
    if recipe.schedule == "constant":
        return peak
    up = (recipe.warmup if recipe.schedule == "one_cycle" else 0.0) * total_steps
    if step < up:
        return max(peak * (0.1 + 0.9 * step / up), 0.0)
    return max(peak * (total_steps - step) / (total_steps - up), 0.0)


def make_optimizer(net: nn.Module, recipe: SpeedRecipe) -> torch.optim.Optimizer:
    """The recipe's optimizer with Keras's defaults; the rate is set every step."""
    by_name = {cls.__name__.lower(): cls for cls in KERAS_DEFAULTS}
    cls = by_name[recipe.optimizer]
    return cls(net.parameters(), lr=recipe.learning_rate, **KERAS_DEFAULTS[cls])


def batch_indices(
    n: int, batch_size: int, total_steps: int, generator: torch.Generator
) -> Iterator[torch.Tensor]:
    """``total_steps`` batches of indices: each epoch reshuffled, its last batch short.

    The same batching as :func:`cnn_helpers.train.training_dataset` (shuffle,
    batch, repeat), so fractional epochs end at the same step.
    """
    step = 0
    while True:
        order = torch.randperm(n, generator=generator)
        for start in range(0, n, batch_size):
            if step == total_steps:
                return
            yield order[start : start + batch_size]
            step += 1


def mnist_tensors() -> tuple[torch.Tensor, ...]:
    """``x_train, y_train, x_test, test_labels``: the book's MNIST, preprocessed.

    Images ``(N, 1, 28, 28)`` float32 in [0, 1], channels-last; training labels
    one-hot float32 (the tutorial's); test labels as class numbers.
    """
    (x_train, y_train), (x_test, y_test) = load_mnist()

    def images(x) -> torch.Tensor:
        nchw = torch.from_numpy(x).permute(0, 3, 1, 2)  # (N, 28, 28, 1) -> NCHW view
        return nchw.contiguous(memory_format=torch.channels_last)

    x, y = preprocess(x_train, y_train)
    xt, _ = preprocess(x_test, y_test)
    return images(x), torch.from_numpy(y), images(xt), torch.from_numpy(y_test).long()


def evaluate(
    net: nn.Module, x: torch.Tensor, labels: torch.Tensor, bf16: bool,
    batch_size: int = 1000,
) -> float:
    """Test accuracy in inference mode (moving statistics), in the training's
    precision (Keras's ``predict`` computes in the policy's bfloat16 too)."""
    net.eval()
    correct = 0
    with torch.inference_mode(), torch.autocast("cpu", torch.bfloat16, enabled=bf16):
        for start in range(0, len(x), batch_size):
            logits = net(x[start : start + batch_size])
            right = logits.argmax(1) == labels[start : start + batch_size]
            correct += int(right.sum())
    return correct / len(x)


def run_steps(
    net: nn.Module, recipe: SpeedRecipe, x: torch.Tensor, y: torch.Tensor,
    bf16: bool, seed: int,
) -> None:
    """Train ``net`` for ``recipe.steps(len(x))`` steps of the recipe."""
    total = recipe.steps(len(x))
    optimizer = make_optimizer(net, recipe)
    order = torch.Generator().manual_seed(seed)
    net.train()
    batches = batch_indices(len(x), recipe.batch_size, total, order)
    for step, idx in enumerate(batches):
        for group in optimizer.param_groups:
            group["lr"] = learning_rate_at(step, recipe, total)
        xb = x[idx].contiguous(memory_format=torch.channels_last)
        with torch.autocast("cpu", torch.bfloat16, enabled=bf16):
            loss = F.cross_entropy(net(xb), y[idx])  # one-hot targets, batch mean
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()


def train(seed: int, recipe: SpeedRecipe = FINAL_RECIPE, data=None) -> dict:
    """Train ``recipe`` with ``seed``; time the training steps only.

    ``data`` is :func:`mnist_tensors`'s tuple (loaded here when ``None``, so
    several seeds can share one load). Returns ``{"seed", "train_seconds",
    "test_acc", "bf16", "torch"}``.
    """
    torch.set_num_threads(os.cpu_count() or 1)
    x, y, xt, labels = data if data is not None else mnist_tensors()
    bf16 = use_bf16(recipe.precision)
    torch.manual_seed(seed)
    net = build_network(recipe.batchnorm, recipe.bn_momentum)
    start = time.perf_counter()
    run_steps(net, recipe, x, y, bf16, seed)
    seconds = time.perf_counter() - start
    return {
        "seed": seed,
        "train_seconds": round(seconds, 3),
        "test_acc": evaluate(net, xt, labels, bf16),
        "bf16": bf16,
        "torch": torch.__version__,
    }




def main(argv: list[str] | None = None) -> int:
    """Train the final recipe once per seed; print one JSON line per run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=parse_seeds, default=[0],
                        help="seeds to train, e.g. 0-2 or 0,3 (default: 0)")
    parser.add_argument("--precision", choices=("auto", "float32", "bfloat16"),
                        default=FINAL_RECIPE.precision,
                        help="the final recipe's precision (default: auto)")
    args = parser.parse_args(argv)
    data = mnist_tensors()
    recipe = replace(FINAL_RECIPE, precision=args.precision)
    for seed in args.seeds:
        print(json.dumps(train(seed, recipe, data)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
