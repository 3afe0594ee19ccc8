/* A button marked `data-print` opens the browser's print dialogue (on paper, or to PDF). */
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-print]")) { window.print(); }
  });
}());
