"""``make bench``: how fast does the tutorial's recipe train here, next to what the CPU can do?

Times every epoch of the tutorial's recipe (5 epochs, batch 64, rmsprop) on the real
60,000 MNIST images, with the book's training settings, and a large float32
matrix multiplication in the same run. Reports seconds per epoch, images per
second, and the training throughput in GFLOP/s as a fraction of the matmul's.

The FLOP count is arithmetic, shown in the output: the multiply-adds of one
forward pass per image (from ``model.forward_macs``), x2 FLOPs per multiply-add,
x3 for training (the backward pass costs about twice the forward one), x60,000
images per epoch.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from cnn_helpers import import_tensorflow_quietly

tf = import_tensorflow_quietly()


def matmul_gflops(n: int = 4096, repeats: int = 5) -> float:
    """Best-of-``repeats`` GFLOP/s of an ``n x n`` float32 matmul in TensorFlow (2 n^3 FLOPs)."""
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
    """The same measurement with NumPy's BLAS (the reference BOOK.md's numbers were taken with)."""
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=5)
    args = parser.parse_args(argv)

    from cnn_helpers.model import build_tutorial_model, forward_macs
    from cnn_helpers.train import Recipe, train

    macs = forward_macs(build_tutorial_model(compile=False))
    per_image = sum(m for _, m in macs)
    epoch_flop = per_image * 2 * 3 * 60_000
    print("FLOPs of one training epoch")
    for name, m in macs:
        print(f"  {name:10s} {m:>10,d} multiply-adds per image")
    print(f"  total      {per_image:>10,d} multiply-adds per image (forward)")
    print(f"  x 2 FLOP per multiply-add x 3 (forward + backward) x 60,000 images = {epoch_flop / 1e12:.3f} TFLOP per epoch")

    print("\nMatmul reference (4096 x 4096 float32, best of 5)")
    peak_before = matmul_gflops()
    numpy_peak = numpy_matmul_gflops()
    print(f"  TensorFlow: {peak_before:.1f} GFLOP/s   NumPy: {numpy_peak:.1f} GFLOP/s")

    print(f"\nSeed recipe: {args.epochs} epochs, batch 64, rmsprop, real MNIST")
    t0 = time.perf_counter()
    result = train(Recipe(epochs=args.epochs), verbose=True)
    total = time.perf_counter() - t0
    peak_after = matmul_gflops()
    peak = max(peak_before, peak_after)

    secs = np.array(result.epoch_seconds)
    print(f"\nMatmul again after training: {peak_after:.1f} GFLOP/s (reference: the better of the two, {peak:.1f})")
    print("\nepoch  seconds  images/s  GFLOP/s  % of matmul")
    for k, s in enumerate(secs, 1):
        g = epoch_flop / s / 1e9
        print(f"{k:5d}  {s:7.1f}  {60_000 / s:8.0f}  {g:7.1f}  {100 * g / peak:10.0f}%")
    mean = secs.mean()
    g = epoch_flop / mean / 1e9
    print(f" mean  {mean:7.1f}  {60_000 / mean:8.0f}  {g:7.1f}  {100 * g / peak:10.0f}%")
    print(f"(against NumPy's matmul, {numpy_peak:.1f} GFLOP/s, the mean epoch runs at {100 * g / numpy_peak:.0f}%)")
    print(f"\n{args.epochs} epochs: {secs.sum():.1f} s of epochs, {total:.1f} s wall including set-up and evaluation")
    print(f"test accuracy {result.test_acc:.4f}")


if __name__ == "__main__":
    main()
