"""``make bench``: how fast the book's trainings run here, next to what the CPU can do.

Peers, timed in one process and interleaved (round after round, each peer once
per round, the matmul reference before every peer), on the real 60,000 MNIST
training images:

- ``book train()``: the tutorial's recipe through ``cnn_helpers.train.train``,
  the path every chapter uses (one repeating tf.data pipeline, ``model.fit``);
- ``book + steps/exec``: the same, compiled with ``steps_per_execution`` (several
  training steps per call into TensorFlow); the bench checks that it trains the
  very same weights;
- ``plain fit``: ``model.fit`` on NumPy arrays with Keras's defaults;
- ``bare step``: a ``tf.function`` training step in a Python loop, no Keras fit;
- ``speedrun``: the final recipe of the speedrun chapter (one epoch);
- ``pytorch``: the same recipe in PyTorch (:mod:`book_tools.torch_reference`, in its
  own process, seed 0), only when PyTorch is installed (the optional ``torch`` extra);
  the bench then prints the speedrun's time over PyTorch's.

The machine (:func:`cnn_helpers.machine.describe`) and every peer's times are written
to ``_build/bench.json``, so a result is never separated from where it was measured.

Reported per peer: seconds per epoch (median over its epochs, first epoch
included), images per second, the training throughput as a percentage of a
4096 x 4096 float32 matmul's, and the training time to 0.99 test accuracy
where the peer evaluates on the test set after each epoch (evaluation not
timed).

The FLOP count is arithmetic, shown in the output: the multiply-adds of one
forward pass per image (from ``model.forward_macs``), x2 FLOPs per multiply-add,
x3 for training (the backward pass costs about twice the forward one), x60,000
images per epoch. BatchNorm's few operations are not counted.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import time

from pathlib import Path

import numpy as np

from cnn_helpers import import_tensorflow_quietly

tf = import_tensorflow_quietly()
import keras  # noqa: E402

from cnn_helpers.model import accuracy, build_tutorial_model, compile_model  # noqa: E402
from cnn_helpers.recipe import TRAIN_IMAGES, TUTORIAL_RECIPE  # noqa: E402
from cnn_helpers.speedrun_recipe import (  # noqa: E402
    TARGET_ACCURACY,
    Checkpoint,
    time_to_target,
)
from cnn_helpers.train import _EpochLog, training_dataset  # noqa: E402  (the book's clock)

from .paths import ROOT  # noqa: E402

#: Where ``make bench`` writes what it measured, with the machine.
BENCH_RECORD = ROOT / "_build" / "bench.json"


def matmul_gflops(n: int = 4096, repeats: int = 5) -> float:
    """Best-of-``repeats`` GFLOP/s of an ``n x n`` float32 matmul (2 n^3 FLOPs)."""
    a = tf.random.uniform((n, n), dtype=tf.float32, seed=1)
    b = tf.random.uniform((n, n), dtype=tf.float32, seed=2)
    tf.linalg.matmul(a, b).numpy()  # warm-up
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        tf.linalg.matmul(a, b).numpy()
        best = min(best, time.perf_counter() - t)
    return 2 * n**3 / best / 1e9


def numpy_matmul_gflops(n: int = 4096, repeats: int = 5) -> float:
    """The same measurement with NumPy's BLAS."""
    rng = np.random.default_rng(0)
    a = rng.random((n, n), dtype=np.float32)
    b = rng.random((n, n), dtype=np.float32)
    a @ b
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t)
    return 2 * n**3 / best / 1e9


