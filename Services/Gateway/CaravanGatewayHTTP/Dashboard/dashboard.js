// The dashboard: reads the gateway's own HTTP/JSON API and draws it.
//   GET  /v1/overview?year=            the partnership's aggregate (sections: trade, logistics, training, hub)
//   GET  /v1/countries/{CC}/profile?year=   a partner's aggregate (sections as above, and energy)
//   POST /v1/{package.Service}/{Method} any routed unary method (proto3 JSON)
//   GET  /v1/{package.Service}/{Method}?… with Accept: text/event-stream: a server stream as events (subscribe below)
// Each section draws what it has and says plainly what it could not get.
"use strict";
(() => {
  const C = CaravanCharts, f = C.formats;
  const partners = [["KZ", "Kazakhstan"], ["UZ", "Uzbekistan"], ["KG", "Kyrgyzstan"], ["TJ", "Tajikistan"],
    ["TM", "Turkmenistan"]];
  const countryNames = Object.fromEntries([...partners, ["CN", "China"], ["RU", "Russia"], ["BY", "Belarus"],
    ["PL", "Poland"], ["DE", "Germany"], ["NL", "Netherlands"], ["FR", "France"], ["ES", "Spain"], ["IT", "Italy"],
    ["CZ", "Czechia"], ["AT", "Austria"], ["HU", "Hungary"], ["LT", "Lithuania"], ["MN", "Mongolia"], ["VN", "Vietnam"],
    ["LA", "Laos"], ["TH", "Thailand"], ["IR", "Iran"], ["AF", "Afghanistan"]]);
  const countryColor = Object.fromEntries(partners.map(([code], i) => [code, C.palette[i]]));
  const params = new URLSearchParams(location.search);
  // Seconds between refreshes of the aggregates while no live stream is open.
  const refreshSeconds = Math.max(2, Number(params.get("refresh")) || 30);
  // Live streams the page listens to (server streaming over HTTP, see subscribe()).
  const liveFeeds = [
    { method: "caravan.trade.v1.TradeService/WatchFlows", label: "trade flows" },
    { method: "caravan.logistics.v1.LogisticsService/WatchShipments", label: "shipment events" },
    { method: "caravan.training.v1.TrainingService/WatchEnrolments", label: "enrolments" },
  ];

  const $ = id => document.getElementById(id);
  function h(tag, attributes = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) {
      if (value === undefined || value === null || value === false) continue;
      if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : value);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }
  const num = v => Number(v || 0);
  const usd = v => f.usdBillions(num(v));
  const usdMillions = v => "USD " + (num(v) / 1e6).toLocaleString("en", { maximumFractionDigits: 2 }) + " m";
  const integer = v => f.integer(num(v));
  const syntheticBadge = (title) => h("span", { class: "synthetic-badge", title: title || "generated, not published" }, "synthetic");
  const publishedBadge = (source) => h("span", { class: "published-badge", title: source || "" }, "published");
  // A figure: value (data-value holds the raw number for checks), label, kind (published / synthetic).
  function figure(id, value, text, label, kind, source) {
    return h("div", { class: "figure" + (kind ? " " + kind : ""), id, "data-value": value },
      h("span", { class: "value" }, text), h("span", { class: "label" }, label,
        kind === "synthetic" ? syntheticBadge() : kind === "published" ? publishedBadge(source) : null));
  }

  // ---- The API ----------------------------------------------------------

  // A token from the URL's fragment (browsers never send it to a server, so
  // it stays out of access logs) or from an earlier entry in this tab.
  const fragment = new URLSearchParams(location.hash.slice(1));
  if (fragment.get("token")) {
    sessionStorage.setItem("caravan-token", fragment.get("token"));
    history.replaceState(null, "", location.pathname + location.search);
  }
  function headers(extra = {}) {
    const token = sessionStorage.getItem("caravan-token");
    return token ? { ...extra, Authorization: "Bearer " + token } : extra;
  }
  $("auth").addEventListener("submit", event => {
    event.preventDefault();
    sessionStorage.setItem("caravan-token", $("token").value.trim());
    location.reload();
  });

  class APIError extends Error {
    constructor(status, body) {
      super(body && body.message ? body.message : `HTTP ${status}`);
      this.status = status;
      this.code = body && body.code;
    }
  }
  let serverDate = null;
  async function request(path, options = {}) {
    const response = await fetch(path, { ...options, headers: headers(options.headers || {}) });
    // The server's clock decides what "this year" is (the services check years against it).
    const date = new Date(response.headers.get("date") || "");
    if (!isNaN(date)) serverDate = date;
    const body = await response.json().catch(() => null);
    if (response.status === 401 || response.status === 403) {
      $("auth").hidden = false;
      $("auth-reason").textContent = response.status === 401 ? "an access token is needed"
        : "the token lacks the caravan.read scope";
    }
    if (!response.ok) throw new APIError(response.status, body);
    return body;
  }
  const call = (method, message = {}) => request("/v1/" + method,
    { method: "POST", body: JSON.stringify(message), headers: { "Content-Type": "application/json" } });
  async function pages(method, message, field) {
    const all = [];
    let token = "";
    for (let page = 0; page < 50; page++) {
      const answer = await call(method, { ...message, pageToken: token });
      all.push(...(answer[field] || []));
      token = answer.nextPageToken || "";
      if (!token) break;
    }
    return all;
  }

  // Subscribes to a server stream through the gateway: GET /v1/{method}?params
  // with Accept: text/event-stream answers server-sent events, `event: message`
  // with one response message as JSON in `data`, and a last `event: status`
  // with {"code": N, "message": "…"}. fetch rather than EventSource, so that
  // the bearer token goes in a header. When the gateway has no such route or
  // method (404, 405, 501, or any answer that is not an event stream) it gives
  // up quietly and reports "unavailable", and the page refreshes the
  // aggregates on a timer instead; a dropped stream is reopened with backoff.
  // onState({live, reason}) is told each change. Returns {close()}.
  function subscribe(method, query, onMessage, onState = () => {}) {
    const controller = new AbortController();
    const pause = ms => new Promise(resolve => setTimeout(resolve, ms));
    (async () => {
      let backoff = 1000;
      while (!controller.signal.aborted) {
        let reason;
        try {
          const response = await fetch(`/v1/${method}?` + new URLSearchParams(query),
            { headers: headers({ Accept: "text/event-stream" }), signal: controller.signal });
          const type = response.headers.get("content-type") || "";
          if (!response.ok || !type.startsWith("text/event-stream")) {
            response.body && response.body.cancel().catch(() => {});
            if ([404, 405, 501, 401, 403].includes(response.status) || response.ok) {
              onState({ live: false, reason: `not served here (HTTP ${response.status})`, final: true });
              return;
            }
            reason = `HTTP ${response.status}`;
          } else {
            onState({ live: true });
            backoff = 1000;
            const status = await readEvents(response.body, onMessage);
            if (status && status.code === 12) {
              onState({ live: false, reason: "not implemented by the service", final: true });
              return;
            }
            reason = status ? `stream ended (code ${status.code}${status.message ? ": " + status.message : ""})` : "stream closed";
          }
        } catch (error) {
          if (controller.signal.aborted) return;
          reason = String(error.message || error);
        }
        onState({ live: false, reason });
        await pause(backoff);
        backoff = Math.min(backoff * 2, 30000);
      }
    })();
    return { close: () => controller.abort() };
  }

  // Reads server-sent events until the stream ends; the status event's data, if one came.
  async function readEvents(body, onMessage) {
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "", event = "message", data = [], status = null;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return status;
      buffer += value;
      let end;
      while ((end = buffer.search(/\r?\n/)) >= 0) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + (buffer[end] === "\r" ? 2 : 1));
        if (line === "") {
          if (data.length) {
            const payload = data.join("\n");
            try {
              if (event === "status") status = JSON.parse(payload);
              else if (event === "message") onMessage(JSON.parse(payload));
            } catch (error) { console.warn("caravan: unreadable event", payload, error); }
          }
          event = "message";
          data = [];
        } else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
        else if (line.startsWith("event:")) event = line.slice(6).trim();
      }
    }
  }

  // ---- Sections ---------------------------------------------------------

  function sectionBody(id) { return document.querySelector(`#${id} .body`); }
  // Charts are drawn at their section's width in CSS pixels, so their text keeps its size on a phone.
  const chartWidth = id => Math.max(300, Math.min(1200, Math.round(sectionBody(id).clientWidth || 640)));
  // Replaces a section's content with the nodes given (nulls skipped).
  function fill(id, nodes) { sectionBody(id).replaceChildren(...nodes.filter(n => n !== null && n !== undefined)); }
  function showState(id, state) { $(id).dataset.state = state; }
  // A section that could not be drawn says why, in words.
  function fail(id, what, error) {
    const text = error instanceof APIError
      ? `${what} is unavailable: ${error.message}` + (error.status ? ` (HTTP ${error.status})` : "")
      : `${what} could not be shown: ${error.message || error}`;
    sectionBody(id).replaceChildren(h("p", { class: "message section-message" }, text));
    showState(id, "failed");
  }
  // The outcome of an aggregate's section: null when OK, else a sentence.
  function outcome(section, name) {
    const o = section && section.outcome;
    const status = o ? o.status : "SECTION_STATUS_UNSPECIFIED";
    if (status === "SECTION_STATUS_OK") return null;
    const words = { SECTION_STATUS_FAILED: "failed", SECTION_STATUS_TIMED_OUT: "timed out",
      SECTION_STATUS_SKIPPED: "is not configured at this gateway" }[status] || "gave no answer";
    return `The ${name} service ${words}` + (o && o.message ? `: ${o.message}` : ".");
  }
  function noOverview() {
    return "The partnership overview is unavailable" + (state.overviewError ? `: ${state.overviewError.message}` : ".");
  }
  function sectionFailed(id, sentence) {
    sectionBody(id).replaceChildren(h("p", { class: "message section-message" }, sentence));
    showState(id, "failed");
  }

  // Trade summaries per year, the latest year with data first found from them.
  async function tradeYears() {
    const current = (serverDate || new Date()).getUTCFullYear();
    const summaries = {};
    // Ten years at a time, back to 1992 (the trade service's first year).
    for (let last = current; last >= 1992; last -= 10) {
      const years = [];
      for (let y = last; y > last - 10 && y >= 1992; y--) years.push(y);
      const answers = await Promise.all(years.map(year =>
        call("caravan.trade.v1.TradeService/GetSummary", { year }).catch(error => {
          if (error.code === 3) return null;  // a year the service does not take (its clock is behind ours)
          throw error;
        })));
      years.forEach((year, i) => { if (answers[i]) summaries[year] = answers[i]; });
      if (Object.values(summaries).some(hasData)) break;
    }
    const withData = Object.keys(summaries).map(Number).filter(y => hasData(summaries[y])).sort();
    return { summaries, years: withData, current };
  }
  const hasData = s => s && (num(s.flowCount) > 0 || !!s.published);

  function drawYears(years, selected) {
    $("years").replaceChildren(...years.map(year => h("button", {
      type: "button", "aria-pressed": String(year === selected), "data-year": year,
      onclick: () => { const p = new URLSearchParams(location.search); p.set("year", year);
        history.replaceState(null, "", "?" + p); state.year = year; refresh(); },
    }, String(year))));
    for (const span of document.querySelectorAll(".year")) span.textContent = String(selected);
  }

  function drawMilestone(overview, trade) {
    const id = "milestone";
    const t = overview && overview.trade;
    const failed = !overview ? noOverview() : outcome(t, "trade");
    if (failed) return sectionFailed(id, failed);
    const m = t.milestone || {};
    const percent = num(m.percent);
    const basis = m.fromPublished ? "published figure" : "recorded flows";
    const body = [
      h("p", { class: "headline", id: "milestone-value", "data-value": num(m.valueUsd), "data-target": num(m.targetUsd) },
        `${usd(m.valueUsd)} of ${usd(m.targetUsd)} (${percent.toFixed(1)} %), ${basis}`,
        m.fromPublished ? publishedBadge(t.publishedSource) : (num(t.syntheticUsd) > 0 ? syntheticBadge() : null)),
      C.progressBar({ value: num(m.valueUsd), target: num(m.targetUsd), format: usd, label: "Progress to the milestone",
        width: chartWidth(id),
        synthetic: !m.fromPublished && num(t.syntheticUsd) > 0 }),
      h("div", { class: "figures" },
        figure("trade-recorded", num(t.totalUsd), usd(t.totalUsd), "recorded flows"),
        num(t.syntheticUsd) > 0 ? figure("trade-synthetic", num(t.syntheticUsd), usd(t.syntheticUsd), "of which", "synthetic") : null,
        t.hasPublishedTotal ? figure("trade-published", num(t.publishedTotalUsd), usd(t.publishedTotalUsd), "published total",
          "published", t.publishedSource) : null,
        figure("trade-remaining", num(m.remainingUsd), usd(m.remainingUsd), "still to go"),
        t.hasYearOnYear ? figure("trade-yoy", num(t.yearOnYearPercent), (num(t.yearOnYearPercent) >= 0 ? "+" : "") +
          num(t.yearOnYearPercent).toFixed(1) + " %", "recorded, on the year before") : null),
      t.publishedSource ? h("p", { class: "note" }, "Source of the published figure: " + t.publishedSource) : null,
    ];
    if (trade && trade.years.length) {
      const years = trade.years;
      const series = [
        { name: "recorded flows", points: years.map(y => [y, num(trade.summaries[y].recordedTotalUsd)]), color: C.palette[0] },
        { name: "of which synthetic", points: years.map(y => [y, num(trade.summaries[y].syntheticUsd)]), color: "#7d4cb0", dashed: true },
        { name: "published total", points: years.filter(y => trade.summaries[y].published)
          .map(y => [y, num(trade.summaries[y].published.valueUsd)]), color: C.palette[3] },
        { name: "USD 100 bn", points: [[years[0], num(m.targetUsd) || 1e11], [years[years.length - 1], num(m.targetUsd) || 1e11]],
          color: "#8a99a8", dashed: true },
      ].filter(s => s.points.length);
      body.push(h("h3", {}, "Over the years"),
        h("div", { id: "milestone-chart" }, C.lineChart({ series, yFormat: usd, xFormat: y => String(Math.round(y)), xWhole: true,
          label: "China–Central Asia trade by year", width: chartWidth(id), height: 260 })));
    }
    fill(id, body);
    showState(id, "ok");
  }

  function drawTradeCountries(overview, profiles, trade) {
    const id = "trade-countries";
    const t = overview && overview.trade;
    const failed = !overview ? noOverview() : outcome(t, "trade");
    if (failed) return sectionFailed(id, failed);
    const entries = Object.entries(t.byCountryUsd || {}).sort((a, b) => b[1] - a[1]);
    const body = [];
    if (!entries.length) {
      body.push(h("p", { class: "empty", id: "by-country-empty" }, `No recorded flows for ${state.year}.`));
    } else {
      body.push(h("div", { id: "by-country" }, C.horizontalBars({
        label: "Recorded trade by partner", format: usd, width: chartWidth(id),
        bars: entries.map(([code, value]) => {
          const profile = profiles[code];
          const synthetic = profile && profile.trade ? num(profile.trade.syntheticUsd) : 0;
          return { label: countryNames[code] || code, value: num(value), color: countryColor[code],
            syntheticValue: synthetic, note: synthetic > 0 ? (synthetic >= num(value) ? "(synthetic)" : "(part synthetic)") : "" };
        }),
      })));
    }
    if (trade && trade.years.length > 1) {
      const codes = [...new Set(trade.years.flatMap(y => Object.keys(trade.summaries[y].byCountryUsd || {})))].sort();
      body.push(h("h3", {}, "Recorded flows by year"),
        h("div", { id: "by-country-years" }, C.stackedColumns({
          categories: trade.years.map(String), yFormat: usd, label: "Recorded trade by partner and year", height: 230,
          width: chartWidth(id),
          highlight: String(state.year),
          series: codes.map(code => ({ name: countryNames[code] || code, color: countryColor[code],
            values: trade.years.map(y => num((trade.summaries[y].byCountryUsd || {})[code])) })),
        })),
        syntheticYearsNote(trade));
    }
    fill(id, body);
    showState(id, entries.length ? "ok" : "empty");
  }

  function syntheticYearsNote(trade) {
    const years = trade.years.filter(y => num(trade.summaries[y].syntheticUsd) > 0);
    if (!years.length) return null;
    return h("p", { class: "note" }, syntheticBadge(), " Recorded flows include synthetic ones in ",
      years.map(y => `${y} (${(100 * num(trade.summaries[y].syntheticUsd) / Math.max(1, num(trade.summaries[y].recordedTotalUsd))).toFixed(0)} %)`).join(", "), ".");
  }

  function drawTradeCategories(categories, trade, error) {
    const id = "trade-categories";
    if (error) return fail(id, "Trade", error);
    const list = (categories && categories.categories) || [];
    const body = [];
    if (!list.length) {
      body.push(h("p", { class: "empty" }, `No recorded flows for ${state.year}.`));
    } else {
      body.push(h("div", { id: "categories" }, C.horizontalBars({
        label: "Largest categories", format: usd, width: chartWidth(id),
        bars: list.map((c, i) => ({ label: c.category, value: num(c.valueUsd), syntheticValue: num(c.syntheticUsd),
          color: C.palette[(i + 1) % C.palette.length],
          note: `${num(c.sharePercent).toFixed(1)} %` + (num(c.syntheticUsd) > 0 ? " · synthetic" : "") })),
      })));
    }
    if (trade && trade.years.length > 1) {
      const totals = {};
      for (const y of trade.years) for (const [name, v] of Object.entries(trade.summaries[y].byCategoryUsd || {})) {
        totals[name] = (totals[name] || 0) + num(v);
      }
      const top = Object.entries(totals).sort((a, b) => b[1] - a[1]).slice(0, 6).map(([name]) => name);
      body.push(h("h3", {}, "The largest categories over the years"),
        h("div", { id: "categories-years" }, C.lineChart({
          label: "Recorded trade by category and year", yFormat: usd, xFormat: y => String(Math.round(y)), xWhole: true, height: 230,
          width: chartWidth(id),
          series: top.map((name, i) => ({ name, color: C.palette[(i + 1) % C.palette.length],
            points: trade.years.map(y => [y, num((trade.summaries[y].byCategoryUsd || {})[name])]) })),
        })), syntheticYearsNote(trade));
    }
    fill(id, body);
    showState(id, list.length ? "ok" : "empty");
  }

  // The map is drawn once per set of cities and links; routes are drawn over it.
  let networkMap = null, networkKey = "";
  function drawNetwork(overview, network, error) {
    const id = "network";
    const l = overview && overview.logistics;
    const failed = !overview ? noOverview() : outcome(l, "logistics");
    if (failed) return sectionFailed(id, failed);
    if (error) return fail(id, "The logistics service", error);
    const key = JSON.stringify([network.cities.length, network.links.map(x => x.id)]);
    const p = l.published || {};
    const figures = h("div", { class: "figures", id: "network-figures" },
      figure("net-published-cities", num(p.chineseCities), integer(p.chineseCities), "Chinese cities", "published"),
      figure("net-published-europe", num(p.europeanDestinations), "> " + integer(p.europeanDestinations),
        "European destinations", "published"),
      figure("net-published-asia", num(p.asianCities), "> " + integer(p.asianCities), `Asian cities in ${integer(p.asianCountries)} countries`, "published"),
      figure("net-published-categories", num(p.cargoCategories), integer(p.cargoCategories), "cargo categories", "published"),
      figure("net-cities", num(l.cities), integer(l.cities), "cities held"),
      figure("net-synthetic-cities", num(l.syntheticCities), integer(l.syntheticCities), "of them generated", "synthetic"),
      figure("net-crossings", num(l.borderCrossings), integer(l.borderCrossings), "border crossings"),
      figure("net-links", num(l.railLinks), integer(l.railLinks), "active rail links"),
      figure("net-under-way", num(l.shipmentsUnderWay), integer(l.shipmentsUnderWay), "shipments under way"),
      figure("net-delivered", num(l.shipmentsDelivered), integer(l.shipmentsDelivered), "shipments delivered"));
    if (networkMap && key === networkKey && $("network-map")) {
      $("network-figures").replaceWith(figures);
      showState(id, "ok");
      return;
    }
    networkKey = key;
    const mapBox = h("div", { id: "network-map", class: "map-wrap" });
    const regions = [["all", "Whole network"], ["REGION_CENTRAL_ASIA", "Central Asia"], ["REGION_CHINA", "China"],
      ["REGION_EUROPE", "Europe"]];
    const tools = h("div", { class: "map-tools", role: "group", "aria-label": "Zoom" }, regions.map(([region, name]) =>
      h("button", { type: "button", "data-region": region, "aria-pressed": String(region === "all"), onclick: event => {
        for (const b of tools.children) b.setAttribute("aria-pressed", String(b === event.currentTarget));
        networkMap.zoom(region);
      } }, name)));
    const byName = (a, b) => a.name.localeCompare(b.name);
    const options = (selected) => [h("option", { value: "" }, "choose a city"),
      ...regions.slice(1).concat([["REGION_OTHER_ASIA", "Other Asia"]]).map(([region, name]) =>
        h("optgroup", { label: name }, network.cities.filter(c => c.region === region && !c.synthetic).sort(byName)
          .map(c => h("option", { value: c.id, selected: c.id === selected }, c.name + (c.isBorderCrossing ? " (crossing)" : ""))))),
      h("optgroup", { label: "Synthetic stations" }, network.cities.filter(c => c.synthetic).sort(byName)
        .map(c => h("option", { value: c.id, selected: c.id === selected }, c.name + " (synthetic)")))];
    const from = h("select", { id: "route-from" }, options(routeState.from));
    const to = h("select", { id: "route-to" }, options(routeState.to));
    const results = h("div", { id: "route-results", "aria-live": "polite" });
    const form = h("form", { class: "route-form", id: "route-form", onsubmit: event => {
      event.preventDefault();
      routeState.from = from.value; routeState.to = to.value;
      findRoutes(results);
    } }, h("label", {}, "From", from), h("label", {}, "To", to), h("button", { type: "submit", id: "route-find" }, "Find the fastest routes"));
    sectionBody(id).replaceChildren(figures, tools, mapBox,
      h("div", { class: "legend-row" }, h("span", {}, h("i", { style: "background:#1d2733" }), "city"),
        h("span", {}, h("i", { style: "background:#d9822b" }), "border crossing"),
        h("span", {}, h("i", { style: "background:#7d4cb0;opacity:.55" }), "synthetic station (generated; placed near its link)"),
        h("span", {}, "Positions are approximate; thick orange links cross a border.")),
      h("h3", {}, "Route finder"), form, results);
    networkMap = NetworkMap.draw(mapBox, { cities: network.cities, links: network.links, countryNames, onPick: city => {
      if (!from.value || (from.value && to.value)) { from.value = city.id; to.value = ""; }
      else to.value = city.id;
    } });
    mapBox.dataset.cities = networkMap.cityCount;
    mapBox.dataset.links = networkMap.linkCount;
    if (networkMap.unplaced) mapBox.append(h("p", { class: "note" }, `${networkMap.unplaced} cities not linked to any drawn city are not shown.`));
    if (routeState.routes) showRoutes(results, routeState.routes);
    showState(id, "ok");
  }

  const routeState = { from: params.get("from") || "", to: params.get("to") || "", routes: null };
  async function findRoutes(results) {
    if (!routeState.from || !routeState.to) {
      results.replaceChildren(h("p", { class: "message info" }, "Choose where the route starts and ends (or click two cities on the map)."));
      return;
    }
    results.replaceChildren(h("p", { class: "note" }, "Finding routes…"));
    try {
      const answer = await call("caravan.logistics.v1.LogisticsService/FindRoute",
        { fromCityId: routeState.from, toCityId: routeState.to, alternatives: 3 });
      routeState.routes = answer.routes || [];
      showRoutes(results, routeState.routes);
    } catch (error) {
      routeState.routes = null;
      networkMap && networkMap.showRoutes([]);
      results.replaceChildren(h("p", { class: "message", id: "route-error" },
        error.code === 5 ? `No route: ${error.message}` : `The route finder is unavailable: ${error.message}`));
    }
  }
  function showRoutes(results, routes) {
    networkMap.showRoutes(routes);
    const names = Object.fromEntries([...document.querySelectorAll("#route-from option")].map(o => [o.value, o.textContent]));
    const name = id => (names[id] || id).replace(/ \((crossing|synthetic)\)$/, "");
    results.replaceChildren(h("ol", { class: "routes", id: "routes" }, routes.map((route, i) =>
      h("li", { "data-hours": num(route.totalHours), "data-km": num(route.distanceKm), "data-legs": (route.legs || []).length },
        h("span", { class: "route-swatch", style: `background:${NetworkMap.routeColors[i % NetworkMap.routeColors.length]}` }),
        h("strong", {}, `${integer(route.totalHours)} h`), ` (${(num(route.totalHours) / 24).toFixed(1)} days), `,
        `${integer(route.distanceKm)} km, ${(route.legs || []).length} legs`,
        (route.crossings || []).length ? `, crossing at ${(route.crossings || []).map(name).join(", ")}` : ", no border crossing",
        route.synthetic ? syntheticBadge("uses generated links") : null))));
  }

  function drawTraining(overview, programs, error) {
    const id = "training";
    const t = overview && overview.training;
    const failed = !overview ? noOverview() : outcome(t, "training");
    if (failed) return sectionFailed(id, failed);
    if (error) return fail(id, "The training service", error);
    const today = (serverDate || new Date()).toISOString().slice(0, 10);
    const body = [h("div", { class: "figures", id: "training-figures" },
      figure("training-programs", num(t.programs), integer(t.programs), "programs"),
      num(t.syntheticPrograms) > 0 ? figure("training-synthetic", num(t.syntheticPrograms), integer(t.syntheticPrograms),
        "of them with generated figures", "synthetic") : null,
      figure("training-seats", num(t.seats), integer(t.seats), "seats"),
      figure("training-enrolled", num(t.enrolled), integer(t.enrolled), "enrolled"),
      figure("training-waitlisted", num(t.waitlisted), integer(t.waitlisted), "on wait-lists"),
      figure("training-completed", num(t.completed), integer(t.completed),
        `completed (${(100 * num(t.completionRate)).toFixed(0)} % of those who started)`))];
    if (!programs.length) {
      body.push(h("p", { class: "empty" }, "No training programs are held."));
    } else {
      // Open programs first, then by how full they are.
      const sorted = [...programs].sort((a, b) => ((b.endDate >= today) - (a.endDate >= today)) ||
        (num(b.enrolled) + num(b.waitlisted)) - (num(a.enrolled) + num(a.waitlisted)));
      const shown = sorted.slice(0, 12);
      body.push(h("div", { class: "scroll" }, h("table", { class: "programs", id: "programs" },
        h("tr", {}, h("th", {}, "Program"), h("th", {}, "Seats filled and wait-list")),
        shown.map(p => h("tr", { "data-program": p.id, "data-enrolled": num(p.enrolled), "data-capacity": num(p.capacity),
          "data-waitlisted": num(p.waitlisted), "data-completed": num(p.completed) },
          h("td", {}, h("strong", {}, p.title), p.synthetic ? syntheticBadge("capacity or dates generated") : null, h("br"),
            h("span", { class: "note" }, `${p.field} · ${p.hostCity}, ${countryNames[p.country] || p.country} · ` +
              `${p.startDate} to ${p.endDate}` + (p.endDate < today ? " · finished" : " · open for enrolment"))),
          h("td", { class: "seats" }, seatsBar(p)))))));
      if (sorted.length > shown.length) body.push(h("p", { class: "note" }, `${sorted.length - shown.length} more programs not shown.`));
    }
    fill(id, body);
    showState(id, "ok");
  }
  // Seats as a bar: completed and enrolled fill the seats, the wait-list runs past them.
  function seatsBar(p) {
    const capacity = Math.max(1, num(p.capacity)), enrolled = num(p.enrolled), waiting = num(p.waitlisted), done = num(p.completed);
    const width = 200, scale = width / Math.max(capacity, enrolled + done + waiting);
    const bar = C.el("svg", { viewBox: `0 0 ${width} 14`, class: "chart", role: "img", preserveAspectRatio: "none",
      "aria-label": `${enrolled} enrolled and ${done} completed of ${capacity} seats, ${waiting} waiting` }, [
      C.el("rect", { x: 0, y: 0, width: capacity * scale, height: 14, class: "track" }),
      C.el("rect", { x: 0, y: 0, width: done * scale, height: 14, fill: C.palette[2] }),
      C.el("rect", { x: done * scale, y: 0, width: enrolled * scale, height: 14, fill: C.palette[0] }),
      waiting ? C.el("rect", { x: capacity * scale, y: 0, width: waiting * scale, height: 14, fill: C.palette[1] }) : null,
    ]);
    return [bar, h("span", { class: "note" }, `${enrolled} enrolled · ${done} completed · ${capacity} seats` +
      (waiting ? ` · ${waiting} waiting` : ""))];
  }

  function drawHub(overview, stats, error) {
    const id = "hub";
    const hub = overview && overview.hub;
    const failed = !overview ? noOverview() : outcome(hub, "trade (hub)");
    if (failed) return sectionFailed(id, failed);
    const body = [h("p", { class: "note" }, hub.hub || ""),
      h("div", { class: "figures", id: "hub-figures" },
        figure("hub-published-followers", num(hub.publishedFollowers), "> " + integer(hub.publishedFollowers),
          "international followers, end of 2024", "published"),
        figure("hub-published-sales", num(hub.publishedSalesCny), "> CNY " + integer(hub.publishedSalesCny),
          `in transactions (≈ ${usdMillions(hub.publishedSalesUsd)})`, "published"),
        figure("hub-sessions", num(hub.sessions), integer(hub.sessions), `live-streaming sessions recorded in ${state.year}`),
        num(hub.syntheticSessions) > 0 ? figure("hub-synthetic-sessions", num(hub.syntheticSessions), integer(hub.syntheticSessions),
          "of them", "synthetic") : null,
        figure("hub-new-followers", num(hub.newFollowers), integer(hub.newFollowers), "new followers recorded"),
        figure("hub-sales", num(hub.salesCny), "CNY " + integer(hub.salesCny), `recorded sales (${usdMillions(hub.salesUsd)})`))];
    if (error) {
      body.push(h("p", { class: "message section-message" }, `The hub's creators are unavailable: ${error.message}`));
    } else if (stats && (stats.topCreators || []).length) {
      body.push(h("h3", {}, "Top creators by sales"), h("div", { id: "hub-creators" }, C.horizontalBars({
        label: "Top creators by sales", format: v => "CNY " + f.compact(v), width: chartWidth(id),
        bars: stats.topCreators.map(c => ({ label: `${c.creator} (${c.creatorCountry})`, value: num(c.salesCny),
          syntheticValue: c.synthetic ? num(c.salesCny) : 0, color: countryColor[c.creatorCountry] || C.palette[6],
          note: c.synthetic ? "(synthetic)" : "" })),
      })));
    } else {
      body.push(h("p", { class: "empty" }, `No live-streaming sessions recorded in ${state.year}.`));
    }
    fill(id, body);
    showState(id, "ok");
  }

  // Energy cooperation: the projects as their source describes them. A
  // capacity the source does not publish is said to be unpublished, never drawn as zero.
  const energyKinds = { wind: ["Wind", C.palette[0]], hydro: ["Hydro", C.palette[5]], solar: ["Solar", C.palette[6]],
    nuclear: ["Nuclear", C.palette[4]], "equipment trade": ["Equipment trade", C.palette[2]] };
  function kindMark(kind) {
    const [label, color] = energyKinds[kind] || [kind, C.palette[7]];
    return [C.el("svg", { viewBox: "0 0 12 12", width: 12, height: 12, class: "kind-mark", role: "img", "aria-label": label },
      [C.el("circle", { cx: 6, cy: 6, r: 5, fill: color })]), " " + label];
  }
  function drawEnergy(overview) {
    const id = "energy";
    const e = overview && overview.energy;
    const failed = !overview ? noOverview() : outcome(e, "trade (energy)");
    if (failed) return sectionFailed(id, failed);
    const projects = e.projects || [];
    if (e.noData || !projects.length) {
      fill(id, [h("p", { class: "empty", id: "energy-empty" }, e.noDataMessage || "No energy cooperation projects are recorded.")]);
      return showState(id, "ok");
    }
    const sources = [...new Set(projects.filter(p => !p.synthetic).map(p => p.source))];
    fill(id, [
      h("div", { class: "scroll" }, h("table", { class: "projects", id: "energy-projects" },
        h("tr", {}, h("th", {}, "Project"), h("th", {}, "Partner"), h("th", {}, "Kind"), h("th", {}, "Status"),
          h("th", {}, "Capacity")),
        projects.map(p => h("tr", { "data-project": p.id, "data-partner": p.country },
          h("td", {}, h("strong", {}, p.name), p.synthetic ? syntheticBadge() : publishedBadge(p.source), h("br"),
            h("span", { class: "note" }, p.description + (p.chinesePartner ? ` Chinese partner: ${p.chinesePartner}.` : ""))),
          h("td", {}, countryNames[p.country] || p.country),
          h("td", { class: "kind" }, kindMark(p.kind)),
          h("td", {}, p.status),
          h("td", { "data-value": p.capacityMw === undefined ? "" : num(p.capacityMw) },
            p.capacityMw === undefined ? h("span", { class: "note" }, "not published") : f.integer(num(p.capacityMw)) + " MW"))))),
      sources.length ? h("p", { class: "note" }, "Source: " + sources.join("; ")) : null,
    ]);
    showState(id, "ok");
  }

  function drawCountries(profiles, errors) {
    const id = "countries";
    const cards = partners.map(([code, name]) => {
      const p = profiles[code];
      if (!p) {
        return h("div", { class: "card", "data-country": code }, h("h3", {}, name),
          h("p", { class: "message section-message" }, `The profile is unavailable: ${(errors[code] || {}).message || "no answer"}`));
      }
      const rows = [];
      const line = (label, value, raw, extra) => rows.push(h("dt", {}, label), h("dd", { "data-value": raw }, value, extra || null));
      // A failed section in a card: the first sentence shown, the whole message on hover.
      const failedLine = (label, sentence) => rows.push(h("dt", {}, label), h("dd", { class: "section-failed",
        title: typeof sentence === "string" ? sentence : null },
        typeof sentence === "string" ? sentence.replace(/:.*$/s, ".") : sentence));
      const t = p.trade, l = p.logistics, tr = p.training, hub = p.hub, energy = p.energy;
      // A section that answered but has no figures says so in the gateway's words.
      const noData = (label, section) => failedLine(label, h("span", { class: "empty no-data" }, section.noDataMessage));
      if (outcome(t, "trade")) failedLine("Trade", outcome(t, "trade"));
      else if (t.noData) noData("Trade", t);
      else {
        line("Trade recorded", usd(t.totalUsd), num(t.totalUsd), num(t.syntheticUsd) > 0 ? syntheticBadge(`${usd(t.syntheticUsd)} synthetic`) : null);
        if (t.hasPublishedTotal) line("Published", usd(t.publishedTotalUsd), num(t.publishedTotalUsd), publishedBadge(t.publishedSource));
        if (t.hasYearOnYear) line("On the year before", (num(t.yearOnYearPercent) >= 0 ? "+" : "") + num(t.yearOnYearPercent).toFixed(1) + " %", num(t.yearOnYearPercent));
        const top = (t.topCategories || [])[0];
        if (top) line("Largest category", top.category, num(top.valueUsd));
      }
      if (outcome(l, "logistics")) failedLine("Freight", outcome(l, "logistics"));
      else if (l.noData) noData("Freight", l);
      else {
        line("Rail cities", integer(l.cities), num(l.cities), num(l.syntheticCities) > 0 ? syntheticBadge(`${integer(l.syntheticCities)} generated`) : null);
        line("Rail links", `${integer(l.railLinks)} (${integer(l.crossBorderLinks)} cross-border)`, num(l.railLinks));
        line("Shipments under way", integer(l.shipmentsUnderWay), num(l.shipmentsUnderWay));
      }
      if (outcome(tr, "training")) failedLine("Training", outcome(tr, "training"));
      else if (tr.noData) noData("Training", tr);
      else line("Training programs", `${integer(tr.programs)}, ${integer(tr.enrolled)} enrolled`, num(tr.programs),
        num(tr.syntheticPrograms) > 0 ? syntheticBadge() : null);
      if (hub && outcome(hub, "hub")) failedLine("Hub creators", outcome(hub, "hub"));
      else if (hub && hub.noData) noData("Hub creators", hub);
      else if (hub) line("Hub sessions", integer(hub.sessions), num(hub.sessions), num(hub.syntheticSessions) > 0 ? syntheticBadge() : null);
      if (energy && outcome(energy, "energy")) failedLine("Energy", outcome(energy, "energy"));
      else if (energy && energy.noData) noData("Energy", energy);
      else if (energy) {
        const projects = energy.projects || [];
        const kinds = [...new Set(projects.map(x => x.kind))].join(", ");
        rows.push(h("dt", {}, "Energy projects"), h("dd", { "data-value": projects.length, title: projects.map(x => x.name).join("; ") },
          `${projects.length} (${kinds})`));
      }
      return h("div", { class: "card", "data-country": code }, h("h3", {}, name), h("dl", {}, rows));
    });
    sectionBody(id).replaceChildren(h("div", { class: "cards" }, cards));
    showState(id, Object.keys(profiles).length ? "ok" : "failed");
  }

  async function drawBackends() {
    try {
      const response = await fetch("/readyz");
      const r = await response.json();
      $("backends").replaceChildren(...Object.entries(r.backends).sort().map(([name, b]) =>
        h("span", { class: "chip " + (b.ready ? "ok" : "bad"), "data-backend": name, title: b.replicas.map(x =>
          x.address + (x.healthy ? "" : " unhealthy") + (x.ejected ? " ejected" : "")).join(", ") },
          `${name} ${b.configured ? (b.ready ? "ready" : "not ready") : "not configured"}`)));
    } catch (error) {
      $("backends").replaceChildren(h("span", { class: "chip bad" }, "gateway unreachable"));
    }
  }

  // ---- Loading and refreshing -------------------------------------------

  const state = { year: null, loading: null, trade: null };
  const settle = promise => promise.then(value => ({ value }), error => ({ error }));

  async function load() {
    await drawBackends();
    const trade = await settle(tradeYears());
    state.trade = trade.value || null;
    const fromURL = Number(params.get("year"));
    const current = (serverDate || new Date()).getUTCFullYear();
    state.year = state.year || fromURL || (trade.value && trade.value.years.length
      ? trade.value.years[trade.value.years.length - 1] : current);
    const years = trade.value ? [...trade.value.years] : [];
    if (!years.includes(state.year)) years.push(state.year);
    drawYears(years.sort(), state.year);
    if (trade.error && trade.error.status !== 401 && trade.error.status !== 403) {
      $("banner").hidden = false;
      $("banner").textContent = `The trade service is unavailable (${trade.error.message}), so the latest year with data ` +
        `cannot be found; showing ${state.year}.`;
    } else {
      $("banner").hidden = true;
    }
    const year = state.year;
    const [overview, categories, cities, links, programs] = await Promise.all([
      settle(request(`/v1/overview?year=${year}`)),
      settle(call("caravan.trade.v1.TradeService/TopCategories", { year, limit: 8 })),
      settle(pages("caravan.logistics.v1.LogisticsService/ListCities", { pageSize: 1000 }, "cities")),
      settle(pages("caravan.logistics.v1.LogisticsService/ListLinks", { pageSize: 1000 }, "links")),
      settle(pages("caravan.training.v1.TrainingService/ListPrograms", { pageSize: 500 }, "programs")),
    ]);
    if (overview.error && (overview.error.status === 401 || overview.error.status === 403)) {
      throw new Error($("auth-reason").textContent);
    }
    const profileAnswers = await Promise.all(partners.map(([code]) => settle(request(`/v1/countries/${code}/profile?year=${year}`))));
    const profiles = {}, profileErrors = {};
    partners.forEach(([code], i) => {
      if (profileAnswers[i].value) profiles[code] = profileAnswers[i].value;
      else profileErrors[code] = profileAnswers[i].error;
    });
    const o = overview.value || null;
    state.overviewError = overview.error || null;
    const hubName = o && o.hub && o.hub.hub;
    const start = Date.UTC(year, 0, 1) / 1000, end = Date.UTC(year + 1, 0, 1) / 1000;
    const hubStats = hubName ? await settle(call("caravan.trade.v1.TradeService/HubStats",
      { hub: hubName, fromUnixSeconds: start, toUnixSeconds: end, topCreatorsLimit: 8 })) : { value: null };

    drawMilestone(o, state.trade);
    drawTradeCountries(o, profiles, state.trade);
    drawTradeCategories(categories.value, state.trade, categories.error);
    const networkError = cities.error || links.error;
    drawNetwork(o, networkError ? null : { cities: cities.value, links: links.value }, networkError);
    drawTraining(o, programs.value || [], programs.error);
    drawHub(o, hubStats.value, hubStats.error);
    drawEnergy(o);
    drawCountries(profiles, profileErrors);
    $("refreshed").textContent = "Updated " + new Date().toLocaleTimeString("en-GB") + ".";
    document.body.dataset.ready = "true";
    document.body.dataset.loads = String(Number(document.body.dataset.loads || 0) + 1);
  }

  // One load at a time; a refresh asked for meanwhile runs once after it.
  let again = false;
  async function refresh() {
    if (state.loading) { again = true; return state.loading; }
    state.loading = load().catch(error => {
      $("banner").hidden = false;
      $("banner").textContent = "Cannot load: " + (error.message || error);
      document.body.dataset.ready = "true";
    }).finally(() => {
      state.loading = null;
      if (again) { again = false; refresh(); }
    });
    return state.loading;
  }

  // Live updates: each feed's messages go into the list and refresh the
  // figures soon after; while any feed is not open, a timer refreshes instead.
  const feedState = {};
  let timer = null, pending = null;
  function describe(message) {
    const flow = message.flow, event = message.event, enrolment = message.enrolment;
    if (flow) return `Trade flow recorded: ${countryNames[flow.country] || flow.country}, ${flow.category}, ` +
      `${usdMillions(flow.valueUsd)}` + (flow.synthetic ? " (synthetic)" : "");
    if (event) return `Shipment ${event.shipmentId}: ${String(event.kind || "").replace("SHIPMENT_EVENT_KIND_", "").toLowerCase().replace(/_/g, " ")}` +
      (event.locationCityId ? ` at ${event.locationCityId}` : "");
    if (enrolment) return `Enrolment in ${enrolment.programId}: ${String(enrolment.status || "").replace("ENROLMENT_STATUS_", "").toLowerCase()}`;
    return JSON.stringify(message).slice(0, 160);
  }
  function liveStatus() {
    const open = liveFeeds.filter(feed => feedState[feed.method] && feedState[feed.method].live);
    const polling = open.length < liveFeeds.length;
    $("live-status").textContent = open.length === liveFeeds.length ? "live" :
      open.length ? `live (${open.map(x => x.label).join(", ")}); refreshing every ${refreshSeconds} s` : `refreshing every ${refreshSeconds} s`;
    $("live-status").className = "chip " + (open.length ? "ok" : "");
    $("live-note").textContent = liveFeeds.map(feed => {
      const s = feedState[feed.method];
      return `${feed.label}: ` + (!s ? "connecting" : s.live ? "live" : "no live stream (" + s.reason + ")");
    }).join("; ") + (polling ? `. The figures are refreshed every ${refreshSeconds} s.` : ".");
    if (polling && !timer) timer = setInterval(refresh, refreshSeconds * 1000);
    if (!polling && timer) { clearInterval(timer); timer = null; }
  }
  function startLive() {
    for (const feed of liveFeeds) {
      subscribe(feed.method, {}, message => {
        if (message.created) return;  // the watch's first message: registered, no change yet
        const list = $("live-events");
        list.prepend(h("li", {}, new Date().toLocaleTimeString("en-GB") + " — " + describe(message)));
        while (list.children.length > 10) list.lastChild.remove();
        clearTimeout(pending);
        pending = setTimeout(refresh, 500);
      }, s => { feedState[feed.method] = s; liveStatus(); });
    }
    liveStatus();
  }

  // For the page's tests, and for trying a stream from the browser's console.
  window.CaravanDashboard = Object.freeze({ subscribe });
  refresh().then(startLive);
})();
