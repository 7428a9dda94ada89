"""cnn_helpers.store: the cache folder, atomic writes, the lock."""
from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
import time

import pytest

from cnn_helpers import store


def test_cache_dir_follows_the_variable_and_its_oneDNN_off_sibling(monkeypatch, tmp_path):
    monkeypatch.setenv(store.CACHE_VARIABLE, str(tmp_path / "c"))
    assert store.cache_dir() == tmp_path / "c"
    assert store.onednn_off_cache_dir() == tmp_path / "c-onednn-off"
    monkeypatch.delenv(store.CACHE_VARIABLE)
    assert store.cache_dir() == store.REPO_ROOT / ".cache"
    assert store.onednn_off_cache_dir() == store.REPO_ROOT / ".cache-onednn-off"


def test_an_atomic_write_replaces_the_file_whole(tmp_path):
    path = tmp_path / "sub" / "record.json"
    store.atomic_write_text(path, "old")
    store.atomic_write_bytes(path, b"new")
    assert path.read_bytes() == b"new"
    assert os.listdir(path.parent) == ["record.json"], "no temporary file left"


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "record.json"
    path.write_text("old")
    with pytest.raises(RuntimeError, match="interrupted"):
        with store.atomic_file(path) as f:
            f.write(b"half")
            assert len(store.temp_files(path)) == 1
            raise RuntimeError("interrupted")
    assert path.read_text() == "old" and store.temp_files(path) == []


def test_new_files_and_folders_get_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        store.atomic_write_text(tmp_path / "a.txt", "x")
        folder = store.new_folder(tmp_path, ".entry.tmp-")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == 0o644
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755
    assert folder.name.startswith(".entry.tmp-") and not any(folder.iterdir())


def test_remove_skips_what_cannot_be_removed(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f").write_text("x")
    (tmp_path / "f").write_text("x")
    gone = [tmp_path / "d", tmp_path / "f", tmp_path / "never-there"]
    assert store.remove(gone) == gone[:2]
    assert not any(tmp_path.iterdir())


def test_a_held_lock_is_refused_without_waiting_even_in_the_same_process(tmp_path):
    lock = tmp_path / "locks" / "k.lock"
    with store.file_lock(lock) as held:
        assert held
        with store.file_lock(lock, wait=False) as second:
            assert second is False
    with store.file_lock(lock, wait=False) as again:
        assert again, "released when the block ended"


def test_a_lock_where_none_can_be_made_runs_the_block_unlocked(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    with store.file_lock(tmp_path / "file" / "k.lock") as held:
        assert held is False


WAITER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from cnn_helpers import store
    with store.file_lock(Path(sys.argv[1]), "waiting for the lock") as held:
        print(held)
""")


def test_another_process_waits_for_the_lock_and_says_so(tmp_path):
    lock = tmp_path / "k.lock"
    with store.file_lock(lock):
        waiter = subprocess.Popen([sys.executable, "-c", WAITER, str(lock)],
                                  stdout=subprocess.PIPE, text=True)
        # Blocks until the other process has found the lock taken.
        assert waiter.stdout.readline() == "waiting for the lock\n"
        time.sleep(0.5)
        assert waiter.poll() is None, "the second process did not wait for the lock"
    out, _ = waiter.communicate(timeout=60)
    assert out == "True\n" and waiter.returncode == 0
