/* A page that comes back with errors moves the focus to them: the form's error summary when it
   has one, else the first field marked invalid, else the first error message. A screen reader
   reads it at once, and the keyboard starts there. */
(function () {
  "use strict";
  function focusErrors() {
    var main = document.getElementById("main");
    if (!main) { return; }
    var target = main.querySelector("[data-testid=form-errors]")
      || main.querySelector("input.is-invalid, select.is-invalid, textarea.is-invalid")
      || main.querySelector(".alert-danger");
    if (!target) { return; }
    if (!target.matches("input, select, textarea")) { target.setAttribute("tabindex", "-1"); }
    target.focus();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", focusErrors);
  } else {
    focusErrors();
  }
}());
