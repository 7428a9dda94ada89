"""The draw page as a lab, in Chromium: your own network, how a number was computed, moving the digit.

These tests need no book build: they put the page's markup (from
``chapters/14_draw.md``) and its scripts (``_assets/draw``) in a folder with a
model file exported from the tutorial's network with seeded random weights, and
open it from disk (``file://``), with every request that is not a local file
refused. The claim under test is that the page computes what Keras and the
book's NumPy layers compute, whatever the weights.

- networks written by ``cnn_helpers.export_for_page`` (the dense baseline of
  chapter 11, the speedrun's BatchNorm network of chapter 13), opened through the
  file picker, give Keras's probabilities on 1,000 test digits;
- the view of how a number was computed shows the sums of ``cnn_helpers.layers``
  for sampled cells of every layer, and the receptive field of the cell;
- a moved digit is ``cnn_helpers.shift.shift_images``'s;
- damaged files, unsupported layers and files holding code are refused with a
  message, and the page keeps the network it had;
- at desktop and phone width, from disk: a network dropped on the page loads, the
  pad and the answer share the screen, a tapped map is shown enlarged, the
  prediction is in a live region, keyboard focus is visible, and axe-core finds no
  serious or critical violation.
"""
from __future__ import annotations

import base64
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

import cnn_helpers

cnn_helpers.import_tensorflow_quietly()
import keras  # noqa: E402

from book_tools import draw_page as web  # noqa: E402
from cnn_helpers import layers as L  # noqa: E402
from cnn_helpers.page_export import export_for_page  # noqa: E402
from cnn_helpers.shift import shift_images  # noqa: E402
from test_browser import axe_source  # noqa: E402,F401  (the fixture: axe-core from npm, installed once)
from test_draw_page import _rechecksummed  # noqa: E402  (written once, there)

pytestmark = pytest.mark.browser

from book_tools.paths import ROOT  # noqa: E402  (the one ROOT)
SHOTS = ROOT / "_build" / "screenshots"
DESKTOP = {"viewport": {"width": 1366, "height": 900}}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
         "device_scale_factor": 2}
PROB_TOL = 1e-5
N_DIGITS = 1000


# ---------------------------------------------------------------- the page, from disk
def page_markup() -> str:
    """The draw page's HTML, as chapters/14_draw.md holds it (the stylesheet to the last script)."""
    text = (ROOT / "chapters" / "14_draw.md").read_text(encoding="utf-8")
    start = text.index('<link rel="stylesheet" href="../draw/draw.css">')
    end = text.index('<script src="../draw/draw.js"></script>') + len('<script src="../draw/draw.js"></script>')
    return text[start:end]


