"""Build the book: ``python -m book_tools.build`` (what ``make book`` runs).

Three steps, each of which must succeed (the exit status is non-zero otherwise):

1. **MathJax, local.** Sphinx loads MathJax from a CDN by default, so a reader
   offline would see raw TeX. The pinned npm package ``mathjax@3.2.2`` is fetched
   once with ``npm pack`` into the book's cache, its checksum verified, and the
   parts a page can ask for (the ``tex-svg`` bundle, the TeX extensions it may
   autoload, the menu's accessibility modules) are copied to ``_assets/mathjax/``
   (git-ignored; ``_assets/`` is copied to the root of the built book).
   ``_config.yml`` points ``mathjax_path`` there. SVG output needs
   no web fonts, so math also renders from ``file://``.
2. **The trained model for the "Draw a digit" page.** :mod:`book_tools.draw_page`
   exports the page's model (the tutorial's recipe unless ``CNN_BOOK_PAGE_RECIPE``
   says otherwise, see :func:`cnn_helpers.recipe.page_recipe`) and a few MNIST test
   digits to ``_assets/draw/generated/`` (git-ignored). The model comes from the
   training cache; it is trained (about a minute) only if it is not cached.
3. ``jupyter-book build . -W --keep-going --all``: warnings are errors, every
   page is rebuilt (so a warning of an unchanged page is not forgotten), and the
   built HTML is then checked to load no script, style sheet or image from
   another host.
4. **Readers' notebooks.** The download button's notebooks
   (``_build/html/_sources/chapters/``) are replaced by the readers' versions, with
   the glued numbers written into the prose (:mod:`book_tools.reader_notebooks`),
   and ``readers/`` (what Binder and Colab open, committed) is regenerated from the
   chapters; the build says which files changed, to be committed with the chapters.
5. **The Chinese book** (:mod:`book_tools.zh_sources`): the same pages with their prose
   from ``locales/zh_CN``, built the same way into ``_build/html/zh_CN/``. A message
   without a finished translation stops the build and names it.
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from cnn_helpers.store import atomic_write_bytes

from .paths import ROOT  # noqa: E402  (the one root: book_tools.paths)
#: Copied as is to the root of the built book (``html_extra_path`` in ``_config.yml``).
ASSETS = ROOT / "_assets"
MATHJAX_DIR = ASSETS / "mathjax"
DRAW_GENERATED = ASSETS / "draw" / "generated"
HTML = ROOT / "_build" / "html"

MATHJAX_VERSION = "3.2.2"
#: npm's published integrity of mathjax-3.2.2.tgz (``npm view mathjax@3.2.2 dist.integrity``).
MATHJAX_INTEGRITY = "sha512-Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZGJvtRZM1vO+geW0OhGw=="
#: The parts of the package's es5/ folder a page can load: the bundle Sphinx
#: loads, then whatever it may fetch later (TeX extensions on demand, the menu's
#: accessibility and speech modules, the other output renderer the menu offers).
MATHJAX_PARTS = ("tex-svg.js", "input", "output", "ui", "a11y", "sre", "adaptors")
MATHJAX_ENTRY = "tex-svg.js"


class BuildError(RuntimeError):
    """A build step failed; the message says which and how to fix it."""


def _say(msg: str) -> None:
    print(f"[build] {msg}", flush=True)


# ---------------------------------------------------------------- 1. MathJax
def _integrity_ok(path: Path, integrity: str) -> bool:
    algo, _, b64 = integrity.partition("-")
    h = hashlib.new(algo)
    h.update(path.read_bytes())
    return base64.b64encode(h.digest()).decode() == b64


def mathjax_tarball(cache: Path) -> Path:
    """The verified ``mathjax-<version>.tgz`` in ``cache``, fetched with ``npm pack`` when missing."""
    cache.mkdir(parents=True, exist_ok=True)
    tgz = cache / f"mathjax-{MATHJAX_VERSION}.tgz"
    if tgz.exists() and _integrity_ok(tgz, MATHJAX_INTEGRITY):
        return tgz
    npm = shutil.which("npm")
    if npm is None:
        raise BuildError(
            "npm is needed once to fetch MathJax (the book serves it locally so that it works offline): "
            "install Node.js and npm (Debian: apt-get install npm) and build again"
        )
    _say(f"fetching mathjax@{MATHJAX_VERSION} from the npm registry")
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run(
            [npm, "pack", f"mathjax@{MATHJAX_VERSION}", "--pack-destination", tmp, "--silent"],
            capture_output=True, text=True, cwd=tmp,
        )
        got = Path(tmp) / f"mathjax-{MATHJAX_VERSION}.tgz"
        if proc.returncode != 0 or not got.exists():
            raise BuildError(f"npm pack mathjax@{MATHJAX_VERSION} failed:\n{proc.stdout}\n{proc.stderr}")
        if not _integrity_ok(got, MATHJAX_INTEGRITY):
            raise BuildError(f"mathjax@{MATHJAX_VERSION} from npm does not match its pinned checksum")
        atomic_write_bytes(tgz, got.read_bytes())
    return tgz


def vendor_mathjax(target: Path = MATHJAX_DIR, cache: Path | None = None) -> Path:
    """Copy MathJax into ``target`` (``_assets/mathjax``) unless the same version is already there."""
    stamp = target / ".version"
    wanted = f"mathjax {MATHJAX_VERSION} {' '.join(MATHJAX_PARTS)}"
    if stamp.exists() and stamp.read_text().strip() == wanted and (target / MATHJAX_ENTRY).exists():
        return target
    if cache is None:
        from cnn_helpers.data import cache_dir

        cache = cache_dir() / "vendor"
    tgz = mathjax_tarball(cache)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=".mathjax-"))
    try:
        with tarfile.open(tgz) as tar:
            members = [m for m in tar.getmembers() if m.name.startswith("package/es5/") or m.name == "package/LICENSE"]
            tar.extractall(tmp, members=members, filter="data")
        es5 = tmp / "package" / "es5"
        fresh = tmp / "mathjax"
        fresh.mkdir()
        for part in MATHJAX_PARTS:
            src = es5 / part
            if src.is_dir():
                shutil.copytree(src, fresh / part)
            else:
                shutil.copy2(src, fresh / part)
        shutil.copy2(tmp / "package" / "LICENSE", fresh / "LICENSE")  # Apache-2.0: ship its licence with it
        (fresh / ".version").write_text(wanted + "\n")
        if target.exists():
            shutil.rmtree(target)
        fresh.rename(target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    _say(f"MathJax {MATHJAX_VERSION} copied to {target.relative_to(ROOT)}")
    return target


# ---------------------------------------------------------------- 2. the page's model
def export_page_model(target: Path = DRAW_GENERATED) -> dict:
    """Export the page's model and sample digits (imports TensorFlow: a few seconds)."""
    from book_tools import draw_page as web

    info = web.write_page_assets(target)
    sizes = ", ".join(f"{name} {size / 1000:.1f} kB" for name, size in info["sizes"].items())
    recipe = info["meta"]["recipe"]
    _say(
        f"draw page model: {recipe['optimizer']}, {recipe['epochs']} epochs, batch {recipe['batch_size']}, "
        f"seed {recipe['seed']}, test accuracy {info['meta']['test_accuracy']:.4f} -> {sizes}"
    )
    return info