class EpochClock(_EpochLog):
    """The training log's epoch clock, silent; optionally tests after each epoch, off the clock."""

    def __init__(self, test: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        super().__init__(verbose=False)
        self.test = test
        self.test_acc: list[float] = []

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        if self.test is not None:
            self.test_acc.append(accuracy(self.model, *self.test))


def time_to(
    seconds: list[float], accs: list[float], target: float = TARGET_ACCURACY
) -> float:
    """Training seconds until the first epoch with test accuracy >= ``target``.

    The epochs' times add up to checkpoints, read by the book's one rule,
    :func:`cnn_helpers.speedrun_recipe.time_to_target`.
    """
    elapsed = np.cumsum(seconds)
    checkpoints = [Checkpoint(k + 1, float(t), a) for k, (t, a) in enumerate(zip(elapsed, accs))]
    return time_to_target(checkpoints, target)


def book_path(epochs: int) -> dict:
    """The book's training: ``cnn_helpers.train.train`` with the tutorial's recipe.

    It loads and preprocesses MNIST itself, as every chapter's training does.
    """
    from dataclasses import replace

    from cnn_helpers.train import train

    result = train(replace(TUTORIAL_RECIPE, epochs=epochs), verbose=False)
    return {"seconds": result.epoch_seconds, "weights": result.model.get_weights()}


def book_path_steps_per_execution(epochs: int, data, steps: int = 16) -> dict:
    """``train()``'s code with ``steps_per_execution=steps`` in ``compile``.

    Several optimizer steps run inside one call into TensorFlow, so Keras's
    Python work (callbacks, logs, the call itself) is paid once per ``steps``.
    The batches, their order and the arithmetic are the same, so the weights
    must be too (the bench compares them).
    """
    (x, y), (xt, yt) = data
    recipe = TUTORIAL_RECIPE
    keras.utils.set_random_seed(recipe.seed)
    model = build_tutorial_model(compile=False)
    compile_model(model, recipe.optimizer, loss=recipe.loss, steps_per_execution=steps)
    clock = EpochClock((xt, yt))
    model.fit(
        training_dataset(x, y, recipe.batch_size, recipe.seed),
        epochs=epochs,
        steps_per_epoch=math.ceil(len(x) / recipe.batch_size),
        shuffle=False,
        verbose=0,
        callbacks=[clock],
    )
    return {
        "seconds": clock.seconds,
        "t99": time_to(clock.seconds, clock.test_acc),
        "weights": model.get_weights(),
    }


def plain_fit(epochs: int, data) -> dict:
    """``model.fit`` on NumPy arrays, Keras's defaults, the tutorial's recipe."""
    (x, y), (xt, yt) = data
    recipe = TUTORIAL_RECIPE
    keras.utils.set_random_seed(recipe.seed)
    model = build_tutorial_model(compile=True)
    clock = EpochClock((xt, yt))
    model.fit(x, y, batch_size=recipe.batch_size, epochs=epochs, verbose=0, callbacks=[clock])
    return {"seconds": clock.seconds, "t99": time_to(clock.seconds, clock.test_acc)}


def bare_step(epochs: int, data) -> dict:
    """A ``tf.function`` step (the tutorial's recipe) in a Python loop: no ``fit``."""
    (x, y), _ = data
    recipe = TUTORIAL_RECIPE
    keras.utils.set_random_seed(recipe.seed)
    model = build_tutorial_model(compile=False)
    optimizer = keras.optimizers.get(recipe.optimizer)
    loss_fn = keras.losses.get(recipe.loss)

    @tf.function
    def step(xb, yb):
        with tf.GradientTape() as tape:
            loss = loss_fn(yb, model(xb, training=True))
        optimizer.apply_gradients(
            zip(
                tape.gradient(loss, model.trainable_variables),
                model.trainable_variables,
            )
        )
        return loss

    batches = iter(training_dataset(x, y, recipe.batch_size, recipe.seed))
    n = math.ceil(len(x) / recipe.batch_size)
    seconds = []
    for _ in range(epochs):
        start = time.perf_counter()
        for _ in range(n):
            loss = step(*next(batches))
        loss.numpy()
        seconds.append(time.perf_counter() - start)
    return {"seconds": seconds}


def speedrun_path(mnist) -> dict:
    """The speedrun chapter's final recipe (one epoch) on ``mnist`` as ``load_mnist`` gives it."""
    from cnn_helpers import speedrun as sr

    result = sr.speedrun(sr.FINAL_RECIPE, data=mnist)
    return {
        "seconds": [result.train_seconds],
        "t99": result.time_to(TARGET_ACCURACY),
        "note": f"{result.precision}, test accuracy {result.test_acc:.4f}",
    }


def pytorch_path() -> dict:
    """The speedrun's final recipe in PyTorch (seed 0), timed by its own process."""
    from .speedrun_ladder import torch_run

    run = torch_run(0)
    precision = "bfloat16" if run["bf16"] else "float32"
    return {"seconds": [run["train_seconds"]],
            "note": f"{precision}, test accuracy {run['test_acc']:.4f}, {run['torch']}"}


def torch_installed() -> bool:
    """Whether PyTorch (the optional ``torch`` extra) can be imported here."""
    return importlib.util.find_spec("torch") is not None


def default_peers() -> list[str]:
    """Every peer, but PyTorch's only when it is installed."""
    return [name for name in PEERS if name != "pytorch" or torch_installed()]


#: Each peer, called with the epochs to train, the preprocessed data and the raw
#: MNIST: what each one uses is visible here.
PEERS = {
    "book train()": lambda epochs, data, mnist: book_path(epochs),
    "book + steps/exec": lambda epochs, data, mnist: book_path_steps_per_execution(
        epochs, data
    ),
    "plain fit": lambda epochs, data, mnist: plain_fit(epochs, data),
    "bare step": lambda epochs, data, mnist: bare_step(epochs, data),
    "speedrun": lambda epochs, data, mnist: speedrun_path(mnist),
    "pytorch": lambda epochs, data, mnist: pytorch_path(),
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--epochs", type=int, default=5, help="epochs per tutorial-recipe peer"
    )
    parser.add_argument(
        "--rounds", type=int, default=1, help="times every peer runs, interleaved"
    )
    parser.add_argument(
        "--peers",
        default=",".join(default_peers()),
        help="comma-separated subset of: " + ", ".join(PEERS)
        + " (pytorch by default only when it is installed)",
    )
    parser.add_argument("--out", default=str(BENCH_RECORD),
                        help="where to write the machine and the times (JSON)")
    args = parser.parse_args(argv)
    names = [p.strip() for p in args.peers.split(",") if p.strip()]
    unknown = [p for p in names if p not in PEERS]
    if unknown:
        parser.error(f"unknown peers {unknown}; choose from {list(PEERS)}")

    from cnn_helpers.data import load_mnist, preprocess
    from cnn_helpers.model import forward_macs

    mnist = load_mnist()
    (x_train, y_train), (x_test, y_test) = mnist
    data = (preprocess(x_train, y_train), preprocess(x_test, y_test))
    macs = forward_macs(build_tutorial_model(compile=False))
    per_image = sum(m for _, m in macs)
    epoch_flop = per_image * 2 * 3 * TRAIN_IMAGES
    print("FLOPs of one training epoch")
    for name, m in macs:
        print(f"  {name:10s} {m:>10,d} multiply-adds per image")
    print(f"  total      {per_image:>10,d} multiply-adds per image (forward)")
    print(
        "  x 2 FLOP per multiply-add x 3 (forward + backward) x 60,000 images = "
        f"{epoch_flop / 1e12:.3f} TFLOP per epoch"
    )
    numpy_peak = numpy_matmul_gflops()
    print(f"NumPy matmul: {numpy_peak:.1f} GFLOP/s")

    results: dict[str, list[dict]] = {name: [] for name in names}
    peaks = []
    for r in range(args.rounds):
        for name in names:
            peaks.append(matmul_gflops())
            start = time.perf_counter()
            out = PEERS[name](args.epochs, data, mnist)
            out["wall"] = time.perf_counter() - start
            results[name].append(out)
            print(
                f"round {r + 1}, {name}: epochs "
                f"{' '.join(f'{s:.1f}' for s in out['seconds'])} s "
                f"(matmul before: {peaks[-1]:.0f} GFLOP/s)",
                flush=True,
            )
    peak = float(np.median(peaks))
    print(
        f"\nMatmul reference (4096 x 4096 float32, best of 5, before each peer): "
        f"median {peak:.1f}, from {min(peaks):.1f} to {max(peaks):.1f} GFLOP/s"
    )

    print(
        f"\n{'peer':18s} {'s/epoch':>8s} {'best':>6s} {'images/s':>9s} {'GFLOP/s':>8s} "
        f"{'% matmul':>9s} {f'to {TARGET_ACCURACY}':>8s}"
    )
    for name in names:
        secs = np.concatenate([o["seconds"] for o in results[name]])
        med = float(np.median(secs))
        g = epoch_flop / med / 1e9
        t99s = [o["t99"] for o in results[name] if "t99" in o]
        reached = t99s and np.isfinite(np.median(t99s))
        t99 = f"{np.median(t99s):7.1f}s" if reached else "not yet" if t99s else "       -"
        print(
            f"{name:18s} {med:8.1f} {secs.min():6.1f} {TRAIN_IMAGES / med:9.0f} {g:8.1f} "
            f"{100 * g / peak:8.0f}% {t99}"
        )
    for name in names:
        notes = [o["note"] for o in results[name] if "note" in o]
        if notes:
            print(f"  {name}: {'; '.join(notes)}")
    if "book train()" in results and "book + steps/exec" in results:
        pairs = zip(results["book train()"], results["book + steps/exec"], strict=True)
        same = all(
            all(np.array_equal(a, b) for a, b in zip(o1["weights"], o2["weights"], strict=True))
            for o1, o2 in pairs
        )
        print(f"\nbook + steps/exec trains the same weights as book train(): {same}")
    print(
        "(percentages against the TensorFlow matmul; "
        f"NumPy's runs at {numpy_peak:.1f} GFLOP/s)"
    )
    if "speedrun" in results and "pytorch" in results:
        keras_s = np.median([o["seconds"][0] for o in results["speedrun"]])
        torch_s = np.median([o["seconds"][0] for o in results["pytorch"]])
        print(f"\nthe speedrun's final recipe, Keras / PyTorch training time: "
              f"{keras_s / torch_s:.2f} ({keras_s:.1f} s / {torch_s:.1f} s)")
    write_record(Path(args.out), results, peak)


def write_record(path: Path, results: dict[str, list[dict]], peak: float) -> None:
    """The machine, the matmul reference and each peer's seconds, as JSON (atomically)."""
    from cnn_helpers.machine import describe
    from cnn_helpers.store import atomic_write_text

    peers = {name: [{k: v for k, v in o.items() if k != "weights"} for o in runs]
             for name, runs in results.items()}
    record = {"machine": describe(), "matmul_gflops": peak, "peers": peers}
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(record, indent=1, default=float) + "\n")
    print(f"written to {path}")


if __name__ == "__main__":
    main()