@pytest.fixture(scope="module")
def site(tmp_path_factory, tutorial_model, mnist):
    """A folder with the page (chapters/14_draw.html) and its scripts, as `make book` lays them out."""
    root = tmp_path_factory.mktemp("draw_site")
    (root / "chapters").mkdir()
    shutil.copytree(ROOT / "_assets" / "draw", root / "draw", ignore=shutil.ignore_patterns("generated"))
    (_, _), (x_test, y_test) = mnist
    gen = root / "draw" / "generated"
    gen.mkdir()
    (gen / "model.js").write_text(web.export_model(tutorial_model, {"note": "seeded random weights"}))
    (gen / "digits.js").write_text(web.export_digits(*web.sample_digits(x_test, y_test)))
    html = ("<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            "<title>Draw a digit</title><style>body{font-family:sans-serif;margin:0 16px;}"
            "main{max-width:860px}</style></head><body><main><h1>Draw a digit</h1>"
            + page_markup() + "</main></body></html>")
    (root / "chapters" / "14_draw.html").write_text(html, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def book_spec(site):
    return web.read_model_js((site / "draw" / "generated" / "model.js").read_text())


def open_page(browser, site: Path, **options):
    """The page from disk, every non-file request refused; returns (page, problems)."""
    ctx = browser.new_context(**(options or DESKTOP))
    problems: list[str] = []

    def route(r):
        if r.request.url.startswith("file:"):
            r.continue_()
        else:
            problems.append(f"request left the disk: {r.request.url}")
            r.abort()

    ctx.route("**/*", route)
    page = ctx.new_page()
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("console", lambda m: m.type == "error" and problems.append(f"console: {m.text}"))
    page.goto((site / "chapters" / "14_draw.html").as_uri(), wait_until="load")
    page.wait_for_selector("#cnn-draw[data-status=ready]", timeout=20000)
    page.evaluate("() => CNNDrawApp.ready")
    return page, problems


@pytest.fixture
def lab(browser, site):
    page, problems = open_page(browser, site)
    yield page
    page.context.close()
    assert not problems, problems


def load_file(page, path: Path) -> dict:
    """Open ``path`` with the page's file picker; returns {ok, message, nets}."""
    page.set_input_files("#cnn-file", str(path))
    page.wait_for_function("() => CNNDrawApp.loading !== undefined")
    page.evaluate("() => CNNDrawApp.loading")
    return page.evaluate("""() => ({
        ok: document.getElementById('cnn-file-status').getAttribute('data-ok'),
        message: document.getElementById('cnn-file-status').textContent,
        nets: CNNDrawApp.nets.map(n => n.file),
    })""")


def click_sample(page, k: int) -> np.ndarray:
    page.locator("button.cnn-sample").nth(k).click()
    return np.array(page.evaluate("() => Array.from(CNNDrawApp.pixels)"), dtype=np.uint8).reshape(28, 28)


def b64(images: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(images, dtype=np.uint8).tobytes()).decode("ascii")


# ---------------------------------------------------------------- the networks readers train
def dense_baseline():
    """Chapter 11's dense baseline (about the CNN's parameter budget), with dropout; seeded, untrained."""
    from cnn_helpers.model import build_dense_model

    keras.utils.set_random_seed(11)
    return build_dense_model(117, dropout=0.5)


def batchnorm_network():
    """The speedrun's BatchNorm network (chapter 13); seeded weights and random BatchNorm statistics."""
    from cnn_helpers.speedrun import build_speedrun_model

    keras.utils.set_random_seed(13)
    model = build_speedrun_model(batchnorm=True)
    rng = np.random.default_rng(13)
    for layer in model.layers:
        if "BatchNorm" in type(layer).__name__:
            c = layer.get_weights()[0].shape[0]
            layer.set_weights([rng.uniform(0.5, 2.0, c), rng.normal(0, 0.5, c),
                               rng.normal(0, 0.5, c), rng.uniform(0.2, 3.0, c)])
    return model


JS_PREDICT_WITH = """([net, data, n]) => {
    const bytes = CNN.base64ToBytes(data), model = CNNDrawApp.nets[net].model, out = [];
    for (let k = 0; k < n; k++) out.push(Array.from(CNN.predictPixels(model, bytes.subarray(784 * k, 784 * (k + 1)))));
    return out;
}"""


@pytest.mark.parametrize("build", [dense_baseline, batchnorm_network], ids=["dense-baseline", "batchnorm"])
def test_own_network_through_the_file_picker_classifies_like_keras(build, lab, mnist, tmp_path):
    model = build()
    path = export_for_page(model, tmp_path / "my_net.js")
    state = load_file(lab, path)
    assert state["ok"] == "yes", state["message"]
    assert state["nets"] == ["model.js", "my_net.js"], "the book's network stays, the new one is beside it"
    (_, _), (x_test, _) = mnist
    images = x_test[:N_DIGITS]
    js = np.array(lab.evaluate(JS_PREDICT_WITH, [1, b64(images), N_DIGITS]))
    ref = model.predict(images[..., None].astype("float32") / 255.0, batch_size=250, verbose=0)
    assert js.shape == ref.shape == (N_DIGITS, 10)
    assert np.abs(js - ref).max() <= PROB_TOL
    assert (js.argmax(1) == ref.argmax(1)).all()
    # Side by side on the same digit: both guesses and both bar columns show.
    click_sample(lab, 4)
    shown = lab.evaluate("""() => ({
        a: document.getElementById('cnn-guess').getAttribute('data-class'),
        b: document.getElementById('cnn-guess-b').getAttribute('data-class'),
        pb: Array.from(document.querySelectorAll('.cnn-bar-row')).map(r => parseFloat(r.getAttribute('data-p-b'))),
        visible: document.querySelector('.cnn-track-b').getBoundingClientRect().width > 0,
    })""")
    pixels = lab.evaluate("() => Array.from(CNNDrawApp.pixels)")
    mine = model.predict(np.array(pixels, "float32").reshape(1, 28, 28, 1) / 255.0, verbose=0)[0]
    assert shown["visible"] and shown["a"] != "" and int(shown["b"]) == int(mine.argmax())
    assert np.abs(np.array(shown["pb"]) - mine).max() <= PROB_TOL
    SHOTS.mkdir(parents=True, exist_ok=True)
    lab.screenshot(path=str(SHOTS / f"14_draw__two-networks-{build.__name__}.png"), full_page=True)


# ---------------------------------------------------------------- how a number was computed
def _explanation(page) -> dict:
    return page.evaluate("""() => {
        const box = document.getElementById('cnn-explain');
        const v = sel => { const e = box.querySelector(sel); return e ? parseFloat(e.getAttribute('data-value')) : null; };
        return {
            hidden: box.hidden, layer: box.getAttribute('data-layer'), type: box.getAttribute('data-type'),
            cell: JSON.parse(box.getAttribute('data-cell') || 'null'),
            value: v('.cnn-x-value'), sum: v('.cnn-x-sum'), bias: v('.cnn-x-bias'), pre: v('.cnn-x-pre'),
            winner: v('.cnn-x-winner'),
            channels: Array.from(box.querySelectorAll('.cnn-x-channel')).map(c => ({
                sum: parseFloat(c.getAttribute('data-sum')),
                products: Array.from(c.querySelectorAll('.cnn-x-products .cnn-num')).map(n => parseFloat(n.getAttribute('data-value'))),
                window: Array.from(c.querySelectorAll('.cnn-x-window .cnn-num')).map(n => parseFloat(n.getAttribute('data-value'))),
                kernel: Array.from(c.querySelectorAll('.cnn-x-kernel .cnn-num')).map(n => parseFloat(n.getAttribute('data-value'))),
            })),
            contributions: Array.from(box.querySelectorAll('.cnn-x-contrib tr[data-input]')).map(
                r => [parseInt(r.getAttribute('data-input')), parseFloat(r.getAttribute('data-product'))]),
            field: JSON.parse(document.getElementById('cnn-rf').getAttribute('data-field') || 'null'),
            fieldShown: !document.getElementById('cnn-rf').hidden,
        };
    }""")


def _click_cell(page, name: str, i: int, j: int, ch: int) -> None:
    """Click the middle of cell (i, j) of map ``ch`` on the canvas of layer ``name``."""
    canvas = page.locator(f"canvas.cnn-map[data-layer='{name}']")
    canvas.scroll_into_view_if_needed()
    geo = page.evaluate(
        """(name) => { const c = document.querySelector(`canvas.cnn-map[data-layer='${name}']`);
           const r = c.getBoundingClientRect(); return [r.x, r.y, r.width, r.height, c.width, c.height]; }""", name)
    x0, y0, w, h, cw, ch_ = geo
    layer = next(s for s in SPEC_LAYERS if s["name"] == name)
    shape = layer["output_shape"]
    if len(shape) == 1:  # a row of units, one pixel each
        px, py = ch + 0.5, 0.5
    else:
        mh, mw, c = shape
        cols = min(16, c)
        px = (ch % cols) * (mw + 1) + j + 0.5
        py = (ch // cols) * (mh + 1) + i + 0.5
    page.mouse.click(x0 + px * w / cw, y0 + py * h / ch_)


SPEC_LAYERS: list[dict] = []


def _receptive_field(specs: list[dict], li: int, i: int, j: int) -> list[int]:
    r0 = r1 = i
    c0 = c1 = j
    for s in reversed(specs[: li + 1]):
        k = s["params"][0]["shape"][:2] if s["type"] == "conv2d" else s["pool"]
        h, w = s["input_shape"][:2]
        r0, r1 = max(0, r0 * s["strides"][0] - s["pads"][0]), min(h - 1, r1 * s["strides"][0] - s["pads"][0] + k[0] - 1)
        c0, c1 = max(0, c0 * s["strides"][1] - s["pads"][2]), min(w - 1, c1 * s["strides"][1] - s["pads"][2] + k[1] - 1)
    return [r0, r1, c0, c1]


def test_click_view_shows_the_numpy_layers_sums(lab, book_spec):
    spec, weights = book_spec
    SPEC_LAYERS[:] = spec["layers"]
    pixels = click_sample(lab, 3)
    x = pixels[..., None] / 255.0
    outs = web.forward(spec, weights, x)
    ins = [x, *outs[:-1]]
    rng = np.random.default_rng(21)
    checked = []
    for li, s in enumerate(spec["layers"]):
        if s["type"] == "flatten":
            continue
        shape = s["output_shape"]
        last = li == len(spec["layers"]) - 1
        for _ in range(3):
            if len(shape) == 3:
                i, j, ch = (int(rng.integers(d)) for d in shape)
                _click_cell(lab, s["name"], i, j, ch)
            else:
                i, j, ch = 0, 0, int(rng.integers(shape[0]))
                if last:  # the output layer: its bars
                    lab.locator(f"#cnn-bar-{ch}").click()
                else:
                    _click_cell(lab, s["name"], 0, 0, ch)
            e = _explanation(lab)
            assert not e["hidden"] and e["layer"] == s["name"] and e["cell"] == [i, j, ch], (e["cell"], (i, j, ch))
            value = outs[li][ch] if len(shape) == 1 else outs[li][i, j, ch]
            assert e["value"] == pytest.approx(float(value), abs=1e-12), f"{s['name']} {(i, j, ch)}"
            w = weights.get(s["name"])
            if s["type"] == "conv2d":
                pre = L.conv2d(ins[li], w["kernel"], w["bias"], stride=tuple(s["strides"]),
                               padding=s["padding"])[i, j, ch]
                assert e["pre"] == pytest.approx(float(pre), abs=1e-9)
                assert e["sum"] + e["bias"] == pytest.approx(e["pre"], abs=1e-12)
                assert e["bias"] == float(w["bias"][ch])
                assert len(e["channels"]) == s["input_shape"][2]
                for c, shown in enumerate(e["channels"]):
                    k = w["kernel"].shape[0]
                    window = ins[li][i * s["strides"][0]: i * s["strides"][0] + k, j * s["strides"][1]: j * s["strides"][1] + k, c]
                    np.testing.assert_allclose(shown["window"], window.ravel(), rtol=1e-12)
                    assert np.array_equal(np.array(shown["kernel"]), w["kernel"][:, :, c, ch].ravel().astype(float))
                    np.testing.assert_allclose(shown["products"], window.ravel() * w["kernel"][:, :, c, ch].ravel(), rtol=1e-12)
                assert sum(c["sum"] for c in e["channels"]) == pytest.approx(e["sum"], abs=1e-9)
                assert e["value"] == pytest.approx(max(0.0, e["pre"]) if s["activation"] == "relu" else e["pre"], abs=1e-12)
            elif s["type"] == "max_pool2d":
                assert e["winner"] == float(value)
            else:
                pre = L.dense(ins[li], w["kernel"], w["bias"])[ch]
                assert e["pre"] == pytest.approx(float(pre), abs=1e-9)
                products = ins[li] * w["kernel"][:, ch]
                order = np.argsort(-np.abs(products), kind="stable")[: len(e["contributions"])]
                assert [c[0] for c in e["contributions"]] == order.tolist(), "the largest contributions, in order"
                np.testing.assert_allclose([c[1] for c in e["contributions"]], products[order], rtol=1e-12)
            if len(shape) == 3:
                assert e["fieldShown"] and e["field"] == _receptive_field(spec["layers"], li, i, j)
            checked.append(s["name"])
    assert {s["name"] for s in spec["layers"] if s["type"] != "flatten"} == set(checked)
    _click_cell(lab, spec["layers"][2]["name"], 4, 5, 7)
    lab.locator("#cnn-explain").scroll_into_view_if_needed()
    SHOTS.mkdir(parents=True, exist_ok=True)
    lab.screenshot(path=str(SHOTS / "14_draw__click-view.png"))


def test_keyboard_walks_the_cells(lab, book_spec):
    spec, _ = book_spec
    click_sample(lab, 2)
    name = spec["layers"][0]["name"]
    canvas = lab.locator(f"canvas.cnn-map[data-layer='{name}']")
    canvas.focus()
    lab.keyboard.press("Enter")
    assert _explanation(lab)["cell"] == [0, 0, 0]
    lab.keyboard.press("ArrowDown")
    lab.keyboard.press("ArrowRight")
    assert _explanation(lab)["cell"] == [1, 1, 0]
    w = spec["layers"][0]["output_shape"][1]
    for _ in range(w - 1):  # past the right edge of map 0: into map 1
        lab.keyboard.press("ArrowRight")
    assert _explanation(lab)["cell"] == [1, 0, 1]
    lab.keyboard.press("Escape")
    assert _explanation(lab)["hidden"]


# ---------------------------------------------------------------- moving the digit
def test_moved_digit_is_cnn_helpers_shift(lab, book_spec):
    spec, weights = book_spec
    base = click_sample(lab, 5)
    lab.locator("#cnn-pad").focus()
    for key in ("ArrowRight", "ArrowRight", "ArrowUp"):
        lab.keyboard.press(key)
    lab.click("#cnn-shift-down")
    lab.click("#cnn-shift-down")
    lab.click("#cnn-shift-left")
    moved = np.array(lab.evaluate("() => Array.from(CNNDrawApp.pixels)"), np.uint8).reshape(28, 28)
    assert lab.evaluate("() => CNNDrawApp.shift") == [1, 1]
    assert np.array_equal(moved, shift_images(base[None], 1, 1)[0])
    probs = np.array(lab.evaluate("() => CNNDrawApp.result.probs"))
    ref = web.forward(spec, weights, moved[..., None] / 255.0)[-1]
    np.testing.assert_allclose(probs, ref, atol=1e-12)
    for _ in range(6):
        lab.click("#cnn-shift-left")
    moved = np.array(lab.evaluate("() => Array.from(CNNDrawApp.pixels)"), np.uint8).reshape(28, 28)
    assert np.array_equal(moved, shift_images(base[None], 1, -5)[0]), "ink moved past the border is lost"
    assert "5 left" in lab.locator("#cnn-shift-state").inner_text()
    lab.click("#cnn-shift-reset")
    assert np.array_equal(np.array(lab.evaluate("() => Array.from(CNNDrawApp.pixels)"), np.uint8).reshape(28, 28), base)


# ---------------------------------------------------------------- refusals
def _flip_data(text: str) -> str:
    obj = web._read_js_assignment(text, "CNN_MODEL")
    d = obj["data"]
    obj["data"] = d[:200] + ("A" if d[200] != "A" else "B") + d[201:]
    return "window.CNN_MODEL = " + json.dumps(obj) + ";\n"


def _set(key, value, layer=0):
    def edit(h):
        h["layers"][layer][key] = value
    return edit


BAD_FILES = {
    "damaged-weights": (_flip_data, "damaged"),
    "cut-short": (lambda t: t[: len(t) // 2], "not a model file"),
    "sigmoid": (lambda t: _rechecksummed(t, _set("activation", "sigmoid", 0)), 'activation "sigmoid"'),
    "batchnorm-layer": (lambda t: _rechecksummed(t, _set("type", "batch_normalization", 2)), 'type "batch_normalization"'),
    "code": (lambda t: "window.PWNED = 1;\n" + t, "not a model file"),
    "code-in-value": (lambda t: t.replace("window.CNN_MODEL = ", "window.CNN_MODEL = (window.PWNED = 1) && "), "not a model file"),
    "not-json": (lambda t: t.replace('"format"', "format", 1), "not valid JSON"),
}


@pytest.mark.parametrize("kind", list(BAD_FILES))
def test_bad_files_are_refused_and_the_page_keeps_its_networks(kind, lab, tmp_path):
    keras.utils.set_random_seed(7)
    good = export_for_page(keras.Sequential([
        keras.Input((28, 28, 1)), keras.layers.Conv2D(4, 3, activation="relu"), keras.layers.MaxPooling2D(2),
        keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")]), tmp_path / "good.js")
    assert load_file(lab, good)["ok"] == "yes"
    # Python refuses it too.
    edit, message = BAD_FILES[kind]
    bad = tmp_path / f"{kind}.js"
    bad.write_text(edit(good.read_text()))
    with pytest.raises(ValueError):
        web.read_model_js(bad.read_text())
    click_sample(lab, 1)
    before = lab.evaluate("() => CNNDrawApp.result.probs")
    state = load_file(lab, bad)
    assert state["ok"] == "no" and message in state["message"] and bad.name in state["message"], state["message"]
    assert state["nets"] == ["model.js", "good.js"], "a refused file changes nothing"
    assert lab.evaluate("() => window.PWNED === undefined"), "the file's code ran"
    click_sample(lab, 1)
    assert lab.evaluate("() => CNNDrawApp.result.probs") == before


def test_export_refuses_an_unsupported_layer(tmp_path):
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(2, 3),
                              keras.layers.AveragePooling2D(2), keras.layers.Flatten(),
                              keras.layers.Dense(10, activation="softmax")])
    with pytest.raises(ValueError, match="AveragePooling2D.*cannot compute"):
        export_for_page(model, tmp_path / "x.js")


# ---------------------------------------------------------------- from disk, desktop and phone
@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_from_disk_at_desktop_and_phone_width(width, browser, site, tmp_path, book_spec, axe_source):
    options = DESKTOP if width == "desktop" else PHONE
    page, problems = open_page(browser, site, **options)
    try:
        # Drag and drop a network onto the page.
        keras.utils.set_random_seed(8)
        path = export_for_page(dense_baseline(), tmp_path / "dropped.js")
        page.evaluate("""([name, text]) => {
            const dt = new DataTransfer();
            dt.items.add(new File([text], name, {type: 'text/javascript'}));
            document.getElementById('cnn-draw').dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true}));
        }""", [path.name, path.read_text()])
        page.evaluate("() => CNNDrawApp.loading")
        assert page.evaluate("() => CNNDrawApp.nets.map(n => n.file)") == ["model.js", "dropped.js"]
        # Draw a stroke: the pad and the answer are on one screen.
        pad = page.locator("#cnn-pad")
        pad.scroll_into_view_if_needed()
        box = pad.bounding_box()
        page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.15)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.85, steps=8)
        page.mouse.up()
        page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        height = options["viewport"]["height"]
        width_px = options["viewport"]["width"]
        boxes = page.evaluate("""() => ['cnn-pad', 'cnn-guess', 'cnn-guess-b', 'cnn-bars'].map(id => {
            const r = document.getElementById(id).getBoundingClientRect(); return [id, r.top, r.bottom, r.left, r.right]; })""")
        for name, top, bottom, left, right in boxes:
            assert 0 <= top and bottom <= height and 0 <= left and right <= width_px, f"{name} is off screen: {boxes}"
        assert page.locator("#cnn-guess").get_attribute("data-class") != ""
        overflow = page.evaluate("() => document.getElementById('cnn-draw').scrollWidth - document.getElementById('cnn-draw').clientWidth")
        assert overflow <= 0, f"the page is {overflow} px wider than its column"
        # The answer is announced.
        live = page.locator("#cnn-announce")
        assert live.get_attribute("aria-live") == "polite"
        assert re.match(r"Prediction: \d, \d+ percent sure; .+: \d, \d+ percent\.", live.text_content()), live.text_content()
        # Maps enlarge on tap: the tapped map, large, in the view of how its numbers came about.
        spec, _ = book_spec
        canvas = page.locator(f"canvas.cnn-map[data-layer='{spec['layers'][0]['name']}']")
        canvas.scroll_into_view_if_needed()
        cb = canvas.bounding_box()
        if width == "phone":
            page.touchscreen.tap(cb["x"] + 3, cb["y"] + 3)
        else:
            page.mouse.click(cb["x"] + 3, cb["y"] + 3)
        big = page.locator("#cnn-explain canvas.cnn-x-big")
        assert big.is_visible()
        big_w = big.bounding_box()["width"]
        assert big_w >= 4 * cb["width"] / 16, f"the tapped map is not enlarged ({big_w} px)"
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"14_draw__lab-{width}-map.png"))
        # axe-core on the page at work (two networks, the click view open): nothing serious.
        # preload off: from file:// axe may not fetch the stylesheets, and would log errors.
        page.add_script_tag(content=axe_source)
        found = page.evaluate(
            "async () => (await axe.run(document.getElementById('cnn-draw'), {resultTypes: ['violations'], preload: false}))"
            ".violations.map(v => [v.id, v.impact, v.nodes.slice(0, 3).map(n => n.target.join(' '))])")
        assert not [v for v in found if v[1] in ("serious", "critical")], found
        pad.scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / f"14_draw__lab-{width}.png"))
        # Keyboard focus on a sample button is visible (a real outline, not a 1-px colour change).
        page.locator("button.cnn-sample").first.focus()
        page.keyboard.press("Tab")
        page.keyboard.press("Shift+Tab")
        outline = page.evaluate("""() => { const s = getComputedStyle(document.activeElement);
            return [document.activeElement.className, s.outlineStyle, parseFloat(s.outlineWidth)]; }""")
        assert outline[0] == "cnn-sample" and outline[1] != "none" and outline[2] >= 2, outline
    finally:
        page.context.close()
    assert not problems, problems
