"use strict";
// The live dashboard and its projector view (templates/dashboard*.html). Settings and every word come
// from the #dashboard-config JSON block; the numbers from the live stream (the statistics snapshot on
// every change). uPlot (vendored) draws the charts; each chart has a table with the same figures.
(function () {
  const cfg = JSON.parse(document.getElementById("dashboard-config").textContent);
  const strings = cfg.strings;
  const lang = cfg.locale === "ko" ? "ko-KR" : "en-GB";
  // times in the event's zone, in the page's language (24-hour clock)
  const clock = new Intl.DateTimeFormat(lang, {timeZone: cfg.timezone, hour: "2-digit", minute: "2-digit", hourCycle: "h23"});
  const clockSeconds = new Intl.DateTimeFormat(lang,
    {timeZone: cfg.timezone, hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23"});
  const numbers = new Intl.NumberFormat(lang);
  const dark = Boolean(cfg.projector);
  const COLORS = {admitted: "#0b57d0", exited: "#5f6368", denied: "#c62828", inside: "#1a7f37", capacity: "#c62828"};
  if (dark) { COLORS.admitted = "#8ab4f8"; COLORS.exited = "#bdc1c6"; COLORS.denied = "#f28b82"; COLORS.inside = "#81c995"; COLORS.capacity = "#f28b82"; }

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, (all, name) => (name in values ? String(values[name]) : all));
  }
  function admitted(value) {
    // a bucket is either a number or {admitted, exited, denied}: entries count admissions
    return typeof value === "number" ? value : Number((value && value.admitted) || 0);
  }
  function epoch(at) { return Math.floor(new Date(at).getTime() / 1000); }

  // --- tiles ---------------------------------------------------------------------------------------
  function showTiles(snapshot) {
    for (const el of document.querySelectorAll("[data-key]")) {
      const value = snapshot[el.dataset.key];
      if (value === undefined) continue;
      el.textContent = el.dataset.format === "percent" ? (100 * value).toFixed(1) + "%" : numbers.format(Number(value));
    }
    const emails = document.getElementById("emails");
    if (emails) {
      emails.textContent = Object.entries(snapshot.emails || {}).map(
        ([k, v]) => `${strings.emails[k] || k} ${numbers.format(v)}`).join(" · ") || "–";
    }
  }

  // --- crowd safety gauges -------------------------------------------------------------------------
  function gauge(reading) {
    const area = reading.name ? fill(strings.gate_area, {name: reading.name}) : strings.event_area;
    const box = document.createElement("div");
    box.className = "gauge level-" + (reading.level || "none");
    box.dataset.area = reading.area;
    const title = document.createElement("h3"); title.textContent = area;
    const percent = reading.ratio === null ? null : (100 * reading.ratio).toFixed(1);
    const figure = reading.ratio === null
      ? fill(strings.no_capacity, {inside: numbers.format(reading.inside)})
      : fill(strings.figure, {inside: numbers.format(reading.inside), capacity: numbers.format(reading.capacity), percent});
    const bar = document.createElement("div");
    bar.className = "gauge-bar";
    bar.setAttribute("role", "meter");
    bar.setAttribute("aria-label", area);
    bar.setAttribute("aria-valuemin", "0");
    bar.setAttribute("aria-valuemax", String(reading.capacity || 0));
    bar.setAttribute("aria-valuenow", String(reading.inside));
    if (reading.capacity) bar.setAttribute("aria-valuetext", figure);
    const filled = document.createElement("span");
    filled.style.width = (reading.ratio === null ? 0 : Math.min(100, 100 * reading.ratio)) + "%";
    const amber = document.createElement("i"); amber.className = "mark amber";
    const red = document.createElement("i"); red.className = "mark red";
    bar.append(filled, amber, red);
    const text = document.createElement("p"); text.className = "gauge-figure"; text.textContent = figure;
    box.append(title);
    if (reading.capacity) box.append(bar);
    box.append(text);
    if (reading.level) {
      const level = document.createElement("p"); level.className = "gauge-level";
      const badge = document.createElement("span"); badge.className = "level-badge";
      badge.textContent = strings.levels[reading.level] || reading.level;
      level.append(badge); box.append(level);
    }
    return box;
  }
  let lastCrowd = "";
  function showCrowd(snapshot) {
    const box = document.getElementById("crowd");
    if (!box || !snapshot.crowd) return;
    const key = JSON.stringify(snapshot.crowd);
    if (key === lastCrowd) return; // unchanged: keep the live region quiet
    lastCrowd = key;
    box.replaceChildren(...snapshot.crowd.map(gauge));
  }

  // --- the figures behind each chart (also its table) -------------------------------------------------
  function series(snapshot) {
    const gates = Object.entries(snapshot.by_gate || {});
    const methods = Object.entries(snapshot.by_method || {});
    const denied = Object.entries(snapshot.denied_by_code || {}).sort((a, b) => b[1] - a[1]);
    const deniedName = (code) => strings.denied_codes[code] || strings.denied_codes.denied;
    const arrivals = snapshot.arrivals || [];
    const inside = snapshot.inside_over_time || [];
    const capacity = snapshot.capacity || null;
    return {
      arrivals: {
        time: true,
        data: [arrivals.map(a => epoch(a.at)), arrivals.map(a => admitted(a.admitted))],
        series: [["admitted", true]],
        rows: arrivals.map(a => [clock.format(new Date(a.at)), numbers.format(admitted(a.admitted))]),
      },
      inside: {
        time: true,
        data: capacity
          ? [inside.map(p => epoch(p.at)), inside.map(p => p.inside), inside.map(() => capacity)]
          : [inside.map(p => epoch(p.at)), inside.map(p => p.inside)],
        series: capacity ? [["inside", false], ["capacity", false]] : [["inside", false]],
        labels: capacity ? ["capacity"] : null,
        rows: inside.map(p => [clock.format(new Date(p.at)), numbers.format(p.inside)]),
      },
      by_gate: {
        labels: gates.map(([id, g]) => (g && g.name) || cfg.gate_names[id] || id),
        data: [gates.map((_, i) => i), gates.map(([, g]) => admitted(g))],
        series: [["admitted", true]],
        rows: gates.map(([id, g]) => [(g && g.name) || cfg.gate_names[id] || id,
          numbers.format(admitted(g)), numbers.format(g.exited || 0), numbers.format(g.denied || 0)]),
      },
      by_method: {
        labels: methods.map(([m]) => strings.methods[m] || m),
        data: [methods.map((_, i) => i), methods.map(([, m]) => admitted(m))],
        series: [["admitted", true]],
        rows: methods.map(([m, c]) => [strings.methods[m] || m, numbers.format(admitted(c)), numbers.format(c.denied || 0)]),
      },
      denied: {
        labels: denied.map(([code]) => deniedName(code)),
        data: [denied.map((_, i) => i), denied.map(([, n]) => n)],
        series: [["denied", true]],
        rows: denied.map(([code, n]) => [deniedName(code), numbers.format(n)]),
      },
    };
  }

  function showTable(name, rows) {
    const body = document.querySelector(`[data-table="${name}"]`);
    if (!body) return;
    const columns = body.closest("table").querySelectorAll("thead th").length;
    if (!rows.length) {
      const row = document.createElement("tr"); const cell = document.createElement("td");
      cell.colSpan = columns; cell.textContent = strings.no_data; row.append(cell);
      body.replaceChildren(row); return;
    }
    body.replaceChildren(...rows.map(values => {
      const row = document.createElement("tr");
      for (const value of values) { const cell = document.createElement("td"); cell.textContent = value; row.append(cell); }
      return row;
    }));
  }

  // --- charts (uPlot) --------------------------------------------------------------------------------
  const charts = {};
  function short(text) {
    const plain = text.replace(/[.。]\s*$/, "");
    return plain.length > 10 ? plain.slice(0, 9) + "…" : plain;
  }
  // at least the last hour on a time axis (a single bucket would otherwise stretch over years)
  function timeRange(min, max) {
    if (min === null || max === null) { const now = Date.now() / 1000; return [now - 3600, now]; }
    return [Math.min(min, max - 3600) - 150, max + 450];
  }
  function options(name, figures, width) {
    const axis = {stroke: dark ? "#bdc1c6" : "#5f6368", grid: {stroke: dark ? "#30363d" : "#eceff1"}, ticks: {stroke: dark ? "#30363d" : "#e3e5e8"}};
    const big = dark ? {font: "16px system-ui, sans-serif"} : {};
    const bars = window.uPlot.paths.bars({size: [0.7, 64]});
    const opts = {
      width, height: dark ? 320 : 220,
      legend: {show: true, live: false},
      cursor: {show: !figures.time ? false : true, drag: {x: false, y: false}},
      scales: {x: figures.time ? {time: true} : {time: false, range: (u, min, max) => [min - 0.5, max + 0.5]},
               y: {range: (u, min, max) => [0, Math.max(1, max === null ? 1 : max) * 1.1]}},
      axes: [
        figures.time
          ? {...axis, ...big, values: (u, splits) => splits.map(v => clock.format(new Date(v * 1000)))}
          : {...axis, ...big, splits: () => figures.labels.map((_, i) => i),
             values: (u, splits) => splits.map(i => short(figures.labels[i] || ""))},
        {...axis, ...big, values: (u, splits) => splits.map(v => (Number.isInteger(v) ? numbers.format(v) : ""))},
      ],
      series: [{}],
    };
    if (figures.time) opts.tzDate = ts => window.uPlot.tzDate(new Date(ts * 1000), cfg.timezone);
    for (const [key, asBars] of figures.series) {
      const color = COLORS[key];
      const one = {label: strings.series[key], stroke: color, width: key === "capacity" ? 2 : 2.5};
      if (asBars) { one.paths = bars; one.fill = color + "cc"; one.points = {show: false}; }
      if (key === "capacity") { one.dash = [8, 6]; one.points = {show: false}; }
      if (key === "inside") { one.fill = color + "33"; one.paths = window.uPlot.paths.stepped({align: 1}); }
      opts.series.push(one);
    }
    return opts;
  }
  function showChart(name, figures) {
    const box = document.querySelector(`[data-chart="${name}"]`);
    if (!box || !window.uPlot) return;
    const width = Math.max(200, box.clientWidth);
    const existing = charts[name];
    let plot;
    if (existing && existing.labels === JSON.stringify(figures.labels || null)) {
      plot = existing.plot;
      plot.setData(figures.data);
    } else {
      if (existing) existing.plot.destroy();
      plot = new window.uPlot(options(name, figures, width), figures.data, box);
      charts[name] = {plot, labels: JSON.stringify(figures.labels || null)};
    }
    if (figures.time) {
      const xs = figures.data[0];
      const [min, max] = timeRange(xs.length ? xs[0] : null, xs.length ? xs[xs.length - 1] : null);
      plot.setScale("x", {min, max});
    }
  }
  if (window.ResizeObserver) {
    const watch = new ResizeObserver(entries => {
      for (const entry of entries) {
        const chart = charts[entry.target.dataset.chart];
        const width = Math.max(200, Math.floor(entry.contentRect.width));
        if (chart && Math.abs(chart.plot.width - width) > 2) chart.plot.setSize({width, height: chart.plot.height});
      }
    });
    for (const box of document.querySelectorAll("[data-chart]")) watch.observe(box);
  }

  function show(snapshot) {
    showTiles(snapshot);
    showCrowd(snapshot);
    const all = series(snapshot);
    for (const [name, figures] of Object.entries(all)) {
      showTable(name, figures.rows);
      try { showChart(name, figures); } catch (error) { console.error("chart", name, error); }
    }
  }

  // --- full screen (projector) ---------------------------------------------------------------------
  const full = document.getElementById("fullscreen");
  if (full && document.documentElement.requestFullscreen) {
    full.hidden = false;
    full.addEventListener("click", () => document.documentElement.requestFullscreen().catch(() => {}));
  }

  // --- the live stream -------------------------------------------------------------------------------
  const status = document.getElementById("status");
  const source = new EventSource(cfg.live_url);
  source.addEventListener("stats", (e) => {
    show(JSON.parse(e.data));
    status.textContent = strings.live_on.replace("{time}", clockSeconds.format(new Date()));
  });
  source.onerror = () => { status.textContent = strings.reconnecting; };
})();
