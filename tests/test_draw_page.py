"""``book_tools.draw_page`` (the draw page's model file and preprocessing) and the build's helpers, without a browser.

The browser tests (``test_browser.py``) hold the page's JavaScript to the same
functions; these tests hold the functions to Keras and to MNIST itself.
"""

from __future__ import annotations

import json
import types
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cnn_helpers

cnn_helpers.import_tensorflow_quietly()
import keras  # noqa: E402

from book_tools import build, sphinx_ext  # noqa: E402
from book_tools import draw_page as web  # noqa: E402
from cnn_helpers import page_export  # noqa: E402


@pytest.fixture(scope="module")
def exported(tutorial_model):
    return web.export_model(tutorial_model, {"note": "random weights"})


# ---------------------------------------------------------------- export and read back
def test_export_round_trip_is_exact(tutorial_model, exported):
    assert (
        exported.startswith("/*")
        and "window.CNN_MODEL = {" in exported
        and exported.rstrip().endswith(";")
    )
    spec, weights = web.read_model_js(exported)
    assert spec["format"] == web.FORMAT and spec["input_shape"] == [28, 28, 1]
    assert spec["n_values"] == tutorial_model.count_params() == 93_322
    assert [l["type"] for l in spec["layers"]] == [
        "conv2d",
        "max_pool2d",
        "conv2d",
        "max_pool2d",
        "conv2d",
        "flatten",
        "dense",
        "dense",
    ]
    assert [l["output_shape"] for l in spec["layers"]] == [
        [26, 26, 32],
        [13, 13, 32],
        [11, 11, 64],
        [5, 5, 64],
        [3, 3, 64],
        [576],
        [64],
        [10],
    ]
    assert spec["layers"][-1]["activation"] == "softmax" and spec["meta"] == {
        "note": "random weights"
    }
    for layer in tutorial_model.layers:
        for name, array in zip(("kernel", "bias"), layer.get_weights()):
            got = weights[layer.name][name]
            assert got.dtype == np.float32 and np.array_equal(
                got, array
            ), f"{layer.name}.{name} changed in the export"


def test_export_is_compact(exported):
    # float32 values in base64 would take 4/3 * 4 bytes each; regrouping the bytes and
    # deflating must do better even on random weights.
    assert len(exported) < 93_322 * 4 * 4 / 3


def test_damaged_file_is_refused(exported):
    spec = web._read_js_assignment(exported, "CNN_MODEL")
    data = spec["data"]
    spec["data"] = data[:100] + ("A" if data[100] != "A" else "B") + data[101:]
    with pytest.raises(ValueError, match="damaged"):
        web.read_model_js("window.CNN_MODEL = " + json.dumps(spec) + ";")
    with pytest.raises(ValueError, match="no 'window.CNN_MODEL"):
        web.read_model_js("var x = 1;")


def test_reference_forward_pass_matches_keras(tutorial_model, exported, mnist):
    spec, weights = web.read_model_js(exported)
    (_, _), (x_test, _) = mnist
    x = x_test[:6, ..., None].astype("float32") / 255.0
    ref = tutorial_model.predict(x, verbose=0)
    for k in range(len(x)):
        outs = web.forward(spec, weights, x[k])
        assert [o.shape for o in outs] == [
            tuple(l["output_shape"]) for l in spec["layers"]
        ]
        np.testing.assert_allclose(outs[-1], ref[k], atol=1e-6)
        assert abs(outs[-1].sum() - 1) < 1e-9


def test_same_padding_strides_and_no_bias_are_exported(unusual_model):
    model = unusual_model
    spec, weights = web.read_model_js(web.export_model(model))
    assert spec["layers"][0]["padding"] == "same" and spec["layers"][0]["strides"] == [
        2,
        1,
    ]
    assert not weights[model.layers[0].name]["bias"].any()
    x = np.random.default_rng(0).random((4, 9, 8, 2)).astype("float32")
    ref = model.predict(x, verbose=0)
    for k in range(len(x)):
        np.testing.assert_allclose(
            web.forward(spec, weights, x[k])[-1], ref[k], atol=1e-6
        )


