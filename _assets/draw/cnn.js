/* The forward pass of the book's CNN, and the MNIST preprocessing of a drawing.
 *
 * Dependency-free; no DOM. It mirrors the book's NumPy reference layers
 * (cnn_helpers/layers.py) function by function, and cnn_helpers/web.py for the
 * model file and the preprocessing, so the Python tests can hold it to them.
 *
 * Conventions, as in cnn_helpers.layers and Keras 3:
 *   - a tensor is {data: Float64Array, shape: [H, W, C]} (channels-last, C order)
 *     or {data, shape: [N]} after flatten;
 *   - a convolution kernel is (kh, kw, C_in, C_out), a Dense matrix (inputs, units);
 *   - Conv2D is a cross-correlation (no kernel flip); padding 'valid' or 'same'
 *     (TensorFlow's rule: output ceil(n / s), the smaller half of the padding before).
 * Arithmetic is in float64, as in cnn_helpers.layers.
 */
(function (root) {
  "use strict";

  // ------------------------------------------------------------ helpers
  function samePads(n, k, s) {
    // TensorFlow's SAME padding of one side: [before, after] (cnn_helpers.layers._same_pads).
    var out = Math.ceil(n / s);
    var total = Math.max((out - 1) * s + k - n, 0);
    return [Math.floor(total / 2), total - Math.floor(total / 2)];
  }

  function outputSide(n, k, s, padding) {
    if (padding === "same") return Math.ceil(n / s);
    if (padding === "valid") {
      if (k > n) throw new Error("a " + k + "-wide window does not fit in " + n + " pixels with padding='valid'");
      return Math.floor((n - k) / s) + 1;
    }
    throw new Error("padding must be 'valid' or 'same'; got " + padding);
  }

  // ------------------------------------------------------------ layers (mirror cnn_helpers.layers)
  /** conv2d(x, kernel, bias, stride, padding): x {data, shape [H, W, Cin]}, kernel {data, shape [kh, kw, Cin, Cout]}. */
  function conv2d(x, kernel, bias, stride, padding) {
    var H = x.shape[0], W = x.shape[1], C = x.shape[2];
    var kh = kernel.shape[0], kw = kernel.shape[1], cin = kernel.shape[2], cout = kernel.shape[3];
    if (cin !== C) throw new Error("conv2d: kernel expects C_in=" + cin + " but x has " + C);
    var sh = stride[0], sw = stride[1];
    padding = padding || "valid";
    var oh = outputSide(H, kh, sh, padding), ow = outputSide(W, kw, sw, padding);
    var top = padding === "same" ? samePads(H, kh, sh)[0] : 0;
    var left = padding === "same" ? samePads(W, kw, sw)[0] : 0;
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

  /** max_pool2d(x, pool, stride, padding): the largest value of each window, channel by channel. */
  function maxPool2d(x, pool, stride, padding) {
    var H = x.shape[0], W = x.shape[1], C = x.shape[2];
    var ph = pool[0], pw = pool[1];
    stride = stride || pool;
    padding = padding || "valid";
    var sh = stride[0], sw = stride[1];
    var oh = outputSide(H, ph, sh, padding), ow = outputSide(W, pw, sw, padding);
    var top = padding === "same" ? samePads(H, ph, sh)[0] : 0;
    var left = padding === "same" ? samePads(W, pw, sw)[0] : 0;
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
  function base64ToBytes(text) {
    var bin = atob(text), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }

  function inflate(bytes) {
    // zlib "deflate" data; DecompressionStream reads local data, so this works on file:// too.
    if (typeof DecompressionStream === "undefined") {
      return Promise.reject(new Error("this browser has no DecompressionStream; use a current Chrome, Edge, Firefox or Safari"));
    }
    var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
    return new Response(stream).arrayBuffer().then(function (buf) { return new Uint8Array(buf); });
  }

  /** Decode window.CNN_MODEL into a model {spec, layers: [{..., kernel, bias}]}; returns a Promise. */
  function loadModel(spec) {
    if (!spec || spec.format !== "cnn-book-model/1") {
      return Promise.reject(new Error("unknown model file format " + (spec && spec.format)));
    }
    return inflate(base64ToBytes(spec.data)).then(function (shuffled) {
      var n = spec.n_values;
      if (shuffled.length !== 4 * n) throw new Error("model data has " + shuffled.length + " bytes, expected " + 4 * n);
      // Undo the byte regrouping: byte b of value i was stored at b * n + i (little-endian float32).
      var bytes = new Uint8Array(4 * n);
      for (var b = 0; b < 4; b++) for (var i = 0; i < n; i++) bytes[4 * i + b] = shuffled[b * n + i];
      var view = new DataView(bytes.buffer), values = new Float64Array(n);
      for (var k = 0; k < n; k++) values[k] = view.getFloat32(4 * k, true);
      var layers = spec.layers.map(function (l) {
        var layer = Object.assign({}, l);
        (l.params || []).forEach(function (p) {
          var size = p.shape.reduce(function (a, d) { return a * d; }, 1);
          layer[p.name] = { data: values.subarray(p.offset, p.offset + size), shape: p.shape };
        });
        return layer;
      });
      return { spec: spec, layers: layers, inputShape: spec.input_shape, meta: spec.meta || {} };
    });
  }

  /** Every layer's output for one input (Float64Array or array of 784 values in [0, 1]); the last is the probabilities. */
  function forward(model, input) {
    var x = { data: input instanceof Float64Array ? input : Float64Array.from(input), shape: model.inputShape.slice() };
    var outputs = [];
    for (var li = 0; li < model.layers.length; li++) {
      var l = model.layers[li];
      if (l.type === "conv2d") x = activate(conv2d(x, l.kernel, l.bias, l.strides, l.padding), l.activation);
      else if (l.type === "max_pool2d") x = maxPool2d(x, l.pool, l.strides, l.padding);
      else if (l.type === "flatten") x = flatten(x);
      else if (l.type === "dense") x = activate(dense(x, l.kernel, l.bias), l.activation);
      else throw new Error("unknown layer type " + l.type);
      outputs.push(x);
    }
    return outputs;
  }

  /** Probabilities for one uint8 digit (784 grey levels): the network sees pixels / 255, as in training. */
  function predictPixels(model, pixels) {
    var x = new Float64Array(pixels.length);
    for (var i = 0; i < x.length; i++) x[i] = pixels[i] / 255;
    var outs = forward(model, x);
    return outs[outs.length - 1].data;
  }

  // ------------------------------------------------------------ preprocessing (book_tools.draw_page.preprocess_drawing)
  var SIDE = 28, BOX = 20, CENTRE = 14;

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
   * {pixels: Uint8Array(784), box: [r0, r1, c0, c1], size: [th, tw], offset: [top, left]}.
   * Steps: bounding box of the ink; scale the longer side to 20 pixels by area
   * averaging; shift so the centre of mass lands on pixel (14, 14); grey levels 0..255.
   */
  function preprocess(grey, height, width) {
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

  root.CNN = {
    conv2d: conv2d, relu: relu, maxPool2d: maxPool2d, flatten: flatten, dense: dense, softmax: softmax,
    loadModel: loadModel, forward: forward, predictPixels: predictPixels,
    preprocess: preprocess, benchmark: benchmark, base64ToBytes: base64ToBytes,
    SIDE: SIDE, BOX: BOX, CENTRE: CENTRE
  };
})(typeof window !== "undefined" ? window : globalThis);
