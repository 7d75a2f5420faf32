// The scanner's sign-in link: /scan/link#key=<key>. The key is in the fragment, which the browser
// never sends to a server; this script reads it, takes it out of the address bar (and history), puts
// it in the scanner's sign-in form and posts it (POST /scan/signin, with its attempt limit), which
// lands on /scan. Without a key in the fragment (or without this script) the form is there to fill.
(function () {
  "use strict";
  var form = document.getElementById("scan-link-form");
  if (!form) return;
  var fragment = window.location.hash.replace(/^#/, "");
  var key = null;
  fragment.split("&").forEach(function (part) {
    var pair = part.split("=");
    if (pair[0] === "key" && pair.length > 1) {
      try {
        key = decodeURIComponent(pair.slice(1).join("="));
      } catch (error) {
        key = null;
      }
    }
  });
  if (window.location.hash) {
    history.replaceState(null, "", window.location.pathname + window.location.search);
  }
  if (!key) return;
  var status = document.querySelector("[data-link-status]");
  if (status) status.textContent = status.getAttribute("data-signing-in") || "";
  form.elements.key.value = key;
  form.submit();
})();