@pytest.mark.parametrize(
    "layer, message",
    [
        (keras.layers.Dense(3, activation="tanh"), "tanh"),
        (keras.layers.BatchNormalization(), "BatchNormalization"),
        (keras.layers.Conv2D(2, 3, dilation_rate=2), "dilation"),
    ],
    ids=["activation", "layer", "dilation"],
)
def test_export_refuses_what_the_page_cannot_compute(layer, message):
    model = keras.Sequential(
        [keras.Input((12, 12, 1)), keras.layers.Conv2D(2, 3), layer]
    )
    with pytest.raises(ValueError, match=message):
        web.export_model(model)


# ---------------------------------------------------------------- preprocessing: the MNIST recipe
def test_no_ink_gives_nothing():
    assert web.preprocess_drawing(np.zeros((280, 280))) is None


def test_enlarged_mnist_digits_come_back_exactly(mnist):
    """A real MNIST digit drawn 10x larger turns back into itself: the recipe is MNIST's own."""
    (_, _), (x_test, _) = mnist
    for k in range(200):
        big = np.kron(x_test[k] / 255.0, np.ones((10, 10)))
        out = web.preprocess_drawing(big)
        assert out.dtype == np.uint8 and out.shape == (28, 28)
        assert np.array_equal(out, x_test[k]), f"test digit {k} changed"


def _stroke(shape=(280, 280), rows=(40, 240), cols=(130, 150)) -> np.ndarray:
    img = np.zeros(shape)
    img[rows[0] : rows[1], cols[0] : cols[1]] = 1.0
    return img


def _centre_of_mass(img: np.ndarray) -> tuple[float, float]:
    i = np.arange(img.shape[0])
    total = img.sum()
    return float((img.sum(1) * i).sum() / total), float((img.sum(0) * i).sum() / total)


def test_vertical_stroke_is_fitted_and_centred():
    out = web.preprocess_drawing(_stroke())
    rows, cols = np.nonzero(out)
    assert np.ptp(rows) + 1 == 20, "the longer side is scaled to 20 pixels"
    assert np.ptp(cols) + 1 == 2, "the aspect ratio is kept (200 x 20 -> 20 x 2)"
    assert out.max() == 255, "solid ink is full grey level"
    cy, cx = _centre_of_mass(out.astype(float))
    assert abs(cy - 14) <= 0.5 and abs(cx - 14) <= 0.5


def test_position_and_canvas_size_do_not_matter():
    a = web.preprocess_drawing(_stroke(rows=(40, 240), cols=(130, 150)))
    b = web.preprocess_drawing(_stroke(rows=(10, 210), cols=(3, 23)))
    c = web.preprocess_drawing(
        _stroke(shape=(500, 300), rows=(280, 480), cols=(250, 270))
    )
    assert np.array_equal(a, b) and np.array_equal(a, c)


def test_edges_are_anti_aliased():
    # An L: 200 high and 85 wide becomes 20 x 9, so each output column averages 85/9 = 9.4
    # input columns, and the 20-pixel-wide upright covers its second column only in part.
    img = _stroke(cols=(130, 150))
    img[220:240, 130:215] = 1.0
    out = web.preprocess_drawing(img)
    levels = set(np.unique(out)) - {0}
    assert 255 in levels and any(0 < v < 255 for v in levels)


@settings(max_examples=60, deadline=None, database=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 95),
            st.integers(0, 95),
            st.integers(1, 40),
            st.integers(1, 40),
            st.floats(0.05, 1.0),
        ),
        min_size=1,
        max_size=5,
    )
)
def test_any_drawing_fits_the_box_and_is_centred(rects):
    img = np.zeros((100, 100))
    for r, c, h, w, v in rects:
        img[r : r + h, c : c + w] = np.maximum(img[r : r + h, c : c + w], v)
    out = web.preprocess_drawing(img)
    assert out is not None and out.dtype == np.uint8 and out.shape == (28, 28)
    if not out.any():  # very faint ink can round to 0 everywhere
        return
    rows, cols = np.nonzero(out)
    assert np.ptp(rows) + 1 <= 20 and np.ptp(cols) + 1 <= 20
    patch, (top, left) = web.fit_drawing(img)
    th, tw = patch.shape
    if (
        top >= 0 and left >= 0 and top + th <= 28 and left + tw <= 28
    ):  # nothing was cut off
        # The centre of mass is within half a pixel of (14, 14), plus the rounding of grey levels.
        cy, cx = _centre_of_mass(out.astype(float))
        assert abs(cy - 14) <= 0.55 and abs(cx - 14) <= 0.55


