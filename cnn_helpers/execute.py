"""``make execute``: re-run chapters top to bottom, in place, so the committed outputs are fresh.

Usage: ``python -m cnn_helpers.execute chapters/*.ipynb`` (one fresh kernel per notebook).
"""
from __future__ import annotations

import sys
import time

from .notebooks import execute_in_place


def main(paths: list[str]) -> None:
    if not paths:
        sys.exit("usage: python -m cnn_helpers.execute NOTEBOOK.ipynb [...]")
    for path in paths:
        start = time.perf_counter()
        print(f"executing {path} ...", flush=True)
        execute_in_place(path)
        print(f"  done in {time.perf_counter() - start:.0f} s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