# ---------------------------------------------------------------- 3. jupyter-book
_EXTERNAL_ASSET = re.compile(
    r"<(?:script|img|iframe|source|audio|video)\b[^>]*\bsrc=[\"'](?:https?:)?//|"
    r"<link\b[^>]*\brel=[\"'](?:stylesheet|preload|modulepreload|icon)[\"'][^>]*\bhref=[\"'](?:https?:)?//|"
    r"<link\b[^>]*\bhref=[\"'](?:https?:)?//[^\"']*[\"'][^>]*\brel=[\"'](?:stylesheet|preload|modulepreload|icon)[\"']|"
    r"@import\s+url\([\"']?(?:https?:)?//",
    re.I,
)


def external_assets(html_dir: Path = HTML) -> list[str]:
    """Every place in the built HTML that would load a script, style sheet, image or frame from another host."""
    found = []
    for page in sorted(html_dir.rglob("*.html")):
        text = page.read_text(encoding="utf-8", errors="replace")
        for m in _EXTERNAL_ASSET.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            found.append(f"{page.relative_to(html_dir)}:{line}: {text[m.start():m.start() + 160]}")
    return found


def jupyter_book(all_pages: bool = True) -> None:
    cmd = [sys.executable, "-c", "from jupyter_book.cli.main import main; main()", "build", str(ROOT), "-W", "--keep-going"]
    if all_pages:
        cmd.append("--all")
    _say("jupyter-book build . -W --keep-going" + (" --all" if all_pages else ""))
    proc = subprocess.run(cmd, cwd=ROOT)
    if proc.returncode != 0:
        raise BuildError(f"jupyter-book build failed (exit status {proc.returncode}); see the warnings above")


