// Progressive enhancement; every page works without this file. What only the script-less page needs
// (the "Update the choices" button) is marked .nojs and hidden once this runs.
document.documentElement.classList.add("js");
(function () {
  "use strict";
  // After a failed save the error summary takes the focus, so it is read first.
  var summary = document.querySelector("[data-focus-first]");
  if (summary) { summary.focus(); }
})();
(function () {
  "use strict";
  var form = document.querySelector("form[data-contract-form]");
  if (!form) { return; }
  // Suggest the customer id from the name until the id is edited by hand.
  var name = form.querySelector("#name");
  var id = form.querySelector("#customer_id:not([readonly])");
  if (name && id) {
    var touched = id.value !== "";
    id.addEventListener("input", function () { touched = id.value !== ""; });
    name.addEventListener("input", function () {
      if (touched) { return; }
      id.value = name.value.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase()
        .replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 63);
    });
  }
  // Changing the region or the products updates the choices offered: the same re-render the
  // "Update the choices" button asks for without JavaScript.
  // The re-rendered form puts the focus back on the field that was changed, for keyboard users.
  var refresh = form.querySelector("button[name='action'][value='refresh']");
  var focus = form.querySelector("input[name='focus']");
  form.querySelectorAll("[data-refresh]").forEach(function (input) {
    input.addEventListener("change", function () {
      if (focus) { focus.value = input.id; }
      if (refresh) { form.requestSubmit(refresh); }
    });
  });
})();

// Legal's pages: a live batch progress bar (polling; the page shows the same without this file)
// and dropping a file on the upload field.
(function () {
  "use strict";
  var batch = document.querySelector("[data-batch-progress]");
  if (batch && batch.getAttribute("data-state") === "running") {
    var bar = batch.querySelector("progress");
    var poll = function () {
      fetch(batch.getAttribute("data-batch-progress"), { credentials: "same-origin" })
        .then(function (response) { return response.json(); })
        .then(function (p) {
          if (p.state !== "running") { window.location.reload(); return; }
          if (bar) { bar.value = p.percent; bar.textContent = p.percent + " %"; }
          var text = batch.querySelector("[data-batch-text]");
          var template = batch.getAttribute("data-counts");
          if (text && template) {
            text.textContent = template.replace(/\{(\w+)\}/g, function (m, key) { return key in p ? p[key] : m; });
          }
          window.setTimeout(poll, 1000);
        })
        .catch(function () { window.setTimeout(poll, 3000); });
    };
    window.setTimeout(poll, 1000);
  }
  document.querySelectorAll("[data-dropzone]").forEach(function (zone) {
    var input = zone.querySelector("input[type='file']");
    if (!input) { return; }
    zone.addEventListener("dragover", function (event) { event.preventDefault(); zone.classList.add("dragover"); });
    zone.addEventListener("dragleave", function () { zone.classList.remove("dragover"); });
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      zone.classList.remove("dragover");
      if (event.dataTransfer && event.dataTransfer.files.length) { input.files = event.dataTransfer.files; }
    });
  });
})();

// Phones: a list table's rows stack; each cell is labelled with its column's heading.
(function () {
  "use strict";
  document.querySelectorAll("table.list").forEach(function (table) {
    var heads = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) {
      return th.textContent.replace(/[▲▼]/g, "").trim();
    });
    table.querySelectorAll("tbody tr").forEach(function (row) {
      Array.prototype.forEach.call(row.children, function (cell, i) {
        if (heads[i] && !cell.hasAttribute("data-label")) { cell.setAttribute("data-label", heads[i]); }
      });
    });
  });
})();
