"use strict";
// The gate scanner (templates/scan.html): its settings come from the #scan-config JSON block.
(() => {
  const cfg = JSON.parse(document.getElementById("scan-config").textContent);
  const $ = (id) => document.getElementById(id);
  const code = $("code"), gate = $("gate"), status = $("status"), result = $("result");
  const WARN = new Set(["already_admitted", "not_inside", "reentry_not_allowed"]);
  const strings = cfg.strings;
  let direction = "in", busy = false, hideTimer = null, lastCamera = ["", 0];

  // an HTTP answer that is not a result, in words (never a bare status number)
  function httpError(code) {
    const errors = strings.http_errors;
    if (code >= 500) return errors["5xx"];
    return errors[String(code)] || errors.other;
  }
  // a camera refusal (DOMException name) in words
  function cameraError(err) {
    const errors = strings.camera_errors;
    return (err && errors[err.name]) || errors.other;
  }
  // a stored phone as people read it: +821012345678 -> 010-1234-5678 (as domain.participants.display_phone)
  function displayPhone(e164) {
    if (!e164) return "";
    if (!e164.startsWith("+82")) return e164;
    const n = "0" + e164.slice(3);
    if (n.startsWith("02")) return n.length === 9 ? `02-${n.slice(2, 5)}-${n.slice(5)}` : `02-${n.slice(2, 6)}-${n.slice(6)}`;
    if (n.length === 11) return `${n.slice(0, 3)}-${n.slice(3, 7)}-${n.slice(7)}`;
    if (n.length === 10) return `${n.slice(0, 3)}-${n.slice(3, 6)}-${n.slice(6)}`;
    return n;
  }

  function setDirection(value) {
    direction = value;
    document.querySelectorAll("#directions button").forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.direction === value)));
  }
  function fitGate() {
    const opt = gate.options[gate.selectedIndex];
    const gateDirection = opt ? opt.dataset.direction : "both";
    $("directions").hidden = gateDirection !== "both";
    setDirection(gateDirection === "out" ? "out" : "in");
  }
  document.querySelectorAll("#directions button").forEach((b) => b.addEventListener("click", () => { setDirection(b.dataset.direction); code.focus(); }));
  gate.addEventListener("change", fitGate);
  fitGate();

  function nonce() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return String(Date.now()) + "-" + Math.random().toString(16).slice(2);
  }
  function show(kind, title, name, reason) {
    result.className = kind;
    $("result-title").textContent = title;
    $("result-name").textContent = name || "";
    $("result-reason").textContent = reason || "";
    clearTimeout(hideTimer);
    hideTimer = setTimeout(hide, kind === "ok" ? 1800 : 3500);
  }
  function hide() { result.className = ""; code.value = ""; code.focus(); }
  result.addEventListener("click", hide);
  document.addEventListener("keydown", (e) => { if (result.className && e.key === "Escape") hide(); });

  async function submit(body) {
    if (busy) return;
    busy = true;
    status.textContent = strings.working;
    const sentDirection = body.direction || direction;
    try {
      const response = await fetch(`/api/v1/events/${cfg.event_id}/attendance`, {
        method: "POST",
        credentials: "same-origin",
        headers: {"Content-Type": "application/json", "Accept-Language": cfg.locale, "X-CSRF-Token": cfg.csrf},
        body: JSON.stringify({gate_id: gate.value, direction, nonce: nonce(),
                              device: {platform: "web", version: navigator.userAgent.slice(0, 100)}, ...body}),
      });
      const data = await response.json().catch(() => null);
      const refused = sentDirection === "out" ? strings.exit_denied : strings.denied;
      if (!response.ok) {
        show("bad", refused, "", (data && data.error && data.error.message) || httpError(response.status));
      } else {
        const name = data.participant ? data.participant.name : "";
        const denied = data.result === "denied";
        const kind = denied ? (WARN.has(data.code) ? "warn" : "bad") : "ok";
        show(kind, denied ? refused : strings[data.result], name, denied ? data.message : "");
      }
      status.textContent = strings.ready;
    } catch (err) {
      show("bad", sentDirection === "out" ? strings.exit_denied : strings.denied, "", strings.offline);
      status.textContent = strings.offline;
    } finally {
      busy = false;
    }
  }

  $("scan-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const value = code.value.trim();
    if (value) submit({token: value, method: "qr"});
    code.value = "";
  });
  // keep the wedge scanner's keystrokes going to the input
  document.addEventListener("click", (e) => {
    if (!result.className && !e.target.closest("input, select, button, video, #matches")) code.focus();
  });

  // camera scanning where the browser can decode QR codes itself
  // (a page not served securely has no camera at all: the button says why when pressed)
  if ("BarcodeDetector" in window || (window.isSecureContext === false)) {
    const button = $("camera"), video = $("video");
    let stream = null;
    button.hidden = false;
    button.addEventListener("click", async () => {
      if (stream) { stream.getTracks().forEach((tr) => tr.stop()); stream = null; video.style.display = "none"; button.textContent = strings.camera; return; }
      if (window.isSecureContext === false || !navigator.mediaDevices || !("BarcodeDetector" in window)) {
        status.textContent = strings.camera_errors.insecure; return;
      }
      try {
        stream = await navigator.mediaDevices.getUserMedia({video: {facingMode: "environment"}});
      } catch (err) { status.textContent = cameraError(err); return; }
      video.srcObject = stream; video.style.display = "block"; await video.play();
      button.textContent = strings.camera_stop;
      const detector = new BarcodeDetector({formats: ["qr_code"]});
      const tick = async () => {
        if (!stream) return;
        try {
          const codes = await detector.detect(video);
          const value = codes.length ? codes[0].rawValue : "";
          const now = Date.now();
          if (value && !result.className && (value !== lastCamera[0] || now - lastCamera[1] > 4000)) {
            lastCamera = [value, now];
            await submit({token: value, method: "qr"});
          }
        } catch (err) { /* a frame that could not be read */ }
        setTimeout(tick, 150);
      };
      tick();
    });
  }

  // manual check-in (staff keys): search by name, email, phone or its last four digits
  const searchForm = $("search-form");
  if (searchForm) {
    searchForm.addEventListener("submit", async (e) => {
      e.preventDefault();
      const q = $("search").value.trim();
      const box = $("matches");
      box.textContent = "";
      if (!q) return;
      let response;
      try {
        response = await fetch(`/api/v1/events/${cfg.event_id}/participants?limit=20&q=${encodeURIComponent(q)}`,
                               {credentials: "same-origin", headers: {"Accept-Language": cfg.locale}});
      } catch (err) { box.textContent = strings.offline; return; }
      if (!response.ok) { box.textContent = httpError(response.status); return; }
      const data = await response.json();
      if (!data.items.length) { box.textContent = strings.no_matches; return; }
      for (const person of data.items) {
        const button = document.createElement("button");
        button.type = "button";
        const parts = [person.name, person.email, displayPhone(person.phone)].filter(Boolean);
        button.textContent = `${parts.join(" · ")} — ${strings.check_in}`;
        button.addEventListener("click", () => submit({participant_id: person.id, method: "manual"}));
        box.appendChild(button);
      }
    });
  }
})();
