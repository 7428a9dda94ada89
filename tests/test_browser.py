"""The built book in a real browser (headless Chromium through Playwright), offline.

One build per pytest session (``python -m book_tools.build``), served from
``_build/html`` on 127.0.0.1 by a ``http.server`` thread. Then:

- every page listed in ``_toc.yml``: no JavaScript console error or uncaught
  exception, no failed request, no request to any host but the local server,
  every ``<img>`` decoded, the page title and first heading are the chapter's,
  math rendered by the local MathJax, and on notebook pages the download button
  and the Binder and Colab launch buttons point at the chapter's reader's notebook
  (``readers/``, numbers in the prose) in the repository, Binder in JupyterLab; and
  the numbers those notebooks write into their prose are the page's, in order. A full-page screenshot at 1366 px width goes to ``_build/screenshots/``;
- the book's search, typed into the search box, finds the pooling chapter;
- at phone width (390 px): the chapter list and "Contents" buttons open their
  sidebars and their links are followed (the book's fix for an upstream theme bug),
  and every figure keeps at least 3/4 of its size, scrolling sideways in its cell;
  at laptop width the chapter-list button collapses the sidebar;
- the "Draw a digit" page: its JavaScript forward pass against Keras on 1,000
  real MNIST test digits (same class, probabilities within 1e-4) and against the
  NumPy reference layers (every feature map); its preprocessing against
  ``book_tools.draw_page.preprocess_drawing``; strokes drawn with the mouse and with
  touch; the sample buttons and "clear"; its chapter links; the median time of a
  forward pass and the size of the weights file; and the same page opened from disk
  (``file://``).

The figures (request counts, timings, agreement, sizes) are printed at the end of
the pytest run and written to ``_build/screenshots/report.json``.

Chromium is Debian's (``/usr/bin/chromium``, or ``$CNN_BOOK_CHROMIUM``): these
tests fail, never skip, when it is missing. ``CNN_BOOK_SKIP_BUILD=1`` reuses an
existing ``_build/html`` instead of building (for quick iterations on the tests).
"""
from __future__ import annotations

import base64
import functools
import http.server
import json
import os
import re
import shutil
import socketserver
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urljoin, urlparse

import numpy as np
import pytest
import yaml

pytestmark = pytest.mark.browser

from book_tools.paths import ROOT  # noqa: E402  (the one ROOT)
HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
LAPTOP = {"width": 1366, "height": 800}
DRAW_PAGE = "chapters/14_draw"
N_AGREEMENT = 1000  # MNIST test digits compared with Keras (the issue asks for at least 500)
PROB_TOL = 1e-4
# The page's forward pass should take under TARGET_MS (measured and printed in the
# report); the test fails only past SLOW_MS, a slowdown no busy CI machine explains
# (e.g. the typed-array fast path broken). Timings are reported, not asserted tight.
TARGET_MS = 5.0
SLOW_MS = 10 * TARGET_MS
TARGET_BYTES = 500_000

REPORT: dict = {}


# ---------------------------------------------------------------- the book's own description
def _config() -> dict:
    return yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))


