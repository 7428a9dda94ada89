/* The forward pass of the book's CNN, and the MNIST preprocessing of a drawing.
 *
 * Dependency-free; no DOM. It computes the same layers as the book's NumPy
 * reference (cnn_helpers/layers.py, run by cnn_helpers/forward.py) with plain
 * loops, reads the model file written by book_tools/draw_page.py, and
 * preprocesses a drawing like book_tools.draw_page.preprocess_drawing; the
 * browser tests hold it to those functions.
 *
 * Conventions, as in cnn_helpers.layers and Keras 3:
 *   - a tensor is {data: Float64Array, shape: [H, W, C]} (channels-last, C order)
 *     or {data, shape: [N]} after flatten;
 *   - a convolution kernel is (kh, kw, C_in, C_out), a Dense matrix (inputs, units);
 *   - Conv2D is a cross-correlation (no kernel flip);
 *   - padding is given explicitly, [top, bottom, left, right], as the model file
 *     states it for every layer (Python computes TensorFlow's SAME rule once,
 *     cnn_helpers.layers.same_pads; this file does not re-derive it).
 * Arithmetic is in float64, as in cnn_helpers.layers.
 *
 * For the page as a lab it also reads a model file the reader opens (parseModelText: the
 * JSON inside is parsed, never run; loadModel then checks it like model.js), spells out
 * how one cell of a layer was computed (explainCell), finds the input pixels a cell
 * depends on (receptiveField) and moves a digit by whole pixels (shiftPixels, as
 * cnn_helpers.shift.shift_images).
 */
