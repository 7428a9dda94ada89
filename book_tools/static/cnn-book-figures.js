// Figures and wide outputs, at every width (book_tools/sphinx_ext.py adds this file).
//
// 1. Every figure fits its column (cnn-book.css); a click or tap opens it full size:
//    each output image is wrapped in a link to its own PNG, where the phone's zoom
//    works. The link's name is the figure's alt text, so a screen reader says what
//    opens.
// 2. A wide text output or table scrolls sideways inside its box. The box gets the
//    class "cnn-more-right" while more lies to its right ("cnn-more-left" to its
//    left), which cnn-book.css shows as an inner shadow on that side: a cue that the
//    box scrolls. Updated on scroll and when the window changes size.
(function () {
  "use strict";
  function linkFigures() {
    document.querySelectorAll("div.cell_output img, figure img").forEach(function (img) {
      // A figure stored at twice its pixel density is shown scaled, and Sphinx already
      // wraps it in a link to its PNG ("image-reference"): that link is used as it is.
      const sphinxLink = img.closest("a.image-reference");
      if ((img.closest("a") && !sphinxLink) || !img.getAttribute("src")) return;
      const link = sphinxLink || document.createElement("a");
      if (!sphinxLink) {
        link.href = img.currentSrc || img.src;
        img.parentNode.insertBefore(link, img);
        link.appendChild(img);
      }
      link.classList.add("cnn-figure-link");
      link.target = "_blank";
      link.rel = "noopener";
      const alt = (img.getAttribute("alt") || "").trim();
      const open = /^zh/.test(document.documentElement.lang) ? "打开原尺寸图片" : "Open full size";
      link.setAttribute("aria-label", open + (alt ? ": " + alt : ""));
    });
  }
  const WIDE = "div.cell_input div.highlight pre, div.cell_output pre, div.cell_output .output, " +
    ".pst-scrollable-table-container";
  function mark(box) {
    const more = box.scrollWidth - box.clientWidth;
    box.classList.toggle("cnn-more-right", more > 1 && box.scrollLeft < more - 1);
    box.classList.toggle("cnn-more-left", more > 1 && box.scrollLeft > 1);
  }
  function markAll() {
    document.querySelectorAll(WIDE).forEach(mark);
  }
  function start() {
    linkFigures();
    document.querySelectorAll(WIDE).forEach(function (box) {
      box.addEventListener("scroll", function () { mark(box); }, { passive: true });
    });
    markAll();
    window.addEventListener("resize", markAll);
    window.addEventListener("load", markAll);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