def toc_pages() -> list[str]:
    """Every page of ``_toc.yml`` (root, chapters, parts, sections), in reading order."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    pages = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                pages.append(str(entry["file"]))
            for key in ("chapters", "sections", "parts"):
                walk(entry.get(key))

    for key in ("chapters", "sections", "parts"):
        walk(toc.get(key))
    return [re.sub(r"\.(md|ipynb)$", "", p) for p in pages]


def source_of(docname: str) -> Path:
    for suffix in (".ipynb", ".md"):
        path = ROOT / (docname + suffix)
        if path.exists():
            return path
    raise FileNotFoundError(f"_toc.yml lists {docname}, which has no .md or .ipynb file")


def _markdown_lines(path: Path) -> list[str]:
    if path.suffix == ".ipynb":
        nb = json.loads(path.read_text(encoding="utf-8"))
        return [line for c in nb["cells"] if c["cell_type"] == "markdown" for line in "".join(c["source"]).splitlines()]
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"\A---\n.*?\n---\n", "", text, flags=re.S)  # front matter
    return text.splitlines()


def first_heading(path: Path) -> str:
    fence = None
    for line in _markdown_lines(path):
        m = re.match(r"^(`{3,}|~{3,}|:{3,})", line)
        if m:
            fence = None if fence and line.startswith(fence) else (fence or m.group(1))
            continue
        if fence is None and re.match(r"^# \S", line):
            return line[2:].strip()
    raise AssertionError(f"{path.name} has no '# ' heading")


def words(text: str) -> list[str]:
    """Words of a heading, markup and math left out, for comparing source and page."""
    text = re.sub(r"\$[^$]*\$", " ", text)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    return re.findall(r"[a-z0-9]+", text.lower())


# ---------------------------------------------------------------- fixtures: build, server
# (the `browser` fixture, one Chromium per session, is in conftest.py)
@functools.lru_cache(maxsize=1)
def build_book() -> Path:
    """Build the book once per session (``python -m book_tools.build``) and return ``_build/html``."""
    if os.environ.get("CNN_BOOK_SKIP_BUILD") == "1":
        assert (HTML / "index.html").exists(), "CNN_BOOK_SKIP_BUILD=1 but there is no _build/html: build the book first"
        REPORT["build_seconds"] = None
        return HTML
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "book_tools.build"], cwd=ROOT, capture_output=True, text=True, timeout=3600
    )
    REPORT["build_seconds"] = round(time.perf_counter() - start, 1)
    if proc.returncode != 0:
        tail = (proc.stdout[-6000:] + "\n" + proc.stderr[-6000:]).strip()
        pytest.fail(f"python -m book_tools.build failed (exit {proc.returncode}):\n{tail}", pytrace=False)
    return HTML


@pytest.fixture(scope="session")
def built_book() -> Path:
    return build_book()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest's output clean
        pass


@pytest.fixture(scope="session")
def server(built_book):
    handler = functools.partial(_QuietHandler, directory=str(built_book))
    httpd = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


def _is_local(url: str) -> bool:
    scheme = urlparse(url).scheme
    if scheme in ("file", "data", "blob", "about"):
        return True
    return scheme in ("http", "https", "ws") and urlparse(url).hostname in ("127.0.0.1", "localhost")


class Recorder:
    """Everything a browser context asked for or complained about."""

    all_requests: list[str] = []  # the whole session's log, for the report

    def __init__(self):
        self.requests: list[str] = []
        self.external: list[str] = []
        self.failed: list[str] = []
        self.errors: list[str] = []

    def on_request(self, request):
        self.requests.append(request.url)
        Recorder.all_requests.append(request.url)

    def on_failed(self, request):
        self.failed.append(f"{request.url} ({request.failure})")

    def on_response(self, response):
        if response.status >= 400:
            self.failed.append(f"{response.url} (HTTP {response.status})")

    def on_console(self, msg):
        if msg.type == "error":
            self.errors.append(f"console error: {msg.text} [{msg.location.get('url', '')}:{msg.location.get('lineNumber', '')}]")

    def on_pageerror(self, err):
        self.errors.append(f"uncaught exception: {err}")

    def on_external(self, route):
        self.external.append(route.request.url)
        route.abort()

    def problems(self) -> list[str]:
        return (
            [f"request to another host: {u}" for u in self.external]
            + [f"failed request: {f}" for f in self.failed]
            + self.errors
        )


@pytest.fixture
def open_context(browser):
    """``open_context(**options) -> (context, recorder)``: a fresh browser context whose traffic is recorded."""
    contexts = []

    def make(**options):
        options.setdefault("viewport", LAPTOP)
        ctx = browser.new_context(**options)
        rec = Recorder()
        ctx.route(lambda url: not _is_local(url), rec.on_external)  # nothing may leave the machine
        ctx.on("request", rec.on_request)
        ctx.on("requestfailed", rec.on_failed)
        ctx.on("response", rec.on_response)
        ctx.on("console", rec.on_console)
        ctx.on("weberror", lambda e: rec.on_pageerror(e.error))
        contexts.append(ctx)
        return ctx, rec

    yield make
    for ctx in contexts:
        ctx.close()


@pytest.fixture(scope="session", autouse=True)
def _report(request):
    """Print the figures at the end of the run and keep them in _build/screenshots/report.json."""

    class Reporter:
        def pytest_terminal_summary(self, terminalreporter):
            if not REPORT:
                return
            external = [u for u in Recorder.all_requests if not _is_local(u)]
            REPORT["requests_total"] = len(Recorder.all_requests)
            REPORT["requests_external"] = len(external)
            tr = terminalreporter
            tr.section("the built book in Chromium")
            for key, value in REPORT.items():
                tr.write_line(f"{key}: {value}")
            SHOTS.mkdir(parents=True, exist_ok=True)
            (SHOTS / "report.json").write_text(json.dumps(REPORT, indent=1), encoding="utf-8")
            (SHOTS / "requests.log").write_text("\n".join(Recorder.all_requests) + "\n", encoding="utf-8")

    plugin = Reporter()
    request.config.pluginmanager.register(plugin, "cnn-book-browser-report")
    yield


@pytest.fixture(scope="module", autouse=True)
def _module_clock():
    """How long this module takes, build included: the time the browser tests add to `make test`."""
    start = time.perf_counter()
    yield
    REPORT["browser_tests_seconds_incl_build"] = round(time.perf_counter() - start, 1)


def page_url(server: str, docname: str) -> str:
    return urljoin(server, docname + ".html")


def wait_for_math(page) -> None:
    """Wait until MathJax (when the page loads it) has typeset the page."""
    page.evaluate(
        """async () => {
            if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
            return true;
        }"""
    )


def undecoded_images(page) -> list[str]:
    return page.evaluate(
        """async () => {
            const imgs = Array.from(document.images);
            imgs.forEach(img => { img.loading = "eager"; });
            await Promise.all(imgs.map(img => img.decode().catch(() => null)));
            return imgs.filter(img => !(img.complete && img.naturalWidth > 0)).map(img => img.currentSrc || img.src);
        }"""
    )


def math_report(page) -> dict:
    return page.evaluate(
        """() => {
            const maths = Array.from(document.querySelectorAll('.math'));
            return {
                count: maths.length,
                unrendered: maths.filter(m => !m.querySelector('mjx-container svg')).map(m => m.textContent.slice(0, 80)),
                errors: Array.from(document.querySelectorAll('mjx-merror')).map(e => e.textContent.slice(0, 80)),
            };
        }"""
    )


# ---------------------------------------------------------------- every page
TOC = toc_pages()


def test_every_toc_page_is_built(built_book):
    missing = [d for d in TOC if not (built_book / f"{d}.html").exists()]
    assert not missing, f"pages listed in _toc.yml but not built: {missing}"
    redirect = (built_book / "index.html").read_text(encoding="utf-8")
    assert f"{TOC[0]}.html" in redirect, "index.html should send the reader to the root page"


@pytest.mark.parametrize("docname", TOC)
def test_page_in_browser(docname, server, open_context):
    ctx, rec = open_context()
    page = ctx.new_page()
    page.goto(page_url(server, docname), wait_until="load")
    page.wait_for_load_state("networkidle")
    wait_for_math(page)
    problems = []

    bad_images = undecoded_images(page)
    problems += [f"image not decoded: {src}" for src in bad_images]

    # Title and first heading are the chapter's own.
    expected = words(first_heading(source_of(docname)))
    h1 = page.evaluate(
        """() => {
            const h = document.querySelector('article h1, main h1, h1');
            if (!h) return null;
            const c = h.cloneNode(true);
            c.querySelectorAll('.headerlink, mjx-container, .math').forEach(n => n.remove());
            return c.textContent;
        }"""
    )
    if h1 is None:
        problems.append("the page has no <h1>")
    elif words(h1) != expected:
        problems.append(f"first heading {h1!r} is not the chapter's ({' '.join(expected)!r})")
    title = page.title()
    book_title = _config()["title"]
    if not words(title.split(" \u2014 ")[0]) == expected or not title.endswith(book_title):
        problems.append(f"page title {title!r} should be the chapter's heading, then the book's title {book_title!r}")

    # Math: every .math element typeset by MathJax, with no TeX error.
    math = math_report(page)
    problems += [f"math not rendered: {m!r}" for m in math["unrendered"]]
    problems += [f"TeX error in math: {m!r}" for m in math["errors"]]
    REPORT.setdefault("math_elements_rendered", {})[docname] = math["count"] - len(math["unrendered"])

    # Notebook pages: download and launch buttons point at this notebook in the repository.
    if source_of(docname).suffix == ".ipynb":
        problems += launch_button_problems(page, docname)

    SHOTS.mkdir(parents=True, exist_ok=True)
    _full_page_shot(page, str(SHOTS / f"{docname.replace('/', '__')}.png"))
    page.close()
    problems += rec.problems()
    REPORT.setdefault("pages_checked", []).append(docname)
    assert not problems, f"{docname}:\n  " + "\n  ".join(problems)


def launch_button_problems(page, docname: str) -> list[str]:
    cfg = _config()
    repo = cfg["repository"]
    slug = urlparse(repo["url"]).path.strip("/")
    # Binder and Colab open the reader's notebook (numbers in the prose), in JupyterLab.
    reader = f"readers/{Path(docname).name}.ipynb"
    path_in_repo = "/".join(p for p in (repo.get("path_to_book", "").strip("/"), reader) if p)
    branch = repo.get("branch", "main")
    binder = cfg["launch_buttons"]["binderhub_url"].rstrip("/")
    colab = cfg["launch_buttons"]["colab_url"].rstrip("/")
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
    expected = {
        "download button (.ipynb)": lambda h: h == urljoin(page.url, f"/_sources/{docname}.ipynb") or h.endswith(f"/_sources/{docname}.ipynb"),
        "Binder button": lambda h: h.startswith(f"{binder}/v2/gh/{slug}/{branch}?") and h.endswith(f"urlpath=lab/tree/{path_in_repo}"),
        "Colab button": lambda h: h == f"{colab}/github/{slug}/blob/{branch}/{path_in_repo}",
    }
    problems = [f"no {name} pointing at {path_in_repo}" for name, ok in expected.items() if not any(ok(h) for h in hrefs)]
    # The download must deliver the notebook itself.
    download = next((h for h in hrefs if expected["download button (.ipynb)"](h)), None)
    if download:
        resp = page.request.get(download)
        if resp.status != 200 or '"cells"' not in resp.text():
            problems.append(f"the download button's {download} does not deliver the notebook (HTTP {resp.status})")
        elif "{glue" in resp.text():
            problems.append(f"the download button's {download} shows raw glue roles")
    if not (ROOT / path_in_repo).is_file():
        problems.append(f"{path_in_repo}, which Binder and Colab open, is not in the repository")
    return problems


@pytest.mark.parametrize("docname", [d for d in TOC if source_of(d).suffix == ".ipynb"])
def test_readers_notebook_prose_equals_the_web_book(docname, built_book):
    """The numbers a reader's notebook writes into its prose are the web page's, in order."""
    import html as html_lib

    from book_tools import reader_notebooks as rn

    chapter = source_of(docname)
    page = (built_book / f"{docname}.html").read_text(encoding="utf-8")
    shown = [html_lib.unescape(t) for t in re.findall(r'<span class="pasted-text">(.*?)</span>', page, re.S)]
    nb = json.loads(chapter.read_text(encoding="utf-8"))
    local = rn.glue_texts(nb)
    written = [
        rn.resolve_role(m.group(1), local, chapter.parent, str(chapter))
        for cell in nb["cells"] if cell["cell_type"] == "markdown"
        for m in rn.ROLE.finditer("".join(cell["source"]))
    ]
    assert written, f"{docname} glues no number into its prose"
    assert written == shown, f"{docname}: the reader's notebook writes {written[:8]}..., the page shows {shown[:8]}..."
    served = json.loads((built_book / "_sources" / f"{docname}.ipynb").read_text(encoding="utf-8"))
    prose = "".join("".join(c["source"]) for c in served["cells"] if c["cell_type"] == "markdown")
    assert "{glue" not in prose and all(w in prose for w in written)


def test_search_finds_the_pooling_chapter(server, open_context):
    ctx, rec = open_context()
    page = ctx.new_page()
    page.goto(page_url(server, TOC[0]), wait_until="load")
    page.keyboard.press("Control+k")  # the theme's search shortcut opens its search dialog
    box = page.locator("#pst-search-dialog input[name='q']")
    box.wait_for(state="visible", timeout=5000)
    box.type("pooling")
    box.press("Enter")
    page.wait_for_url(re.compile(r"search\.html\?q=pooling"))
    page.wait_for_selector("#search-results .search-summary", timeout=15000)
    found = page.eval_on_selector_all("#search-results ul.search li a", "els => els.map(e => e.getAttribute('href'))")
    found_pages = sorted({re.sub(r"\.html.*$", "", f) for f in found})
    page.close()
    assert not rec.problems(), rec.problems()
    assert found_pages, "searching 'pooling' found nothing"
    unknown = [p for p in found_pages if p not in TOC]
    assert not unknown, f"search results outside the book's pages: {unknown}"
    pooling = [d for d in TOC if "pool" in d.lower()]
    REPORT["search_pooling_results"] = found_pages
    # Until the pooling chapter is in _toc.yml, the pages that mention pooling must be found.
    for d in pooling:
        assert d in found_pages, f"searching 'pooling' does not find the pooling chapter {d}; found {found_pages}"
    if not pooling:
        assert DRAW_PAGE in found_pages, f"searching 'pooling' should at least find {DRAW_PAGE}; found {found_pages}"


def test_search_works_from_disk(built_book, open_context):
    """Opened from disk (file://), the search finds the pooling chapter and logs no error."""
    ctx, rec = open_context()
    page = ctx.new_page()
    page.goto((built_book / "search.html").as_uri() + "?q=pooling", wait_until="load")
    page.wait_for_selector("#search-results ul.search li a", timeout=15000)
    page.wait_for_function(
        "() => !document.querySelector('#search-progress') || document.querySelector('#search-progress').textContent === ''"
        " || document.querySelector('#search-results .search-summary')", timeout=15000)
    found = page.eval_on_selector_all("#search-results ul.search li a", "els => els.map(e => e.getAttribute('href'))")
    page.wait_for_timeout(500)  # let any snippet request fail, if one is made
    assert any("04_pooling" in f for f in found), found
    assert not rec.problems(), rec.problems()


# ---------------------------------------------------------------- the draw page
@pytest.fixture(scope="session")
def keras_model(built_book):
    """The trained model the draw page shows, loaded through Keras, checked to be the exported one."""
    from book_tools import draw_page as web

    result = web.page_model(verbose=False)
    spec = web._read_js_assignment((built_book / "draw" / "generated" / "model.js").read_text(encoding="utf-8"), "CNN_MODEL")
    _, arrays = web.model_layers(result.model)
    raw = b"".join(np.ascontiguousarray(a, dtype="<f4").tobytes() for a in arrays)
    assert web._sha256(raw) == spec["sha256_values"], "the page's model.js is not the model Keras loads: rebuild the book"
    return result.model


@pytest.fixture(scope="session")
def mnist_test(mnist):
    return mnist[1]


def open_draw_page(open_context, url: str, **options):
    ctx, rec = open_context(**options)
    page = ctx.new_page()
    page.goto(url, wait_until="load")
    page.wait_for_selector("#cnn-draw[data-status=ready]", timeout=20000)
    page.evaluate("() => CNNDrawApp.ready")
    wait_for_math(page)
    return page, rec


@pytest.fixture
def draw_page(server, open_context):
    if DRAW_PAGE not in TOC:
        pytest.fail(f"{DRAW_PAGE} is not in _toc.yml")
    page, rec = open_draw_page(open_context, page_url(server, DRAW_PAGE))
    yield page
    assert not rec.problems(), "draw page:\n  " + "\n  ".join(rec.problems())


def _b64(images: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(images, dtype=np.uint8).tobytes()).decode("ascii")


JS_PREDICT_MANY = """([data, n]) => {
    const bytes = CNN.base64ToBytes(data), out = [];
    for (let k = 0; k < n; k++) out.push(Array.from(CNN.predictPixels(CNNDrawApp.model, bytes.subarray(784 * k, 784 * (k + 1)))));
    return out;
}"""


def test_draw_page_forward_pass_agrees_with_keras(draw_page, keras_model, mnist_test):
    x_test, y_test = mnist_test
    images = x_test[:N_AGREEMENT]
    start = time.perf_counter()
    js = np.array(draw_page.evaluate(JS_PREDICT_MANY, [_b64(images), len(images)]))
    js_seconds = time.perf_counter() - start
    ref = keras_model.predict(images[..., None].astype("float32") / 255.0, batch_size=250, verbose=0)
    same = int((js.argmax(1) == ref.argmax(1)).sum())
    max_diff = float(np.abs(js - ref).max())
    REPORT["agreement"] = {
        "digits": len(images),
        "same_class": same,
        "max_abs_prob_diff": float(f"{max_diff:.3g}"),
        "page_accuracy": float((js.argmax(1) == y_test[: len(images)]).mean()),
        "js_seconds_for_all": round(js_seconds, 2),
    }
    assert same == len(images), f"the page and Keras disagree on {len(images) - same} of {len(images)} digits"
    assert max_diff <= PROB_TOL, f"probabilities differ from Keras by up to {max_diff:.2e} (tolerance {PROB_TOL})"


def test_draw_page_feature_maps_mirror_the_reference_layers(draw_page, built_book, mnist_test):
    """Every layer's output in the page equals book_tools.draw_page.forward (the NumPy reference layers)."""
    from book_tools import draw_page as web

    spec, weights = web.read_model_js((built_book / "draw" / "generated" / "model.js").read_text(encoding="utf-8"))
    x_test, _ = mnist_test
    worst = 0.0
    for k in (0, 1, 2, 3, 4):
        js_outputs = draw_page.evaluate(
            """(pixels) => {
                const x = Float64Array.from(pixels, v => v / 255);
                return CNN.forward(CNNDrawApp.model, x).map(o => ({shape: o.shape, data: Array.from(o.data)}));
            }""",
            x_test[k].ravel().tolist(),
        )
        ref = web.forward(spec, weights, x_test[k][..., None] / 255.0)
        assert len(js_outputs) == len(ref)
        for layer, js_out, r in zip(spec["layers"], js_outputs, ref):
            assert tuple(js_out["shape"]) == r.shape, f"{layer['name']}: shape {js_out['shape']} != {r.shape}"
            diff = float(np.abs(np.array(js_out["data"]).reshape(r.shape) - r).max())
            worst = max(worst, diff)
            assert diff <= 1e-6, f"{layer['name']} differs from the reference layers by {diff:.2e} (digit {k})"
    REPORT["feature_maps_max_abs_diff_vs_numpy_layers"] = float(f"{worst:.3g}")


def test_page_layers_handle_same_padding_strides_and_odd_shapes(draw_page):
    """cnn.js mirrors all of cnn_helpers.layers' options, not only the seed network's."""
    from book_tools import draw_page as web

    import keras

    keras.utils.set_random_seed(3)
    model = keras.Sequential([
        keras.Input((9, 8, 2)),
        keras.layers.Conv2D(4, (3, 2), strides=(2, 1), padding="same", use_bias=False, activation="relu"),
        keras.layers.MaxPooling2D((2, 3), strides=(1, 2), padding="same"),
        keras.layers.Conv2D(3, (2, 2), strides=(1, 2), padding="valid"),
        keras.layers.MaxPooling2D((2, 1)),
        keras.layers.Flatten(),
        keras.layers.Dense(5),
        keras.layers.Dense(3, activation="softmax"),
    ])
    spec = web._read_js_assignment(web.export_model(model), "CNN_MODEL")
    x = np.random.default_rng(0).random((6, 9, 8, 2)).astype("float32")
    js = np.array(draw_page.evaluate(
        """async ([spec, xs]) => {
            const m = await CNN.loadModel(spec);
            return xs.map(x => Array.from(CNN.forward(m, Float64Array.from(x)).pop().data));
        }""",
        [spec, [xi.ravel().tolist() for xi in x]],
    ))
    ref = model.predict(x, verbose=0)
    np.testing.assert_allclose(js, ref, atol=1e-6)


def _pad_box(page):
    box = page.locator("#cnn-pad").bounding_box()
    return box["x"], box["y"], box["width"], box["height"]


def _mouse_stroke(page, points):
    page.locator("#cnn-pad").scroll_into_view_if_needed()  # mouse events only reach what is on screen
    x0, y0, w, h = _pad_box(page)
    page.mouse.move(x0 + points[0][0] * w, y0 + points[0][1] * h)
    page.mouse.down()
    for px, py in points[1:]:
        page.mouse.move(x0 + px * w, y0 + py * h, steps=8)
    page.mouse.up()
    _after_next_update(page)


def _full_page_shot(page, path: str) -> None:
    """A full-page screenshot taken from the top of the page.

    Taken while scrolled down, the theme's sticky header and its "skip to main
    content" link are painted in the middle of the stitched image.
    """
    page.evaluate("() => { window.scrollTo(0, 0); if (document.activeElement) document.activeElement.blur(); }")
    _after_next_update(page)
    page.screenshot(path=path, full_page=True)


def _after_next_update(page) -> None:
    """Wait until the page has run the update a stroke scheduled.

    The page redraws in a requestAnimationFrame callback; resolving after two
    more frames means that callback has run, however slow the machine is (a
    fixed sleep raced with it on a loaded CPU).
    """
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


def _state(page) -> dict:
    return page.evaluate(
        """() => ({
            guess: document.getElementById('cnn-guess').getAttribute('data-class'),
            bars: Array.from(document.querySelectorAll('.cnn-bar-row')).map(r => parseFloat(r.getAttribute('data-p'))),
            widths: Array.from(document.querySelectorAll('.cnn-bar')).map(b => b.style.width),
            pixels: CNNDrawApp.pixels ? Array.from(CNNDrawApp.pixels) : null,
            source: CNNDrawApp.source,
        })"""
    )


def _pad_grey(page) -> np.ndarray:
    data = page.evaluate(
        """() => {
            const c = document.getElementById('cnn-pad');
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            const g = new Array(c.width * c.height);
            for (let i = 0; i < g.length; i++) g[i] = d[4 * i];
            return [c.width, c.height, g];
        }"""
    )
    w, h, red = data
    return (255 - np.array(red, dtype=np.float64).reshape(h, w)) / 255.0


def test_draw_page_mouse_stroke_updates_the_prediction(draw_page):
    SHOTS.mkdir(parents=True, exist_ok=True)
    before = _state(draw_page)
    assert before["guess"] == "" and sum(before["bars"]) == 0, "before drawing, no prediction is shown"

    _mouse_stroke(draw_page, [(0.5, 0.15), (0.5, 0.85)])  # a vertical line: a one
    one = _state(draw_page)
    assert one["guess"] != "", "drawing a stroke produced no prediction"
    assert abs(sum(one["bars"]) - 1) < 1e-6, f"the bars should be probabilities summing to 1: {one['bars']}"
    assert any(w not in ("", "0%", "0.00%") for w in one["widths"]), "the probability bars did not move"
    assert one["guess"] == "1", f"a vertical line should read as a 1, the page says {one['guess']}"
    _full_page_shot(draw_page, str(SHOTS / "14_draw__mouse-stroke.png"))

    # The page's preprocessing is book_tools.draw_page.preprocess_drawing, to the grey level.
    from book_tools import draw_page as web

    ref = web.preprocess_drawing(_pad_grey(draw_page))
    js = np.array(one["pixels"], dtype=np.int64).reshape(28, 28)
    diff = int(np.abs(js - ref.astype(np.int64)).max())
    REPORT["preprocessing_max_grey_level_diff_js_vs_python"] = diff
    assert diff <= 1, f"the page's 28x28 input differs from web.preprocess_drawing by up to {diff} grey levels"
    rows, cols = np.nonzero(js)
    assert max(np.ptp(rows), np.ptp(cols)) + 1 <= 20, "the ink should fit a 20x20 box"

    # A top bar turns the 1 into a 7: the prediction follows the drawing.
    _mouse_stroke(draw_page, [(0.25, 0.15), (0.5, 0.15)])
    seven = _state(draw_page)
    assert seven["bars"] != one["bars"], "the bars did not update on the second stroke"

    draw_page.click("#cnn-clear")
    cleared = _state(draw_page)
    assert cleared["guess"] == "" and sum(cleared["bars"]) == 0 and cleared["pixels"] is None, "clear did not reset the page"
    assert float(_pad_grey(draw_page).max()) == 0.0, "clear did not wipe the drawing pad"


def test_draw_page_touch_stroke(server, open_context):
    page, rec = open_draw_page(open_context, page_url(server, DRAW_PAGE), has_touch=True, is_mobile=True, viewport={"width": 390, "height": 844})
    page.locator("#cnn-pad").scroll_into_view_if_needed()
    x0, y0, w, h = _pad_box(page)
    cdp = page.context.new_cdp_session(page)
    points = [(0.5, 0.15 + 0.07 * i) for i in range(11)]
    for i, (px, py) in enumerate(points):
        kind = "touchStart" if i == 0 else "touchMove"
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": [{"x": x0 + px * w, "y": y0 + py * h}]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    _after_next_update(page)
    state = _state(page)
    SHOTS.mkdir(parents=True, exist_ok=True)
    _full_page_shot(page, str(SHOTS / "14_draw__phone-touch.png"))
    assert state["guess"] != "", "a finger stroke produced no prediction"
    assert state["source"] == "drawing"
    assert not rec.problems(), rec.problems()


def test_draw_page_sample_buttons(draw_page, keras_model, built_book):
    from book_tools import draw_page as web

    images, labels, indices = web.read_digits_js((built_book / "draw" / "generated" / "digits.js").read_text(encoding="utf-8"))
    ref = keras_model.predict(images[..., None].astype("float32") / 255.0, verbose=0)
    buttons = draw_page.locator("button.cnn-sample")
    assert buttons.count() == len(images) >= 10
    for k in range(len(images)):
        buttons.nth(k).click()
        state = _state(draw_page)
        assert state["source"] == f"mnist:{indices[k]}"
        assert np.array_equal(np.array(state["pixels"]), images[k].ravel()), "the network must see the MNIST digit itself"
        assert int(state["guess"]) == int(ref[k].argmax()), f"test image {indices[k]}: page says {state['guess']}, Keras {ref[k].argmax()}"
        assert np.abs(np.array(state["bars"]) - ref[k]).max() <= PROB_TOL
    draw_page.locator("button.cnn-sample").nth(7).click()
    _full_page_shot(draw_page, str(SHOTS / "14_draw__sample-digit.png"))


def test_draw_page_links_to_the_chapters(draw_page, built_book):
    hrefs = draw_page.eval_on_selector_all("a.cnn-chapter-link", "els => els.map(e => [e.getAttribute('href'), e.href])")
    assert hrefs, "the panels should link to the chapters"
    kinds = draw_page.eval_on_selector_all(".cnn-layer .cnn-chapter-link, .cnn-panel-title .cnn-chapter-link", "els => els.map(e => e.getAttribute('href'))")
    for needed in ("01_input.html", "02_convolution.html", "03_relu.html", "04_pooling.html", "05_dense.html"):
        assert needed in kinds, f"no panel links to {needed}"
    pending = []
    for rel, absolute in hrefs:
        docname = "chapters/" + rel.removesuffix(".html")
        if docname in TOC:
            resp = draw_page.request.get(absolute)
            assert resp.status == 200, f"the link to {rel} is broken (HTTP {resp.status})"
        else:
            pending.append(rel)
    REPORT["draw_page_links_to_chapters_not_yet_in_toc"] = sorted(set(pending))


def test_draw_page_speed_and_weights_size(draw_page, built_book):
    size = (built_book / "draw" / "generated" / "model.js").stat().st_size
    runs = [draw_page.evaluate("() => CNN.benchmark(CNNDrawApp.model, CNNDrawApp.digits.images[0], 100)") for _ in range(3)]
    medians = [round(r["median"], 2) for r in runs]
    REPORT["forward_pass_median_ms"] = {
        "first_100_runs": medians[0], "three_rounds": medians,
        "target": TARGET_MS, "met": min(medians) < TARGET_MS,
    }
    REPORT["weights_file_bytes"] = size
    assert size < TARGET_BYTES, f"model.js is {size} bytes, the target is under {TARGET_BYTES}"
    assert min(medians) < SLOW_MS, (
        f"median forward pass {min(medians)} ms, over {SLOW_MS} ms: far slower than "
        f"the {TARGET_MS} ms target, so something in cnn.js's forward pass broke"
    )


def test_draw_page_from_disk(open_context, built_book, keras_model):
    """Opened as file:// (as jupyter-book tells readers to), where fetch() of local files is blocked."""
    url = (built_book / f"{DRAW_PAGE}.html").resolve().as_uri()
    page, rec = open_draw_page(open_context, url)
    math = math_report(page)
    assert math["count"] > 0 and not math["unrendered"], f"math not rendered from disk: {math['unrendered']}"
    page.locator("button.cnn-sample").nth(3).click()
    state = _state(page)
    from book_tools import draw_page as web

    images, _, _ = web.read_digits_js((built_book / "draw" / "generated" / "digits.js").read_text(encoding="utf-8"))
    ref = keras_model.predict(images[3:4, ..., None].astype("float32") / 255.0, verbose=0)[0]
    assert int(state["guess"]) == int(ref.argmax())
    page.click("#cnn-clear")
    _mouse_stroke(page, [(0.5, 0.15), (0.5, 0.85)])
    assert _state(page)["guess"] != ""
    _full_page_shot(page, str(SHOTS / "14_draw__file-url.png"))
    assert not rec.problems(), "draw page from disk:\n  " + "\n  ".join(rec.problems())
    REPORT["draw_page_from_file_url"] = "ok"


def test_no_request_left_the_machine(server, open_context):
    """The whole session's request log: everything came from the local server (or the disk).

    Every page test already fails on a request to another host; this one also
    loads the root page and the draw page itself, so it holds whatever order
    the tests ran in.
    """
    ctx, rec = open_context()
    for docname in (TOC[0], DRAW_PAGE):
        page = ctx.new_page()
        page.goto(page_url(server, docname), wait_until="load")
        page.wait_for_load_state("networkidle")
        wait_for_math(page)
        page.close()
    assert rec.requests, "no request was recorded"
    external = sorted({u for u in Recorder.all_requests if not _is_local(u)})
    assert not external, f"requests to other hosts: {external}"


# ---------------------------------------------------------------- phone width
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
    "device_scale_factor": 2,
}


