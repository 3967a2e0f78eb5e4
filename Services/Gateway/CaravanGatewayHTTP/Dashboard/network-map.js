// The freight network as a map: the logistics service's cities and links
// (ListCities, ListLinks) drawn in SVG, border crossings highlighted,
// routes (FindRoute) drawn over them.
//
// The logistics API gives cities no coordinates, so real cities are placed
// from the approximate positions below (latitude, longitude: public
// geography, for drawing only). A city not listed here — the generated
// ("synthetic") stations — is placed near a city it links to, at a
// distance that grows with the link's length and a bearing taken from its
// id, so the same network always draws the same way; those positions are
// as synthetic as the stations and are drawn faintly.
"use strict";
const NetworkMap = (() => {
  const places = {
    xian: [34.27, 108.94], chongqing: [29.56, 106.55], chengdu: [30.66, 104.07], yiwu: [29.31, 120.08],
    zhengzhou: [34.75, 113.62], wuhan: [30.59, 114.31], urumqi: [43.83, 87.62], horgos: [44.21, 80.41],
    alashankou: [45.17, 82.57], erenhot: [43.65, 111.98], lanzhou: [36.06, 103.83], changsha: [28.23, 112.94],
    hefei: [31.82, 117.23], suzhou: [31.3, 120.62], guangzhou: [23.13, 113.26], xiamen: [24.48, 118.09],
    jinan: [36.65, 117.12], qingdao: [36.07, 120.38], tianjin: [39.13, 117.2], shenyang: [41.8, 123.43],
    harbin: [45.8, 126.53], kashgar: [39.47, 75.99], kunming: [25.04, 102.71], nanning: [22.82, 108.32],
    khorgos: [44.18, 80.22], dostyk: [45.25, 82.48], almaty: [43.24, 76.89], astana: [51.17, 71.43],
    aktogay: [46.95, 79.67], karaganda: [49.8, 73.1], shymkent: [42.32, 69.59], kyzylorda: [44.85, 65.51],
    aktobe: [50.28, 57.17], petropavl: [54.87, 69.14], tashkent: [41.3, 69.24], samarkand: [39.65, 66.96],
    navoi: [40.1, 65.37], bukhara: [39.77, 64.42], termez: [37.22, 67.28], andijan: [40.78, 72.34],
    bishkek: [42.87, 74.59], osh: [40.53, 72.8], dushanbe: [38.56, 68.79], khujand: [40.28, 69.62],
    ashgabat: [37.95, 58.38], turkmenabat: [39.07, 63.58], mary: [37.59, 61.83], turkmenbashi: [40.02, 52.97],
    "zamyn-uud": [43.72, 111.9], ulaanbaatar: [47.89, 106.91], hanoi: [21.03, 105.85], vientiane: [17.98, 102.63],
    bangkok: [13.76, 100.5], mashhad: [36.3, 59.6], tehran: [35.69, 51.39], "mazar-i-sharif": [36.71, 67.11],
    yekaterinburg: [56.84, 60.61], kazan: [55.79, 49.12], samara: [53.2, 50.15], orenburg: [51.77, 55.1],
    moscow: [55.76, 37.62], smolensk: [54.78, 32.04], minsk: [53.9, 27.56], brest: [52.1, 23.73],
    malaszewicze: [52.03, 23.53], warsaw: [52.23, 21.01], lodz: [51.76, 19.46], poznan: [52.41, 16.93],
    berlin: [52.52, 13.4], hamburg: [53.55, 9.99], duisburg: [51.43, 6.76], nuremberg: [49.45, 11.08],
    munich: [48.14, 11.58], rotterdam: [51.92, 4.48], lyon: [45.76, 4.84], madrid: [40.42, -3.7],
    milan: [45.46, 9.19], prague: [50.08, 14.44], vienna: [48.21, 16.37], budapest: [47.5, 19.04],
    vilnius: [54.69, 25.28], kaunas: [54.9, 23.9],
  };
  const routeColors = ["#c0392b", "#1f6fb2", "#2a9d5c", "#d9822b", "#7d4cb0"];
  const el = (...args) => CaravanCharts.el(...args);

  // Plane coordinates: equirectangular, longitude scaled by the cosine of 45° (the network's middle).
  const project = ([lat, lon]) => [lon * Math.cos(Math.PI / 4) * 10, -lat * 10];

  function hash(text) {
    let h = 2166136261;
    for (const c of text) h = Math.imul(h ^ c.charCodeAt(0), 16777619);
    return (h >>> 0) / 4294967296;
  }

  // Positions for every city that is connected to a placed one.
  function layout(cities, links) {
    const position = {};
    for (const c of cities) if (places[c.id]) position[c.id] = project(places[c.id]);
    const neighbours = {};
    for (const l of links) {
      (neighbours[l.fromCityId] = neighbours[l.fromCityId] || []).push([l.toCityId, l.distanceKm]);
      (neighbours[l.toCityId] = neighbours[l.toCityId] || []).push([l.fromCityId, l.distanceKm]);
    }
    let queue = Object.keys(position);
    while (queue.length) {
      const next = [];
      for (const id of queue) {
        for (const [other, km] of neighbours[id] || []) {
          if (position[other]) continue;
          const angle = hash(other) * 2 * Math.PI, distance = 2 + Math.sqrt(Number(km) || 100) * 0.9;
          position[other] = [position[id][0] + Math.cos(angle) * distance, position[id][1] + Math.sin(angle) * distance];
          next.push(other);
        }
      }
      queue = next;
    }
    return position;
  }

  function bounds(points, padding = 18) {
    const xs = points.map(p => p[0]), ys = points.map(p => p[1]);
    if (!xs.length) return [0, 0, 100, 60];
    const x0 = Math.min(...xs) - padding, y0 = Math.min(...ys) - padding;
    return [x0, y0, Math.max(...xs) + padding - x0, Math.max(...ys) + padding - y0];
  }

  // Draws into `container`; returns {showRoutes(routes), zoom(region), cityCount, linkCount}.
  // onPick(city) is called when a city is clicked.
  function draw(container, { cities, links, countryNames = {}, onPick }) {
    const position = layout(cities, links);
    const byId = Object.fromEntries(cities.map(c => [c.id, c]));
    const placed = cities.filter(c => position[c.id]);
    const full = bounds(placed.map(c => position[c.id]));
    const svg = el("svg", { class: "network-map", viewBox: full.join(" "), role: "img",
      "aria-label": "Map of the freight network" });
    // Country names at the middle of their real cities.
    const countries = {};
    for (const c of placed) if (places[c.id]) (countries[c.country] = countries[c.country] || []).push(position[c.id]);
    const countryLayer = el("g", { class: "countries" });
    for (const [code, points] of Object.entries(countries)) {
      const [x, y] = [points.reduce((s, p) => s + p[0], 0) / points.length, points.reduce((s, p) => s + p[1], 0) / points.length];
      countryLayer.appendChild(el("text", { x, y, class: "country", "text-anchor": "middle" }, [countryNames[code] || code]));
    }
    svg.appendChild(countryLayer);
    const linkLayer = el("g", { class: "links" });
    let linkCount = 0;
    // Synthetic links first, so real ones and crossings draw over them.
    for (const l of [...links].sort((a, b) => (b.synthetic ? 1 : 0) - (a.synthetic ? 1 : 0))) {
      const a = position[l.fromCityId], b = position[l.toCityId];
      if (!a || !b) continue;
      linkCount++;
      linkLayer.appendChild(el("line", { x1: a[0], y1: a[1], x2: b[0], y2: b[1], "data-link": l.id,
        class: "link" + (l.crossingCityId ? " crossing" : "") + (l.synthetic ? " synthetic" : "") },
        [CaravanCharts.el("title", {}, [`${(byId[l.fromCityId] || {}).name} – ${(byId[l.toCityId] || {}).name}: ` +
          `${l.transitHours} h, ${l.distanceKm} km` + (l.crossingCityId ? `, crosses the border at ${(byId[l.crossingCityId] || {}).name}` : "") +
          (l.synthetic ? " (synthetic)" : "") + (l.note ? ` — ${l.note}` : "")])]));
    }
    svg.appendChild(linkLayer);
    const routeLayer = el("g", { class: "routes" });
    svg.appendChild(routeLayer);
    const cityLayer = el("g", { class: "cities" });
    const labelLayer = el("g", { class: "labels" });
    for (const c of [...placed].sort((a, b) => (b.synthetic ? 1 : 0) - (a.synthetic ? 1 : 0))) {
      const [x, y] = position[c.id];
      const kind = c.isBorderCrossing ? "crossing" : c.synthetic ? "synthetic" : "real";
      const mark = el("circle", { cx: x, cy: y, r: kind === "crossing" ? 4.5 : kind === "synthetic" ? 1.4 : 2.6,
        class: "city" + (c.isBorderCrossing ? " crossing" : "") + (c.synthetic ? " synthetic" : ""), "data-city": c.id,
        "data-crossing": c.isBorderCrossing ? "true" : "false", tabindex: kind === "synthetic" ? null : 0 },
        [CaravanCharts.el("title", {}, [`${c.name} (${countryNames[c.country] || c.country})` +
          (c.isBorderCrossing ? ", border crossing" : "") + (c.synthetic ? " — synthetic" : "") + (c.note ? `: ${c.note}` : "")])]);
      if (onPick) mark.addEventListener("click", () => onPick(c));
      cityLayer.appendChild(mark);
      if (places[c.id]) {
        labelLayer.appendChild(el("text", { x: x + 5, y: y + 3, class: "label" + (c.isBorderCrossing ? " crossing" : "") },
          [c.name]));
      }
    }
    svg.appendChild(cityLayer);
    svg.appendChild(labelLayer);
    container.replaceChildren(svg);

    function showRoutes(routes) {
      routeLayer.replaceChildren();
      // The slowest underneath, the fastest on top.
      [...routes].map((r, i) => [r, i]).reverse().forEach(([route, index]) => {
        const points = [];
        for (const leg of route.legs || []) {
          for (const id of [leg.fromCityId, leg.toCityId]) {
            const p = position[id];
            if (p && (!points.length || points[points.length - 1] !== p)) points.push(p);
          }
        }
        routeLayer.appendChild(el("polyline", { class: "route", "data-route": index + 1,
          points: points.map(p => p.join(",")).join(" "), stroke: routeColors[index % routeColors.length],
          "stroke-width": Math.max(2.5, 7 - index * 2), "stroke-dasharray": route.synthetic ? "8 4" : null }));
      });
      for (const mark of cityLayer.querySelectorAll(".city.selected")) mark.classList.remove("selected");
      if (routes.length) {
        const legs = routes[0].legs || [];
        for (const id of [legs[0] && legs[0].fromCityId, legs.length && legs[legs.length - 1].toCityId]) {
          const mark = cityLayer.querySelector(`[data-city="${CSS.escape(id || "")}"]`);
          if (mark) mark.classList.add("selected");
        }
      }
    }

    // Zooms to the cities of a region (a Region enum name) or, for "all", the whole network.
    function zoom(region) {
      const chosen = region === "all" ? placed : placed.filter(c => c.region === region && places[c.id]);
      svg.setAttribute("viewBox", (chosen.length ? bounds(chosen.map(c => position[c.id]), region === "all" ? 18 : 30) : full).join(" "));
    }

    return { showRoutes, zoom, cityCount: placed.length, linkCount, unplaced: cities.length - placed.length, routeColors };
  }

  return { draw, routeColors };
})();
