// Search from disk (the book opened as file://, without a server).
//
// Sphinx's search shows a snippet of each result by fetching the result's page.
// A browser refuses those requests from file://, so every search logged one error
// per result and showed no snippets. Opened from disk, the book's search lists the
// results by title without snippets, and nothing fails; served (`make serve`, or
// any web server) it shows the snippets as usual.
(function () {
  "use strict";
  if (window.location.protocol === "file:" && typeof DOCUMENTATION_OPTIONS !== "undefined") {
    DOCUMENTATION_OPTIONS.SHOW_SEARCH_SUMMARY = false;
  }
})();
