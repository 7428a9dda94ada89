"""What goes on disk, written once: the cache folder, whole files written atomically, locks.

- :func:`cache_dir` is the book's cache folder (``$CNN_BOOK_CACHE``, else ``.cache``
  in the repository); the names of its parts are the constants below, so no module
  spells a sub-folder by hand.
- A file the book writes (a record, a cache entry, an exported page) is either its
  old self or its new self, never half of each: :func:`atomic_file` writes it to a
  temporary file beside it and renames that over it in one step.
  :func:`atomic_write_bytes` and :func:`atomic_write_text` are the one-call forms.
- :func:`file_lock` is the one lock (the ``filelock`` library's: ``flock`` on Unix,
  released by the system when a process dies).

New files and folders get the permissions the umask gives, like any file the user
creates (group-readable by default, so a cache can be shared): they are created
with mode 0o666 or 0o777 and the system applies the umask. The umask is never
changed, not even for a moment, since that would change it for every thread.
"""
from __future__ import annotations

import os
import secrets
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator

import filelock

#: The environment variable that moves the book's cache folder.
CACHE_VARIABLE = "CNN_BOOK_CACHE"

#: The repository checkout this package lives in (None when it is installed elsewhere).
REPO_ROOT: Path | None = Path(__file__).resolve().parents[1]
if not (REPO_ROOT / "pyproject.toml").exists():
    REPO_ROOT = None

# The cache's parts, inside :func:`cache_dir`.
#: MNIST's arrays, as a plain ``.npz`` (:mod:`cnn_helpers.data`).
MNIST_FILE = "mnist.npz"
#: One sub-folder per trained model (:mod:`cnn_helpers.cache`).
MODELS = "models"
#: The model entries' lock files, beside the entries, not among them.
MODEL_LOCKS = "model-locks"
#: The speedrun's measured runs, one JSON file each.
SPEEDRUN = "speedrun"
#: The executed copies of the seeds chapter's runs.
SEEDS = "seeds"
#: The executed copies of the generalisation chapter's sweep runs.
SWEEPS = "sweeps"
#: Files the build downloads once (MathJax).
VENDOR = "vendor"


def cache_dir() -> Path:
    """The book's cache folder: ``$CNN_BOOK_CACHE``, else ``.cache`` in the repository.

    A relative ``$CNN_BOOK_CACHE`` is resolved against the repository root, never
    against the current folder: the tests run from the root and the notebooks from
    ``chapters/``, and both must find the same cache. When the package is not in a
    repository checkout, a relative value is refused (there is no root to resolve
    it against). Without the variable, the cache falls back to ``~/.cache/cnn_book``
    when the package is installed somewhere read-only.

    A program that runs a chapter with another cache passes the folder to the
    chapter's kernel (``cnn_helpers.notebooks.run_with_parameters(..., env=...)``);
    it never changes its own environment.
    """
    env = os.environ.get(CACHE_VARIABLE)
    if env:
        path = Path(env).expanduser()
        if path.is_absolute():
            return path
        if REPO_ROOT is None:
            raise ValueError(
                f"{CACHE_VARIABLE}={env!r} is a relative path, and this package is not in the "
                f"book's repository, so there is no root to resolve it against: give an absolute "
                f"path, e.g. {CACHE_VARIABLE}=$HOME/.cache/cnn_book"
            )
        return REPO_ROOT / path
    if REPO_ROOT is not None and os.access(REPO_ROOT, os.W_OK):
        return REPO_ROOT / ".cache"
    return Path.home() / ".cache" / "cnn_book"


def onednn_off_cache_dir() -> Path:
    """The cache of runs with oneDNN off: beside :func:`cache_dir`, named ``<it>-onednn-off``.

    Models trained without oneDNN have other weights, and their keys differ, but a
    separate folder keeps the two kinds of run apart on disk too (``make
    portability`` uses ``.cache-onednn-off`` beside the default ``.cache``).
    """
    main = cache_dir()
    return main.with_name(main.name + "-onednn-off")


# ---------------------------------------------------------------- atomic writes
def temp_name(path: Path) -> Path:
    """A new temporary name beside ``path``: ``.<name>.<random>.tmp`` (hidden, never clashing)."""
    path = Path(path)
    return path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")


def temp_files(path: Path) -> list[Path]:
    """The temporary files :func:`atomic_file` has made for ``path`` and not yet renamed."""
    path = Path(path)
    return sorted(path.parent.glob(f".{path.name}.*.tmp"))


@contextmanager
def atomic_file(path: Path) -> Iterator[BinaryIO]:
    """A binary file to write ``path``'s new content to; it replaces ``path`` when the block ends.

    The content goes to a temporary file beside ``path`` (:func:`temp_name`), is
    flushed to the disk, and is renamed over ``path`` in one step, so a reader sees
    the old file or the new one, never a part. If the block raises, the temporary
    file is deleted and ``path`` is untouched. A process killed meanwhile leaves
    the temporary file; :func:`temp_files` finds it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_name(path)
    # O_EXCL: never write into someone else's file; 0o666: the system applies the umask.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a reader sees the old file or the new one, never a part."""
    with atomic_file(path) as f:
        f.write(data)


def atomic_write_text(path: Path, text: str) -> None:
    """:func:`atomic_write_bytes` for UTF-8 text."""
    atomic_write_bytes(path, text.encode("utf-8"))


def new_folder(parent: Path, prefix: str) -> Path:
    """Create a new, empty folder ``<parent>/<prefix><random>`` with the umask's permissions.

    Unlike ``tempfile.mkdtemp`` (always 0o700), the folder is as readable as any
    folder the user makes, so a cache entry renamed from it can be shared.
    """
    parent = Path(parent)
    parent.mkdir(parents=True, exist_ok=True)
    folder = parent / f"{prefix}{secrets.token_hex(8)}"
    os.mkdir(folder, 0o777)  # the system applies the umask
    return folder


def remove(paths: Iterable[Path]) -> list[Path]:
    """Delete files or folders (left by a killed process); return those removed.

    A path that cannot be removed (already gone, read-only) is skipped.
    """
    removed = []
    for p in paths:
        try:
            shutil.rmtree(p) if p.is_dir() else p.unlink()
            removed.append(p)
        except OSError:
            pass
    return removed


# ---------------------------------------------------------------- the lock
@contextmanager
def file_lock(path: Path, waiting: str | None = None, wait: bool = True) -> Iterator[bool]:
    """Hold an exclusive lock on ``path`` (created if needed) while the block runs.

    Yields True when the lock is held. ``waiting`` is printed when another process
    holds the lock, before waiting for it. With ``wait=False`` the block runs at
    once and gets False when another process holds the lock. When the lock file
    cannot be created (a read-only or missing cache folder), yields False and runs
    the block unlocked: the book still works, only unprotected.

    Two locks on the same path exclude each other even within one process (each
    call opens its own lock file), so a second ``file_lock`` in the same process
    waits for the first.
    """
    path = Path(path)
    lock = filelock.FileLock(str(path))
    held = False
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            lock.acquire(timeout=0)
            held = True
        except filelock.Timeout:  # another holder (Timeout is an OSError: caught first)
            if wait:
                if waiting:
                    print(waiting, flush=True)
                lock.acquire()
                held = True
    except OSError:  # no lock file possible here: run unprotected
        held = False
    try:
        yield held
    finally:
        if held:
            lock.release()
