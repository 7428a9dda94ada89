"""Which precision a training computes in: bfloat16 where the CPU does it fast, else float32.

bfloat16 keeps float32's range with 8 bits of mantissa. Matrix units for it (AMX,
AVX-512 BF16) make a convolution cheaper, but only through oneDNN's kernels:
without them TensorFlow emulates bfloat16 and is far slower than float32. The
speedrun's recipes say ``precision="auto"`` and get what is fast here.
"""
from __future__ import annotations

from .machine import cpu_field, onednn_enabled

PRECISIONS = ("auto", "float32", "bfloat16")

#: The /proc/cpuinfo flags of the units that compute bfloat16 fast.
BF16_FLAGS = frozenset({"amx_bf16", "avx512_bf16"})


def cpu_flags() -> set[str]:
    """The CPU feature flags Linux reports in ``/proc/cpuinfo`` (empty elsewhere)."""
    return set(cpu_field("flags").split())


def bfloat16_supported(
    flags: set[str] | None = None, onednn: bool | None = None
) -> bool:
    """True when bfloat16 training is fast here: bf16 hardware and oneDNN's kernels.

    The hardware is AMX (``amx_bf16``, Intel Sapphire Rapids and later) or
    AVX-512 BF16 (``avx512_bf16``, e.g. AMD Zen 4). Without oneDNN, TensorFlow's
    own bfloat16 convolutions are emulated and far slower than float32. oneDNN's
    state is what TensorFlow loaded (:func:`cnn_helpers.machine.onednn_enabled`).
    """
    flags = cpu_flags() if flags is None else flags
    onednn = onednn_enabled() if onednn is None else onednn
    return onednn and bool(BF16_FLAGS & set(flags))


def resolve_precision(precision: str) -> str:
    """``"auto"``: ``"bfloat16"`` if :func:`bfloat16_supported`, else ``"float32"``."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if precision == "auto":
        return "bfloat16" if bfloat16_supported() else "float32"
    return precision
