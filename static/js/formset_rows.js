/*
 * Rows added in place to a Django formset, without reloading the page (what was typed stays).
 *
 * Markup: a link [data-formset-add="<prefix>"] (its href reloads the page with more rows: the way
 * without JavaScript), a <template data-formset-template="<prefix>"> holding the formset's
 * empty_form as a row (its names and ids carry "__prefix__"), a container
 * [data-formset-rows="<prefix>"] the rows go into, and the management form's inputs
 * <prefix>-TOTAL_FORMS and <prefix>-MAX_NUM_FORMS. Elements [data-formset-reload-hint="<prefix>"]
 * (the "reloads the form" note) are hidden once the script runs. No inline script: the pages are
 * served under a Content-Security-Policy with script-src 'self'.
 */
(function () {
  "use strict";

  function setUp(link) {
    var prefix = link.getAttribute("data-formset-add");
    var template = document.querySelector('template[data-formset-template="' + prefix + '"]');
    var rows = document.querySelector('[data-formset-rows="' + prefix + '"]');
    var total = document.querySelector('input[name="' + prefix + '-TOTAL_FORMS"]');
    var max = document.querySelector('input[name="' + prefix + '-MAX_NUM_FORMS"]');
    if (!template || !rows || !total) {
      return;  // the page lacks a piece: the link keeps reloading the page
    }
    var limit = max ? parseInt(max.value, 10) : Infinity;

    function refresh() {
      var full = parseInt(total.value, 10) >= limit;
      link.hidden = full;
      link.setAttribute("aria-disabled", full ? "true" : "false");
    }

    document.querySelectorAll('[data-formset-reload-hint="' + prefix + '"]').forEach(function (hint) {
      hint.hidden = true;
    });

    link.addEventListener("click", function (event) {
      event.preventDefault();
      var index = parseInt(total.value, 10);
      if (index >= limit) {
        return;
      }
      var html = template.innerHTML.replace(/__prefix__/g, String(index));
      var holder = document.createElement("tbody");
      holder.innerHTML = html;
      var row = holder.firstElementChild;
      row.querySelectorAll("[data-row-number]").forEach(function (cell) {
        cell.textContent = String(index + 1);
      });
      rows.appendChild(row);
      total.value = String(index + 1);
      refresh();
      var first = row.querySelector("input, select, textarea");
      if (first) {
        first.focus();
      }
    });
    refresh();
  }

  document.querySelectorAll("[data-formset-add]").forEach(setUp);
})();
