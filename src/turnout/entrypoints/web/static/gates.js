// Gates and keys pages: the copy button beside a new key (the page works without it: the key is
// shown as text and selects with one click).
(function () {
  "use strict";
  function copy(button) {
    var target = document.getElementById(button.getAttribute("data-copy-target"));
    var status = document.querySelector("[data-copy-status]");
    if (!target) return;
    var text = target.textContent.trim();
    var say = function (attribute) {
      if (status) status.textContent = button.getAttribute(attribute) || "";
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(
        function () { say("data-copied"); },
        function () { select(target); say("data-copy-failed"); }
      );
    } else {
      select(target);
      say("data-copy-failed");
    }
  }
  function select(element) {
    var range = document.createRange();
    range.selectNodeContents(element);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy-target]");
    if (button) copy(button);
  });
})();
