"use strict";
// The live dashboard (templates/dashboard.html): its settings come from the #dashboard-config JSON block.
const cfg = JSON.parse(document.getElementById("dashboard-config").textContent);
const gateNames = cfg.gate_names;
const strings = cfg.strings;
// times in the event's zone, in the page's language (24-hour clock)
const clock = new Intl.DateTimeFormat(cfg.locale === "ko" ? "ko-KR" : "en-GB",
  {timeZone: cfg.timezone, hour: "2-digit", minute: "2-digit", hourCycle: "h23"});
const clockSeconds = new Intl.DateTimeFormat(cfg.locale === "ko" ? "ko-KR" : "en-GB",
  {timeZone: cfg.timezone, hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23"});
const numbers = new Intl.NumberFormat(cfg.locale === "ko" ? "ko-KR" : "en-GB");
function count(value) {
  // a bucket is either a number or {admitted, exited, denied}: entries count admissions
  return typeof value === "number" ? value : Number((value && value.admitted) || 0);
}
function bars(el, entries) {
  el.replaceChildren();
  const max = Math.max(1, ...entries.map(e => e[1]));
  for (const [label, value, extra] of entries) {
    const row = document.createElement("div");
    const name = document.createElement("span"); name.textContent = label; name.style.minWidth = "9rem";
    const bar = document.createElement("span"); bar.className = "bar"; bar.style.width = (240 * value / max) + "px";
    const num = document.createElement("span"); num.textContent = numbers.format(value) + (extra || "");
    row.append(name, bar, num); el.append(row);
  }
}
function show(snapshot) {
  for (const el of document.querySelectorAll("[data-key]")) {
    const value = snapshot[el.dataset.key];
    if (value === undefined) continue;
    el.textContent = el.dataset.format === "percent" ? (100 * value).toFixed(1) + "%" : numbers.format(Number(value));
  }
  const denied = strings.denied;
  bars(document.getElementById("by_gate"), Object.entries(snapshot.by_gate || {}).map(
    ([id, g]) => [(g && g.name) || gateNames[id] || id, count(g), g && g.denied ? ` (${denied} ${g.denied})` : ""]));
  bars(document.getElementById("by_method"), Object.entries(snapshot.by_method || {}).map(
    ([method, m]) => [strings.methods[method] || method, count(m), ""]));
  bars(document.getElementById("arrivals"), (snapshot.arrivals || []).map(
    a => [clock.format(new Date(a.at)), count(a.admitted), ""]));
  const emails = snapshot.emails || {};
  document.getElementById("emails").textContent = Object.entries(emails).map(
    ([k, v]) => `${strings.emails[k] || k} ${numbers.format(v)}`).join(" · ") || "–";
}
const status = document.getElementById("status");
const source = new EventSource(cfg.live_url);
source.addEventListener("stats", (e) => { show(JSON.parse(e.data)); status.textContent = strings.live_on.replace("{time}", clockSeconds.format(new Date())); });
source.onerror = () => { status.textContent = strings.reconnecting; };
