/* The "Draw a digit" page: drawing pad, preprocessing, prediction, feature maps.
 *
 * Needs, loaded before it: window.CNN_MODEL (generated model.js), window.CNN_DIGITS
 * (generated digits.js), window.CNN (cnn.js) and window.CNN_STRINGS (strings.js: every
 * word the page shows, in English and Chinese, picked by the page's <html lang>).
 * Everything runs locally; the page works over http:// and from disk (file://).
 * The image geometry, the colours and the chapter links come from the model file
 * (book_tools.draw_page.page_constants), so they are written once, in Python.
 * For tests and curious readers, window.CNNDrawApp exposes the state.
 *
 * The page is also a lab:
 *   - a second network, written by cnn_helpers.export_for_page, opens by file picker or
 *     by dropping it on the page; it is read as text and its JSON parsed (never run),
 *     checked like model.js, and shown beside the book's network on the same drawing;
 *   - a click, tap or the keyboard on any cell of any map (or on a bar) shows how its
 *     number was computed (CNN.explainCell) and outlines its receptive field on the input;
 *   - the digit moves by whole pixels (buttons, or the arrow keys on the pad or the input),
 *     as cnn_helpers.shift.shift_images moves it.
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
  var S = null;           // the page's words in its language (strings.js), set in start()

  var app = {
    state: "loading", model: null, digits: null, result: null, source: null, timings: [],
    nets: [],            // [{model, name, result}]: the book's network, then a loaded one
    shown: 0,            // whose maps are shown
    shift: [0, 0],       // rows down, columns right
    basePixels: null,    // the digit before the shift
    selected: null,      // {layer, i, j, ch}: the cell whose computation is shown
    explained: null      // what CNN.explainCell returned for it
  };
  window.CNNDrawApp = app;

  function $(id) { return document.getElementById(id); }

  /** The words of strings.js in the page's language: Chinese for <html lang="zh...">, else English. */
  function pageStrings() {
    var lang = (document.documentElement.lang || "").toLowerCase();
    return window.CNN_STRINGS[lang.indexOf("zh") === 0 ? "zh" : "en"];
  }

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
  function run(base) {
    app.basePixels = base;
    var pixels = base && (app.shift[0] || app.shift[1]) ? CNN.shiftPixels(base, SIDE, app.shift[0], app.shift[1]) : base;
    app.pixels = pixels;
    drawInput(pixels);
    showShift();
    if (!pixels) {
      app.result = null;
      app.nets.forEach(function (n) { n.result = null; });
      showPrediction(null);
      clearMaps();
      showExplanation();
      return;
    }
    var x = new Float64Array(pixels.length);
    for (var i = 0; i < x.length; i++) x[i] = pixels[i] / 255; // the training scaling: uint8 / 255
    app.input = { data: x, shape: app.model.inputShape.slice() };
    var ms = 0;
    app.nets.forEach(function (n) {
      var t0 = performance.now();
      var outputs = CNN.forward(n.model, x);
      var dt = performance.now() - t0;
      n.result = { outputs: outputs, probs: Array.from(outputs[outputs.length - 1].data), ms: dt };
      if (n === app.nets[0]) ms = dt;
    });
    app.timings.push(ms);
    app.result = app.nets[0].result;
    showPrediction(app.result.probs);
    drawMaps(app.nets[app.shown].result.outputs);
    showExplanation();
    $("cnn-timing").textContent = S.timing(ms.toFixed(1));
  }

  function drawInput(pixels) {
    paintDigit($("cnn-input"), pixels);
  }

  function guessInto(box, probs) {
    var best = probs ? probs.indexOf(Math.max.apply(null, probs)) : -1;
    box.setAttribute("data-class", probs ? String(best) : "");
    box.innerHTML = "";
    if (probs) {
      box.appendChild(el("span", { className: "cnn-guess-digit", text: String(best) }));
      box.appendChild(el("span", { className: "cnn-guess-p", text: S.sure((100 * probs[best]).toFixed(1)) }));
    } else {
      box.appendChild(el("span", { className: "cnn-guess-empty", text: S.drawPrompt }));
    }
    return best;
  }

  function showPrediction(probs) {
    var second = app.nets[1] && app.nets[1].result ? app.nets[1].result.probs : null;
    var best = guessInto($("cnn-guess"), probs), bestB = -1;
    if (app.nets[1]) bestB = guessInto($("cnn-guess-b"), probs ? second : null);
    for (var k = 0; k < 10; k++) {
      var row = $("cnn-bar-" + k), p = probs ? probs[k] : 0;
      row.querySelector(".cnn-bar").style.width = (100 * p).toFixed(2) + "%";
      row.querySelector(".cnn-bar-value").textContent = probs ? (100 * p).toFixed(1) + "%" : "";
      row.setAttribute("data-p", p.toString());
      row.classList.toggle("cnn-best", k === best);
      var pb = second && probs ? second[k] : 0;
      row.querySelector(".cnn-bar-b").style.width = (100 * pb).toFixed(2) + "%";
      row.querySelector(".cnn-bar-value-b").textContent = second && probs ? (100 * pb).toFixed(1) + "%" : "";
      row.setAttribute("data-p-b", pb.toString());
      row.classList.toggle("cnn-best-b", k === bestB);
    }
    announce(probs, best, second, bestB);
  }

  /** The screen reader's line: said when the answer changes, not on every stroke. */
  function announce(probs, best, second, bestB) {
    var text = "";
    if (probs) {
      text = S.announce({ digit: best, pct: (100 * probs[best]).toFixed(0) }, second ?
        { name: app.nets[1].name, digit: bestB, pct: (100 * second[bestB]).toFixed(0) } : null);
    }
    var live = $("cnn-announce");
    if (drawing) return; // mid-stroke: the answer is said when the finger lifts
    if (live && live.textContent !== text) live.textContent = text;
  }

  var explainBox = null; // the view of how a number was computed; moved under the chosen layer
  var mapLayers = []; // [{index, canvas, h, w, c, rows, cols, gap, panel}] of the shown network

  function layerTitle(model, l, index, counts) {
    var shape = l.output_shape;
    if (l.type === "conv2d") {
      counts.conv += 1;
      var title = [link("conv2d", S.convN(counts.conv))];
      if (l.activation === "relu") title.push(" + ", link("relu"));
      title.push(S.convShape(shape[2], shape[0], shape[1]));
      return title;
    }
    if (l.type === "max_pool2d") {
      counts.pool += 1;
      return [link("max_pool2d", S.poolN(counts.pool)), S.poolShape(l.pool[0], l.pool[1], shape[2], shape[0], shape[1])];
    }
    if (l.type === "dense" && index < model.layers.length - 1) {
      var prev = model.layers[index - 1];
      return [link("dense", S.dense), S.denseShape(l.activation === "relu", shape[0],
        prev && prev.type === "flatten" ? prev.output_shape[0] : null)];
    }
    return null;
  }

  function buildMaps() {
    var box = $("cnn-maps"), model = app.nets[app.shown].model, counts = { conv: 0, pool: 0 };
    box.innerHTML = "";
    mapLayers = [];
    model.layers.forEach(function (l, index) {
      var title = layerTitle(model, l, index, counts);
      if (!title) return;
      var shape = l.output_shape, isDense = shape.length === 1;
      var h = isDense ? 1 : shape[0], w = isDense ? 1 : shape[1], c = isDense ? shape[0] : shape[2];
      var cols = isDense ? c : Math.min(COLS, c), rows = Math.ceil(c / cols);
      var gap = isDense ? 0 : 1;
      var canvas = el("canvas", {
        className: isDense ? "cnn-map cnn-map-dense" : "cnn-map",
        width: String(cols * (w + gap) - gap), height: String(rows * (h + gap) - gap),
        "data-layer": l.name, role: "img", tabindex: "0",
        "aria-label": S.mapsAria(l.name)
      });
      var panel = el("figure", { className: "cnn-layer", "data-layer": l.name }, [
        el("figcaption", { className: "cnn-panel-title" }, title), canvas
      ]);
      box.appendChild(panel);
      var L = { index: index, canvas: canvas, h: h, w: w, c: c, rows: rows, cols: cols, gap: gap, panel: panel };
      mapLayers.push(L);
      canvas.addEventListener("click", function (ev) { selectAt(L, ev); });
      canvas.addEventListener("keydown", function (ev) { mapKey(L, ev); });
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
    L.max = max;
  }

  function drawMaps(outputs) {
    mapLayers.forEach(function (L) { paintLayer(L, outputs[L.index].data); });
  }

  function clearMaps() {
    mapLayers.forEach(function (L) { paintLayer(L, null); });
  }

  // ------------------------------------------------------------ how a number was computed
  /** The cell under a click on a layer's canvas: {i, j, ch}, or null on a gap between maps. */
  function cellAt(L, ev) {
    var r = L.canvas.getBoundingClientRect();
    var x = Math.floor((ev.clientX - r.left) * L.canvas.width / r.width);
    var y = Math.floor((ev.clientY - r.top) * L.canvas.height / r.height);
    var tx = Math.floor(x / (L.w + L.gap)), ty = Math.floor(y / (L.h + L.gap));
    var j = x - tx * (L.w + L.gap), i = y - ty * (L.h + L.gap), ch = ty * L.cols + tx;
    if (j >= L.w || i >= L.h || ch >= L.c || i < 0 || j < 0) return null;
    return L.h === 1 && L.w === 1 ? { i: 0, j: 0, ch: ch } : { i: i, j: j, ch: ch };
  }

  function selectAt(L, ev) {
    var cell = cellAt(L, ev);
    if (cell) select(L.index, cell.i, cell.j, cell.ch);
  }

  /** Arrow keys walk the cells of a layer's canvas, from map to map; Escape closes the view. */
  function mapKey(L, ev) {
    if (ev.key === "Escape") { select(null); return; }
    var moves = { ArrowLeft: [0, -1], ArrowRight: [0, 1], ArrowUp: [-1, 0], ArrowDown: [1, 0] };
    var sel = app.selected;
    if (!moves[ev.key] && ev.key !== "Enter" && ev.key !== " ") return;
    ev.preventDefault();
    if (!sel || sel.layer !== L.index) { select(L.index, 0, 0, 0); return; }
    if (!moves[ev.key]) return;
    // A position on the whole canvas (maps side by side, cols per row), gaps skipped.
    var gy = Math.floor(sel.ch / L.cols) * L.h + sel.i, gx = (sel.ch % L.cols) * L.w + sel.j;
    gy = Math.max(0, Math.min(L.rows * L.h - 1, gy + moves[ev.key][0]));
    gx = Math.max(0, Math.min(L.cols * L.w - 1, gx + moves[ev.key][1]));
    var ch = Math.floor(gy / L.h) * L.cols + Math.floor(gx / L.w);
    if (ch >= L.c) return;
    select(L.index, gy % L.h, gx % L.w, ch);
  }

  function select(layer, i, j, ch) {
    app.selected = layer === null || layer === undefined ? null : { layer: layer, i: i, j: j, ch: ch };
    showExplanation();
  }

  function fmt(v) {
    if (v === null || v === undefined) return S.pad;
    var a = Math.abs(v);
    return a !== 0 && (a < 0.001 || a >= 1e5) ? v.toExponential(2) : v.toFixed(3);
  }

  function num(v, cls) {
    return el("span", { className: "cnn-num " + (cls || ""), "data-value": String(v), text: fmt(v) });
  }

  /** A small grid of numbers (kh x kw), the winner (index) marked. */
  function grid(values, kw, cls, winner) {
    var g = el("span", { className: "cnn-x-grid " + cls, style: "grid-template-columns: repeat(" + kw + ", auto)" });
    values.forEach(function (v, k) {
      var c = num(v, k === winner ? "cnn-x-win" : "");
      if (v === null) c.classList.add("cnn-x-pad");
      g.appendChild(c);
    });
    return g;
  }

  function layerLabel(model, index) {
    var l = model.layers[index], n = 0;
    for (var k = 0; k <= index; k++) if (model.layers[k].type === l.type) n++;
    var label = { conv2d: S.convN, max_pool2d: S.poolN, dense: S.denseN }[l.type];
    return index === model.layers.length - 1 ? S.outputLayer : label(n);
  }

  /** Paint channel ch of the selected layer large, the selected cell outlined; clicks select. */
  function enlargedMap(L, sel, data) {
    var scale = Math.max(4, Math.floor(240 / Math.max(L.h, L.w)));
    var c = el("canvas", {
      className: "cnn-x-big", width: String(L.w * scale), height: String(L.h * scale), role: "img",
      "aria-label": S.bigMapAria(sel.ch)
    });
    var ctx = c.getContext("2d");
    for (var y = 0; y < L.h; y++) for (var x = 0; x < L.w; x++) {
      var v = L.max > 0 ? data[(y * L.w + x) * L.c + sel.ch] / L.max : 0;
      var col = COLOURS[Math.min(COLOURS.length - 1, Math.max(0, Math.round(v * (COLOURS.length - 1))))];
      ctx.fillStyle = "rgb(" + col.join(",") + ")";
      ctx.fillRect(x * scale, y * scale, scale, scale);
    }
    ctx.strokeStyle = "#3fd0ff";
    ctx.lineWidth = Math.max(2, scale / 6);
    ctx.strokeRect(sel.j * scale + 1, sel.i * scale + 1, scale - 2, scale - 2);
    c.addEventListener("click", function (ev) {
      var r = c.getBoundingClientRect();
      var j = Math.floor((ev.clientX - r.left) * L.w / r.width), i = Math.floor((ev.clientY - r.top) * L.h / r.height);
      select(L.index, Math.min(L.h - 1, Math.max(0, i)), Math.min(L.w - 1, Math.max(0, j)), sel.ch);
    });
    return c;
  }

  /** Show, under the selected layer's maps, how the selected number was computed. */
  function showExplanation() {
    var box = explainBox, sel = app.selected, net = app.nets[app.shown];
    outlineField(null);
    app.explained = null;
    if (!sel || !net || !net.result) {
      box.hidden = true;
      box.innerHTML = "";
      return;
    }
    var model = net.model, outs = net.result.outputs, l = model.layers[sel.layer];
    var x = sel.layer === 0 ? app.input : outs[sel.layer - 1];
    var e = CNN.explainCell(l, x, outs[sel.layer], sel.i, sel.j, sel.ch);
    app.explained = e;
    var L = null;
    mapLayers.forEach(function (m) { if (m.index === sel.layer) L = m; });
    // Put the view right under the layer's maps (or the bars, for the output layer).
    var anchor = L ? L.panel : $("cnn-maps").firstChild;
    if (anchor && anchor.nextSibling !== box) anchor.parentNode.insertBefore(box, anchor.nextSibling);
    else if (!anchor) $("cnn-maps").appendChild(box);
    box.hidden = false;
    box.innerHTML = "";
    box.setAttribute("data-layer", l.name);
    box.setAttribute("data-type", l.type);
    box.setAttribute("data-cell", JSON.stringify([sel.i, sel.j, sel.ch]));
    var where = l.type === "dense" ? S.whereUnit(sel.ch) : S.whereCell(sel.ch, sel.i, sel.j);
    var head = el("div", { className: "cnn-x-head" }, [
      el("strong", { text: S.head(layerLabel(model, sel.layer), where) }), num(e.value, "cnn-x-value"),
      el("button", { type: "button", className: "cnn-x-close", "aria-label": S.closeView, text: "\u00d7" })
    ]);
    head.querySelector(".cnn-x-close").addEventListener("click", function () { select(null); });
    box.appendChild(head);
    var body = el("div", { className: "cnn-x-body" });
    box.appendChild(body);
    if (L && L.h > 1) body.appendChild(enlargedMap(L, sel, outs[sel.layer].data));
    var text = el("div", { className: "cnn-x-text" });
    body.appendChild(text);
    if (l.type === "conv2d") {
      var source = sel.layer === 0 ? S.theInput : S.mapsOf(layerLabel(model, sel.layer - 1));
      text.appendChild(el("p", { text: S.convWindow(e.size[0], e.size[1], source, inside(e.rows), inside(e.cols), e.channels.length) }));
      var list = el("div", { className: "cnn-x-channels" });
      e.channels.forEach(function (c) {
        list.appendChild(el("div", { className: "cnn-x-channel", "data-channel": String(c.channel), "data-sum": String(c.sum) }, [
          el("span", { className: "cnn-x-ch", text: S.channel(c.channel) }),
          grid(c.window, e.size[1], "cnn-x-window"), el("span", { text: "\u00d7" }),
          grid(c.kernel, e.size[1], "cnn-x-kernel"), el("span", { text: "=" }),
          grid(c.products, e.size[1], "cnn-x-products"),
          el("span", { className: "cnn-x-chsum" }, ["\u03a3 ", num(c.sum)])
        ]));
      });
      text.appendChild(list);
      text.appendChild(sumLine(e));
    } else if (l.type === "max_pool2d") {
      text.appendChild(el("p", { text: S.poolWindow(e.rows.length, e.cols.length, inside(e.rows), inside(e.cols), sel.ch,
        layerLabel(model, sel.layer - 1)) }));
      text.appendChild(grid(e.window, e.cols.length, "cnn-x-window", e.winner));
      text.appendChild(el("p", {}, [S.winner[0], num(e.window[e.winner], "cnn-x-winner"), S.winner[1]]));
    } else {
      var n = Math.min(8, e.contributions.length);
      text.appendChild(el("p", { text: S.denseIntro(e.contributions.length, n) }));
      var table = el("table", { className: "cnn-x-contrib" }, [el("tr", {}, S.contribHeads.map(function (h) {
        return el("th", { text: h });
      }))]);
      e.contributions.slice(0, n).forEach(function (t) {
        table.appendChild(el("tr", { "data-input": String(t.input), "data-product": String(t.product) }, [
          el("td", { text: String(t.input) }), el("td", {}, [num(t.x)]), el("td", {}, [num(t.w)]), el("td", {}, [num(t.product)])]));
      });
      text.appendChild(table);
      text.appendChild(sumLine(e));
    }
    if (l.type === "dense") {
      text.appendChild(el("p", { className: "cnn-note", text: S.denseField }));
    } else {
      var f = CNN.receptiveField(model, sel.layer, sel.i, sel.j);
      outlineField(f);
      text.appendChild(el("p", { className: "cnn-note", text: S.field(f[0], f[1], f[2], f[3]) }));
    }
  }

  /** The indices of a window's rows or columns inside the input (not in the padding), for the text. */
  function inside(indices) {
    return indices.filter(function (r) { return r >= 0; }).join(", ");
  }

  function sumLine(e) {
    var parts = [S.sum, num(e.sum, "cnn-x-sum"), S.plusBias, num(e.bias, "cnn-x-bias"), " = ", num(e.pre, "cnn-x-pre")];
    if (e.activation === "relu") parts.push(S.thenRelu, num(e.value, "cnn-x-out"));
    else if (e.activation === "softmax") parts.push(S.thenSoftmax, num(e.value, "cnn-x-out"));
    else parts.push(" = ", num(e.value, "cnn-x-out"));
    return el("p", { className: "cnn-x-total" }, parts);
  }

  /** Outline input pixels [r0, r1, c0, c1] on the input panel (null: none). */
  function outlineField(f) {
    var box = $("cnn-rf");
    app.field = f;
    if (!box) return;
    box.hidden = !f;
    if (!f) return;
    box.style.top = (100 * f[0] / SIDE) + "%";
    box.style.left = (100 * f[2] / SIDE) + "%";
    box.style.height = (100 * (f[1] - f[0] + 1) / SIDE) + "%";
    box.style.width = (100 * (f[3] - f[2] + 1) / SIDE) + "%";
    box.setAttribute("data-field", JSON.stringify(f));
  }

  // ------------------------------------------------------------ moving the digit
  function moveDigit(down, right) {
    var d = app.shift[0] + down, r = app.shift[1] + right;
    if (Math.abs(d) >= SIDE || Math.abs(r) >= SIDE) return;
    app.shift = down === 0 && right === 0 ? [0, 0] : [d, r];
    run(app.basePixels);
  }

  function showShift() {
    var s = app.shift, out = $("cnn-shift-state");
    if (!out) return;
    out.textContent = S.shifted(s[0], s[1]);
    out.setAttribute("data-shift", JSON.stringify(s));
  }

  var ARROWS = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };

  function arrowMoves(ev) {
    var m = ARROWS[ev.key];
    if (!m) return;
    ev.preventDefault();
    moveDigit(m[0], m[1]);
  }

  // ------------------------------------------------------------ your own network
  function fileMessage(text, ok) {
    var box = $("cnn-file-status");
    box.textContent = text;
    box.setAttribute("data-ok", ok ? "yes" : "no");
  }

  /** Read a file the reader chose or dropped; on any problem say so and keep the networks. */
  function openFile(file) {
    var source = { name: file.name, fix: S.ownFix };
    app.loading = new Promise(function (resolve, reject) {
      var reader = new FileReader();
      reader.onload = function () { resolve(reader.result); };
      reader.onerror = function () { reject(new Error(S.unreadable(file.name))); };
      reader.readAsText(file);
    }).then(function (text) {
      return CNN.loadModel(CNN.parseModelText(text, source), { source: source });
    }).then(function (model) {
      var want = app.model.inputShape;
      if (JSON.stringify(model.inputShape) !== JSON.stringify(want)) {
        throw new Error(S.wrongInput(file.name, JSON.stringify(model.inputShape), JSON.stringify(want)));
      }
      var last = model.layers[model.layers.length - 1];
      if (last.output_shape.length !== 1 || last.output_shape[0] !== 10 || last.activation !== "softmax") {
        throw new Error(S.wrongOutput(file.name));
      }
      app.nets[1] = { model: model, name: (model.meta && model.meta.name) || file.name, file: file.name, result: null };
      useNetworks();
      fileMessage(S.loaded(file.name, describeNet(app.nets[1])), true);
      return model;
    }).catch(function (err) {
      fileMessage(err.message, false);
      return null;
    });
    return app.loading;
  }

  function describeNet(n) {
    var types = n.model.layers.map(function (l) { return l.type.replace("max_pool2d", "pool").replace("conv2d", "conv"); });
    var params = n.model.meta && n.model.meta.parameters;
    return S.describeNet(params ? params.toLocaleString("en") : null, types.join(" \u2192 "));
  }

  /** Show one or two networks: the second bar column, the choice of maps. */
  function useNetworks() {
    var two = app.nets.length > 1, root = $("cnn-draw");
    root.classList.toggle("cnn-compare", two);
    $("cnn-name-a").textContent = two ? app.nets[0].name : "";
    $("cnn-name-b").textContent = two ? app.nets[1].name : "";
    var choice = $("cnn-shown");
    choice.innerHTML = "";
    choice.hidden = !two;
    if (two) {
      choice.appendChild(el("span", { text: S.mapsOfNet }));
      app.nets.forEach(function (n, k) {
        var id = "cnn-shown-" + k;
        var input = el("input", { type: "radio", name: "cnn-shown", id: id, value: String(k) });
        input.checked = k === app.shown;
        input.addEventListener("change", function () { showNet(k); });
        choice.appendChild(el("label", { for: id }, [input, " " + n.name]));
      });
    }
    if (app.shown >= app.nets.length) app.shown = 0;
    app.selected = null;
    buildMaps();
    run(app.basePixels);
  }

  function showNet(k) {
    app.shown = k;
    app.selected = null;
    buildMaps();
    run(app.basePixels);
  }

  // ------------------------------------------------------------ buttons
  function clearAll() {
    clearPad();
    app.shift = [0, 0];
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
    app.shift = [0, 0];
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
        title: S.sampleTitle(index, label), "aria-label": S.sampleAria(index, label)
      }, [c]);
      b.addEventListener("click", function () { loadSample(k); });
      box.appendChild(b);
    });
  }

  function buildBars() {
    var box = $("cnn-bars");
    for (var k = 0; k < 10; k++) {
      var row = el("div", {
        id: "cnn-bar-" + k, className: "cnn-bar-row", "data-p": "0", tabindex: "0", role: "button",
        "aria-label": S.barAria(k)
      }, [
        el("span", { className: "cnn-bar-label", text: String(k) }),
        el("span", { className: "cnn-bar-track" }, [el("span", { className: "cnn-bar" })]),
        el("span", { className: "cnn-bar-value" }),
        el("span", { className: "cnn-bar-track cnn-track-b" }, [el("span", { className: "cnn-bar-b" })]),
        el("span", { className: "cnn-bar-value-b" })
      ]);
      (function (unit) {
        function pick() {
          var model = app.nets[app.shown].model;
          select(model.layers.length - 1, 0, 0, unit);
        }
        row.addEventListener("click", pick);
        row.addEventListener("keydown", function (ev) {
          if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); pick(); }
        });
      })(k);
      box.appendChild(row);
    }
  }

  function describeModel(meta) {
    var r = meta.recipe || {};
    return S.describeModel({
      params: meta.parameters ? meta.parameters.toLocaleString("en") : null,
      recipe: r.optimizer ? r : null,
      acc: meta.test_accuracy ? (100 * meta.test_accuracy).toFixed(2) : null
    });
  }

  // ------------------------------------------------------------ start
  /**
   * Why window.CNN_MODEL is not there: the file is missing, or it is there but damaged (not
   * valid JavaScript). Loading it again with listeners tells the two apart, also from file://.
   */
  function diagnoseModelFile() {
    var tag = document.querySelector('script[src$="generated/model.js"]');
    if (!tag) return Promise.resolve(S.noModelScript);
    return new Promise(function (resolve) {
      var syntax = null, probe = document.createElement("script");
      function onError(ev) { if (ev.filename && /generated\/model\.js/.test(ev.filename)) syntax = ev.message; }
      window.addEventListener("error", onError);
      probe.onerror = function () {
        window.removeEventListener("error", onError);
        resolve(S.modelMissing);
      };
      probe.onload = function () {
        window.removeEventListener("error", onError);
        resolve(S.modelDamaged(syntax));
      };
      probe.src = tag.src;
      document.head.appendChild(probe);
    });
  }

  function start() {
    var root = $("cnn-draw");
    if (!root) return;
    if (!window.CNN_STRINGS) return fail("strings.js did not load."); // the one message with no table to come from
    S = pageStrings();
    if (!window.CNN) return fail(S.noCnn);
    if (!window.CNN_MODEL) {
      app.ready = diagnoseModelFile().then(fail);
      return;
    }
    if (!window.CNN_DIGITS) return fail(S.digitsMissing);
    app.ready = CNN.loadModel(window.CNN_MODEL).then(function (model) {
      app.model = model;
      app.nets = [{ model: model, name: S.bookNet, file: "model.js", result: null }];
      usePageConstants(model.page);
      pad = $("cnn-pad");
      explainBox = $("cnn-explain");
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
      pad.addEventListener("keydown", arrowMoves);
      $("cnn-input").addEventListener("keydown", arrowMoves);
      [["up", -1, 0], ["down", 1, 0], ["left", 0, -1], ["right", 0, 1], ["reset", 0, 0]].forEach(function (b) {
        $("cnn-shift-" + b[0]).addEventListener("click", function () { moveDigit(b[1], b[2]); });
      });
      showShift();
      $("cnn-file").addEventListener("change", function (ev) {
        var f = ev.target.files && ev.target.files[0];
        if (f) openFile(f);
        ev.target.value = "";
      });
      root.addEventListener("dragover", function (ev) { ev.preventDefault(); root.classList.add("cnn-dropping"); });
      root.addEventListener("dragleave", function () { root.classList.remove("cnn-dropping"); });
      root.addEventListener("drop", function (ev) {
        ev.preventDefault();
        root.classList.remove("cnn-dropping");
        var f = ev.dataTransfer && ev.dataTransfer.files && ev.dataTransfer.files[0];
        if (f) openFile(f);
      });
      app.clear = clearAll;
      app.loadSample = loadSample;
      app.moveDigit = moveDigit;
      app.select = select;
      app.openFile = openFile;
      app.state = "ready";
      root.setAttribute("data-status", "ready");
      $("cnn-status").textContent = "";
      return model;
    }).catch(function (err) {
      fail((err.modelFile === "damaged" || err.modelFile === "format") ? err.message : S.modelNotLoaded(err.message));
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