(function (root) {
  "use strict";

  // ------------------------------------------------------------ helpers
  function outputSide(n, k, s, before, after) {
    // Positions of a k-wide window with stride s over n pixels padded by before + after.
    var padded = n + before + after;
    if (k > padded) throw new Error("a " + k + "-wide window does not fit in " + padded + " pixels");
    return Math.floor((padded - k) / s) + 1;
  }

  // ------------------------------------------------------------ layers (as cnn_helpers.layers)
  /**
   * conv2d(x, kernel, bias, stride, pads): x {data, shape [H, W, Cin]}, kernel {data, shape
   * [kh, kw, Cin, Cout]}, pads [top, bottom, left, right] of zeros (default none).
   */
  function conv2d(x, kernel, bias, stride, pads) {
    var H = x.shape[0], W = x.shape[1], C = x.shape[2];
    var kh = kernel.shape[0], kw = kernel.shape[1], cin = kernel.shape[2], cout = kernel.shape[3];
    if (cin !== C) throw new Error("conv2d: kernel expects C_in=" + cin + " but x has " + C);
    var sh = stride[0], sw = stride[1];
    pads = pads || [0, 0, 0, 0];
    var oh = outputSide(H, kh, sh, pads[0], pads[1]), ow = outputSide(W, kw, sw, pads[2], pads[3]);
    var top = pads[0], left = pads[2];
    var xd = x.data, kd = kernel.data, out = new Float64Array(oh * ow * cout);
    for (var i = 0; i < oh; i++) {
      for (var j = 0; j < ow; j++) {
        var o = (i * ow + j) * cout;
        for (var co = 0; co < cout; co++) out[o + co] = bias ? bias.data[co] : 0;
        for (var di = 0; di < kh; di++) {
          var y = i * sh + di - top;
          if (y < 0 || y >= H) continue; // zero padding contributes nothing
          for (var dj = 0; dj < kw; dj++) {
            var xx = j * sw + dj - left;
            if (xx < 0 || xx >= W) continue;
            var xb = (y * W + xx) * C, kb = (di * kw + dj) * cin * cout;
            for (var c = 0; c < C; c++) {
              var v = xd[xb + c];
              if (v === 0) continue; // after ReLU many inputs are exactly zero
              var kr = kb + c * cout;
              for (var q = 0; q < cout; q++) out[o + q] += v * kd[kr + q];
            }
          }
        }
      }
    }
    return { data: out, shape: [oh, ow, cout] };
  }

  function relu(x) {
    var out = new Float64Array(x.data.length);
    for (var i = 0; i < out.length; i++) out[i] = x.data[i] > 0 ? x.data[i] : 0;
    return { data: out, shape: x.shape.slice() };
  }

  function softmax(x) {
    var d = x.data, m = -Infinity, s = 0, out = new Float64Array(d.length), i;
    for (i = 0; i < d.length; i++) if (d[i] > m) m = d[i];
    for (i = 0; i < d.length; i++) { out[i] = Math.exp(d[i] - m); s += out[i]; }
    for (i = 0; i < d.length; i++) out[i] /= s;
    return { data: out, shape: x.shape.slice() };
  }

  /**
   * max_pool2d(x, pool, stride, pads): the largest value of each window, channel by channel;
   * padded cells never win (pads [top, bottom, left, right], default none).
   */
  function maxPool2d(x, pool, stride, pads) {
    var H = x.shape[0], W = x.shape[1], C = x.shape[2];
    var ph = pool[0], pw = pool[1];
    stride = stride || pool;
    pads = pads || [0, 0, 0, 0];
    var sh = stride[0], sw = stride[1];
    var oh = outputSide(H, ph, sh, pads[0], pads[1]), ow = outputSide(W, pw, sw, pads[2], pads[3]);
    var top = pads[0], left = pads[2];
    var xd = x.data, out = new Float64Array(oh * ow * C);
    for (var i = 0; i < oh; i++) {
      for (var j = 0; j < ow; j++) {
        var o = (i * ow + j) * C;
        for (var c = 0; c < C; c++) out[o + c] = -Infinity; // -inf padding never wins
        for (var di = 0; di < ph; di++) {
          var y = i * sh + di - top;
          if (y < 0 || y >= H) continue;
          for (var dj = 0; dj < pw; dj++) {
            var xx = j * sw + dj - left;
            if (xx < 0 || xx >= W) continue;
            var b = (y * W + xx) * C;
            for (var c2 = 0; c2 < C; c2++) if (xd[b + c2] > out[o + c2]) out[o + c2] = xd[b + c2];
          }
        }
      }
    }
    return { data: out, shape: [oh, ow, C] };
  }

  /** flatten(x): (H, W, C) -> (H*W*C,) in C order (channel fastest), which is how the data is stored already. */
  function flatten(x) {
    return { data: x.data, shape: [x.data.length] };
  }

  /** dense(x, weights, bias): x (inputs,), weights (inputs, units), bias (units,) -> x @ W + b. */
  function dense(x, weights, bias) {
    var n = weights.shape[0], units = weights.shape[1];
    if (x.data.length !== n) throw new Error("dense: x has " + x.data.length + " inputs but weights expect " + n);
    var out = new Float64Array(units), wd = weights.data;
    for (var u = 0; u < units; u++) out[u] = bias ? bias.data[u] : 0;
    for (var i = 0; i < n; i++) {
      var v = x.data[i];
      if (v === 0) continue;
      var r = i * units;
      for (var u2 = 0; u2 < units; u2++) out[u2] += v * wd[r + u2];
    }
    return { data: out, shape: [units] };
  }

  function activate(x, activation) {
    if (activation === "relu") return relu(x);
    if (activation === "softmax") return softmax(x);
    if (activation === "linear" || !activation) return x;
    throw new Error("unknown activation " + activation);
  }

  // ------------------------------------------------------------ the model file (book_tools.draw_page.export_model)
  var FORMAT = "cnn-book-model/2";

  function base64ToBytes(text) {
    var bin = atob(text), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }

  function inflate(bytes) {
    // zlib "deflate" data; DecompressionStream reads local data, so this works on file:// too.
    if (typeof DecompressionStream === "undefined") {
      return Promise.reject(new Error(words().noDecompressionStream));
    }
    var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
    return new Response(stream).arrayBuffer().then(function (buf) { return new Uint8Array(buf); });
  }

  // SHA-256 in plain JavaScript (FIPS 180-4), for pages where SubtleCrypto is missing:
  // it exists only in secure contexts (https://, http://localhost, file:// in Chromium),
  // not on a book served over plain http from another machine.
  var K256 = [];
  (function () {
    function frac(x) { return ((x - Math.floor(x)) * 4294967296) >>> 0; }
    for (var n = 2, found = 0; found < 64; n++) {
      var prime = true;
      for (var d = 2; d * d <= n; d++) if (n % d === 0) { prime = false; break; }
      if (prime) K256[found++] = frac(Math.cbrt(n));
    }
  })();

  function sha256Js(bytes) {
    var h = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
    var len = bytes.length, total = Math.ceil((len + 9) / 64) * 64, msg = new Uint8Array(total);
    msg.set(bytes);
    msg[len] = 0x80;
    var bits = len * 8, view = new DataView(msg.buffer), w = new Uint32Array(64);
    view.setUint32(total - 8, Math.floor(bits / 4294967296));
    view.setUint32(total - 4, bits >>> 0);
    function rotr(x, r) { return (x >>> r) | (x << (32 - r)); }
    for (var off = 0; off < total; off += 64) {
      for (var i = 0; i < 16; i++) w[i] = view.getUint32(off + 4 * i);
      for (i = 16; i < 64; i++) {
        var s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >>> 3);
        var s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >>> 10);
        w[i] = (w[i - 16] + s0 + w[i - 7] + s1) >>> 0;
      }
      var a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
      for (i = 0; i < 64; i++) {
        var t1 = (k + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K256[i] + w[i]) >>> 0;
        var t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) >>> 0;
        k = g; g = f; f = e; e = (d + t1) >>> 0; d = c; c = b; b = a; a = (t1 + t2) >>> 0;
      }
      h[0] = (h[0] + a) >>> 0; h[1] = (h[1] + b) >>> 0; h[2] = (h[2] + c) >>> 0; h[3] = (h[3] + d) >>> 0;
      h[4] = (h[4] + e) >>> 0; h[5] = (h[5] + f) >>> 0; h[6] = (h[6] + g) >>> 0; h[7] = (h[7] + k) >>> 0;
    }
    return h.map(function (v) { return ("00000000" + v.toString(16)).slice(-8); }).join("");
  }

  /** SHA-256 of bytes as hex: a Promise of {hex, method} (SubtleCrypto where the page may use it). */
  function sha256(bytes, forceJs) {
    var subtle = !forceJs && root.crypto && root.crypto.subtle;
    if (!subtle) return Promise.resolve({ hex: sha256Js(bytes), method: "JavaScript SHA-256" });
    return subtle.digest("SHA-256", bytes).then(function (buf) {
      var hex = Array.from(new Uint8Array(buf), function (v) { return ("0" + v.toString(16)).slice(-2); }).join("");
      return { hex: hex, method: "SubtleCrypto SHA-256" };
    });
  }

  // ------------------------------------------------------------ what a reader is told about a model file
  /*
   * The words of the errors a reader sees when a model file is damaged, unsupported or not a
   * model file. These English texts are used when the page is English or strings.js is not
   * loaded (Node, the tests); a page whose <html lang> starts with "zh" takes them from
   * window.CNN_STRINGS.zh.modelFile (strings.js, which the page loads after this file, so the
   * table is looked up when an error is worded). strings.js carries only the Chinese table: English has one home, here.
   * An entry is a string or a function of names and numbers already formatted.
   */
  var MODEL_FILE_EN = {
    damaged: function (file, why, fix) { return "The model file " + file + " is damaged (" + why + "). " + fix; },
    unsupported: function (file, why, fix) { return "The model file " + file + " cannot be used: " + why + ". " + fix; },
    format: function (file, got, want, fix) { return "The model file " + file + " has format " + got + ", not " + want + ". " + fix; },
    bookFix: "Rebuild the book with `make book`.",
    noDecompressionStream: "this browser has no DecompressionStream; use a current Chrome, Edge, Firefox or Safari",
    // why a file is damaged or cannot be used
    missingParts: "its header, data or checksum is missing",
    notBase64: "its data is not base64",
    noDecompress: "its data does not decompress",
    notFloat32: "its data is not whole float32 values",
    checksum: "its SHA-256 does not match: the layers or the weights were changed",
    headerNotJson: "its header is not JSON",
    valueCount: function (have, want) { return "it holds " + have + " values, not " + want; },
    notFinite: function (k) { return "weight " + k + " is not a finite number"; },
    notModelFile: "it is not a model file written by cnn_helpers.export_for_page " +
      "(it should hold one line 'window.CNN_MODEL = {...};' and nothing else)",
    notJson: function (detail) { return "its model is not valid JSON: " + detail; },
    // the layers (where: the layer's words, from `layer`)
    inputShape: function (shape) { return "input shape " + shape; },
    noLayers: "it has no layers",
    layer: function (name) { return "layer " + name; },
    notChained: function (where) { return where + ": its input shape is not the previous output"; },
    layerType: function (where, type, known) { return where + " has type " + type + "; the page computes " + known.join(", "); },
    activation: function (where, act, known) { return where + " has activation " + act + "; the page computes " + known.join(", "); },
    stridesPads: function (where) { return where + ": strides or pads"; },
    window: function (where, win) { return where + ": window " + win; },
    kernelChannels: function (where) { return where + ": kernel channels"; },
    kernelRows: function (where) { return where + ": kernel rows"; },
    outputShape: function (where) { return where + ": output shape"; },
    paramPlace: function (where, param) { return where + ": " + param + " offset or shape"; },
    paramPastEnd: function (where, param) { return where + ": " + param + " lies past the end of the data"; },
    valuesNeeded: function (need, have) { return "the layers need " + need + " values, the data holds " + have; }
  };

  /** The model-file words of the page's language (as draw.js chooses it), entry by entry English where missing. */
  function words() {
    var table = root.CNN_STRINGS, doc = root.document, lang = "";
    if (doc && doc.documentElement) lang = String(doc.documentElement.lang || "").toLowerCase();
    var chosen = table && table[lang.indexOf("zh") === 0 ? "zh" : "en"];
    var own = chosen && chosen.modelFile;
    if (!own) return MODEL_FILE_EN;
    var out = {};
    Object.keys(MODEL_FILE_EN).forEach(function (k) { out[k] = own[k] !== undefined ? own[k] : MODEL_FILE_EN[k]; });
    return out;
  }

  /** The book's own model.js, and how to repair it. */
  function bookFile() {
    return { name: "model.js", fix: words().bookFix };
  }

  /** An Error a reader sees; .modelFile says which kind ("damaged", "unsupported", "format"), in every language. */
  function modelFileError(kind, message) {
    var e = new Error(message);
    e.modelFile = kind;
    return e;
  }

  function damaged(why, source) {
    source = source || bookFile();
    return modelFileError("damaged", words().damaged(source.name, why, source.fix));
  }

  function unsupported(why, source) {
    source = source || bookFile();
    return modelFileError("unsupported", words().unsupported(source.name, why, source.fix));
  }

  function isPositiveInts(a, n) {
    return Array.isArray(a) && (n === undefined || a.length === n) &&
      a.every(function (v) { return Number.isInteger(v) && v > 0; });
  }

  var LAYER_TYPES = ["conv2d", "max_pool2d", "flatten", "dense"];
  var ACTIVATIONS = ["linear", "relu", "softmax"];
  var damagedFile = damaged;

  /** Check every layer against the one before it and every weight array against the data's bounds. */
  function checkLayers(header, source) {
    function damaged(why) { return damagedFile(why, source); }
    var T = words(), shape = header.input_shape, expected = 0, n = header.n_values;
    if (!isPositiveInts(shape, 3)) throw damaged(T.inputShape(JSON.stringify(shape)));
    if (!Array.isArray(header.layers) || !header.layers.length) throw damaged(T.noLayers);
    header.layers.forEach(function (l) {
      var where = T.layer(l.name);
      if (JSON.stringify(l.input_shape) !== JSON.stringify(shape)) throw damaged(T.notChained(where));
      if (LAYER_TYPES.indexOf(l.type) < 0) {
        throw unsupported(T.layerType(where, JSON.stringify(l.type), LAYER_TYPES), source);
      }
      if ((l.type === "conv2d" || l.type === "dense") && ACTIVATIONS.indexOf(l.activation) < 0) {
        throw unsupported(T.activation(where, JSON.stringify(l.activation), ACTIVATIONS), source);
      }
      if (l.type === "conv2d" || l.type === "max_pool2d") {
        if (!isPositiveInts(l.strides, 2) || !Array.isArray(l.pads) || l.pads.length !== 4 ||
            !l.pads.every(function (v) { return Number.isInteger(v) && v >= 0; })) throw damaged(T.stridesPads(where));
        var win = l.type === "conv2d" ? l.params[0].shape : l.pool;
        if (!isPositiveInts(win)) throw damaged(T.window(where, JSON.stringify(win)));
        var oh = outputSide(shape[0], win[0], l.strides[0], l.pads[0], l.pads[1]);
        var ow = outputSide(shape[1], win[1], l.strides[1], l.pads[2], l.pads[3]);
        var oc = l.type === "conv2d" ? l.params[0].shape[3] : shape[2];
        if (l.type === "conv2d" && l.params[0].shape[2] !== shape[2]) throw damaged(T.kernelChannels(where));
        shape = [oh, ow, oc];
      } else if (l.type === "flatten") {
        shape = [shape.reduce(function (a, d) { return a * d; }, 1)];
      } else {
        if (shape.length !== 1 || l.params[0].shape[0] !== shape[0]) throw damaged(T.kernelRows(where));
        shape = [l.params[0].shape[1]];
      }
      if (JSON.stringify(l.output_shape) !== JSON.stringify(shape)) throw damaged(T.outputShape(where));
      (l.params || []).forEach(function (p) {
        if (!isPositiveInts(p.shape) || p.offset !== expected) throw damaged(T.paramPlace(where, p.name));
        expected += p.shape.reduce(function (a, d) { return a * d; }, 1);
        if (expected > n) throw damaged(T.paramPastEnd(where, p.name));
      });
    });
    if (expected !== n) throw damaged(T.valuesNeeded(expected, n));
  }

  /**
   * Decode window.CNN_MODEL into a model {layers: [{..., kernel, bias}], inputShape, meta, page,
   * integrity}; returns a Promise. The SHA-256 of the header and weights, every offset's bounds
   * and the weights' finiteness are checked first: a damaged file is refused with a message.
   */
  function loadModel(file, options) {
    options = options || {};
    var source = options.source || bookFile(), T = words();
    function damaged(why) { return damagedFile(why, source); }
    if (!file || file.format !== FORMAT) {
      return Promise.reject(modelFileError("format", T.format(source.name, file && file.format, FORMAT, source.fix)));
    }
    if (typeof file.header !== "string" || typeof file.data !== "string" || typeof file.sha256 !== "string") {
      return Promise.reject(damaged(T.missingParts));
    }
    var headerBytes = new TextEncoder().encode(file.header), encoded;
    try { encoded = base64ToBytes(file.data); } catch (e) { return Promise.reject(damaged(T.notBase64)); }
    var raw, header;
    return inflate(encoded).catch(function () { throw damaged(T.noDecompress); }).then(function (shuffled) {
      if (shuffled.length % 4) throw damaged(T.notFloat32);
      var n = shuffled.length / 4;
      // Undo the byte regrouping: byte b of value i was stored at b * n + i (little-endian float32).
      raw = new Uint8Array(4 * n);
      for (var b = 0; b < 4; b++) for (var i = 0; i < n; i++) raw[4 * i + b] = shuffled[b * n + i];
      var all = new Uint8Array(headerBytes.length + raw.length);
      all.set(headerBytes);
      all.set(raw, headerBytes.length);
      return sha256(all, options.forceJsSha256);
    }).then(function (digest) {
      if (digest.hex !== file.sha256) throw damaged(T.checksum);
      try { header = JSON.parse(file.header); } catch (e) { throw damaged(T.headerNotJson); }
      if (raw.length !== 4 * header.n_values) throw damaged(T.valueCount(raw.length / 4, header.n_values));
      try { checkLayers(header, source); } catch (e) { throw e.modelFile ? e : damaged(e.message); }
      var view = new DataView(raw.buffer), values = new Float64Array(header.n_values);
      for (var k = 0; k < values.length; k++) {
        values[k] = view.getFloat32(4 * k, true);
        if (!isFinite(values[k])) throw damaged(T.notFinite(k));
      }
      var layers = header.layers.map(function (l) {
        var layer = Object.assign({}, l);
        (l.params || []).forEach(function (p) {
          var size = p.shape.reduce(function (a, d) { return a * d; }, 1);
          layer[p.name] = { data: values.subarray(p.offset, p.offset + size), shape: p.shape };
        });
        return layer;
      });
      return { layers: layers, inputShape: header.input_shape, meta: header.meta || {}, page: header.page,
               integrity: digest.method, source: source.name };
    });
  }

  /**
   * The model object inside the text of a file written by cnn_helpers.export_for_page (or the
   * book's model.js): "window.CNN_MODEL = {...};", optionally after one comment. The object is
   * read with JSON.parse, never run: a file with anything else in it is refused.
   */
  var FILE_PATTERN = /^\s*(?:\/\*[^]*?\*\/\s*)?window\.CNN_MODEL\s*=\s*(\{[^]*\})\s*;?\s*$/;

  function parseModelText(text, source) {
    var match = FILE_PATTERN.exec(String(text));
    if (!match) {
      throw unsupported(words().notModelFile, source);
    }
    try { return JSON.parse(match[1]); } catch (e) { throw damagedFile(words().notJson(e.message), source); }
  }

  /** Every layer's output for one input (Float64Array or array, the model's input shape in C order, values in [0, 1]); the last is the probabilities. */
  function forward(model, input) {
    var x = { data: input instanceof Float64Array ? input : Float64Array.from(input), shape: model.inputShape.slice() };
    var outputs = [];
    for (var li = 0; li < model.layers.length; li++) {
      var l = model.layers[li];
      if (l.type === "conv2d") x = activate(conv2d(x, l.kernel, l.bias, l.strides, l.pads), l.activation);
      else if (l.type === "max_pool2d") x = maxPool2d(x, l.pool, l.strides, l.pads);
      else if (l.type === "flatten") x = flatten(x);
      else if (l.type === "dense") x = activate(dense(x, l.kernel, l.bias), l.activation);
      else throw new Error("unknown layer type " + l.type);
      outputs.push(x);
    }
    return outputs;
  }

  /** Probabilities for one uint8 digit (side x side grey levels): the network sees pixels / 255, as in training. */
  function predictPixels(model, pixels) {
    var x = new Float64Array(pixels.length);
    for (var i = 0; i < x.length; i++) x[i] = pixels[i] / 255;
    var outs = forward(model, x);
    return outs[outs.length - 1].data;
  }

  // ------------------------------------------------------------ preprocessing (book_tools.draw_page.preprocess_drawing)

  function roundHalfUp(v) { return Math.floor(v + 0.5); }

  /** Sparse area-averaging weights: for each output cell, [[inputIndex, weight], ...] (weights sum to 1). */
  function areaWeights(nIn, nOut) {
    var scale = nIn / nOut, rows = [];
    for (var t = 0; t < nOut; t++) {
      var lo = t * scale, hi = (t + 1) * scale, row = [];
      for (var k = Math.floor(lo); k < Math.min(Math.ceil(hi), nIn); k++) {
        var overlap = Math.min(hi, k + 1) - Math.max(lo, k);
        if (overlap > 0) row.push([k, overlap / scale]);
      }
      rows.push(row);
    }
    return rows;
  }

  /**
   * A drawing as a 28x28 MNIST digit: grey is an array of ink amounts in [0, 1]
   * (0 = paper), row by row, height x width. Returns null when there is no ink, else
   * {pixels: Uint8Array(side * side), box: [r0, r1, c0, c1], size: [th, tw], offset: [top, left]}.
   * Steps: bounding box of the ink; scale the longer side to `box` pixels by area
   * averaging; shift so the centre of mass lands on pixel (centre, centre) of a
   * side x side image; grey levels 0..255. `geometry` is the model file's page
   * constants {side, box, centre} (28, 20 and 14 for MNIST).
   */
  function preprocess(grey, height, width, geometry) {
    var SIDE = geometry.side, BOX = geometry.box, CENTRE = geometry.centre;
    var r0 = height, r1 = -1, c0 = width, c1 = -1, r, c;
    for (r = 0; r < height; r++) {
      for (c = 0; c < width; c++) {
        if (grey[r * width + c] > 0) {
          if (r < r0) r0 = r;
          if (r > r1) r1 = r;
          if (c < c0) c0 = c;
          if (c > c1) c1 = c;
        }
      }
    }
    if (r1 < 0) return null;
    var h = r1 - r0 + 1, w = c1 - c0 + 1;
    var s = BOX / Math.max(h, w);
    var th = Math.max(1, roundHalfUp(h * s)), tw = Math.max(1, roundHalfUp(w * s));
    var wy = areaWeights(h, th), wx = areaWeights(w, tw);
    // Rows first: tmp (th x w) = Wy @ box, then patch (th x tw) = tmp @ Wx^T.
    var tmp = new Float64Array(th * w), patch = new Float64Array(th * tw), i, j, e;
    for (i = 0; i < th; i++) {
      for (e = 0; e < wy[i].length; e++) {
        var src = (r0 + wy[i][e][0]) * width + c0, wt = wy[i][e][1];
        for (c = 0; c < w; c++) {
          var g = grey[src + c];
          tmp[i * w + c] += wt * (g > 1 ? 1 : g < 0 ? 0 : g);
        }
      }
    }
    for (i = 0; i < th; i++) {
      for (j = 0; j < tw; j++) {
        var acc = 0;
        for (e = 0; e < wx[j].length; e++) acc += tmp[i * w + wx[j][e][0]] * wx[j][e][1];
        patch[i * tw + j] = acc;
      }
    }
    var total = 0, sy = 0, sx = 0;
    for (i = 0; i < th; i++) for (j = 0; j < tw; j++) {
      var v = patch[i * tw + j];
      total += v; sy += i * v; sx += j * v;
    }
    var top = roundHalfUp(CENTRE - sy / total), left = roundHalfUp(CENTRE - sx / total);
    var pixels = new Uint8Array(SIDE * SIDE);
    for (i = 0; i < th; i++) {
      var y = top + i;
      if (y < 0 || y >= SIDE) continue;
      for (j = 0; j < tw; j++) {
        var x = left + j;
        if (x < 0 || x >= SIDE) continue;
        pixels[y * SIDE + x] = Math.min(255, Math.max(0, roundHalfUp(patch[i * tw + j] * 255)));
      }
    }
    return { pixels: pixels, box: [r0, r1, c0, c1], size: [th, tw], offset: [top, left] };
  }

  /** Median time in ms of `runs` forward passes of `pixels` (performance.now()). */
  function benchmark(model, pixels, runs) {
    runs = runs || 100;
    var x = new Float64Array(pixels.length), times = [];
    for (var i = 0; i < x.length; i++) x[i] = pixels[i] / 255;
    for (var w = 0; w < 20; w++) forward(model, x); // warm up the JIT first
    for (var r = 0; r < runs; r++) {
      var t0 = performance.now();
      forward(model, x);
      times.push(performance.now() - t0);
    }
    times.sort(function (a, b) { return a - b; });
    var mid = Math.floor(runs / 2);
    return { median: runs % 2 ? times[mid] : (times[mid - 1] + times[mid]) / 2, min: times[0], max: times[runs - 1], runs: runs };
  }

  // ------------------------------------------------------------ how one number was computed

  /**
   * How cell (i, j, channel ch) of layer li's output came about, from the layer's input x
   * ({data, shape}: the network's input for li = 0, else the output of layer li - 1) and the
   * layer's output y. The same arithmetic as conv2d, maxPool2d and dense above, term by term:
   *   conv2d: {rows, cols (input pixels read; -1 = padding), channels: [{channel, window,
   *            kernel, products, sum}], sum, bias, pre, activation, value};
   *   max_pool2d: {rows, cols, window, winner (index in the window), value};
   *   dense: {contributions: [{input, x, w, product}] sorted by |product|, largest first,
   *          sum (of all), bias, pre, activation, value} (i = j = 0, ch = the unit).
   * `value` is y's cell, the number the map shows.
   */
  function explainCell(layer, x, y, i, j, ch) {
    var l = layer, out = { type: l.type, layer: l.name, cell: [i, j, ch] };
    if (l.type === "dense") {
      var n = l.kernel.shape[0], units = l.kernel.shape[1], terms = [], sum = 0;
      for (var r = 0; r < n; r++) {
        var prod = x.data[r] * l.kernel.data[r * units + ch];
        sum += prod;
        terms.push({ input: r, x: x.data[r], w: l.kernel.data[r * units + ch], product: prod });
      }
      terms.sort(function (a, b) { return Math.abs(b.product) - Math.abs(a.product) || a.input - b.input; });
      out.contributions = terms;
      out.sum = sum;
      out.bias = l.bias.data[ch];
      out.pre = sum + out.bias;
      out.activation = l.activation;
      out.value = y.data[ch];
      return out;
    }
    var H = x.shape[0], W = x.shape[1], C = x.shape[2], ow = y.shape[1];
    var kh = l.type === "conv2d" ? l.kernel.shape[0] : l.pool[0];
    var kw = l.type === "conv2d" ? l.kernel.shape[1] : l.pool[1];
    var rows = [], cols = [], di, dj;
    for (di = 0; di < kh; di++) {
      var yy = i * l.strides[0] + di - l.pads[0];
      rows.push(yy >= 0 && yy < H ? yy : -1);
    }
    for (dj = 0; dj < kw; dj++) {
      var xx = j * l.strides[1] + dj - l.pads[2];
      cols.push(xx >= 0 && xx < W ? xx : -1);
    }
    out.rows = rows;
    out.cols = cols;
    out.value = y.data[(i * ow + j) * y.shape[2] + ch];
    if (l.type === "max_pool2d") {
      var window = [], winner = -1, best = -Infinity;
      for (di = 0; di < kh; di++) for (dj = 0; dj < kw; dj++) {
        var v = rows[di] < 0 || cols[dj] < 0 ? null : x.data[(rows[di] * W + cols[dj]) * C + ch];
        if (v !== null && v > best) { best = v; winner = window.length; }
        window.push(v);
      }
      out.window = window;
      out.winner = winner;
      return out;
    }
    var cout = l.kernel.shape[3], total = 0, channels = [];
    for (var c = 0; c < C; c++) {
      var win = [], ker = [], prods = [], s = 0;
      for (di = 0; di < kh; di++) for (dj = 0; dj < kw; dj++) {
        var xv = rows[di] < 0 || cols[dj] < 0 ? 0 : x.data[(rows[di] * W + cols[dj]) * C + c];
        var kv = l.kernel.data[((di * kw + dj) * C + c) * cout + ch];
        win.push(xv); ker.push(kv); prods.push(xv * kv);
        s += xv * kv;
      }
      total += s;
      channels.push({ channel: c, window: win, kernel: ker, products: prods, sum: s });
    }
    out.channels = channels;
    out.size = [kh, kw];
    out.sum = total;
    out.bias = l.bias.data[ch];
    out.pre = total + out.bias;
    out.activation = l.activation;
    return out;
  }

  /**
   * The input pixels cell (i, j) of layer li's output depends on: [rowFirst, rowLast,
   * colFirst, colLast], following each window back through the layers (padding clipped
   * off). After a flatten or a dense layer, that is the whole input.
   */
  function receptiveField(model, li, i, j) {
    var r0 = i, r1 = i, c0 = j, c1 = j;
    for (var k = li; k >= 0; k--) {
      var l = model.layers[k];
      if (l.type === "flatten" || l.type === "dense") {
        return [0, model.inputShape[0] - 1, 0, model.inputShape[1] - 1];
      }
      var kh = l.type === "conv2d" ? l.kernel.shape[0] : l.pool[0];
      var kw = l.type === "conv2d" ? l.kernel.shape[1] : l.pool[1];
      var H = l.input_shape[0], W = l.input_shape[1];
      r0 = Math.max(0, r0 * l.strides[0] - l.pads[0]);
      r1 = Math.min(H - 1, r1 * l.strides[0] - l.pads[0] + kh - 1);
      c0 = Math.max(0, c0 * l.strides[1] - l.pads[2]);
      c1 = Math.min(W - 1, c1 * l.strides[1] - l.pads[2] + kw - 1);
    }
    return [r0, r1, c0, c1];
  }

  /**
   * A side x side digit moved `down` rows and `right` columns (negative: up, left), as
   * cnn_helpers.shift.shift_images: what leaves the frame is lost, the uncovered border is 0.
   */
  function shiftPixels(pixels, side, down, right) {
    var out = new Uint8Array(side * side);
    for (var r = 0; r < side; r++) {
      var sr = r - down;
      if (sr < 0 || sr >= side) continue;
      for (var c = 0; c < side; c++) {
        var sc = c - right;
        if (sc >= 0 && sc < side) out[r * side + c] = pixels[sr * side + sc];
      }
    }
    return out;
  }

  root.CNN = {
    conv2d: conv2d, relu: relu, maxPool2d: maxPool2d, flatten: flatten, dense: dense, softmax: softmax,
    loadModel: loadModel, parseModelText: parseModelText, forward: forward,
    explainCell: explainCell, receptiveField: receptiveField, shiftPixels: shiftPixels, predictPixels: predictPixels,
    preprocess: preprocess, benchmark: benchmark, base64ToBytes: base64ToBytes, sha256: sha256
  };
})(typeof window !== "undefined" ? window : globalThis);