def _open_dialogs(page) -> list[str]:
    return page.evaluate("() => Array.from(document.querySelectorAll('dialog[open]')).map(d => d.id)")


def test_phone_navigation(server, open_context):
    """At 390 px: the chapter list and "Contents" buttons open their sidebars, links work.

    The themes' own handlers miss the visible buttons (pydata-sphinx-theme#2451,
    sphinx-book-theme#988); ``book_tools/static/cnn-book-phone.js`` passes the tap on.
    Exactly one dialog opens per tap, so the fix would also be caught doing it twice.
    """
    ctx, rec = open_context(**PHONE)
    page = ctx.new_page()
    start, target = TOC[3], TOC[4]
    page.goto(page_url(server, start), wait_until="load")
    SHOTS.mkdir(parents=True, exist_ok=True)

    # The chapter list: tap the visible button, pick the next chapter.
    page.locator(".bd-header-article button.primary-toggle").tap()
    page.wait_for_selector("#pst-primary-sidebar-modal[open]", timeout=3000)
    assert _open_dialogs(page) == ["pst-primary-sidebar-modal"]
    link = page.locator(f"#pst-primary-sidebar-modal a[href$='{target.split('/')[-1]}.html']")
    assert link.is_visible(), f"the chapter list does not show a visible link to {target}"
    box = link.bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["viewport"]["width"], box
    page.screenshot(path=str(SHOTS / "phone_chapter_list.png"))
    link.tap()
    page.wait_for_url(page_url(server, target), timeout=5000)
    page.wait_for_load_state("load")
    h1 = page.locator("article h1").first.inner_text()
    assert words(h1.replace("#", "")) == words(first_heading(source_of(target)))

    # "Contents": tap, jump to the page's second section; the dialog closes on the jump.
    page.locator(".bd-header-article button.secondary-toggle").tap()
    page.wait_for_selector("#pst-secondary-sidebar-modal[open]", timeout=3000)
    assert _open_dialogs(page) == ["pst-secondary-sidebar-modal"]
    page.screenshot(path=str(SHOTS / "phone_contents.png"))
    section = page.locator("#pst-secondary-sidebar-modal nav.page-toc a").nth(1)
    anchor = section.get_attribute("href")
    assert anchor and anchor.startswith("#"), anchor
    section.tap()
    page.wait_for_function("() => !document.querySelector('dialog[open]')", timeout=3000)
    assert page.url.endswith(anchor)
    on_screen = f"""() => {{
        const top = document.getElementById({anchor[1:]!r}).getBoundingClientRect().top;
        return top >= 0 && top < {PHONE["viewport"]["height"] // 2};
    }}"""
    page.wait_for_function(on_screen, timeout=3000)  # the theme scrolls smoothly
    page.wait_for_timeout(600)  # the dialog's closing animation, for the screenshot
    page.screenshot(path=str(SHOTS / "phone_after_contents_link.png"))
    assert not rec.problems(), rec.problems()
    REPORT["phone_navigation"] = f"{start} -> {target} -> {anchor}"


