"""What goes on disk, written once: whole files written atomically, and locks.

A file the book writes (a record, a cache entry's metadata, an exported page) is
either its old self or its new self, never half of each: it is written to a
temporary file beside it and renamed over it in one step.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .data import file_lock, umask_mode  # noqa: F401  (the one lock, re-exported)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a reader sees the old file or the new one, never a part."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, umask_mode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    """:func:`atomic_write_bytes` for UTF-8 text."""
    atomic_write_bytes(path, text.encode("utf-8"))
