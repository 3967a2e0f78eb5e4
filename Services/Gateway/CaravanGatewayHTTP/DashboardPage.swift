/// The dashboard served at `/`: static HTML and JavaScript that reads the
/// gateway's own JSON API (`/v1/overview`, `/readyz`). Figures generated
/// rather than reported are marked "synthetic" wherever shown.
enum DashboardPage {
    static let html = #"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <title>Caravan — China–Central Asia cooperation</title>
        <style>
          body { font-family: system-ui, sans-serif; margin: 2rem; max-width: 60rem; color: #222; }
          section { margin-bottom: 1.5rem; }
          .bar { background: #eee; height: 1.2rem; border-radius: 3px; }
          .bar > div { background: #c0392b; height: 100%; border-radius: 3px; }
          .row { display: grid; grid-template-columns: 12rem 1fr 9rem; gap: .5rem; align-items: center; margin: .2rem 0; }
          .synthetic { color: #8e44ad; font-size: .85em; }
          .status-ok { color: #27ae60; } .status-bad { color: #c0392b; }
        </style>
        </head>
        <body>
        <h1>China–Central Asia cooperation</h1>
        <p>Year <span id="year">…</span>. <span id="partial"></span></p>
        <form id="auth" hidden>This gateway asks for an access token (scope caravan.read):
          <input id="token" type="password" autocomplete="off" size="40"> <button>Use</button></form>
        <section><h2>USD 100 billion milestone</h2>
          <div class="bar"><div id="milestone-bar" style="width:0%"></div></div>
          <p id="milestone">…</p></section>
        <section><h2>Trade by country</h2><div id="by-country"></div>
          <p id="trade-synthetic" class="synthetic"></p></section>
        <section><h2>Top categories</h2><div id="categories"></div></section>
        <section><h2>Freight network</h2><p id="network">…</p></section>
        <section><h2>Horgos hub</h2><p id="hub">…</p></section>
        <section><h2>Training</h2><p id="training">…</p></section>
        <section><h2>Backends</h2><ul id="backends"></ul></section>
        <script>
        const usd = v => "USD " + (Number(v || 0) / 1e9).toFixed(2) + " bn";
        const num = v => Number(v || 0).toLocaleString("en");
        function rows(element, entries, max) {
          if (!entries.length) { element.textContent = "No recorded flows for this year."; return; }
          element.innerHTML = entries.map(([name, value]) =>
            `<div class="row"><span>${name}</span><div class="bar"><div style="width:${max ? 100 * value / max : 0}%"></div></div><span>${usd(value)}</span></div>`).join("");
        }
        function outcome(section) {
          const status = section && section.outcome ? section.outcome.status : "SECTION_STATUS_UNSPECIFIED";
          return status === "SECTION_STATUS_OK" ? null : status.replace("SECTION_STATUS_", "") + " " + (section.outcome.message || "");
        }
        // A token from the URL's fragment (which browsers never send to a
        // server, so it stays out of access logs) or from an earlier entry
        // in this tab; kept for the tab only.
        const fragment = new URLSearchParams(location.hash.slice(1));
        if (fragment.get("token")) {
          sessionStorage.setItem("caravan-token", fragment.get("token"));
          history.replaceState(null, "", location.pathname + location.search);
        }
        function authorized() {
          const token = sessionStorage.getItem("caravan-token");
          return token ? { headers: { Authorization: "Bearer " + token } } : {};
        }
        document.getElementById("auth").addEventListener("submit", event => {
          event.preventDefault();
          sessionStorage.setItem("caravan-token", document.getElementById("token").value.trim());
          location.reload();
        });
        async function load() {
          const params = new URLSearchParams(location.search);
          const query = params.get("year") ? "?year=" + params.get("year") : "";
          const answer = await fetch("/v1/overview" + query, authorized());
          if (answer.status === 401 || answer.status === 403) {
            document.getElementById("auth").hidden = false;
            throw new Error(answer.status === 401 ? "an access token is needed" : "the token lacks the caravan.read scope");
          }
          const o = await answer.json();
          document.getElementById("year").textContent = o.year;
          document.getElementById("partial").textContent = o.partial ? "Partial answer: some sections failed." : "";
          const t = o.trade || {};
          if (outcome(t)) { document.getElementById("milestone").textContent = "Trade: " + outcome(t); }
          else {
            const m = t.milestone || {};
            document.getElementById("milestone-bar").style.width = Math.min(100, Number(m.percent || 0)) + "%";
            document.getElementById("milestone").textContent =
              `${usd(m.valueUsd)} of ${usd(m.targetUsd)} (${Number(m.percent || 0).toFixed(1)} %), ` +
              (m.fromPublished ? "published figure" : "recorded flows");
            const countries = Object.entries(t.byCountryUsd || {}).sort((a, b) => b[1] - a[1]);
            rows(document.getElementById("by-country"), countries, countries.length ? countries[0][1] : 0);
            document.getElementById("trade-synthetic").textContent =
              `Recorded ${usd(t.totalUsd)}, of which synthetic ${usd(t.syntheticUsd || 0)}.`;
            const categories = (t.topCategories || []).map(c => [c.category, c.valueUsd]);
            rows(document.getElementById("categories"), categories, categories.length ? categories[0][1] : 0);
          }
          const l = o.logistics || {}, p = l.published || {};
          document.getElementById("network").textContent = outcome(l) ? "Logistics: " + outcome(l) :
            `Published: ${num(p.chineseCities)} Chinese cities, more than ${num(p.europeanDestinations)} European destinations, ` +
            `more than ${num(p.asianCities)} cities in ${num(p.asianCountries)} Asian countries, ${num(p.cargoCategories)} cargo categories. ` +
            `Held: ${num(l.cities)} cities (synthetic: ${num(l.syntheticCities)}), ${num(l.borderCrossings)} border crossings, ` +
            `${num(l.railLinks)} active rail links, ` +
            `${num(l.shipmentsUnderWay)} shipments under way.`;
          const h = o.hub || {};
          document.getElementById("hub").textContent = outcome(h) ? "Hub: " + outcome(h) :
            `${h.hub}: published more than ${num(h.publishedFollowers)} followers and over CNY ${num(h.publishedSalesCny)} ` +
            `(USD ${num(h.publishedSalesUsd)}). Recorded: ${num(h.sessions)} sessions (synthetic: ${num(h.syntheticSessions)}).`;
          const tr = o.training || {};
          document.getElementById("training").textContent = outcome(tr) ? "Training: " + outcome(tr) :
            `${num(tr.programs)} programs (synthetic: ${num(tr.syntheticPrograms)}), ${num(tr.seats)} seats, ` +
            `${num(tr.enrolled)} enrolled, ${num(tr.completed)} completed.`;
          const r = await (await fetch("/readyz")).json();
          document.getElementById("backends").innerHTML = Object.entries(r.backends).sort().map(([name, b]) =>
            `<li>${name}: <span class="${b.ready ? "status-ok" : "status-bad"}">${b.configured ? (b.ready ? "ready" : "not ready") : "not configured"}</span> ` +
            `(${b.replicas.map(x => x.address + (x.healthy ? "" : " unhealthy") + (x.ejected ? " ejected" : "")).join(", ")})</li>`).join("");
        }
        load().catch(error => { document.getElementById("partial").textContent = "Cannot load: " + error; });
        </script>
        </body>
        </html>
        """#
}
