"""The machine a number was computed on, described once.

Numbers about a trained network depend on the arithmetic that computed them: the
CPU's instruction sets and whether TensorFlow runs its oneDNN kernels. Every record
the book keeps (the seed record, the speedrun's steps) and the chapters that say
where their numbers came from use :func:`describe`, so a machine is always
described the same way.
"""
from __future__ import annotations

import os
import platform
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

#: The instruction sets that decide which kernels oneDNN can use, by their
#: /proc/cpuinfo flag.
FEATURES = {"AVX-512": "avx512f", "AVX-512 bf16": "avx512_bf16", "AMX": "amx_tile"}


def cpu_field(name: str, cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """The first value of a field of /proc/cpuinfo ("" where there is none)."""
    if not cpuinfo.exists():
        return ""
    for line in cpuinfo.read_text().splitlines():
        if line.startswith(name):
            return line.split(":", 1)[1].strip()
    return ""


def onednn_enabled() -> bool:
    """Whether TensorFlow runs its oneDNN kernels, as TensorFlow itself reports it.

    TensorFlow reads ``TF_ENABLE_ONEDNN_OPTS`` once; changing the variable later
    changes nothing, so the variable is not what to read: TensorFlow's answer is.
    """
    from . import import_tensorflow_quietly

    import_tensorflow_quietly()
    from tensorflow.python.util import _pywrap_util_port

    return bool(_pywrap_util_port.IsMklEnabled())


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


def describe() -> dict:
    """This machine: CPU model, which of :data:`FEATURES` it has, cores, oneDNN, versions."""
    flags = set(cpu_field("flags").split())
    return {
        "cpu": cpu_field("model name") or platform.processor() or "unknown",
        "features": [name for name, flag in FEATURES.items() if flag in flags],
        "cores": os.cpu_count(),
        "system": f"{platform.system()} {platform.machine()}",
        "onednn": onednn_enabled(),
        "python": platform.python_version(),
        "versions": {p: _version(p) for p in ("tensorflow", "keras", "numpy")},
    }