def test_laptop_chapter_list_button_collapses_the_sidebar(server, open_context):
    """At laptop width the same button hides and shows the chapter list (no dialog)."""
    ctx, rec = open_context()
    page = ctx.new_page()
    page.goto(page_url(server, TOC[2]), wait_until="load")
    sidebar = page.locator("#pst-primary-sidebar")
    assert sidebar.is_visible()
    button = page.locator(".bd-header-article button.primary-toggle")
    shown = "() => document.querySelector('#pst-primary-sidebar').checkVisibility({visibilityProperty: true})"
    button.click()
    page.wait_for_function(f"() => !({shown})()", timeout=3000)
    assert _open_dialogs(page) == []
    button.click()
    page.wait_for_function(shown, timeout=3000)
    assert not rec.problems(), rec.problems()


def test_figures_fit_the_phone_and_open_full_size(server, open_context):
    """At 390 px every figure shows whole inside the column, and a tap opens it full size.

    Wide text outputs and tables scroll inside their box, never the page, and a box
    with more to its right carries the visible cue (an inner shadow, ``cnn-more-right``).
    """
    ctx, rec = open_context(**PHONE)
    page = ctx.new_page()
    problems, figures, wide_boxes = [], 0, 0
    for docname in TOC:
        page.goto(page_url(server, docname), wait_until="load")
        undecoded_images(page)
        page_width = page.evaluate("() => document.documentElement.scrollWidth")
        if page_width > PHONE["viewport"]["width"] + 1:
            problems.append(f"{docname}: the page scrolls sideways ({page_width} px)")
        found = page.evaluate(
            """() => Array.from(document.querySelectorAll('div.cell_output img')).map(img => {
                const r = img.getBoundingClientRect();
                const col = img.closest('article, main').getBoundingClientRect();
                const link = img.closest('a.cnn-figure-link');
                return {src: img.getAttribute('src'), left: r.left, right: r.right, width: r.width,
                        colLeft: col.left, colRight: col.right, natural: img.naturalWidth,
                        ratio: r.height / r.width, naturalRatio: img.naturalHeight / img.naturalWidth,
                        link: link ? link.getAttribute('href') : null};
            })"""
        )
        for fig in found:
            figures += 1
            name = f"{docname}: {fig['src']}"
            if fig["left"] < fig["colLeft"] - 0.5 or fig["right"] > fig["colRight"] + 0.5:
                problems.append(f"{name} spans {fig['left']:.0f}-{fig['right']:.0f} px, the column "
                                f"{fig['colLeft']:.0f}-{fig['colRight']:.0f} px")
            if fig["width"] > PHONE["viewport"]["width"]:
                problems.append(f"{name} is {fig['width']:.0f} px wide on a 390 px screen")
            if abs(fig["ratio"] - fig["naturalRatio"]) > 0.02 * fig["naturalRatio"]:
                problems.append(f"{name} is distorted")
            if fig["link"] is None or not fig["link"].endswith(fig["src"].split("/")[-1]):
                problems.append(f"{name}: a tap does not open it full size (link {fig['link']!r})")
        for box in page.evaluate(
            """() => Array.from(document.querySelectorAll(
                    'div.cell_output pre, div.cell_output .output, .pst-scrollable-table-container'))
                .filter(b => b.getClientRects().length && b.scrollWidth > b.clientWidth + 1)
                .map(b => [b.className, getComputedStyle(b).overflowX, getComputedStyle(b).boxShadow])"""
        ):
            wide_boxes += 1
            cls, overflow, shadow = box
            if overflow not in ("auto", "scroll") or "cnn-more-right" not in cls or shadow == "none":
                problems.append(f"{docname}: a wide box ({cls!r}) does not scroll with a cue "
                                f"(overflow-x {overflow}, shadow {shadow})")
    # A tap on a figure opens its PNG.
    page.goto(page_url(server, "chapters/07_learning"), wait_until="load")
    link = page.locator("a.cnn-figure-link").last
    link.scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "phone_figure.png"))
    with ctx.expect_page() as opened:
        link.tap()
    full = opened.value
    full.wait_for_load_state("load")
    assert full.url.endswith(".png"), f"a tap on a figure opened {full.url}, not the figure"
    full.close()
    REPORT["phone_figures_checked"] = figures
    REPORT["phone_wide_boxes_with_cue"] = wide_boxes
    assert figures > 40, f"only {figures} figures found in the book"
    assert not problems, "\n  ".join(problems)
    assert not rec.problems(), rec.problems()


