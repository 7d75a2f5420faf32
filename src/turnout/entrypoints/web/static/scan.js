"use strict";
// The gate scanner (templates/scan.html): its settings come from the #scan-config JSON block.
(() => {
  const cfg = JSON.parse(document.getElementById("scan-config").textContent);
  const $ = (id) => document.getElementById(id);
  const code = $("code"), gate = $("gate"), status = $("status"), result = $("result");
  const WARN = new Set(["already_admitted", "not_inside", "reentry_not_allowed"]);
  let direction = "in", busy = false, hideTimer = null, lastCamera = ["", 0];

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
    status.textContent = "…";
    try {
      const response = await fetch(`/api/v1/events/${cfg.event_id}/attendance`, {
        method: "POST",
        credentials: "same-origin",
        headers: {"Content-Type": "application/json", "Accept-Language": cfg.locale, "X-CSRF-Token": cfg.csrf},
        body: JSON.stringify({gate_id: gate.value, direction, nonce: nonce(),
                              device: {platform: "web", version: navigator.userAgent.slice(0, 100)}, ...body}),
      });
      const data = await response.json();
      if (!response.ok) {
        show("bad", cfg.strings.denied, "", (data.error && data.error.message) || response.status);
      } else {
        const name = data.participant ? data.participant.name : "";
        const kind = data.result === "denied" ? (WARN.has(data.code) ? "warn" : "bad") : "ok";
        show(kind, cfg.strings[data.result], name, data.result === "denied" ? data.message : "");
      }
      status.textContent = cfg.strings.ready;
    } catch (err) {
      show("bad", cfg.strings.denied, "", cfg.strings.offline);
      status.textContent = cfg.strings.offline;
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
  if ("BarcodeDetector" in window && navigator.mediaDevices) {
    const button = $("camera"), video = $("video");
    let stream = null;
    button.hidden = false;
    button.addEventListener("click", async () => {
      if (stream) { stream.getTracks().forEach((tr) => tr.stop()); stream = null; video.style.display = "none"; button.textContent = cfg.strings.camera; return; }
      try {
        stream = await navigator.mediaDevices.getUserMedia({video: {facingMode: "environment"}});
      } catch (err) { status.textContent = String(err); return; }
      video.srcObject = stream; video.style.display = "block"; await video.play();
      button.textContent = cfg.strings.camera_stop;
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
      const response = await fetch(`/api/v1/events/${cfg.event_id}/participants?limit=20&q=${encodeURIComponent(q)}`,
                                   {credentials: "same-origin", headers: {"Accept-Language": cfg.locale}});
      if (!response.ok) { box.textContent = response.status; return; }
      const data = await response.json();
      for (const person of data.items) {
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = `${person.name} · ${person.email || ""} · ${person.phone || ""} — ${cfg.strings.check_in}`;
        button.addEventListener("click", () => submit({participant_id: person.id, method: "manual"}));
        box.appendChild(button);
      }
    });
  }
})();
