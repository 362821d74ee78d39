// Progressive enhancement of the contract form; every page works without this file.
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