def test_preprocess_refuses_a_colour_image():
    with pytest.raises(ValueError, match="2-D"):
        web.preprocess_drawing(np.zeros((10, 10, 3)))


# ---------------------------------------------------------------- sample digits and the page's model choice
def test_sample_digits_round_trip(mnist):
    (_, _), (x_test, y_test) = mnist
    images, labels, indices = web.sample_digits(x_test, y_test)
    assert list(labels) == list(range(10))
    assert all(
        y_test[i] == c and (y_test[:i] != c).all() for i, c in zip(indices, labels)
    ), "the first digit of each class"
    back = web.read_digits_js(web.export_digits(images, labels, indices))
    assert (
        np.array_equal(back[0], images)
        and list(back[1]) == list(labels)
        and list(back[2]) == list(indices)
    )
    with pytest.raises(ValueError, match="uint8"):
        web.export_digits(images.astype(float), labels, indices)


def test_the_page_shows_the_tutorials_recipe_unless_told_otherwise(monkeypatch):
    from cnn_helpers.recipe import (
        PAGE_RECIPE_VARIABLE,
        TUTORIAL_RECIPE,
        Recipe,
        page_recipe,
    )

    monkeypatch.delenv(PAGE_RECIPE_VARIABLE, raising=False)
    assert page_recipe() == TUTORIAL_RECIPE
    monkeypatch.setenv(PAGE_RECIPE_VARIABLE, '{"optimizer": "adam", "epochs": 3}')
    assert page_recipe() == Recipe(optimizer="adam", epochs=3)


@pytest.mark.parametrize(
    "value, message",
    [
        ("{epochs: 3}", "not valid JSON"),
        ("[3]", "JSON object"),
        ('{"epoch": 3}', "unknown recipe fields"),
        ('{"epochs": 0}', "epochs and batch_size must be >= 1"),
    ],
)
def test_a_bad_page_recipe_is_refused_with_a_clear_error(monkeypatch, value, message):
    from cnn_helpers.recipe import PAGE_RECIPE_VARIABLE, page_recipe

    monkeypatch.setenv(PAGE_RECIPE_VARIABLE, value)
    with pytest.raises(ValueError, match=message):
        page_recipe()


# ---------------------------------------------------------------- the build's helpers
def test_external_assets_are_found(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "ok.html").write_text(
        '<script src="_static/a.js"></script><a href="https://github.com/x">repo</a>'
        '<link rel="stylesheet" href="../_static/b.css"><script>const U = "https://unpkg.com/x.js";</script>'
    )
    (tmp_path / "sub" / "bad.html").write_text(
        '<p>x</p>\n<script defer src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-svg.js"></script>\n'
        '<link href="//fonts.googleapis.com/css" rel="stylesheet"><img src="http://example.org/a.png">'
    )
    found = build.external_assets(tmp_path)
    assert len(found) == 3 and all(f.startswith("sub/bad.html:") for f in found), found
    assert found[0].startswith("sub/bad.html:2:")


def test_mathjax_integrity_check(tmp_path):
    import base64
    import hashlib

    f = tmp_path / "x.tgz"
    f.write_bytes(b"mathjax")
    good = "sha512-" + base64.b64encode(hashlib.sha512(b"mathjax").digest()).decode()
    assert build._integrity_ok(f, good)
    assert not build._integrity_ok(f, build.MATHJAX_INTEGRITY)


def test_duplicate_scripts_are_removed():
    js = lambda filename, **attrs: types.SimpleNamespace(
        filename=filename, attributes=attrs
    )  # noqa: E731
    scripts = [
        js("a.js"),
        js(None, body="const X = 1"),
        js("", body="const X = 1"),
        js("a.js"),
        js("a.js", defer="defer"),
    ]
    context = {"script_files": scripts}
    sphinx_ext._dedupe_scripts(None, "page", "page.html", context, None)
    assert [(s.filename, s.attributes) for s in context["script_files"]] == [
        ("a.js", {}),
        (None, {"body": "const X = 1"}),
        ("a.js", {"defer": "defer"}),
    ]
    assert (
        context["script_files"] is scripts
    ), "the builder's own list is edited in place"


