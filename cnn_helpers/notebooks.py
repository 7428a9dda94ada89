"""Reading and running the book's notebooks: glued values, parameters, papermill runs.

The "how sure are we" chapter, the sweeps and the book's tools use these to read
numbers back out of executed notebooks (what MyST-NB's ``glue`` stored) and to run
a chapter with other parameters through papermill. A parameter the notebook does
not have is refused before anything runs (papermill would only log a warning and
run the notebook's defaults), and settings for the kernel's environment (the cache
folder, oneDNN) go to the kernel process only, never into this process's
``os.environ``.
"""
from __future__ import annotations

import ast
import json
import os
from pathlib import Path

GLUE_PREFIX = "application/papermill.record/"


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


def parameter_names(nb: dict | str | Path) -> list[str]:
    """The names the notebook's ``parameters`` cell assigns, in order ([] without one).

    These are what papermill can set; anything else it would ignore.
    """
    if not isinstance(nb, dict):
        nb = read_notebook(nb)
    for cell in nb.get("cells", []):
        if cell["cell_type"] == "code" and "parameters" in cell.get("metadata", {}).get("tags", []):
            names = []
            for node in ast.parse("".join(cell["source"])).body:
                targets = node.targets if isinstance(node, ast.Assign) else (
                    [node.target] if isinstance(node, ast.AnnAssign) else [])
                names += [t.id for t in targets if isinstance(t, ast.Name)]
            return names
    return []


def check_parameters(nb: dict | str | Path, parameters: dict) -> None:
    """Raise ``ValueError`` naming every parameter the notebook's ``parameters`` cell lacks."""
    known = parameter_names(nb)
    unknown = sorted(set(parameters) - set(known))
    if unknown:
        where = nb if not isinstance(nb, dict) else "the notebook"
        raise ValueError(
            f"{where} has no parameter {', '.join(unknown)}; its parameters are "
            f"{', '.join(known) if known else '(none: it has no parameters cell)'}"
        )


def _kernel_manager_with(env: dict[str, str]) -> type:
    """A Jupyter kernel manager whose kernels start with ``env`` added to this process's
    environment (this process's own ``os.environ`` is left as it is)."""
    from jupyter_client.manager import AsyncKernelManager

    class KernelWithEnvironment(AsyncKernelManager):
        async def start_kernel(self, **kw):
            kw["env"] = {**os.environ, **kw.get("env", {}), **env}
            return await super().start_kernel(**kw)

    return KernelWithEnvironment


def run_with_parameters(
    path: str | Path, out_path: str | Path, env: dict[str, str] | None = None, **parameters
) -> dict[str, object]:
    """Run a chapter through papermill with injected ``parameters``; return what it glued.

    ``parameters`` must be names of the chapter's ``parameters`` cell (else
    ``ValueError`` naming the unknown ones and the known ones, before anything
    runs). ``env`` is added to the environment of the chapter's kernel only, e.g.
    ``{"CNN_BOOK_CACHE": "/tmp/cache", "TF_ENABLE_ONEDNN_OPTS": "0"}``. The chapter
    runs in a fresh kernel with its own folder as working directory; the executed
    copy is written to ``out_path`` (kept, so a reader can open it). A failing cell
    (for example a broken claim) raises papermill's ``PapermillExecutionError``
    naming the cell.
    """
    import papermill

    path, out_path = Path(path), Path(out_path)
    check_parameters(path, parameters)
    if env is not None and not all(isinstance(v, str) for v in env.values()):
        raise ValueError(f"env values must be strings, got {env!r}")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    kernel = {"kernel_manager_class": _kernel_manager_with(env)} if env else {}
    from . import stderr_silenced

    # The kernel papermill starts writes start-up and shutdown chatter to the
    # inherited stderr; a failing cell still raises with its traceback.
    with stderr_silenced():
        papermill.execute_notebook(
            str(path), str(out_path), parameters=parameters, kernel_name="python3",
            cwd=str(path.parent), progress_bar=False, log_output=False, **kernel,
        )
    return glued_values(out_path)