@pytest.mark.parametrize("width", [1366, 1700, 900, 390])
def test_one_search_box_and_code_fits_at_laptop_width(width, server, open_context):
    ctx, rec = open_context(viewport={"width": width, "height": 800})
    page = ctx.new_page()
    page.goto(page_url(server, "chapters/06_model"), wait_until="load")
    searches = page.evaluate(
        """() => Array.from(document.querySelectorAll('button.search-button__button, button.search-button'))
            .filter(e => e.getClientRects().length && getComputedStyle(e).visibility !== 'hidden').length"""
    )
    assert searches == 1, f"{searches} search boxes or buttons at {width} px"
    if width >= 1366:
        wide = page.evaluate(
            """() => Array.from(document.querySelectorAll('div.cell_input div.highlight pre'))
                .filter(p => p.scrollWidth > p.clientWidth + 1).map(p => p.scrollWidth - p.clientWidth)"""
        )
        assert not wide, f"at {width} px {len(wide)} code cells are wider than their column by {wide} px"
    assert not rec.problems(), rec.problems()


# ---------------------------------------------------------------- accessibility
AXE = ROOT / "_build" / "tools" / "node_modules" / "axe-core" / "axe.min.js"
AXE_VERSION = "4.10.3"
#: Pages checked with axe-core: a chapter with figures, code, tables and math, and the draw page.
AXE_PAGES = ["chapters/06_model", DRAW_PAGE]


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core from npm (installed once into _build/tools/, which git ignores)."""
    if not AXE.is_file():
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("npm is needed to fetch axe-core for the accessibility test: apt-get install npm", pytrace=False)
        proc = subprocess.run(
            [npm, "install", "--silent", "--no-save", "--no-package-lock", "--prefix",
             str(AXE.parents[2]), f"axe-core@{AXE_VERSION}"], capture_output=True, text=True,
        )
        if proc.returncode != 0 or not AXE.is_file():
            pytest.fail(f"npm install axe-core@{AXE_VERSION} failed:\n{proc.stderr[-2000:]}", pytrace=False)
    return AXE.read_text(encoding="utf-8")


@pytest.mark.parametrize("docname", AXE_PAGES)
def test_no_serious_accessibility_violation(docname, server, open_context, axe_source):
    ctx, rec = open_context()
    page = ctx.new_page()
    page.goto(page_url(server, docname), wait_until="load")
    wait_for_math(page)
    page.add_script_tag(content=axe_source)
    result = page.evaluate(
        "async () => { const r = await axe.run(document, {resultTypes: ['violations']});"
        " return r.violations.map(v => ({id: v.id, impact: v.impact, n: v.nodes.length,"
        " where: v.nodes.slice(0, 3).map(n => n.target.join(' '))})); }"
    )
    bad = [v for v in result if v["impact"] in ("serious", "critical")]
    REPORT.setdefault("axe_violations", {})[docname] = {v["id"]: v["impact"] for v in result}
    assert not bad, f"{docname}: " + "; ".join(f"{v['id']} ({v['impact']}, {v['n']}x: {v['where']})" for v in bad)


def test_figures_have_alt_text_from_their_titles(built_book):
    """No figure's alt text is its file path; each is a sentence ("Figure: ... .")."""
    problems, checked = [], 0
    for docname in TOC:
        page = (built_book / f"{docname}.html").read_text(encoding="utf-8")
        # (A figure shown scaled sits in Sphinx's link to its PNG.)
        for tag in re.findall(r'<div class="cell_output[^"]*">\s*(?:<a [^>]*>)?<img [^>]*>', page):
            checked += 1
            alt = re.search(r'alt="([^"]*)"', tag)
            alt = alt.group(1) if alt else ""
            if not re.fullmatch(r"Figure: \S.*\.", alt) or re.search(r"\.(png|jpe?g|svg)\b", alt):
                problems.append(f"{docname}: alt {alt[:80]!r}")
    assert checked > 40, f"only {checked} figures found"
    assert not problems, "\n  ".join(problems)
    # One known title, read from the chapter's code (chapter 7's saliency figure).
    page = (built_book / "chapters/07_learning.html").read_text(encoding="utf-8")
    assert 'alt="Figure: Saliency of the predicted class, first five test digits."' in page


