"""``make execute``: re-run chapters top to bottom, in place, so the committed outputs are fresh.

Usage: ``python -m book_tools.execute chapters/*.ipynb`` (one fresh kernel per notebook).
"""
from __future__ import annotations

import sys
import time

from pathlib import Path


def execute_in_place(path: str | Path, timeout: int = 1800) -> None:
    """Run a notebook top to bottom in a fresh kernel (cwd = its folder) and save it with its outputs."""
    import nbformat
    from nbclient import NotebookClient

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    nbformat.write(nb, path)


def main(paths: list[str]) -> None:
    if not paths:
        sys.exit("usage: python -m book_tools.execute NOTEBOOK.ipynb [...]")
    for path in paths:
        start = time.perf_counter()
        print(f"executing {path} ...", flush=True)
        execute_in_place(path)
        print(f"  done in {time.perf_counter() - start:.0f} s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
