"""What the tests check about a chapter's structure: its skeleton headings, its glue roles.

Test-only helpers (the readers' package, ``cnn_helpers``, does not need them).
"""
from __future__ import annotations

import re
from pathlib import Path

from cnn_helpers.notebooks import read_notebook

#: The level-2 headings every chapter has, in this order (CONTRIBUTING.md, "Skeleton").
SKELETON = ("Overview", "Prerequisites", "Summary", "Exercises", "What's next")
GLUE_ROLE = re.compile(r"\{glue(?::\w+)?\}`([^`:]+)(?::[^`]*)?`")


def glue_references(nb: dict | str | Path) -> set[str]:
    """The names the notebook's prose refers to with ``{glue}`` roles."""
    if not isinstance(nb, dict):
        nb = read_notebook(nb)
    names = set()
    for cell in nb.get("cells", []):
        if cell["cell_type"] == "markdown":
            names.update(GLUE_ROLE.findall("".join(cell["source"])))
    return names


def headings(nb: dict | str | Path, level: int = 2) -> list[str]:
    """The text of the notebook's markdown headings of one level, in order."""
    if not isinstance(nb, dict):
        nb = read_notebook(nb)
    marker = "#" * level + " "
    found = []
    for cell in nb.get("cells", []):
        if cell["cell_type"] == "markdown":
            for line in "".join(cell["source"]).splitlines():
                if line.startswith(marker):
                    found.append(line[len(marker):].strip())
    return found