@pytest.mark.parametrize("scheme", ["dark", "light"])
def test_colour_mode_follows_the_system(scheme, server, open_context):
    ctx, rec = open_context(color_scheme=scheme)
    page = ctx.new_page()
    page.goto(page_url(server, TOC[1]), wait_until="load")
    page.wait_for_function("() => document.documentElement.dataset.theme")
    theme = page.evaluate("() => document.documentElement.dataset.theme")
    background = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
    assert theme == scheme, f"a {scheme} system gets the {theme} book"
    channels = [int(c) for c in re.findall(r"\d+", background)[:3]]
    assert (sum(channels) < 3 * 128) == (scheme == "dark"), f"{scheme} mode paints the page {background}"
    assert not rec.problems(), rec.problems()


# ---------------------------------------------------------------- the whole book as one PDF
PDF = ROOT / "_build" / "pdf" / "cnn-book.pdf"
PDF_PAGE = ROOT / "_build" / "pdf-src" / "_build" / "singlehtml" / "book.html"


@functools.lru_cache(maxsize=1)
def build_pdf() -> Path:
    """``python -m book_tools.pdf`` once per session, after the HTML build (it links to the PDF)."""
    build_book()
    if os.environ.get("CNN_BOOK_SKIP_BUILD") == "1":
        assert PDF.exists() and PDF_PAGE.exists(), "CNN_BOOK_SKIP_BUILD=1 but there is no PDF: run `make pdf` first"
        return PDF
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "book_tools.pdf"], cwd=ROOT, capture_output=True, text=True, timeout=1800)
    REPORT["pdf_seconds"] = round(time.perf_counter() - start, 1)
    if proc.returncode != 0:
        pytest.fail(f"python -m book_tools.pdf failed (exit {proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}", pytrace=False)
    return PDF


