// The import form: refuse a file over the size limit before sending it, and show that the import is working.
(function () {
  var form = document.getElementById("import-form");
  if (!form) { return; }
  var limit = Number(form.getAttribute("data-max-bytes"));
  var file = document.getElementById("file");
  var warning = document.getElementById("too-large");
  var button = document.getElementById("submit");
  form.addEventListener("submit", function (event) {
    var chosen = file.files && file.files[0];
    if (chosen && limit && chosen.size > limit) {
      event.preventDefault();
      warning.hidden = false;
      return;
    }
    warning.hidden = true;
    button.disabled = true;
    button.textContent = button.getAttribute("data-busy");
  });
  // a page shown again from the back-forward cache must not keep the button disabled
  window.addEventListener("pageshow", function () { button.disabled = false; button.textContent = "导入"; });
})();
