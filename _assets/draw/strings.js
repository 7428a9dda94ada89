/* The words of the "Draw a digit" page's JavaScript, in English (en) and Chinese (zh).
 *
 * draw.js builds every status line, label, aria-label, error message and "how was this
 * number computed" explanation from window.CNN_STRINGS[language]: "zh" when the page's
 * <html lang> starts with "zh" (the Chinese edition), "en" otherwise. Load this file
 * before draw.js. An entry is a string, or a function of the numbers and names its
 * message holds; draw.js passes the numbers already formatted (toFixed, toLocaleString),
 * so only the words differ between the languages. Both tables have the same keys, except
 * modelFile, which only the Chinese table has.
 *
 * modelFile holds the words of cnn.js's errors about a damaged, unsupported or wrong-format
 * model file (the book's model.js or one the reader opens). cnn.js looks the table up when
 * it words an error, with the same choice of language, so this file may load after it; the
 * English words live in cnn.js only (MODEL_FILE_EN), which it uses for English pages and
 * when this file is not loaded (Node, the tests); a key missing here falls back to them. cnn.js's programming errors (a
 * layer called with the wrong shapes) stay in English.
 */
(function () {
  "use strict";

  var EN_BUILD = "build the book with `make book` (python -m book_tools.build), which exports it next to this page.";
  var ZH_BUILD = "请用 `make book`（python -m book_tools.build）构建本书，它会把模型导出到本页旁边。";

  var en = {
    // loading the page
    noCnn: "cnn.js did not load.",
    noModelScript: "The page does not load model.js.",
    modelMissing: "The trained model is missing: " + EN_BUILD,
    modelDamaged: function (why) {
      return "The model file model.js is damaged (" + (why || "it does not define window.CNN_MODEL") +
        "). Rebuild the book with `make book`.";
    },
    digitsMissing: "The sample digits (digits.js) are missing: " + EN_BUILD,
    modelNotLoaded: function (why) { return "The model could not be loaded: " + why; },
    bookNet: "the book's CNN",
    describeModel: function (m) {  // m: {params, recipe, acc}, each null when unknown
      var r = m.recipe;
      return "The network: " + (m.params ? m.params + " parameters" : "the book's CNN") +
        (r ? ", trained with " + r.optimizer + ", " + r.epochs + " epochs, batch " + r.batch_size + ", seed " + r.seed : "") +
        (m.acc ? "; test accuracy " + m.acc + "% on the 10,000 MNIST test images" : "") + ".";
    },
    // the prediction
    timing: function (ms) { return "Last forward pass: " + ms + " ms in your browser."; },
    sure: function (pct) { return pct + "% sure"; },
    drawPrompt: "Draw a digit",
    announce: function (a, b) {  // a, b: {name, digit, pct}; b is the second network or null
      return "Prediction: " + a.digit + ", " + a.pct + " percent sure" +
        (b ? "; " + b.name + ": " + b.digit + ", " + b.pct + " percent" : "") + ".";
    },
    barAria: function (k) { return "Probability of " + k + ": show how it was computed"; },
    sampleTitle: function (index, label) { return "MNIST test image #" + index + " (a " + label + ")"; },
    sampleAria: function (index, label) { return "Load MNIST test image " + index + ", a " + label; },
    // the layers' titles and labels
    convN: function (n) { return "Convolution " + n; },
    poolN: function (n) { return "Max pooling " + n; },
    dense: "Dense",
    denseN: function (n) { return "Dense " + n; },
    outputLayer: "Output layer (softmax)",
    convShape: function (c, h, w) { return ": " + c + " feature maps, " + h + "\u00d7" + w; },
    poolShape: function (ph, pw, c, h, w) { return " (" + ph + "\u00d7" + pw + "): " + c + " maps, " + h + "\u00d7" + w; },
    denseShape: function (relu, units, flat) {  // flat: how many flattened values feed it, or null
      return (relu ? " + ReLU" : "") + ": " + units + " units, from the " +
        (flat !== null ? flat + " flattened values" : "previous layer");
    },
    mapsAria: function (name) {
      return "Feature maps of layer " + name + ". Click a cell, or use the arrow keys, to see how its number was computed.";
    },
    // how a number was computed
    pad: "pad",
    bigMapAria: function (ch) { return "Map " + ch + " of this layer, enlarged; the chosen cell is outlined"; },
    whereUnit: function (ch) { return "unit " + ch; },
    whereCell: function (ch, i, j) { return "map " + ch + ", row " + i + ", column " + j; },
    head: function (label, where) { return label + ", " + where + ": "; },
    closeView: "Close this view",
    theInput: "the input",
    mapsOf: function (label) { return "the maps of " + label; },
    convWindow: function (h, w, source, rows, cols, n) {  // rows, cols: the indices, joined
      return "The " + h + "\u00d7" + w + " window of " + source + " at rows " + rows + " and columns " + cols +
        ", in each of its " + n + " channel" + (n > 1 ? "s" : "") + ": window \u00d7 kernel = products, summed.";
    },
    channel: function (c) { return "ch " + c; },
    poolWindow: function (h, w, rows, cols, ch, label) {
      return "The " + h + "\u00d7" + w + " window at rows " + rows + " and columns " + cols + " of map " + ch + " of " +
        label + "; the largest value wins:";
    },
    winner: ["Winner: ", " (marked)."],  // before and after the winning number
    denseIntro: function (inputs, n) {
      return "Each of the " + inputs + " inputs times its weight; the " + n + " largest contributions (by size):";
    },
    contribHeads: ["input", "value", "weight", "product"],
    sum: "Sum ",
    plusBias: " + bias ",
    thenRelu: ", then ReLU: max(0, \u2026) = ",
    thenSoftmax: " (the score); softmax over all ten scores gives ",
    denseField: "A dense unit depends on every pixel of the input.",
    field: function (r0, r1, c0, c1) {
      return "It depends on input rows " + r0 + "\u2013" + r1 + " and columns " + c0 + "\u2013" + c1 + " (outlined on the input).";
    },
    // moving the digit
    shifted: function (down, right) {  // rows down, columns right (negative: up, left)
      var words = [];
      if (down) words.push(Math.abs(down) + (down > 0 ? " down" : " up"));
      if (right) words.push(Math.abs(right) + (right > 0 ? " right" : " left"));
      return words.length ? "Moved " + words.join(", ") + " (pixels)" : "Not moved";
    },
    // your own network
    ownFix: "Write it with cnn_helpers.export_for_page(model, \"my_net.js\") and open that file.",
    unreadable: function (file) { return "The file " + file + " could not be read."; },
    wrongInput: function (file, got, want) {
      return "The model file " + file + " cannot be used: it expects inputs of shape " + got + ", the page makes " + want + ".";
    },
    wrongOutput: function (file) {
      return "The model file " + file + " cannot be used: its last layer must be 10 softmax units.";
    },
    loaded: function (file, description) { return "Loaded " + file + ": " + description; },
    describeNet: function (params, layers) { return (params ? params + " parameters, " : "") + layers + "."; },
    mapsOfNet: "Maps of: "
    // cnn.js words its model-file errors in English itself (MODEL_FILE_EN there);
    // only the Chinese table below carries them (modelFile).
  };

  var zh = {
    // loading the page
    noCnn: "cnn.js 没有加载。",
    noModelScript: "本页没有加载 model.js。",
    modelMissing: "缺少训练好的模型：" + ZH_BUILD,
    modelDamaged: function (why) {
      return "模型文件 model.js 已损坏（" + (why || "它没有定义 window.CNN_MODEL") + "）。请用 `make book` 重新构建本书。";
    },
    digitsMissing: "缺少样例数字（digits.js）：" + ZH_BUILD,
    modelNotLoaded: function (why) { return "无法加载模型：" + why; },
    bookNet: "本书的 CNN",
    describeModel: function (m) {
      var r = m.recipe;
      return "本页的网络：" + (m.params ? m.params + " 个参数" : "本书的 CNN") +
        (r ? "，用 " + r.optimizer + " 训练 " + r.epochs + " 轮，批量大小 " + r.batch_size + "，随机种子 " + r.seed : "") +
        (m.acc ? "；在 10,000 张 MNIST 测试图像上的测试准确率为 " + m.acc + "%" : "") + "。";
    },
    // the prediction
    timing: function (ms) { return "上一次前向传播：在你的浏览器中用时 " + ms + " 毫秒。"; },
    sure: function (pct) { return "有 " + pct + "% 的把握"; },
    drawPrompt: "画一个数字",
    announce: function (a, b) {
      return "预测：" + a.digit + "，有百分之 " + a.pct + " 的把握" +
        (b ? "；" + b.name + "：" + b.digit + "，百分之 " + b.pct : "") + "。";
    },
    barAria: function (k) { return "数字 " + k + " 的概率：查看它是怎样算出的"; },
    sampleTitle: function (index, label) { return "MNIST 测试图像 #" + index + "（数字 " + label + "）"; },
    sampleAria: function (index, label) { return "加载 MNIST 测试图像 " + index + "，数字 " + label; },
    // the layers' titles and labels
    convN: function (n) { return "卷积层 " + n; },
    poolN: function (n) { return "最大汇聚层 " + n; },
    dense: "全连接层",
    denseN: function (n) { return "全连接层 " + n; },
    outputLayer: "输出层（softmax）",
    convShape: function (c, h, w) { return "：" + c + " 个特征图，" + h + "\u00d7" + w; },
    poolShape: function (ph, pw, c, h, w) { return "（" + ph + "\u00d7" + pw + "）：" + c + " 个特征图，" + h + "\u00d7" + w; },
    denseShape: function (relu, units, flat) {
      return (relu ? " + ReLU" : "") + "：" + units + " 个单元，输入为" +
        (flat !== null ? "展平后的 " + flat + " 个值" : "上一层的输出");
    },
    mapsAria: function (name) {
      return "层 " + name + " 的特征图。点击一个格子，或使用方向键，查看它的数值是怎样算出的。";
    },
    // how a number was computed
    pad: "填充",
    bigMapAria: function (ch) { return "本层的特征图 " + ch + "，已放大；选中的格子用框标出"; },
    whereUnit: function (ch) { return "单元 " + ch; },
    whereCell: function (ch, i, j) { return "特征图 " + ch + "，行 " + i + "，列 " + j; },
    head: function (label, where) { return label + "，" + where + "："; },
    closeView: "关闭此视图",
    theInput: "输入",
    mapsOf: function (label) { return label + " 的特征图"; },
    convWindow: function (h, w, source, rows, cols, n) {
      return "取" + source + "中行 " + rows + "、列 " + cols + " 处的 " + h + "\u00d7" + w + " 窗口，在它的 " + n +
        " 个通道中各算一遍：窗口 \u00d7 卷积核 = 乘积，再求和。";
    },
    channel: function (c) { return "通道 " + c; },
    poolWindow: function (h, w, rows, cols, ch, label) {
      return label + " 的特征图 " + ch + " 中行 " + rows + "、列 " + cols + " 处的 " + h + "\u00d7" + w + " 窗口；最大的值胜出：";
    },
    winner: ["胜出的值：", "（已标出）。"],
    denseIntro: function (inputs, n) {
      return "全部 " + inputs + " 个输入各自乘以它的权重；最大的 " + n + " 个贡献（按绝对值大小）：";
    },
    contribHeads: ["输入", "值", "权重", "乘积"],
    sum: "总和 ",
    plusBias: " + 偏置 ",
    thenRelu: "，再经过 ReLU：max(0, \u2026) = ",
    thenSoftmax: "（得分）；对全部十个得分做 softmax，得到 ",
    denseField: "全连接层的单元取决于输入的每一个像素。",
    field: function (r0, r1, c0, c1) {
      return "它取决于输入的行 " + r0 + "\u2013" + r1 + "、列 " + c0 + "\u2013" + c1 + "（已在输入上用框标出）。";
    },
    // moving the digit
    shifted: function (down, right) {
      var words = [];
      if (down) words.push((down > 0 ? "向下 " : "向上 ") + Math.abs(down));
      if (right) words.push((right > 0 ? "向右 " : "向左 ") + Math.abs(right));
      return words.length ? "已移动：" + words.join("，") + "（像素）" : "未移动";
    },
    // your own network
    ownFix: "请用 cnn_helpers.export_for_page(model, \"my_net.js\") 写出该文件，再打开它。",
    unreadable: function (file) { return "无法读取文件 " + file + "。"; },
    wrongInput: function (file, got, want) {
      return "无法使用模型文件 " + file + "：它要求形状为 " + got + " 的输入，而本页生成的输入形状为 " + want + "。";
    },
    wrongOutput: function (file) {
      return "无法使用模型文件 " + file + "：它的最后一层必须是 10 个 softmax 单元。";
    },
    loaded: function (file, description) { return "已加载 " + file + "：" + description; },
    describeNet: function (params, layers) { return (params ? params + " 个参数，" : "") + layers + "。"; },
    mapsOfNet: "显示特征图：",
    // cnn.js: a model file that is damaged, cannot be used or has another format
    modelFile: {
      damaged: function (file, why, fix) { return "模型文件 " + file + " 已损坏（" + why + "）。" + fix; },
      unsupported: function (file, why, fix) { return "无法使用模型文件 " + file + "：" + why + "。" + fix; },
      format: function (file, got, want, fix) { return "模型文件 " + file + " 的格式是 " + got + "，而不是 " + want + "。" + fix; },
      bookFix: "请用 `make book` 重新构建本书。",
      noDecompressionStream: "这个浏览器没有 DecompressionStream；请使用新版的 Chrome、Edge、Firefox 或 Safari",
      missingParts: "缺少它的头部、数据或校验和",
      notBase64: "它的数据不是 base64",
      noDecompress: "它的数据无法解压",
      notFloat32: "它的数据不是整数个 float32 值",
      checksum: "它的 SHA-256 不匹配：层或权重被改动过",
      headerNotJson: "它的头部不是 JSON",
      valueCount: function (have, want) { return "它含有 " + have + " 个值，而不是 " + want + " 个"; },
      notFinite: function (k) { return "权重 " + k + " 不是有限的数"; },
      notModelFile: "它不是由 cnn_helpers.export_for_page 写出的模型文件" +
        "（文件里应当只有一行 'window.CNN_MODEL = {...};'，别无其他）",
      notJson: function (detail) { return "它的模型不是有效的 JSON：" + detail; },
      inputShape: function (shape) { return "输入形状 " + shape; },
      noLayers: "它没有任何层",
      layer: function (name) { return "层 " + name; },
      notChained: function (where) { return where + "：它的输入形状不是上一层的输出形状"; },
      layerType: function (where, type, known) { return where + " 的类型是 " + type + "；本页能计算的类型是 " + known.join("、"); },
      activation: function (where, act, known) { return where + " 的激活函数是 " + act + "；本页能计算的激活函数是 " + known.join("、"); },
      stridesPads: function (where) { return where + "：步幅或填充"; },
      window: function (where, win) { return where + "：窗口 " + win; },
      kernelChannels: function (where) { return where + "：卷积核的通道数"; },
      kernelRows: function (where) { return where + "：权重矩阵的行数"; },
      outputShape: function (where) { return where + "：输出形状"; },
      paramPlace: function (where, param) { return where + "：" + param + " 的偏移或形状"; },
      paramPastEnd: function (where, param) { return where + "：" + param + " 超出了数据的末尾"; },
      valuesNeeded: function (need, have) { return "各层需要 " + need + " 个值，数据中有 " + have + " 个"; }
    }
  };

  window.CNN_STRINGS = { en: en, zh: zh };
})();