# ---------------------------------------------------------------- the page's constants come from Python
def test_the_page_gets_its_constants_from_the_model_file(exported):
    import matplotlib

    from cnn_helpers import viz

    spec, _ = web.read_model_js(exported)
    page = spec["page"]
    assert (page["side"], page["box"], page["centre"]) == (
        web.SIDE,
        web.BOX,
        web.CENTRE,
    )
    assert (page["primary"], page["accent"]) == (viz.PRIMARY, viz.ACCENT)
    cmap = matplotlib.colormaps[viz.ACTIVATION_CMAP]
    assert page["activation_colours"][0] == matplotlib.colors.to_hex(cmap(0.0))
    assert page["activation_colours"][-1] == matplotlib.colors.to_hex(cmap(1.0))
    assert page["chapters"]["conv2d"][0] == "02_convolution.html"
    for layer in spec["layers"]:
        if layer["type"] in ("conv2d", "max_pool2d"):
            assert layer["pads"] == [
                0,
                0,
                0,
                0,
            ], "the tutorial's network uses VALID padding"
    js = Path(__file__).resolve().parents[1] / "_assets" / "draw"
    for name in ("cnn.js", "draw.js"):
        text = (js / name).read_text()
        assert (
            "784" not in text and "samePads" not in text and "MAGMA_HEX" not in text
        ), name


# ---------------------------------------------------------------- your own network (cnn_helpers.page_export)
def _with_random_statistics(model, seed: int):
    """Give every BatchNorm layer random gamma, beta, mean and variance, so folding them matters."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if type(layer).__name__ in page_export.BATCHNORM_CLASSES:
            c = layer.get_weights()[0].shape[0]
            layer.set_weights([
                rng.uniform(0.5, 2.0, c), rng.normal(0, 0.5, c),
                rng.normal(0, 0.5, c), rng.uniform(0.2, 3.0, c),
            ])
    return model


def speedrun_network(seed: int = 3):
    """The speedrun's BatchNorm network (chapter 13) with seeded random weights and statistics."""
    from cnn_helpers.speedrun import build_speedrun_model

    keras.utils.set_random_seed(seed)
    return _with_random_statistics(build_speedrun_model(batchnorm=True), seed)


def keras_batchnorm_network(seed: int = 4):
    """Keras's own BatchNormalization, after a Conv2D with a bias and a Dense layer, and Dropout."""
    keras.utils.set_random_seed(seed)
    L = keras.layers
    model = keras.Sequential([
        keras.Input((28, 28, 1)),
        L.Conv2D(8, 3), L.BatchNormalization(), L.Activation("relu"),
        L.MaxPooling2D(), L.Dropout(0.3), L.Flatten(),
        L.Dense(16), L.BatchNormalization(epsilon=0.01), L.ReLU(),
        L.Dense(10, activation="softmax"),
    ])
    return _with_random_statistics(model, seed)


@pytest.mark.parametrize("build", [speedrun_network, keras_batchnorm_network])
def test_folded_batchnorm_computes_what_keras_computes(build, tmp_path, mnist):
    model = build()
    path = page_export.export_for_page(model, tmp_path / "my_net.js")
    spec, weights = web.read_model_js(path.read_text(encoding="utf-8"))
    assert {l["type"] for l in spec["layers"]} <= {"conv2d", "max_pool2d", "flatten", "dense"}
    assert not any("batch" in l["keras_class"].lower() for l in spec["layers"])
    assert any("BatchNorm folded" in n for n in spec["meta"]["notes"])
    (_, _), (x_test, _) = mnist
    x = x_test[:200, ..., None].astype("float32") / 255.0
    ref = model.predict(x, verbose=0)
    ours = web.forward(spec, weights, x)[-1]
    assert np.abs(ours - ref).max() <= 1e-5
    assert (ours.argmax(1) == ref.argmax(1)).mean() >= 0.99


