"""The chapters' Colab set-up cell, written once here and inserted into every chapter.

A chapter opened in Google Colab has no ``cnn_helpers``: its first code cell
(``import cnn_helpers``) would fail. So each chapter starts with one small code
cell, tagged ``colab-setup`` (and ``remove-cell``: the web book and the PDF leave it
out, readers of the web book have nothing to install), that installs the book's package from the repository **only on Colab**. Anywhere
else it does nothing and prints nothing, so ``pytest --nbval`` compares it cleanly.

On Colab it installs ``cnn-helpers[colab]`` with pip's default strategy
(``only-if-needed``): the package's base requirements are ranges that Colab's
preinstalled TensorFlow, Keras, NumPy and Matplotlib already satisfy
(``pyproject.toml``), so pip keeps them and adds only what is missing (the
package itself and ``myst-nb``, which the chapters import for ``glue``). It then
prints the versions the chapter will run with. MNIST comes from Keras's download
on Colab (``cnn_helpers.data.load_mnist`` falls back to it, and checks it).

The repository URL is read from ``_config.yml`` (``repository.url``), the one place
it is written. Insert or refresh the cell in chapters with::

    python -m book_tools.colab chapters/*.ipynb          # writes the notebooks
    python -m book_tools.colab --check chapters/*.ipynb  # exit 1 if one is stale

Inserting is idempotent: a notebook that already has the current cell is left
byte for byte unchanged; an older ``colab-setup`` cell is replaced in place. The
cell must then be executed with the rest of the chapter (``book_tools.execute``)
so the execution counts run 1, 2, 3, ...
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from .paths import ROOT  # noqa: E402  (the one root: book_tools.paths)
CONFIG = ROOT / "_config.yml"
#: The tag that marks the set-up cell (how the inserter finds it again).
TAG = "colab-setup"
#: All tags of the cell: ``remove-cell`` leaves it out of the web book and the PDF; a
#: reader sees it where it runs (Colab, Jupyter), with the comment saying what it does.
TAGS = [TAG, "remove-cell"]
#: The extra the cell installs (``pyproject.toml``: what Colab lacks and the chapters import).
EXTRA = "colab"

_TEMPLATE = '''\
# Colab only: install the book's package. Elsewhere this cell does nothing.
import sys

if "google.colab" in sys.modules:
    import subprocess
    from importlib.metadata import version

    # pip keeps Colab's own TensorFlow and Keras: the package accepts their versions.
    package = {requirement!r}
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", package], check=True)
    versions = {{name: version(name) for name in ("cnn-helpers", "tensorflow", "keras")}}
    print("Installed for this chapter:", versions)'''


def repository_url(config: Path = CONFIG) -> str:
    """The book's repository URL, from ``repository.url`` in ``_config.yml``."""
    data = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
    url = str((data.get("repository") or {}).get("url") or "").rstrip("/")
    if not url.startswith(("https://", "file://")):
        raise ValueError(
            f"{config}: repository.url is {url!r}; set it to the book's repository "
            "(https://...) so the Colab set-up cell can install the package from it"
        )
    return url


def requirement(url: str | None = None) -> str:
    """The pip requirement the cell installs: ``cnn-helpers[colab] @ git+<url>``."""
    return f"cnn-helpers[{EXTRA}] @ git+{url or repository_url()}"


def setup_cell_source(url: str | None = None) -> str:
    """The source of the set-up cell (the URL defaults to the one in ``_config.yml``)."""
    return _TEMPLATE.format(requirement=requirement(url))


def setup_cell(url: str | None = None) -> dict:
    """The set-up cell as an nbformat-4 code cell, not yet executed."""
    return {
        "cell_type": "code",
        "execution_count": None,
        "metadata": {"tags": list(TAGS)},
        "outputs": [],
        "source": setup_cell_source(url),  # nbformat splits it into lines when writing
    }


def _is_setup_cell(cell: dict) -> bool:
    return cell.get("cell_type") == "code" and TAG in cell.get("metadata", {}).get("tags", [])


def insert_setup_cell(nb: dict, url: str | None = None) -> bool:
    """Make the set-up cell the first code cell of ``nb`` (in place); True if ``nb`` changed.

    - no set-up cell yet: a new one goes just before the first code cell (after the
      title and the other opening markdown), or at the end if there is no code cell;
    - a set-up cell with the current source and tags, already first among the code
      cells: nothing changes (its outputs and execution count are kept);
    - otherwise the old set-up cell(s) are removed and the current one is inserted
      first. A notebook with two set-up cells ends with one.
    """
    cells = nb.get("cells")
    if not isinstance(cells, list):
        raise ValueError("not a notebook: no 'cells' list")
    wanted = setup_cell(url)
    code = [i for i, c in enumerate(cells) if c.get("cell_type") == "code"]
    setups = [i for i in code if _is_setup_cell(cells[i])]
    if setups == code[:1] and len(setups) == 1:
        cell = cells[setups[0]]
        source = "".join(cell.get("source", []))
        if source == setup_cell_source(url) and cell["metadata"].get("tags") == wanted["metadata"]["tags"]:
            return False
    for i in reversed(setups):
        del cells[i]
    first_code = next((i for i, c in enumerate(cells) if c.get("cell_type") == "code"), len(cells))
    if any("id" in c for c in cells):  # nbformat >= 4.5: every cell has a unique id
        wanted["id"] = TAG
    from nbformat import from_dict  # a NotebookNode, like the cells nbformat.read gives

    cells.insert(first_code, from_dict(wanted))
    return True


def update_notebook(path: Path, url: str | None = None, check: bool = False) -> bool:
    """Insert or refresh the set-up cell of the notebook at ``path``; True if it changed (or would)."""
    path = Path(path)
    if path.suffix != ".ipynb":
        raise ValueError(f"{path}: not a notebook (.ipynb); the set-up cell is for notebooks only")
    import nbformat

    nb = nbformat.read(path, as_version=4)
    changed = insert_setup_cell(nb, url)
    if changed and not check:
        nbformat.write(nbformat.from_dict(nb), path)  # the same layout as book_tools.execute writes
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m book_tools.colab", description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a notebook lacks the current cell")
    args = parser.parse_args(argv)
    url = repository_url()
    stale = []
    for path in args.notebooks:
        if update_notebook(path, url, check=args.check):
            stale.append(path)
            print(f"{'stale' if args.check else 'updated'}: {path}")
    if not stale:
        print(f"all {len(args.notebooks)} notebooks have the current Colab set-up cell")
    if stale and not args.check:
        print("re-execute the changed chapters (python -m book_tools.execute ...) so their counts run 1, 2, 3")
    return 1 if (stale and args.check) else 0


if __name__ == "__main__":
    sys.exit(main())
