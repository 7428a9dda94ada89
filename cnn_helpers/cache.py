"""A safe cache of trained models: checked on load, written atomically.

An entry is a folder ``<cache>/models/<key>/`` holding ``model.keras`` and
``meta.json``. The key is a hash of everything that changes the weights
(:func:`cnn_helpers.train.cache_key`). An entry is used only when its metadata
parses, its key matches and the model file's SHA-256 matches the one recorded
when it was written; anything else is reported, deleted, and the caller trains
again. Entries are built in a temporary folder and renamed into place, so an
interrupted run never leaves a half-written entry behind.

An entry's ``meta.json`` must hold the fields :data:`META_FIELDS`; one that lacks
any (written by older code, or edited) is damaged like any other: reported,
deleted, trained again.

Concurrency: :func:`locked` holds an exclusive lock on
``<cache>/model-locks/<key>.lock`` (:func:`cnn_helpers.store.file_lock`, released by
the system if the process dies), and :func:`cnn_helpers.train.trained_model` trains
and saves under it: a second process asking for the same model waits, then loads
the first one's entry instead of training again. Temporary folders whose key is
not locked belong to a killed process and are removed by
:func:`remove_stale_temps`, those of the key the caller holds included. Entries get
the permissions the umask gives (group-readable by default), not ``mkdtemp``'s 0700.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from . import import_tensorflow_quietly, store

import_tensorflow_quietly()
import keras  # noqa: E402


#: What every entry's meta.json holds besides its key and checksum: what a cached
#: result is made of (:func:`cnn_helpers.train.trained_model` reads them all).
META_FIELDS = ("history", "test_loss", "test_acc", "epoch_seconds")


def model_cache_dir() -> Path:
    """Folder holding one sub-folder per cached training run."""
    return store.cache_dir() / store.MODELS


@contextmanager
def locked(key: str) -> Iterator[bool]:
    """Hold entry ``key``'s lock while the block runs (True if held; see store.file_lock)."""
    waiting = f"Another process is training or saving this model ({key}); waiting for it."
    with store.file_lock(_lock_file(key), waiting) as held:
        yield held


def _lock_file(key: str) -> Path:
    """Where the lock of entry ``key`` lives: beside the entries, not among them."""
    return model_cache_dir().with_name(store.MODEL_LOCKS) / f"{key}.lock"


def remove_stale_temps(holding: str | None = None) -> list[Path]:
    """Remove temporary entry folders left by killed processes; return what was removed.

    A temporary folder ``.<key>.tmp-*`` is being written only while its key's lock
    is held, so a folder whose lock can be taken right now is stale. The caller's
    own key (``holding``, whose lock the caller holds) is stale too: no one else
    can be writing it, so a folder of that key is a killed run's.
    """
    root = model_cache_dir()
    if not root.is_dir():
        return []
    removed = []
    for tmp in sorted(root.glob(".*.tmp-*")):
        key = tmp.name[1:].split(".tmp-")[0]
        if key == holding:
            removed += store.remove([tmp])
            continue
        with store.file_lock(_lock_file(key), wait=False) as free:
            if free:
                removed += store.remove([tmp])
    return removed


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
    if not isinstance(meta, dict):
        raise ValueError(f"meta.json holds a {type(meta).__name__}, not an object")
    if meta.get("key") != key:
        raise ValueError(f"stale entry: key {meta.get('key')!r} != {key!r}")
    missing = [name for name in META_FIELDS if name not in meta]
    if missing:
        raise ValueError(f"meta.json lacks {missing}")
    model_file = entry / "model.keras"
    if not model_file.exists():
        raise ValueError("model.keras is missing")
    if file_sha256(model_file) != meta.get("model_sha256"):
        raise ValueError(
            "model.keras does not match the checksum recorded when it was written"
        )
    # The optimizer's state is only needed to go on training; the book evaluates
    # and inspects cached models, so the caller compiles afresh.
    return keras.models.load_model(model_file, compile=False), meta


def load(key: str) -> tuple[keras.Model, dict] | None:
    """The cached model and metadata for ``key``, or ``None`` without a usable entry.

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
    """Write an entry atomically: build it in a temporary folder, then rename it.

    Call it while holding :func:`locked` for ``key``. An existing entry is moved
    aside first and deleted after the rename, so the final rename never meets a
    non-empty folder.
    """
    missing = [name for name in META_FIELDS if name not in meta]
    if missing:
        raise ValueError(f"cache.save: meta lacks {missing}; an entry needs {META_FIELDS}")
    root = model_cache_dir()
    tmp = store.new_folder(root, f".{key}.tmp-")
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
            old = store.new_folder(root, f".{key}.tmp-old-")
            os.replace(final, old / "entry")
            os.rename(tmp, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, final)
        return final
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


class CacheNotWritten(UserWarning):
    """A trained model could not be written to the cache; it was returned anyway."""


def save_or_warn(key: str, model: keras.Model, meta: dict) -> Path | None:
    """:func:`save`, but a failed write only warns: a trained model is too dear to lose.

    Returns the entry's folder, or None after warning (:class:`CacheNotWritten`) with
    the path, the reason and the fix. Interrupts (``KeyboardInterrupt``) still stop.
    """
    try:
        return save(key, model, meta)
    except Exception as exc:
        warnings.warn(
            f"The trained model could not be saved in the cache "
            f"{model_cache_dir() / key} ({type(exc).__name__}: {exc}). It is "
            "returned, but the next run will train it again. Fix: make "
            f"{store.cache_dir()} a writable folder with free space, or point "
            "CNN_BOOK_CACHE at one.",
            CacheNotWritten,
            stacklevel=3,
        )
        return None