@pytest.fixture(scope="session")
def book_pdf(chromium) -> Path:
    return build_pdf()


def _squash(text: str) -> str:
    """Lower-case letters and digits only: PDF text breaks lines and words anywhere."""
    return re.sub(r"[^a-z0-9]+", "", text.lower())


def _image_count(page) -> int:
    """Image XObjects drawn on a PDF page, counting those inside form XObjects too."""
    def count(resources, seen) -> int:
        xobjects = (resources or {}).get("/XObject") or {}
        n = 0
        for ref in xobjects.values():
            obj = ref.get_object()
            if id(obj) in seen:
                continue
            seen.add(id(obj))
            if obj.get("/Subtype") == "/Image":
                n += 1
            elif obj.get("/Subtype") == "/Form":
                n += count(obj.get("/Resources"), seen)
        return n

    return count(page.get("/Resources"), set())


def test_pdf_has_every_chapter_in_order_its_figures_and_uncut_code(book_pdf):
    from html import unescape

    from pypdf import PdfReader

    reader = PdfReader(str(book_pdf))
    pages = [page.extract_text() or "" for page in reader.pages]
    REPORT["pdf_pages"] = len(pages)
    REPORT["pdf_megabytes"] = round(book_pdf.stat().st_size / 1e6, 1)
    assert len(TOC) <= len(pages) <= 1000, f"{len(pages)} pages for {len(TOC)} chapters"

    # Every chapter's title, in the order of _toc.yml, and in the PDF's outline.
    squashed = [_squash(p) for p in pages]
    def flat(items):
        for item in items:
            yield from flat(item) if isinstance(item, list) else [item]

    outline = [_squash(item.title) for item in flat(reader.outline)]
    last = -1
    for docname in TOC:
        title = _squash(" ".join(words(first_heading(source_of(docname)))))
        found = next((i for i, text in enumerate(squashed) if i >= last and title in text), None)
        assert found is not None, f"{docname}: its title is not in the PDF after page {last + 1}"
        last = found
        assert any(title in item for item in outline), f"{docname}: its title is not in the PDF's outline"

    # Figures: at least as many images in the PDF as figures in the page it was printed from.
    html = PDF_PAGE.read_text(encoding="utf-8")
    figures = len(re.findall(r'<div class="cell_output[^"]*">\s*(?:<a [^>]*>)?<img ', html))
    images = sum(_image_count(page) for page in reader.pages)
    REPORT["pdf_images"] = images
    assert figures > 0 and images >= figures, f"{images} images in the PDF, {figures} figures in the book"

    # Code wraps instead of being cut: the end of the longest code line is in the PDF.
    code_lines = [
        unescape(re.sub(r"<[^>]+>", "", line))
        for block in re.findall(r'<div class="highlight"><pre>(.*?)</pre>', html, flags=re.S)
        for line in block.splitlines()
    ]
    longest = max(code_lines, key=len)
    REPORT["pdf_longest_code_line_chars"] = len(longest)
    assert _squash(longest)[-20:] in "".join(squashed), f"the end of the longest code line is cut: {longest!r}"


