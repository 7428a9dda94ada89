"""A safe cache of trained models: checked on load, written atomically.

An entry is a folder ``<cache>/models/<key>/`` holding ``model.keras`` and
``meta.json``. The key is a hash of everything that changes the weights
(:func:`cnn_helpers.train.cache_key`). An entry is used only when its metadata
parses, its key matches and the model file's SHA-256 matches the one recorded
when it was written; anything else is reported, deleted, and the caller trains
again. Entries are built in a temporary folder and renamed into place, so an
interrupted run never leaves a half-written entry behind.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from . import import_tensorflow_quietly
from .data import cache_dir

import_tensorflow_quietly()
import keras  # noqa: E402


def model_cache_dir() -> Path:
    """Folder holding one sub-folder per cached training run."""
    return cache_dir() / "models"


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _load_entry(entry: Path, key: str) -> tuple[keras.Model, dict]:
    """Load a cache entry, raising ``ValueError`` saying what is wrong with it."""
    try:
        meta = json.loads((entry / "meta.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"meta.json unreadable ({exc})") from exc
    if meta.get("key") != key:
        raise ValueError(f"stale entry: key {meta.get('key')!r} != {key!r}")
    model_file = entry / "model.keras"
    if not model_file.exists():
        raise ValueError("model.keras is missing")
    if file_sha256(model_file) != meta.get("model_sha256"):
        raise ValueError("model.keras does not match the checksum recorded when it was written")
    # The optimizer's state is only needed to go on training; the book evaluates
    # and inspects cached models, so the caller compiles afresh.
    return keras.models.load_model(model_file, compile=False), meta


def load(key: str) -> tuple[keras.Model, dict] | None:
    """The cached model and metadata for ``key``, or ``None`` when there is no usable entry.

    A damaged or stale entry is reported and deleted, never used.
    """
    entry = model_cache_dir() / key
    if not entry.exists():
        return None
    try:
        return _load_entry(entry, key)
    except Exception as exc:
        print(f"The cached model in {entry} cannot be used ({exc}); training it again.")
        shutil.rmtree(entry, ignore_errors=True)
        return None


def save(key: str, model: keras.Model, meta: dict) -> Path:
    """Write an entry atomically: build it in a temporary folder, then rename it into place."""
    root = model_cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=root, prefix=f".{key}.tmp-"))
    try:
        model.save(tmp / "model.keras")
        meta = {
            **meta,
            "key": key,
            "model_sha256": file_sha256(tmp / "model.keras"),
            "keras": keras.__version__,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
        final = root / key
        if final.exists():
            shutil.rmtree(final)
        os.rename(tmp, final)
        return final
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
