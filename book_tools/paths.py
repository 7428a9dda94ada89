"""Where things are, written once: the repository's root and Debian's Chromium.

Every tool and test reads these names from here, and the Makefile asks this module
too (``python -m book_tools.paths chromium``), so a path is never spelled twice.
(The readers' package, ``cnn_helpers``, finds its own checkout in
:data:`cnn_helpers.store.REPO_ROOT`: it cannot import the book's tooling, which is
not installed on Colab.)
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

#: The repository's root folder.
ROOT = Path(__file__).resolve().parents[1]

#: The environment variable that points the book at another Chromium binary.
CHROMIUM_VARIABLE = "CNN_BOOK_CHROMIUM"

#: Debian's Chromium (``apt-get install chromium``), or ``$CNN_BOOK_CHROMIUM``: the
#: browser that prints the PDF and runs the browser tests.
CHROMIUM = os.environ.get(CHROMIUM_VARIABLE) or "/usr/bin/chromium"


def main(argv: list[str]) -> None:
    """Print one path by name (``root`` or ``chromium``), for the Makefile."""
    paths = {"root": ROOT, "chromium": CHROMIUM}
    if len(argv) != 1 or argv[0] not in paths:
        sys.exit(f"usage: python -m book_tools.paths {{{'|'.join(paths)}}}")
    print(paths[argv[0]])


if __name__ == "__main__":
    main(sys.argv[1:])
