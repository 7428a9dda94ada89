/* The "Draw a digit" page: drawing pad, preprocessing, prediction, feature maps.
 *
 * Needs, loaded before it: window.CNN_MODEL (generated model.js), window.CNN_DIGITS
 * (generated digits.js) and window.CNN (cnn.js). Everything runs locally; the
 * page works over http:// and from disk (file://).
 * The image geometry, the colours and the chapter links come from the model file
 * (book_tools.draw_page.page_constants), so they are written once, in Python.
 * For tests and curious readers, window.CNNDrawApp exposes the state.
 */
(function () {
  "use strict";

  var PAD = 280;          // drawing pad resolution (canvas pixels)
  var BRUSH = 22;         // brush width: about 2 pixels after scaling to the 20x20 box, like MNIST strokes
  var COLS = 16;          // feature maps per row
  // Set from the model file's page constants when it loads (see start()).
  var SIDE = 0;           // the input's side in pixels (28)
  var COLOURS = [];       // the book's activation colour map as [r, g, b] steps
  var CHAPTER = {};       // layer kind -> [chapter page, title]

  var app = { state: "loading", model: null, digits: null, result: null, source: null, timings: [] };
  window.CNNDrawApp = app;

  function $(id) { return document.getElementById(id); }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k];
      else if (k === "className") node.className = attrs[k];
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { node.appendChild(typeof c === "string" ? document.createTextNode(c) : c); });
    return node;
  }

  function link(kind, text) {
    return el("a", { href: CHAPTER[kind][0], className: "cnn-chapter-link", "data-chapter": CHAPTER[kind][0], text: text || CHAPTER[kind][1] });
  }

  function hexToRgb(hex) {
    return [1, 3, 5].map(function (o) { return parseInt(hex.substr(o, 2), 16); });
  }

  /** Use the model file's page constants: geometry, colours, chapter links. */
  function usePageConstants(page) {
    SIDE = page.side;
    COLOURS = page.activation_colours.map(hexToRgb);
    CHAPTER = page.chapters;
    var root = $("cnn-draw");
    root.style.setProperty("--cnn-blue", page.primary);
    root.style.setProperty("--cnn-red", page.accent);
  }

  /** Paint a digit's grey levels (uint8, SIDE x SIDE) on a canvas of that size: ink dark (gray_r). */
  function paintDigit(canvas, pixels) {
    var ctx = canvas.getContext("2d"), img = ctx.createImageData(SIDE, SIDE);
    for (var i = 0; i < SIDE * SIDE; i++) {
      img.data[4 * i] = img.data[4 * i + 1] = img.data[4 * i + 2] = 255 - (pixels ? pixels[i] : 0);
      img.data[4 * i + 3] = 255;
    }
    ctx.putImageData(img, 0, 0);
  }

  function fail(message) {
    var root = $("cnn-draw");
    if (!root) return;
    root.setAttribute("data-status", "error");
    $("cnn-status").textContent = message;
    app.state = "error";
    app.error = message;
  }

  // ------------------------------------------------------------ drawing pad
  var pad, padCtx, drawing = false, last = null, pending = false;

  function clearPad() {
    padCtx.fillStyle = "#fff";
    padCtx.fillRect(0, 0, PAD, PAD);
  }

  function padPoint(ev) {
    var r = pad.getBoundingClientRect();
    return [(ev.clientX - r.left) * PAD / r.width, (ev.clientY - r.top) * PAD / r.height];
  }

  function stroke(from, to) {
    padCtx.strokeStyle = "#000";
    padCtx.fillStyle = "#000";
    padCtx.lineWidth = BRUSH;
    padCtx.lineCap = "round";
    padCtx.lineJoin = "round";
    if (!from) {
      padCtx.beginPath();
      padCtx.arc(to[0], to[1], BRUSH / 2, 0, 2 * Math.PI);
      padCtx.fill();
      return;
    }
    padCtx.beginPath();
    padCtx.moveTo(from[0], from[1]);
    padCtx.lineTo(to[0], to[1]);
    padCtx.stroke();
  }

  function onDown(ev) {
    if (ev.button !== undefined && ev.button > 0) return;
    ev.preventDefault();
    drawing = true;
    try { pad.setPointerCapture(ev.pointerId); } catch (e) { /* synthetic events have no capture */ }
    last = padPoint(ev);
    stroke(null, last);
    app.source = "drawing";
    schedule();
  }

  function onMove(ev) {
    if (!drawing) return;
    ev.preventDefault();
    var events = ev.getCoalescedEvents ? ev.getCoalescedEvents() : [];
    if (!events.length) events = [ev];
    events.forEach(function (e) {
      var p = padPoint(e);
      stroke(last, p);
      last = p;
    });
    schedule();
  }

  function onUp() {
    if (!drawing) return;
    drawing = false;
    last = null;
    schedule();
  }

  function schedule() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(function () { pending = false; updateFromPad(); });
  }

  /** The pad's ink (0 = paper, 1 = black) as a Float64Array, row by row. */
  function padGrey() {
    var d = padCtx.getImageData(0, 0, PAD, PAD).data, grey = new Float64Array(PAD * PAD);
    for (var i = 0; i < grey.length; i++) grey[i] = (255 - d[4 * i]) / 255;
    return grey;
  }

  function updateFromPad() {
    var pre = CNN.preprocess(padGrey(), PAD, PAD, app.model.page);
    app.preprocessed = pre;
    run(pre ? pre.pixels : null);
  }

  // ------------------------------------------------------------ running the network and showing it
  function run(pixels) {
    app.pixels = pixels;
    drawInput(pixels);
    if (!pixels) {
      app.result = null;
      showPrediction(null);
      clearMaps();
      return;
    }
    var x = new Float64Array(pixels.length);
    for (var i = 0; i < x.length; i++) x[i] = pixels[i] / 255; // the training scaling: uint8 / 255
    var t0 = performance.now();
    var outputs = CNN.forward(app.model, x);
    var ms = performance.now() - t0;
    app.timings.push(ms);
    app.result = { outputs: outputs, probs: Array.from(outputs[outputs.length - 1].data), ms: ms };
    showPrediction(app.result.probs);
    drawMaps(outputs);
    $("cnn-timing").textContent = "Last forward pass: " + ms.toFixed(1) + " ms in your browser.";
  }

  function drawInput(pixels) {
    paintDigit($("cnn-input"), pixels);
  }

  function showPrediction(probs) {
    var best = -1;
    if (probs) best = probs.indexOf(Math.max.apply(null, probs));
    for (var k = 0; k < 10; k++) {
      var row = $("cnn-bar-" + k), p = probs ? probs[k] : 0;
      row.querySelector(".cnn-bar").style.width = (100 * p).toFixed(2) + "%";
      row.querySelector(".cnn-bar-value").textContent = probs ? (100 * p).toFixed(1) + "%" : "";
      row.setAttribute("data-p", p.toString());
      row.classList.toggle("cnn-best", k === best);
    }
    var guess = $("cnn-guess");
    guess.setAttribute("data-class", probs ? String(best) : "");
    guess.innerHTML = "";
    if (probs) {
      guess.appendChild(el("span", { className: "cnn-guess-digit", text: String(best) }));
      guess.appendChild(el("span", { className: "cnn-guess-p", text: (100 * probs[best]).toFixed(1) + "% sure" }));
    } else {
      guess.appendChild(el("span", { className: "cnn-guess-empty", text: "Draw a digit" }));
    }
  }

  var mapLayers = []; // [{index, canvas, h, w, c, rows, cols}]

  function buildMaps() {
    var box = $("cnn-maps"), convCount = 0, poolCount = 0;
    app.model.layers.forEach(function (l, index) {
      var shape = l.output_shape, title;
      if (l.type === "conv2d") {
        convCount += 1;
        title = [link("conv2d", "Convolution " + convCount)];
        if (l.activation === "relu") title.push(" + ", link("relu"));
        title.push(": " + shape[2] + " feature maps, " + shape[0] + "\u00d7" + shape[1]);
      } else if (l.type === "max_pool2d") {
        poolCount += 1;
        title = [link("max_pool2d", "Max pooling " + poolCount), " (" + l.pool[0] + "\u00d7" + l.pool[1] + "): " + shape[2] + " maps, " + shape[0] + "\u00d7" + shape[1]];
      } else if (l.type === "dense" && index < app.model.layers.length - 1) {
        var prev = app.model.layers[index - 1];
        title = [link("dense", "Dense"), (l.activation === "relu" ? " + ReLU" : "") + ": " + shape[0] + " units, from the " +
          (prev && prev.type === "flatten" ? prev.output_shape[0] + " flattened values" : "previous layer")];
      } else {
        return;
      }
      var isDense = shape.length === 1;
      var h = isDense ? 1 : shape[0], w = isDense ? 1 : shape[1], c = isDense ? shape[0] : shape[2];
      var cols = isDense ? c : Math.min(COLS, c), rows = Math.ceil(c / cols);
      var gap = isDense ? 0 : 1;
      var canvas = el("canvas", {
        className: isDense ? "cnn-map cnn-map-dense" : "cnn-map",
        width: String(cols * (w + gap) - gap), height: String(rows * (h + gap) - gap),
        "data-layer": l.name, role: "img", "aria-label": "feature maps of layer " + l.name
      });
      var panel = el("figure", { className: "cnn-layer", "data-layer": l.name }, [
        el("figcaption", { className: "cnn-panel-title" }, title), canvas
      ]);
      box.appendChild(panel);
      mapLayers.push({ index: index, canvas: canvas, h: h, w: w, c: c, rows: rows, cols: cols, gap: gap });
    });
  }

  function paintLayer(L, data) {
    var ctx = L.canvas.getContext("2d"), W = L.canvas.width, H = L.canvas.height;
    var img = ctx.createImageData(W, H), px = img.data, max = 0, i;
    if (data) for (i = 0; i < data.length; i++) if (data[i] > max) max = data[i];
    for (var ch = 0; ch < L.c; ch++) {
      var oy = Math.floor(ch / L.cols) * (L.h + L.gap), ox = (ch % L.cols) * (L.w + L.gap);
      for (var y = 0; y < L.h; y++) {
        for (var x = 0; x < L.w; x++) {
          var v = data && max > 0 ? data[(y * L.w + x) * L.c + ch] / max : 0; // one scale per layer
          var col = COLOURS[Math.min(COLOURS.length - 1, Math.max(0, Math.round(v * (COLOURS.length - 1))))];
          var p = 4 * ((oy + y) * W + ox + x);
          px[p] = col[0]; px[p + 1] = col[1]; px[p + 2] = col[2]; px[p + 3] = 255;
        }
      }
    }
    ctx.putImageData(img, 0, 0);
    L.canvas.setAttribute("data-max", max.toPrecision(4));
  }

  function drawMaps(outputs) {
    mapLayers.forEach(function (L) { paintLayer(L, outputs[L.index].data); });
  }

  function clearMaps() {
    mapLayers.forEach(function (L) { paintLayer(L, null); });
  }

  // ------------------------------------------------------------ buttons
  function clearAll() {
    clearPad();
    app.source = null;
    app.preprocessed = null;
    run(null);
    $("cnn-timing").textContent = "";
  }

  function loadSample(k) {
    var d = app.digits, pixels = d.images[k];
    // Show the digit on the pad, 10x enlarged, so the reader can draw over it.
    var tmp = document.createElement("canvas");
    tmp.width = SIDE; tmp.height = SIDE;
    paintDigit(tmp, pixels);
    clearPad();
    padCtx.imageSmoothingEnabled = false;
    padCtx.drawImage(tmp, 0, 0, PAD, PAD);
    app.source = "mnist:" + d.indices[k];
    app.preprocessed = null;
    run(pixels); // an MNIST digit is already a 28x28 input: the network sees exactly it
  }

  function buildSamples() {
    var box = $("cnn-samples");
    app.digits.images.forEach(function (pixels, k) {
      var c = el("canvas", { width: String(SIDE), height: String(SIDE) });
      paintDigit(c, pixels);
      var label = app.digits.labels[k], index = app.digits.indices[k];
      var b = el("button", {
        type: "button", className: "cnn-sample", "data-index": String(index), "data-label": String(label),
        title: "MNIST test image #" + index + " (a " + label + ")", "aria-label": "Load MNIST test image " + index + ", a " + label
      }, [c]);
      b.addEventListener("click", function () { loadSample(k); });
      box.appendChild(b);
    });
  }

  function buildBars() {
    var box = $("cnn-bars");
    for (var k = 0; k < 10; k++) {
      box.appendChild(el("div", { id: "cnn-bar-" + k, className: "cnn-bar-row", "data-p": "0" }, [
        el("span", { className: "cnn-bar-label", text: String(k) }),
        el("span", { className: "cnn-bar-track" }, [el("span", { className: "cnn-bar" })]),
        el("span", { className: "cnn-bar-value" })
      ]));
    }
  }

  function describeModel(meta) {
    var r = meta.recipe || {}, parts = [];
    if (r.optimizer) parts.push(r.optimizer + ", " + r.epochs + " epochs, batch " + r.batch_size + ", seed " + r.seed);
    var text = "The network: " + (meta.parameters ? meta.parameters.toLocaleString("en") + " parameters" : "the book's CNN") +
      (parts.length ? ", trained with " + parts.join("") : "") +
      (meta.test_accuracy ? "; test accuracy " + (100 * meta.test_accuracy).toFixed(2) + "% on the 10,000 MNIST test images" : "") + ".";
    return text;
  }

  // ------------------------------------------------------------ start
  var MAKE_BOOK = "build the book with `make book` (python -m book_tools.build), which exports it next to this page.";

  /**
   * Why window.CNN_MODEL is not there: the file is missing, or it is there but damaged (not
   * valid JavaScript). Loading it again with listeners tells the two apart, also from file://.
   */
  function diagnoseModelFile() {
    var tag = document.querySelector('script[src$="generated/model.js"]');
    if (!tag) return Promise.resolve("The page does not load model.js.");
    return new Promise(function (resolve) {
      var syntax = null, probe = document.createElement("script");
      function onError(ev) { if (ev.filename && /generated\/model\.js/.test(ev.filename)) syntax = ev.message; }
      window.addEventListener("error", onError);
      probe.onerror = function () {
        window.removeEventListener("error", onError);
        resolve("The trained model is missing: " + MAKE_BOOK);
      };
      probe.onload = function () {
        window.removeEventListener("error", onError);
        resolve("The model file model.js is damaged (" + (syntax || "it does not define window.CNN_MODEL") +
          "). Rebuild the book with `make book`.");
      };
      probe.src = tag.src;
      document.head.appendChild(probe);
    });
  }

  function start() {
    var root = $("cnn-draw");
    if (!root) return;
    if (!window.CNN) return fail("cnn.js did not load.");
    if (!window.CNN_MODEL) {
      app.ready = diagnoseModelFile().then(fail);
      return;
    }
    if (!window.CNN_DIGITS) return fail("The sample digits (digits.js) are missing: " + MAKE_BOOK);
    app.ready = CNN.loadModel(window.CNN_MODEL).then(function (model) {
      app.model = model;
      usePageConstants(model.page);
      pad = $("cnn-pad");
      padCtx = pad.getContext("2d", { willReadFrequently: true });
      clearPad();
      buildBars();
      showPrediction(null);
      drawInput(null);
      var bytes = CNN.base64ToBytes(window.CNN_DIGITS.pixels), images = [], n = SIDE * SIDE;
      for (var k = 0; k < window.CNN_DIGITS.labels.length; k++) images.push(bytes.subarray(n * k, n * (k + 1)));
      app.digits = { images: images, labels: window.CNN_DIGITS.labels, indices: window.CNN_DIGITS.indices };
      buildSamples();
      buildMaps();
      clearMaps();
      $("cnn-model").textContent = describeModel(model.meta);
      pad.addEventListener("pointerdown", onDown);
      pad.addEventListener("pointermove", onMove);
      pad.addEventListener("pointerup", onUp);
      pad.addEventListener("pointercancel", onUp);
      $("cnn-clear").addEventListener("click", clearAll);
      app.clear = clearAll;
      app.loadSample = loadSample;
      app.state = "ready";
      root.setAttribute("data-status", "ready");
      $("cnn-status").textContent = "";
      return model;
    }).catch(function (err) {
      fail(/damaged|format/.test(err.message) ? err.message : "The model could not be loaded: " + err.message);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