def test_every_page_links_to_the_pdf(book_pdf, server, open_context):
    ctx, rec = open_context()
    page = ctx.new_page()
    size = book_pdf.stat().st_size
    for docname in TOC:
        page.goto(page_url(server, docname), wait_until="load")
        link = page.locator("footer .cnn-book-pdf a")
        assert link.count() == 1, f"{docname}: no link to the PDF in the footer"
        resp = page.request.get(link.evaluate("a => a.href"))
        assert resp.status == 200 and resp.headers.get("content-type") == "application/pdf", docname
        assert len(resp.body()) == size, f"{docname}: the linked PDF is not the one `make pdf` wrote"
    assert not rec.problems(), rec.problems()


def _html_headings(built_book: Path) -> list[str]:
    """Every heading of the HTML book's chapters, in reading order, as the reader sees it."""
    from html import unescape

    found = []
    for docname in TOC:
        page = (built_book / f"{docname}.html").read_text(encoding="utf-8")
        article = page[page.index("<article"):page.index("</article>")]
        for _, inner in re.findall(r"<h([1-6])\b[^>]*>(.*?)</h\1>", article, flags=re.S):
            inner = re.sub(r'<a class="headerlink".*?</a>', "", inner, flags=re.S)
            found.append(" ".join(unescape(re.sub(r"<[^>]+>", "", inner)).split()))
    return found


def test_pdf_bookmarks_equal_the_headings(book_pdf, built_book):
    from pypdf import PdfReader

    def flat(items):
        for item in items:
            yield from flat(item) if isinstance(item, list) else [item]

    bookmarks = [" ".join(item.title.split()) for item in flat(PdfReader(str(book_pdf)).outline)]
    # The PDF's first page lists the chapters under "Contents" (the one-page build's
    # own heading, which no page of the HTML book has).
    assert bookmarks[1] == "Contents", bookmarks[:3]
    del bookmarks[1]
    headings = _html_headings(built_book)
    assert len(headings) > 100
    assert bookmarks == headings, next(
        (f"bookmark {i}: {b!r}, heading {h!r}" for i, (b, h) in enumerate(zip(bookmarks, headings)) if b != h),
        f"{len(bookmarks)} bookmarks, {len(headings)} headings",
    )


def test_pdf_tables_are_whole_on_the_summary_pages(book_pdf):
    """Chapter 6's model.summary() tables: every Param # is in the text layer, not cut."""
    from pypdf import PdfReader

    pages = [p.extract_text() or "" for p in PdfReader(str(book_pdf)).pages]
    summary = [i for i, t in enumerate(pages) if "Param #" in t or "conv2d_1 (Conv2D)" in t]
    assert summary, "no model.summary() table found in the PDF"
    # Keras 3's row of the second convolution (named conv2d_1; its output 11 x 11 x 64)
    # has (3*3*32 + 1) * 64 = 18,496 parameters, the table's last column.
    rows = [line for i in summary for line in pages[i].splitlines()
            if "conv2d_1 (Conv2D)" in line and "11, 11, 64" in line]
    assert rows, "the summary pages have no row for the second convolution"
    assert all("18,496" in row for row in rows), f"a Param # is cut: {rows}"


def test_pdf_prints_the_draw_page_as_a_picture(book_pdf):
    from pypdf import PdfReader

    from book_tools.pdf import DRAW_PICTURE, SINGLEHTML

    reader = PdfReader(str(book_pdf))
    texts = [p.extract_text() or "" for p in reader.pages]
    at = [i for i, t in enumerate(texts) if "picture taken when this PDF" in t]
    assert len(at) == 1, "the draw page's picture caption is not in the PDF once"
    assert _image_count(reader.pages[at[0]]) >= 1, "the draw page's page has no picture"
    assert not any("Loading the trained network" in t for t in texts), "the live widget was printed"
    assert (SINGLEHTML / "_images" / DRAW_PICTURE).stat().st_size > 20_000

