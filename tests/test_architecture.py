"""The map (ARCHITECTURE.md) against the code, and the rules written once.

The module tables' imports columns are compared with the imports read from each
module's syntax tree; the tests column with the test files; the list of modules that
load no TensorFlow with a fresh interpreter importing each. Then: one ROOT, one
Chromium path, one home for the tutorial's optimizer and for the 0.99 target.
"""
from __future__ import annotations

import ast
import os
import re
import subprocess
import sys

import pytest

from book_tools.paths import ROOT

MAP = ROOT / "ARCHITECTURE.md"
PACKAGES = ("cnn_helpers", "book_tools")
#: Outside libraries whose import decides where a module can run.
TENSORFLOW = {"tensorflow", "keras"}


def modules(package: str) -> list[str]:
    return sorted(p.stem for p in (ROOT / package).glob("*.py") if p.stem != "__init__")


def section(package: str) -> str:
    text = MAP.read_text(encoding="utf-8")
    start = text.index(f"## `{package}`")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def table(package: str) -> dict[str, dict[str, str]]:
    """The rows of a package's table, by module: {column name: cell}."""
    lines = [line for line in section(package).splitlines() if line.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    rows = {}
    for line in lines[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        row = dict(zip(header, cells, strict=True))
        rows[row["module"].strip("`")] = row
    return rows


def tree(path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"))


def imports(package: str, module: str) -> tuple[set[str], set[str]]:
    """(modules of the two packages, top-level outside packages) imported anywhere in the file.

    A module of the same package is named bare (``store``), one of the other package
    with its package (``cnn_helpers.store``). Names imported from a package's
    ``__init__`` that are not modules (``import_tensorflow_quietly``) are not modules.
    """
    inside, outside = set(), set()

    def name(pkg: str, mod: str) -> str:
        return mod if pkg == package else f"{pkg}.{mod}"

    for node in ast.walk(tree(ROOT / package / f"{module}.py")):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                pkg, parts = package, (node.module or "").split(".")
            else:
                parts = (node.module or "").split(".")
                pkg, parts = parts[0], parts[1:]
            if pkg not in PACKAGES:
                outside.add(pkg)
            elif parts and parts[0]:
                inside.add(name(pkg, parts[0]))
            else:
                inside.update(name(pkg, a.name) for a in node.names
                              if a.name in modules(pkg))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] in PACKAGES and len(parts) > 1:
                    inside.add(name(parts[0], parts[1]))
                else:
                    outside.add(parts[0])
        elif isinstance(node, ast.Name) and node.id == "import_tensorflow_quietly":
            outside.add("tensorflow")
    return inside, outside


@pytest.mark.parametrize("package", PACKAGES)
def test_every_module_has_exactly_one_row(package):
    assert sorted(table(package)) == modules(package)


@pytest.mark.parametrize("package", PACKAGES)
def test_the_imports_column_is_what_the_code_imports(package):
    wrong = {}
    for module, row in table(package).items():
        listed = set(re.findall(r"`([\w.]+)`", row["imports"]))
        inside, outside = imports(package, module)
        says_tf = bool(re.search(r"Keras|TensorFlow", row["imports"]))
        if listed != inside or (package == "cnn_helpers" and says_tf != bool(outside & TENSORFLOW)):
            wrong[module] = {"map": sorted(listed), "code": sorted(inside),
                             "map says TensorFlow": says_tf,
                             "code imports TensorFlow": bool(outside & TENSORFLOW)}
    assert not wrong, f"ARCHITECTURE.md's imports column is wrong for {wrong}"


@pytest.mark.parametrize("package", PACKAGES)
def test_the_tests_column_names_a_file_that_imports_the_module(package):
    wrong = []
    for module, row in table(package).items():
        name = row["tests"].strip("`")
        if name == "-":
            continue
        path = ROOT / "tests" / name
        if not path.exists():
            wrong.append(f"{module}: {name} does not exist")
            continue
        found = set()
        for node in ast.walk(tree(path)):
            if isinstance(node, ast.ImportFrom) and node.module:
                parts = node.module.split(".")
                if parts[0] == package:
                    found.update(parts[1:2] or [a.name for a in node.names])
            elif isinstance(node, ast.Import):
                found.update(a.name.split(".")[1] for a in node.names
                             if a.name.startswith(f"{package}."))
        # A module tested through another names itself ("cnn_helpers.cache (through
        # cnn_helpers.train.trained_model)"); otherwise the file imports it.
        if module not in found and f"{package}.{module}" not in path.read_text():
            wrong.append(f"{module}: {name} neither imports nor names it")
    assert not wrong, wrong


def tensorflow_free() -> list[str]:
    text = section("cnn_helpers")
    claim = text[text.index("Importing `") : text.index("loads no TensorFlow")]
    return re.findall(r"`(\w+)`", claim)


def test_the_map_lists_the_modules_that_load_no_tensorflow():
    """Each in a fresh interpreter: importing it must not import TensorFlow."""
    names = tensorflow_free()
    assert "data" in names and "model" not in names
    code = (
        "import importlib, sys\n"
        "importlib.import_module('cnn_helpers.' + sys.argv[1])\n"
        "sys.exit(3 if 'tensorflow' in sys.modules else 0)\n"
    )
    loads = [
        m for m in names
        if subprocess.run([sys.executable, "-c", code, m], cwd=ROOT).returncode == 3
    ]
    assert not loads, f"ARCHITECTURE.md says these load no TensorFlow, but they do: {loads}"


# ---------------------------------------------------------------- written once
def python_files():
    for package in PACKAGES:
        yield from sorted((ROOT / package).glob("*.py"))


def constants(path) -> list:
    """The constants of a module's code, without its docstrings."""
    module = tree(path)
    docstrings = set()
    for node in ast.walk(module):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            docstrings.add(id(body[0].value))
    return [n.value for n in ast.walk(module)
            if isinstance(n, ast.Constant) and id(n) not in docstrings]


def test_root_and_chromium_are_defined_once():
    roots, chromium = [], []
    for path in python_files():
        source = path.read_text(encoding="utf-8")
        if re.search(r"^ROOT\s*=", source, re.MULTILINE):
            roots.append(path.name)
        if "/usr/bin/chromium" in constants(path):
            chromium.append(path.name)
    assert roots == ["paths.py"] and chromium == ["paths.py"], (roots, chromium)
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "/usr/bin/chromium" not in makefile and "book_tools.paths chromium" in makefile


def test_the_chromium_path_follows_the_variable():
    code = "from book_tools.paths import CHROMIUM; print(CHROMIUM)"
    env = {**os.environ, "CNN_BOOK_CHROMIUM": "/opt/other/chromium"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == "/opt/other/chromium"
    assert (ROOT / "pyproject.toml").exists()  # ROOT is the repository's root


def test_the_tutorials_optimizer_is_named_once():
    """Changing the tutorial's optimizer is one line: TUTORIAL_RECIPE in recipe.py."""
    from cnn_helpers.recipe import TUTORIAL_RECIPE

    named = {path.name: constants(path).count(TUTORIAL_RECIPE.optimizer)
             for path in python_files()}
    named = {k: v for k, v in named.items() if v}
    # recipe.py: the Recipe's default and the list of optimizers a recipe may name
    assert named == {"recipe.py": 2}, named


def test_the_target_is_written_once():
    """0.99 as a target lives in speedrun_recipe.TARGET_ACCURACY; Keras's BatchNorm
    momentum default (also 0.99) is the only other use."""
    found = {path.name: constants(path).count(0.99) for path in python_files()}
    found = {k: v for k, v in found.items() if v}
    assert found == {"speedrun_recipe.py": 2, "batchnorm.py": 1}, found
