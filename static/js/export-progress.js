/* The Exports page: while an export runs, its <progress> element and state follow the status
   JSON (GET /api/v1/exports/{id}/, read every second); once done, the download link shows. Without
   script, the page's refresh link does the same by hand. */
(function () {
  "use strict";
  function watch(section) {
    var url = section.getAttribute("data-export-status-url");
    var bar = section.querySelector("progress");
    var state = section.querySelector("[data-export-state]");
    var download = section.querySelector("[data-testid=export-download]");
    var error = section.querySelector("[data-export-error]");
    var refresh = section.querySelector("[data-export-refresh]");
    function show(data) {
      bar.value = data.progress;
      bar.textContent = data.progress + " %";
      state.textContent = data.state_label || data.state;
      if (data.state === "done" && download) {
        download.href = data.download_url;
        download.classList.remove("d-none");
      }
      if (data.state === "failed") {
        error.textContent = data.error;
        error.classList.remove("d-none");
      }
      if (data.state === "done" || data.state === "failed" || data.state === "expired") {
        refresh.classList.add("d-none");
        return true;
      }
      return false;
    }
    function poll() {
      fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (data) {
          if (data === null || !show(data)) { window.setTimeout(poll, 1000); }
        })
        .catch(function () { window.setTimeout(poll, 3000); });
    }
    poll();
  }
  function start() {
    var sections = document.querySelectorAll("[data-export-status-url]");
    for (var i = 0; i < sections.length; i += 1) { watch(sections[i]); }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());
