// Caravan's charts: small SVG charts drawn in the browser from plain data,
// shared by the gateway's dashboard and `caravan load --format html`.
// No dependencies and no build step; every chart is an <svg> element with a
// viewBox, so it scales to its container's width (a phone's included).
// Marks carry their values as data-* attributes, for tests and tooltips.
"use strict";
const CaravanCharts = (() => {
  const SVG = "http://www.w3.org/2000/svg";
  const palette = ["#1f6fb2", "#d9822b", "#2a9d5c", "#c0392b", "#7d4cb0", "#16a2b8", "#b5851a", "#5d6d7e",
    "#e05d9a", "#4b8a3f"];
  // Synthetic figures are drawn with this pattern and listed as such in legends.
  const syntheticPattern = "caravan-synthetic";

  // The charts' own look, once per page; pages style everything else.
  const style = document.createElement("style");
  style.textContent = `
    svg.chart { width: 100%; height: auto; display: block; font: 11px system-ui, sans-serif; overflow: visible; }
    svg.chart .grid { stroke: #e3e6ea; stroke-width: 1; }
    svg.chart .tick, svg.chart .legend, svg.chart .bar-value { fill: #4a5562; }
    svg.chart .axis-label { fill: #4a5562; font-weight: 600; }
    svg.chart .bar-label { fill: #1d2733; font-size: 12px; }
    svg.chart .bar-value { font-size: 12px; }
    svg.chart .track { fill: #eef0f3; }
    svg.chart .highlight { fill: none; stroke: #1d2733; stroke-dasharray: 3 3; }
  `;
  document.head.appendChild(style);

  function el(tag, attributes = {}, children = []) {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attributes)) {
      if (value !== undefined && value !== null) node.setAttribute(name, value);
    }
    for (const child of [].concat(children)) {
      if (child === null || child === undefined) continue;
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  function title(text) { return el("title", {}, [text]); }

  // Round tick values covering [low, high], about `count` of them.
  function niceTicks(low, high, count = 5) {
    if (!(high > low)) { high = low + (low === 0 ? 1 : Math.abs(low)); }
    const raw = (high - low) / Math.max(1, count);
    const magnitude = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 2.5, 5, 10].map(m => m * magnitude).find(s => s >= raw) || raw;
    const ticks = [];
    for (let v = Math.floor(low / step) * step; v <= high + step * 1e-9; v += step) ticks.push(+v.toPrecision(12));
    if (ticks[ticks.length - 1] < high) ticks.push(+(ticks[ticks.length - 1] + step).toPrecision(12));
    return ticks;
  }

  // Powers of ten covering [low, high] (both > 0), for log axes.
  function logTicks(low, high) {
    const ticks = [];
    for (let e = Math.floor(Math.log10(low)); e <= Math.ceil(Math.log10(high)); e++) ticks.push(Math.pow(10, e));
    return ticks;
  }

  function scale(domainLow, domainHigh, rangeLow, rangeHigh, log = false) {
    const f = log ? Math.log10 : (v => v);
    const d0 = f(domainLow), d1 = f(domainHigh);
    return v => rangeLow + (f(v) - d0) / ((d1 - d0) || 1) * (rangeHigh - rangeLow);
  }

  const formats = {
    number: v => Number(v).toLocaleString("en", { maximumFractionDigits: 1 }),
    integer: v => Math.round(Number(v)).toLocaleString("en"),
    compact: v => Intl.NumberFormat("en", { notation: "compact", maximumFractionDigits: 1 }).format(v),
    usdBillions: v => "USD " + (Number(v) / 1e9).toLocaleString("en", { maximumFractionDigits: 2 }) + " bn",
    micros: v => v >= 1e6 ? (v / 1e6).toPrecision(3) + " s" : v >= 1e3 ? +(v / 1e3).toPrecision(3) + " ms"
      : +Number(v).toPrecision(3) + " µs",
    seconds: v => +Number(v).toPrecision(4) + " s",
    percent: v => Number(v).toFixed(1) + " %",
  };

  function defs() {
    return el("defs", {}, [
      el("pattern", { id: syntheticPattern, width: 6, height: 6, patternUnits: "userSpaceOnUse",
        patternTransform: "rotate(45)" }, [
        el("rect", { width: 6, height: 6, fill: "#ffffff", "fill-opacity": 0.0 }),
        el("line", { x1: 0, y1: 0, x2: 0, y2: 6, stroke: "#ffffff", "stroke-width": 3, "stroke-opacity": 0.7 }),
      ]),
    ]);
  }

  function frame(width, height, label) {
    return el("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img", "aria-label": label,
      preserveAspectRatio: "xMidYMid meet" }, [defs(), title(label)]);
  }

  // A legend row under a chart: [{name, color, dashed, synthetic}].
  function legend(svg, entries, x, y, width) {
    let cx = x, cy = y;
    for (const entry of entries) {
      const text = entry.name + (entry.synthetic ? " (synthetic)" : "");
      const w = 22 + text.length * 6.4;
      if (cx + w > x + width && cx > x) { cx = x; cy += 16; }
      const swatch = entry.line
        ? el("line", { x1: cx, y1: cy - 4, x2: cx + 14, y2: cy - 4, stroke: entry.color, "stroke-width": 2.5,
          "stroke-dasharray": entry.dashed ? "5 3" : null })
        : el("g", {}, [
          el("rect", { x: cx, y: cy - 10, width: 12, height: 12, fill: entry.color }),
          entry.synthetic ? el("rect", { x: cx, y: cy - 10, width: 12, height: 12, fill: `url(#${syntheticPattern})` })
            : null,
        ]);
      svg.appendChild(el("g", { class: "legend-entry", "data-name": entry.name }, [
        swatch, el("text", { x: cx + 18, y: cy, class: "legend" }, [text])]));
      cx += w + 10;
    }
    return cy;
  }

  function axisY(svg, ticks, y, left, right, format, label) {
    for (const t of ticks) {
      svg.appendChild(el("line", { x1: left, x2: right, y1: y(t), y2: y(t), class: "grid" }));
      svg.appendChild(el("text", { x: left - 6, y: y(t) + 4, class: "tick", "text-anchor": "end" }, [format(t)]));
    }
    if (label) svg.appendChild(el("text", { x: left, y: 12, class: "axis-label" }, [label]));
  }

  // Lines over a numeric x axis.
  // series: [{name, color, dashed, points: [[x, y], ...]}]
  // xWhole: the x values are whole numbers (years), so no tick falls between two.
  function lineChart({ series, xFormat = formats.number, yFormat = formats.number, xLabel, yLabel,
    width = 640, height = 260, yMin, logY = false, markers = true, label = yLabel || "chart", xWhole = false }) {
    const svg = frame(width, height, label);
    const left = 64, right = width - 12, top = 22, bottom = height - 50;
    const all = series.flatMap(s => s.points);
    const xs = all.map(p => p[0]), ys = all.map(p => p[1]).filter(v => !logY || v > 0);
    // The x axis spans the data (years, seconds), padded when it is a single point.
    const xLow = xs.length ? Math.min(...xs) : 0, xHigh = xs.length ? Math.max(...xs) : 1;
    const xTicks = xHigh > xLow ? niceTicks(xLow, xHigh, xWhole ? Math.min(6, Math.max(1, Math.round(xHigh - xLow))) : 6)
      : [xLow - 1, xLow, xLow + 1];
    const yTicks = logY ? logTicks(Math.max(Math.min(...ys, 1), 1e-9), Math.max(...ys, 1))
      : niceTicks(yMin !== undefined ? yMin : Math.min(0, ...ys), Math.max(...ys, 1e-9), 5);
    const x = scale(xTicks[0], xTicks[xTicks.length - 1], left, right);
    const y = scale(yTicks[0], yTicks[yTicks.length - 1], bottom, top, logY);
    axisY(svg, yTicks, y, left, right, yFormat, yLabel);
    for (const t of xTicks.filter(t => t >= xTicks[0] && t <= xTicks[xTicks.length - 1])) {
      svg.appendChild(el("text", { x: x(t), y: bottom + 16, class: "tick", "text-anchor": "middle" }, [xFormat(t)]));
    }
    if (xLabel) svg.appendChild(el("text", { x: right, y: bottom + 32, class: "axis-label", "text-anchor": "end" },
      [xLabel]));
    series.forEach((s, index) => {
      const color = s.color || palette[index % palette.length];
      const points = s.points.filter(p => !logY || p[1] > 0);
      const group = el("g", { class: "series", "data-series": s.name, "data-points": points.length });
      if (points.length > 1) {
        group.appendChild(el("polyline", { points: points.map(p => `${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`)
          .join(" "), fill: "none", stroke: color, "stroke-width": 2, "stroke-dasharray": s.dashed ? "6 4" : null }));
      }
      if (markers || points.length === 1) {
        for (const p of points) {
          group.appendChild(el("circle", { cx: x(p[0]), cy: y(p[1]), r: points.length > 60 ? 1.6 : 3, fill: color,
            class: "point", "data-x": p[0], "data-y": p[1] }, [title(`${s.name}: ${yFormat(p[1])} at ${xFormat(p[0])}`)]));
        }
      }
      svg.appendChild(group);
    });
    legend(svg, series.map((s, i) => ({ name: s.name, color: s.color || palette[i % palette.length], dashed: s.dashed,
      line: true })), left, height - 12, right - left);
    return svg;
  }

  // Stacked columns: categories along x, one stack per category.
  // series: [{name, color, synthetic, values: [...]}] (values aligned with categories)
  function stackedColumns({ categories, series, yFormat = formats.number, yLabel, width = 640, height = 260,
    label = yLabel || "chart", highlight }) {
    const svg = frame(width, height, label);
    const left = 64, right = width - 12, top = 22;
    const legendRows = Math.ceil(series.reduce((n, s) => n + s.name.length * 6.4 + 32, 0) / (right - left));
    const bottom = height - 34 - 16 * Math.max(0, legendRows - 1);
    const totals = categories.map((_, i) => series.reduce((sum, s) => sum + (Number(s.values[i]) || 0), 0));
    const yTicks = niceTicks(0, Math.max(...totals, 1e-9), 5);
    const y = scale(0, yTicks[yTicks.length - 1], bottom, top);
    axisY(svg, yTicks, y, left, right, yFormat, yLabel);
    const slot = (right - left) / Math.max(1, categories.length);
    const barWidth = Math.max(2, Math.min(48, slot * 0.7));
    const every = Math.ceil(categories.length / Math.max(1, Math.floor((right - left) / 48)));
    categories.forEach((category, i) => {
      const cx = left + slot * (i + 0.5);
      let base = 0;
      const column = el("g", { class: "column", "data-category": category, "data-total": totals[i] });
      series.forEach((s, k) => {
        const value = Number(s.values[i]) || 0;
        if (value <= 0) return;
        const color = s.color || palette[k % palette.length];
        const y0 = y(base), y1 = y(base + value);
        const box = { x: cx - barWidth / 2, y: y1, width: barWidth, height: Math.max(0.5, y0 - y1) };
        column.appendChild(el("rect", { ...box, fill: color, class: "bar", "data-series": s.name, "data-value": value },
          [title(`${category} · ${s.name}${s.synthetic ? " (synthetic)" : ""}: ${yFormat(value)}`)]));
        if (s.synthetic) column.appendChild(el("rect", { ...box, fill: `url(#${syntheticPattern})`, "pointer-events": "none" }));
        base += value;
      });
      if (highlight !== undefined && category === highlight) {
        column.appendChild(el("rect", { x: cx - slot / 2 + 1, y: top, width: slot - 2, height: bottom - top,
          class: "highlight" }));
      }
      svg.appendChild(column);
      if (i % every === 0) {
        svg.appendChild(el("text", { x: cx, y: bottom + 16, class: "tick", "text-anchor": "middle" }, [String(category)]));
      }
    });
    legend(svg, series.map((s, k) => ({ name: s.name, color: s.color || palette[k % palette.length],
      synthetic: s.synthetic })), left, bottom + 34, right - left);
    return svg;
  }

  // Horizontal bars, largest first as given: [{label, value, color, syntheticValue, note}].
  // Narrow charts (a phone) put each label and value above its bar.
  function horizontalBars({ bars, format = formats.number, width = 640, label = "chart", max }) {
    const valueText = b => format(b.value) + (b.note ? " " + b.note : "");
    const labelWidth = Math.min(220, Math.max(60, ...bars.map(b => String(b.label).length * 7 + 8)));
    const valueWidth = Math.min(260, Math.max(90, ...bars.map(b => valueText(b).length * 6.8 + 12)));
    const stacked = labelWidth + valueWidth > width * 0.7;
    const row = stacked ? 38 : 26, height = Math.max(1, bars.length) * row + 8;
    const svg = frame(width, height, label);
    const left = stacked ? 0 : labelWidth, right = stacked ? width : width - valueWidth;
    const top = max !== undefined ? max : Math.max(...bars.map(b => b.value), 1e-9);
    bars.forEach((bar, i) => {
      const y = 4 + i * row + (stacked ? 14 : 0);
      const w = Math.max(0, (right - left) * Math.min(1, bar.value / top));
      const color = bar.color || palette[0];
      svg.appendChild(el("g", { class: "hbar", "data-label": bar.label, "data-value": bar.value }, [
        stacked ? el("text", { x: 0, y: y - 2, class: "bar-label" }, [String(bar.label)])
          : el("text", { x: left - 8, y: y + 16, class: "bar-label", "text-anchor": "end" }, [String(bar.label)]),
        el("rect", { x: left, y: y + 3, width: right - left, height: row - (stacked ? 22 : 8), class: "track" }),
        el("rect", { x: left, y: y + 3, width: w, height: row - (stacked ? 22 : 8), fill: color }, [title(`${bar.label}: ${format(bar.value)}`)]),
        bar.syntheticValue > 0 ? el("rect", { x: left, y: y + 3, width: Math.max(0, (right - left) * Math.min(1, bar.syntheticValue / top)),
          height: row - (stacked ? 22 : 8), fill: `url(#${syntheticPattern})` }) : null,
        stacked ? el("text", { x: width, y: y - 2, class: "bar-value", "text-anchor": "end" }, [valueText(bar)])
          : el("text", { x: right + 8, y: y + 16, class: "bar-value" }, [valueText(bar)]),
      ]));
    });
    return svg;
  }

  // A histogram on a log x axis: [{from, to, count}].
  function histogram({ buckets, xFormat = formats.micros, width = 640, height = 240, label = "distribution",
    markers = [] }) {
    const svg = frame(width, height, label);
    const left = 64, right = width - 12, top = 34, bottom = height - 40;
    const low = Math.min(...buckets.map(b => b.from)), high = Math.max(...buckets.map(b => b.to));
    const x = scale(low, high, left, right, true);
    const yTicks = niceTicks(0, Math.max(...buckets.map(b => b.count), 1), 4);
    const y = scale(0, yTicks[yTicks.length - 1], bottom, top);
    axisY(svg, yTicks, y, left, right, formats.compact, null);
    for (const b of buckets) {
      svg.appendChild(el("rect", { x: x(b.from) + 0.5, y: y(b.count), width: Math.max(0.5, x(b.to) - x(b.from) - 1),
        height: Math.max(0, bottom - y(b.count)), fill: palette[0], class: "bucket", "data-from": b.from,
        "data-to": b.to, "data-count": b.count }, [title(`${xFormat(b.from)} – ${xFormat(b.to)}: ${b.count} calls`)]));
    }
    for (const t of logTicks(low, high).filter(t => t >= low && t <= high)) {
      svg.appendChild(el("text", { x: x(t), y: bottom + 16, class: "tick", "text-anchor": "middle" }, [xFormat(t)]));
    }
    markers.forEach((m, i) => {
      if (!(m.value >= low && m.value <= high)) return;
      svg.appendChild(el("g", { class: "marker", "data-name": m.name, "data-value": m.value }, [
        el("line", { x1: x(m.value), x2: x(m.value), y1: top, y2: bottom, stroke: m.color || palette[3],
          "stroke-dasharray": "4 3" }),
        el("text", { x: x(m.value), y: top - 4 - 11 * (i % 2), class: "tick", "text-anchor": "middle" }, [m.name]),
      ]));
    });
    svg.appendChild(el("text", { x: right, y: bottom + 32, class: "axis-label", "text-anchor": "end" },
      ["latency (log scale)"]));
    return svg;
  }

  // A progress gauge: value of target, with optional marks [{value, name}].
  function progressBar({ value, target, width = 640, label = "progress", format = formats.number, synthetic = false }) {
    const height = 34;
    const svg = frame(width, height, label);
    const share = Math.max(0, Math.min(1, value / (target || 1)));
    svg.appendChild(el("rect", { x: 0, y: 4, width, height: 22, rx: 4, class: "track" }));
    svg.appendChild(el("rect", { x: 0, y: 4, width: width * share, height: 22, rx: 4, fill: palette[3],
      class: "progress", "data-value": value, "data-target": target }, [title(`${format(value)} of ${format(target)}`)]));
    if (synthetic) svg.appendChild(el("rect", { x: 0, y: 4, width: width * share, height: 22, fill: `url(#${syntheticPattern})` }));
    return svg;
  }

  return { el, palette, formats, niceTicks, lineChart, stackedColumns, horizontalBars, histogram, progressBar,
    syntheticPattern };
})();
