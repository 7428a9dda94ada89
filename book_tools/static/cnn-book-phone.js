// The book's fix for the sidebar buttons of sphinx-book-theme 1.3 with
// pydata-sphinx-theme 0.17 (upstream: pydata-sphinx-theme#2451, sphinx-book-theme#988).
//
// The cause: pydata-sphinx-theme 0.17 renders its own ".primary-toggle" and
// ".secondary-toggle" buttons in its top navbar, which sphinx-book-theme hides
// (".bd-header button.sidebar-toggle {display: none}"). Both themes then attach
// their click handlers with document.querySelector(".primary-toggle"), which
// returns that first, hidden button. The buttons a reader sees (in the article
// header: the chapter list on the left, "Contents" on the right) get no handler,
// so on a phone neither sidebar ever opens, and on a laptop the chapter list
// never collapses.
//
// The fix: a click on a visible toggle that has no handler is passed on to the
// first toggle of its kind, the one that has the themes' handlers (which open the
// sidebar as a dialog on narrow screens, and collapse it on wide ones). Once the
// themes attach their handlers to every toggle, remove this file: the browser test
// "phone navigation" checks that one click opens exactly one dialog.
(function () {
  "use strict";
  function forward(kind) {
    const all = Array.from(document.querySelectorAll("button." + kind));
    const target = all[0];
    all.slice(1).forEach(function (button) {
      button.addEventListener("click", function (event) {
        event.preventDefault();
        event.stopPropagation();
        button.blur(); // no tooltip left showing when the dialog gives focus back
        target.click();
      });
    });
  }
  // A link followed from a sidebar dialog closes it. A jump to a section of the
  // same page ("Contents") is made after the dialog has closed and the sidebar
  // has gone back to its place, so the section ends up at the top of the screen.
  function closeOnLink(id) {
    const dialog = document.getElementById(id);
    if (!dialog) return;
    dialog.addEventListener("click", function (event) {
      const link = event.target.closest("a[href]");
      if (!link || !dialog.open) return;
      const url = new URL(link.href, window.location.href);
      const samePage = url.pathname === window.location.pathname && url.hash;
      if (!samePage) {
        dialog.close();
        return;
      }
      event.preventDefault();
      dialog.close();
      const target = document.getElementById(decodeURIComponent(url.hash.slice(1)));
      if (window.location.hash !== url.hash) history.pushState(null, "", url.hash);
      if (target) target.scrollIntoView();
    });
  }
  function run() {
    forward("primary-toggle");
    forward("secondary-toggle");
    closeOnLink("pst-primary-sidebar-modal");
    closeOnLink("pst-secondary-sidebar-modal");
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", run);
  } else {
    run();
  }
})();