def test_dense_baseline_with_dropout_is_exported(tmp_path, mnist):
    from cnn_helpers.model import build_dense_model

    keras.utils.set_random_seed(5)
    model = build_dense_model(117, dropout=0.5)
    spec, weights = web.read_model_js(
        page_export.export_for_page(model, tmp_path / "dense.js").read_text()
    )
    assert [l["type"] for l in spec["layers"]] == ["flatten", "dense", "dense"]
    assert spec["meta"]["parameters"] == model.count_params()
    (_, _), (x_test, _) = mnist
    x = x_test[:100, ..., None].astype("float32") / 255.0
    np.testing.assert_allclose(
        web.forward(spec, weights, x)[-1], model.predict(x, verbose=0), atol=1e-6
    )


@pytest.mark.parametrize(
    "layers, message",
    [
        ([keras.layers.Conv2D(2, 3), keras.layers.AveragePooling2D(2)], "AveragePooling2D"),
        ([keras.layers.Conv2D(2, 3, activation="relu"), keras.layers.BatchNormalization()],
         "only a BatchNorm right after a layer without activation"),
        ([keras.layers.MaxPooling2D(2), keras.layers.ReLU()], "can only follow a Conv2D"),
        ([keras.layers.Conv2D(2, 3), keras.layers.Activation("sigmoid")], "sigmoid"),
        ([keras.layers.Conv2D(2, 3), keras.layers.ReLU(max_value=6)], "max_value"),
    ],
    ids=["layer", "bn-after-relu", "relu-after-pool", "sigmoid", "relu6"],
)
def test_export_for_page_refuses_what_the_page_cannot_compute(layers, message, tmp_path):
    model = keras.Sequential([keras.Input((12, 12, 1)), *layers])
    path = tmp_path / "net.js"
    with pytest.raises(ValueError, match=message):
        page_export.export_for_page(model, path)
    assert not path.exists(), "nothing is written for a refused network"


def _rechecksummed(text: str, edit) -> str:
    """The model file with its header edited by ``edit`` and the checksum recomputed."""
    import base64
    import zlib

    obj = web._read_js_assignment(text, "CNN_MODEL")
    header = json.loads(obj["header"])
    edit(header)
    obj["header"] = json.dumps(header)
    raw = web._unshuffle(zlib.decompress(base64.b64decode(obj["data"])))
    obj["sha256"] = web.file_checksum(obj["header"], raw)
    return "window.CNN_MODEL = " + json.dumps(obj) + ";\n"


def test_a_rechecksummed_file_with_sigmoid_or_an_unknown_layer_is_refused(exported):
    def sigmoid(h):
        h["layers"][0]["activation"] = "sigmoid"

    def batchnorm(h):
        h["layers"][1]["type"] = "batch_norm"

    with pytest.raises(ValueError, match="activation 'sigmoid'"):
        web.read_model_js(_rechecksummed(exported, sigmoid))
    with pytest.raises(ValueError, match="type 'batch_norm'"):
        web.read_model_js(_rechecksummed(exported, batchnorm))
    web.read_model_js(_rechecksummed(exported, lambda h: None))  # the edit alone is fine


def test_the_dropout_network_of_chapter_9_is_exported(tmp_path, mnist):
    from cnn_helpers.model import build_network

    keras.utils.set_random_seed(9)
    model = build_network("tutorial_cnn", dropout=0.5)
    spec, weights = web.read_model_js(
        page_export.export_for_page(model, tmp_path / "dropout.js").read_text()
    )
    assert "Dropout" not in {l["keras_class"] for l in spec["layers"]}
    assert any("skipped" in n for n in spec["meta"]["notes"])
    (_, _), (x_test, _) = mnist
    x = x_test[:50, ..., None].astype("float32") / 255.0
    np.testing.assert_allclose(
        web.forward(spec, weights, x)[-1], model.predict(x, verbose=0), atol=1e-6
    )


def test_the_build_and_readers_exports_share_one_model_file_format():
    """``book_tools.draw_page`` (the book's model) and ``cnn_helpers.page_export`` (a
    reader's) write and check the file with the same code, which lives in the readers'
    package: exporting a reader's network needs nothing from the book's tooling."""
    import ast

    from book_tools import draw_page as web
    from cnn_helpers import model_file, page_export

    assert web.export_model is model_file.export_model and web.read_model_js is model_file.read_model_js
    tree = ast.parse(Path(page_export.__file__).read_text(encoding="utf-8"))
    imported = {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not any(m.startswith("book_tools") for m in imported), imported
