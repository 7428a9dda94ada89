"""Reading and running the book's notebooks: glued values, headings, papermill runs.

The "how sure are we" chapter and the tests use these to read numbers back out of
executed notebooks (what MyST-NB's ``glue`` stored) and to run a chapter with other
parameters through papermill.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

GLUE_PREFIX = "application/papermill.record/"
SKELETON = ("Overview", "Prerequisites", "Summary", "Exercises", "What's next")
GLUE_ROLE = re.compile(r"\{glue(?::\w+)?\}`([^`:]+)(?::[^`]*)?`")


def read_notebook(path: str | Path) -> dict:
    """The notebook as a plain dict (nbformat 4 JSON)."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def glued_values(nb: dict | str | Path) -> dict[str, object]:
    """Every value a notebook glued, by name: JSON values as Python objects, others as their text."""
    if not isinstance(nb, dict):
        nb = read_notebook(nb)
    values: dict[str, object] = {}
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []) or []:
            name = (out.get("metadata") or {}).get("scrapbook", {}).get("name")
            if not name:
                continue
            data = out.get("data", {})
            if GLUE_PREFIX + "application/json" in data:
                values[name] = data[GLUE_PREFIX + "application/json"]
            elif GLUE_PREFIX + "text/plain" in data:
                text = data[GLUE_PREFIX + "text/plain"]
                values[name] = "".join(text) if isinstance(text, list) else text
            else:
                values[name] = None
    return values


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


def run_with_parameters(path: str | Path, out_path: str | Path, **parameters) -> dict[str, object]:
    """Run a chapter through papermill with injected ``parameters``; return what it glued.

    The chapter runs in a fresh kernel with its own folder as working directory;
    the executed copy is written to ``out_path`` (kept, so a reader can open it).
    A failing cell (for example a broken claim) raises papermill's
    ``PapermillExecutionError`` naming the cell.
    """
    import papermill

    path, out_path = Path(path), Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    from . import stderr_silenced

    # The kernel papermill starts writes start-up and shutdown chatter to the
    # inherited stderr; a failing cell still raises with its traceback.
    with stderr_silenced():
        papermill.execute_notebook(
            str(path), str(out_path), parameters=parameters, kernel_name="python3",
            cwd=str(path.parent), progress_bar=False, log_output=False,
        )
    return glued_values(out_path)