def check_build(html_dir: Path = HTML) -> None:
    for needed in (f"mathjax/{MATHJAX_ENTRY}", "draw/generated/model.js", "draw/cnn.js", "draw/strings.js"):
        if not (html_dir / needed).exists():
            raise BuildError(f"{html_dir / needed} is missing: the build did not copy _assets/ (html_extra_path)")
    external = external_assets(html_dir)
    if external:
        raise BuildError("the built book loads assets from other hosts (it must work offline):\n" + "\n".join(external[:20]))


# ---------------------------------------------------------------- 4. readers' notebooks
def readers_notebooks(html_dir: Path = HTML) -> None:
    """The download button's notebooks and ``readers/`` get the numbers in their prose."""
    from book_tools import reader_notebooks as readers

    try:
        written = readers.write_downloads(html_dir)
        changed = readers.write_readers()
    except readers.GlueError as exc:
        raise BuildError(str(exc)) from exc
    _say(f"{len(written)} downloadable sources with their numbers in the prose")
    if changed:
        names = ", ".join(p.name for p in changed)
        _say(f"readers/ regenerated from the chapters ({names}): commit it with them")


# ---------------------------------------------------------------- 5. the Chinese book
def chinese_book(html_dir: Path = HTML) -> None:
    """The Chinese edition beside the English one (``_build/html/zh_CN``), from the catalogs."""
    from book_tools import zh_sources

    try:
        zh_sources.write_sources()
        zh_sources.build(html=html_dir / zh_sources.translate.LANGUAGE)
    except (zh_sources.TranslationMissing, RuntimeError) as exc:
        raise BuildError(f"the Chinese book: {exc}") from exc
    check_build(html_dir / zh_sources.translate.LANGUAGE)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m book_tools.build", description=__doc__.split("\n\n")[0])
    parser.add_argument("--incremental", action="store_true", help="rebuild only changed pages (faster; -W then misses warnings of unchanged pages)")
    parser.add_argument("--skip-model", action="store_true", help="keep the exported model of the last build (fails if there is none)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        vendor_mathjax()
        if args.skip_model and (DRAW_GENERATED / "model.js").exists():
            _say("keeping the exported model of the last build (--skip-model)")
        else:
            export_page_model()
        jupyter_book(all_pages=not args.incremental)
        check_build()
        readers_notebooks()
        chinese_book()
    except BuildError as exc:
        print(f"[build] FAILED: {exc}", file=sys.stderr, flush=True)
        return 1
    _say(f"done in {time.perf_counter() - start:.0f} s: open {HTML / 'index.html'}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    sys.exit(main())
