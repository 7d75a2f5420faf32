// The import page's file picker also takes a dropped file (issue 18, item 5). Without this script the
// picker works as it is. A file over the upload limit is refused here before it is sent (the server
// refuses it too).
(function () {
  "use strict";
  function setUp(form) {
    var zone = form.querySelector("[data-dropzone]");
    var input = form.querySelector('input[type="file"]');
    var name = form.querySelector("[data-dropzone-name]");
    if (!zone || !input) {
      return;
    }
    var maxBytes = parseInt(form.getAttribute("data-max-bytes") || "0", 10);
    function show(file, tooLarge) {
      if (!name) {
        return;
      }
      name.textContent = tooLarge ? form.getAttribute("data-too-large") || "" : file ? file.name : "";
      name.className = tooLarge ? "field-error dropzone-name" : "hint dropzone-name";
    }
    function check() {
      var file = input.files && input.files[0];
      var tooLarge = !!(file && maxBytes && file.size > maxBytes);
      show(file, tooLarge);
      return !tooLarge;
    }
    ["dragenter", "dragover"].forEach(function (type) {
      zone.addEventListener(type, function (e) {
        e.preventDefault();
        zone.classList.add("dragging");
      });
    });
    ["dragleave", "dragend"].forEach(function (type) {
      zone.addEventListener(type, function () {
        zone.classList.remove("dragging");
      });
    });
    zone.addEventListener("drop", function (e) {
      e.preventDefault();
      zone.classList.remove("dragging");
      if (e.dataTransfer && e.dataTransfer.files && e.dataTransfer.files.length) {
        input.files = e.dataTransfer.files;
        check();
      }
    });
    input.addEventListener("change", check);
    form.addEventListener("submit", function (e) {
      if (!check()) {
        e.preventDefault();
      }
    });
  }
  document.querySelectorAll("form[data-import-upload]").forEach(setUp);
})();
