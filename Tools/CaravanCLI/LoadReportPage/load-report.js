// Draws `caravan load --format html`: the run's JSON report (and a
// baseline's, with --compare) are embedded in the page; everything shown
// is computed here from them, with CaravanCharts.
"use strict";
(() => {
  const C = CaravanCharts, f = C.formats;
  const data = id => JSON.parse(document.getElementById(id).textContent);
  const report = data("caravan-report"), baseline = data("caravan-baseline"), comparison = data("caravan-comparison");
  const samples = (report.timeline || {}).samples || [];
  const baseSamples = baseline && baseline.timeline ? baseline.timeline.samples : [];

  function cell(tag, text, attributes = {}) {
    const node = document.createElement(tag);
    node.textContent = text;
    for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
    return node;
  }
  function table(element, header, rows) {
    const head = document.createElement("tr");
    header.forEach(h => head.appendChild(cell("th", h)));
    element.replaceChildren(head, ...rows.map(row => {
      const tr = document.createElement("tr");
      row.forEach(c => tr.appendChild(typeof c === "object" && c !== null ? c : cell("td", String(c))));
      return tr;
    }));
  }
  function mount(id, svg) { document.getElementById(id).replaceChildren(svg); }

  document.getElementById("load-model").textContent = (report.model === "open"
    ? `Open loop at ${f.number(report.target_rps || 0)} calls/s (latency from each call's intended start), at most ${f.integer(report.concurrency)} in flight`
    : `Closed loop, ${f.integer(report.concurrency)} calls in flight`) +
    `, ${f.integer(report.connections)} connection${report.connections === 1 ? "" : "s"}, ` +
    `${f.seconds(report.duration_s)} measured` + (report.warmup_calls ? ` after ${f.integer(report.warmup_calls)} warm-up calls` : "") + ".";

  // The headline figures, each with the baseline's beside it.
  const cards = [
    ["calls", "Calls", f.integer], ["errors", "Errors", f.integer], ["qps", "Calls/s", f.number],
    ["p50_us", "p50", f.micros], ["p90_us", "p90", f.micros], ["p99_us", "p99", f.micros],
    ["p999_us", "p99.9", f.micros], ["max_us", "max", f.micros],
  ];
  document.getElementById("summary").replaceChildren(...cards.map(([key, label, format]) => {
    const card = document.createElement("div");
    card.className = "card" + (key === "errors" && report.errors > 0 ? " bad" : "");
    card.dataset.metric = key;
    card.dataset.value = report[key];
    card.append(cell("div", format(report[key]), { class: "value" }), cell("div", label, { class: "label" }));
    if (baseline) card.append(cell("div", "baseline " + format(baseline[key]), { class: "baseline" }));
    return card;
  }));

  if (comparison) {
    document.getElementById("comparison-section").hidden = false;
    table(document.getElementById("comparison"), ["metric", "baseline", "this run", "change", ""],
      comparison.rows.map(row => {
        const change = row.baseline === 0 ? 0 : (row.current - row.baseline) / row.baseline * 100;
        const flag = cell("td", row.regressed ? `worse than ${f.number(comparison.threshold * 100)} %` : "",
          { class: row.regressed ? "regression" : "" });
        return [row.metric, f.number(row.baseline), f.number(row.current), (change >= 0 ? "+" : "") + change.toFixed(1) + " %", flag];
      }));
  }

  const at = (list, key) => list.map(s => [s.end_s, s[key]]);
  if (samples.length) {
    const series = [{ name: "this run", points: at(samples, "qps"), color: C.palette[0] }];
    if (baseSamples.length) series.push({ name: "baseline", points: at(baseSamples, "qps"), color: C.palette[5], dashed: true });
    mount("throughput-chart", C.lineChart({ series, yLabel: "calls/s", xLabel: "seconds", label: "Throughput over time",
      yFormat: f.compact }));
    document.getElementById("throughput-note").textContent =
      `Calls finished per interval of ${f.seconds(report.timeline.interval_s)}.`;

    const latency = [["p50_us", "p50", 0], ["p90_us", "p90", 1], ["p99_us", "p99", 3]].map(([key, name, color]) =>
      ({ name, points: at(samples.filter(s => s.calls > 0), key), color: C.palette[color] }));
    if (baseSamples.length) {
      for (const [key, name, color] of [["p50_us", "baseline p50", 0], ["p99_us", "baseline p99", 3]]) {
        latency.push({ name, points: at(baseSamples.filter(s => s.calls > 0), key), color: C.palette[color], dashed: true });
      }
    }
    mount("latency-chart", C.lineChart({ series: latency, yLabel: "latency", xLabel: "seconds", logY: true,
      yFormat: f.micros, label: "Latency percentiles over time" }));

    // Status codes: OK first, then the others by count.
    const totals = {};
    for (const s of samples) for (const [code, n] of Object.entries(s.status_codes)) totals[code] = (totals[code] || 0) + n;
    const codes = Object.keys(totals).sort((a, b) => (a === "OK" ? -1 : b === "OK" ? 1 : totals[b] - totals[a]));
    const colors = { OK: C.palette[2], UNAVAILABLE: C.palette[3], DEADLINE_EXCEEDED: C.palette[1], RESOURCE_EXHAUSTED: C.palette[4] };
    mount("status-chart", C.stackedColumns({
      categories: samples.map(s => f.seconds(s.end_s)), yLabel: "calls", yFormat: f.compact, label: "Status codes over time",
      series: codes.map((code, i) => ({ name: code, color: colors[code] || C.palette[(i + 5) % C.palette.length],
        values: samples.map(s => s.status_codes[code] || 0) })),
    }));
  } else {
    for (const id of ["throughput-chart", "latency-chart", "status-chart"]) {
      document.getElementById(id).textContent = "This report has no timeline (written by an older caravan).";
    }
  }
  table(document.getElementById("status-table"), ["status", "calls", "share"],
    Object.entries(report.status_codes).sort((a, b) => b[1] - a[1]).map(([code, n]) =>
      [code, f.integer(n), f.percent(report.calls ? n / report.calls * 100 : 0)]));

  const buckets = (report.latency_histogram || []).map(b => ({ from: b.from_us, to: b.to_us, count: b.count }));
  if (buckets.length) {
    mount("distribution-chart", C.histogram({ buckets, label: "Latency distribution",
      markers: [["p50", "p50_us"], ["p90", "p90_us"], ["p99", "p99_us"], ["p99.9", "p999_us"]].map(([name, key]) =>
        ({ name, value: report[key] })) }));
  } else {
    document.getElementById("distribution-chart").textContent = report.calls ? "This report has no distribution (written by an older caravan)." : "No calls were measured.";
  }

  if (report.scenario && report.methods) {
    document.getElementById("methods-section").hidden = false;
    const byName = Object.fromEntries(((baseline || {}).methods || []).map(m => [m.name, m]));
    table(document.getElementById("methods"),
      ["method", "weight", "calls", "share", "calls/s", "p50", "p90", "p99", "p99.9", "max", "errors", "status codes"]
        .concat(baseline ? ["baseline calls/s", "baseline p99"] : []),
      report.methods.map(m => {
        const name = cell("td", m.name, { title: m.method, "data-method": m.name });
        const row = [name, m.weight, f.integer(m.calls), f.percent(report.calls ? m.calls / report.calls * 100 : 0),
          f.number(m.qps), f.micros(m.p50_us), f.micros(m.p90_us), f.micros(m.p99_us), f.micros(m.p999_us),
          f.micros(m.max_us), f.integer(m.errors),
          Object.entries(m.status_codes).map(([code, n]) => `${code} ${n}`).join(", ")];
        const old = byName[m.name];
        return baseline ? row.concat(old ? [f.number(old.qps), f.micros(old.p99_us)] : ["–", "–"]) : row;
      }));
  }
  if (report.top_errors.length) {
    document.getElementById("errors-section").hidden = false;
    table(document.getElementById("errors"), ["message", "calls"],
      report.top_errors.map(e => [e.message, f.integer(e.count)]));
  }
  document.body.dataset.rendered = "true";
})();
