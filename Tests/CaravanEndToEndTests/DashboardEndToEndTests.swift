import CaravanTestSupport
import Foundation
import Testing

/// The gateway's dashboard in headless Chromium, with the real executables
/// running: what it shows is checked against the API's own answers.
@Suite("The dashboard in a browser", .serialized, .timeLimit(.minutes(6)))
struct DashboardEndToEndTests {
    /// `POST /v1/{method}` with a JSON body; the answer as a JSON object (the test fails on a non-200).
    static func post(_ base: String, _ method: String, _ body: String) async throws -> [String: Any] {
        let answer = try await curl(["-X", "POST", "-d", body, "\(base)/v1/\(method)"])
        #expect(answer.status == 200, "\(method): \(answer.body)")
        return try jsonObject(answer.body)
    }

    static func get(_ base: String, _ path: String) async throws -> [String: Any] {
        let answer = try await curl(["\(base)\(path)"])
        #expect(answer.status == 200, "\(path): \(answer.body)")
        return try jsonObject(answer.body)
    }

    static func number(_ value: Any?) -> Double {
        if let number = value as? NSNumber { return number.doubleValue }
        if let text = value as? String { return Double(text) ?? 0 }  // proto3 JSON writes 64-bit integers as strings
        return 0
    }

    /// Every page of a list method.
    static func all(_ base: String, _ method: String, _ field: String) async throws -> [[String: Any]] {
        var items: [[String: Any]] = []
        var token = ""
        repeat {
            let page = try await Self.post(base, method, #"{"pageSize":1000,"pageToken":"\#(token)"}"#)
            items += page[field] as? [[String: Any]] ?? []
            token = page["nextPageToken"] as? String ?? ""
        } while !token.isEmpty
        return items
    }

    static func flow(_ year: Int, _ country: String, _ category: String, _ value: Double, key: String) -> String {
        #"{"flow":{"year":\#(year),"country":"\#(country)","direction":"DIRECTION_EXPORT","category":"\#(category)","valueUsd":\#(value),"source":"dashboard test (synthetic)","synthetic":true},"idempotencyKey":"\#(key)"}"#
    }

    /// Flows in three years (the last one after the published 2024 figure), a
    /// hub session, a full program with a wait-list, a booked shipment.
    static func seed(_ base: String) async throws -> (programID: String, year: Int) {
        let trade = "caravan.trade.v1.TradeService"
        for (index, (year, country, category, value)) in [
            (2023, "KZ", "Auto parts", 4.0e9), (2024, "KZ", "Auto parts", 5.0e9),
            (2024, "UZ", "Agricultural products", 2.0e9),
            (2025, "KZ", "Auto parts", 6.0e9), (2025, "UZ", "Wind turbine generators", 3.0e9),
            (2025, "KG", "Electronics", 1.0e9),
        ].enumerated() {
            _ = try await Self.post(
                base, "\(trade)/RecordFlow", Self.flow(year, country, category, value, key: "dash-\(index)"))
        }
        let start = Int(ISO8601DateFormatter().date(from: "2025-06-01T10:00:00Z")!.timeIntervalSince1970)
        _ = try await Self.post(
            base, "\(trade)/RecordStreamSession",
            #"{"session":{"hub":"horgos","creator":"Test creator (synthetic)","creatorCountry":"KZ","startUnixSeconds":\#(start),"durationMinutes":90,"newFollowers":1200,"salesCny":250000,"synthetic":true},"idempotencyKey":"dash-hub"}"#
        )
        let training = "caravan.training.v1.TrainingService"
        let program = try await Self.post(
            base, "\(training)/CreateProgram",
            #"{"program":{"title":"Cross-border logistics (dashboard test)","field":"logistics","hostCentre":"Horgos Yiwu International Trade City","hostCity":"Horgos","country":"CN","language":"ru","capacity":2,"startDate":"2030-01-10","endDate":"2030-03-10","synthetic":true},"idempotencyKey":"dash-program"}"#
        )
        let programID = try #require((program["program"] as? [String: Any])?["id"] as? String)
        for index in 0..<3 {
            let trainee = try await Self.post(
                base, "\(training)/RegisterTrainee",
                #"{"trainee":{"name":"Trainee \#(index) (synthetic)","country":"KZ","synthetic":true},"idempotencyKey":"dash-trainee-\#(index)"}"#
            )
            let traineeID = try #require((trainee["trainee"] as? [String: Any])?["id"] as? String)
            _ = try await Self.post(
                base, "\(training)/Enrol",
                #"{"traineeId":"\#(traineeID)","programId":"\#(programID)","idempotencyKey":"dash-enrol-\#(index)"}"#)
        }
        _ = try await Self.post(
            base, "caravan.logistics.v1.LogisticsService/BookShipment",
            #"{"originCityId":"xian","destinationCityId":"almaty","cargoCategoryId":"auto-parts","containersTeu":2,"idempotencyKey":"dash-ship","synthetic":true}"#
        )
        return (programID, 2025)
    }

    /// Runs the page's subscribe() with fetch answering `status`, `type` and `body` (JavaScript string literal
    /// text) until it reports the stream closed, then `after` milliseconds more (to see whether it comes back:
    /// a stream that ends is reopened after 1 s); the messages, states and requests it saw.
    static func subscribeProbe(status: Int, type: String, body: String, after: Int = 0) -> String {
        """
        (async () => {
          const realFetch = window.fetch, requests = [], messages = [], states = [];
          window.fetch = async (url, options) => {
            if (!String(url).includes("caravan.test.v1.Feed")) return realFetch(url, options);  // the page's own refreshes
            requests.push([String(url), options.headers.Accept]);
            return new Response(new Blob(["\(body)"]).stream(), { status: \(status), headers: { "content-type": "\(type)" } });
          };
          const subscription = CaravanDashboard.subscribe("caravan.test.v1.Feed/Watch", { region: "central asia" },
            message => messages.push(message), state => states.push(state));
          for (let i = 0; i < 100 && !states.some(state => !state.live); i++) await new Promise(r => setTimeout(r, 50));
          await new Promise(resolve => setTimeout(resolve, \(after)));
          subscription.close();
          window.fetch = realFetch;
          return { messages, states, requests };
        })()
        """
    }

    @Test(
        "Opens on the latest year with data; figures, charts, map, routes, programs, hub and partners equal the API's answers; a recorded flow shows without a reload; phone width; a backend down"
    )
    func dashboard() async throws {
        guard let chromium = HeadlessBrowser.forTest() else { return }
        let system = try await WholeSystem.start()
        defer { system.removeDirectories() }
        let base = try await httpBase(system.gateway)
        let (programID, year) = try await Self.seed(base)

        // The page and its files, under a policy that lets nothing come from another host.
        let index = try await curl(["\(base)/"])
        #expect(index.status == 200 && index.headers["content-type"] == "text/html; charset=utf-8")
        #expect(index.headers["content-security-policy"]?.hasPrefix("default-src 'self'") == true)
        for asset in ["charts.js", "dashboard.js", "network-map.js", "dashboard.css"] {
            let answer = try await curl(["\(base)/assets/\(asset)"])
            #expect(answer.status == 200 && !answer.body.isEmpty, "\(asset)")
            #expect(
                answer.headers["content-type"]?.hasPrefix(asset.hasSuffix(".css") ? "text/css" : "text/javascript")
                    == true)
            // (The SVG namespace is a name, not an address anything is loaded from.)
            let text = answer.body.replacingOccurrences(of: "http://www.w3.org/2000/svg", with: "")
            #expect(!text.contains("http://") && !text.contains("https://"), "\(asset) names no other host")
        }
        #expect(try await curl(["\(base)/assets/nope.js"]).status == 404)

        // The latest year with data is the last one with flows: no year after it has flows or a published figure.
        let currentYear = Calendar(identifier: .gregorian).component(.year, from: Date())
        for later in (year + 1)...max(year + 1, currentYear) where later <= currentYear {
            let summary = try await Self.post(base, "caravan.trade.v1.TradeService/GetSummary", #"{"year":\#(later)}"#)
            #expect(Self.number(summary["flowCount"]) == 0 && summary["published"] == nil, "\(later) has data")
        }

        let browser = try HeadlessBrowser(executable: chromium)
        defer { browser.close() }
        let page = try await browser.open("\(base)/?refresh=2", width: 1280, height: 1000)
        try await page.waitUntil("document.body.dataset.ready === 'true'")
        #expect(
            try await page.evaluate(
                "document.querySelector('#years [aria-pressed=\"true\"]')?.dataset.year", as: String.self) == "\(year)")

        // The milestone and the trade figures.
        let overview = try await Self.get(base, "/v1/overview?year=\(year)")
        let trade = try #require(overview["trade"] as? [String: Any])
        let milestone = try #require(trade["milestone"] as? [String: Any])
        #expect(
            try await page.evaluate("Number(document.getElementById('milestone-value').dataset.value)", as: Double.self)
                == Self.number(milestone["valueUsd"]))
        #expect(
            try await page.evaluate("Number(document.getElementById('trade-recorded').dataset.value)", as: Double.self)
                == Self.number(trade["totalUsd"]))
        #expect(
            try await page.evaluate("Number(document.getElementById('trade-synthetic').dataset.value)", as: Double.self)
                == Self.number(trade["syntheticUsd"]))
        let byCountry = try #require(trade["byCountryUsd"] as? [String: Any]).values.map(Self.number).sorted()
        let bars = try await page.evaluate(
            "[...document.querySelectorAll('#by-country .hbar')].map(b => Number(b.dataset.value))", as: [Double].self)
        #expect(bars.sorted() == byCountry && bars.count == 2 + 1)
        // Over the years: a column per year with data, each the year's recorded total.
        var totals: [Double] = []
        for shown in 2023...year {
            let summary = try await Self.post(base, "caravan.trade.v1.TradeService/GetSummary", #"{"year":\#(shown)}"#)
            totals.append(Self.number(summary["recordedTotalUsd"]))
        }
        #expect(
            try await page.evaluate(
                "[...document.querySelectorAll('#by-country-years .column')].map(c => Number(c.dataset.total))",
                as: [Double].self) == totals)
        // Categories, their synthetic parts hatched.
        let categories = try await Self.post(
            base, "caravan.trade.v1.TradeService/TopCategories", #"{"year":\#(year),"limit":8}"#)
        let categoryValues = (categories["categories"] as? [[String: Any]] ?? []).map { Self.number($0["valueUsd"]) }
        #expect(
            try await page.evaluate(
                "[...document.querySelectorAll('#categories .hbar')].map(b => Number(b.dataset.value))",
                as: [Double].self) == categoryValues)
        #expect(
            try await page.evaluate(
                "document.querySelectorAll('#categories rect[fill=\"url(#caravan-synthetic)\"]').length", as: Int.self)
                == categoryValues.count)

        // The network: every city and link drawn, the border crossings highlighted; the figures as the overview gives them.
        let cities = try await Self.all(base, "caravan.logistics.v1.LogisticsService/ListCities", "cities")
        let links = try await Self.all(base, "caravan.logistics.v1.LogisticsService/ListLinks", "links")
        #expect(
            try await page.evaluate("Number(document.getElementById('network-map').dataset.cities)", as: Int.self)
                == cities.count)
        #expect(
            try await page.evaluate("Number(document.getElementById('network-map').dataset.links)", as: Int.self)
                == links.count)
        #expect(
            try await page.evaluate(
                "document.querySelectorAll('#network-map circle.city.crossing').length", as: Int.self)
                == cities.filter { $0["isBorderCrossing"] as? Bool == true }.count)
        #expect(
            try await page.evaluate("document.querySelectorAll('#network-map line.link.crossing').length", as: Int.self)
                == links.filter { !($0["crossingCityId"] as? String ?? "").isEmpty }.count)
        let logistics = try #require(overview["logistics"] as? [String: Any])
        #expect(
            try await page.evaluate(
                "Number(document.getElementById('net-synthetic-cities').dataset.value)", as: Double.self)
                == Self.number(logistics["syntheticCities"]))
        #expect(
            try await page.evaluate(
                "document.querySelector('#net-synthetic-cities .synthetic-badge') !== null", as: Bool.self))
        #expect(
            try await page.evaluate("Number(document.getElementById('net-under-way').dataset.value)", as: Double.self)
                == Self.number(logistics["shipmentsUnderWay"]))

        // The route finder: Xi'an to Duisburg, the fastest routes as FindRoute gives them, drawn on the map.
        let routes = try await Self.post(
            base, "caravan.logistics.v1.LogisticsService/FindRoute",
            #"{"fromCityId":"xian","toCityId":"duisburg","alternatives":3}"#)
        let expectedHours = (routes["routes"] as? [[String: Any]] ?? []).map { Self.number($0["totalHours"]) }
        #expect(!expectedHours.isEmpty)
        _ = try await page.evaluateJSON(
            """
            (() => { document.getElementById('route-from').value = 'xian'; document.getElementById('route-to').value = 'duisburg';
              document.getElementById('route-find').click(); })()
            """)
        try await page.waitUntil("document.querySelectorAll('#routes li').length > 0")
        #expect(
            try await page.evaluate(
                "[...document.querySelectorAll('#routes li')].map(li => Number(li.dataset.hours))", as: [Double].self)
                == expectedHours)
        #expect(
            try await page.evaluate("document.querySelectorAll('#network-map polyline.route').length", as: Int.self)
                == expectedHours.count)

        // Training: the program's seats and wait-list as the service counts them.
        let program = try #require(
            (try await Self.post(base, "caravan.training.v1.TrainingService/GetProgram", #"{"id":"\#(programID)"}"#))[
                "program"] as? [String: Any])
        let row = "document.querySelector('#programs tr[data-program=\"\(programID)\"]')"
        #expect(
            try await page.evaluate(
                "[\(row).dataset.enrolled, \(row).dataset.waitlisted, \(row).dataset.capacity].map(Number)",
                as: [Double].self)
                == [
                    Self.number(program["enrolled"]), Self.number(program["waitlisted"]),
                    Self.number(program["capacity"]),
                ])
        #expect(Self.number(program["waitlisted"]) == 1)
        #expect(try await page.evaluate("\(row).querySelector('.synthetic-badge') !== null", as: Bool.self))

        // The hub: published figures apart from recorded ones, synthetic sessions marked.
        let hub = try #require(overview["hub"] as? [String: Any])
        #expect(
            try await page.evaluate(
                "Number(document.getElementById('hub-published-followers').dataset.value)", as: Double.self)
                == Self.number(hub["publishedFollowers"]))
        #expect(
            try await page.evaluate("Number(document.getElementById('hub-sessions').dataset.value)", as: Double.self)
                == Self.number(hub["sessions"]))
        #expect(
            try await page.evaluate(
                "document.querySelector('#hub-synthetic-sessions .synthetic-badge') !== null", as: Bool.self))
        #expect(try await page.evaluate("document.querySelectorAll('#hub-creators .hbar').length", as: Int.self) == 1)

        // The partners: each card from its profile; a partner without flows says so.
        let kazakhstan = try await Self.get(base, "/v1/countries/KZ/profile?year=\(year)")
        #expect(
            try await page.evaluate(
                "Number(document.querySelector('[data-country=\"KZ\"] dd').dataset.value)", as: Double.self)
                == Self.number((kazakhstan["trade"] as? [String: Any])?["totalUsd"]))
        let turkmenistan = try await Self.get(base, "/v1/countries/TM/profile?year=\(year)")
        let noTrade = try #require((turkmenistan["trade"] as? [String: Any])?["noDataMessage"] as? String)
        #expect(try await page.text("[data-country=\"TM\"]").contains(noTrade))

        // Energy cooperation: every project of the overview, each with its source's badge; none with a made-up capacity.
        let energy = try #require((try await Self.get(base, "/v1/overview?year=\(year)"))["energy"] as? [String: Any])
        let projects = try #require(energy["projects"] as? [[String: Any]])
        #expect(
            try await page.evaluate(
                "[...document.querySelectorAll('#energy-projects tr[data-project]')].map(r => r.dataset.project)",
                as: [String].self) == projects.compactMap { $0["id"] as? String })
        #expect(
            try await page.evaluate(
                "document.querySelectorAll('#energy-projects tr[data-project] .published-badge').length", as: Int.self)
                == projects.count)
        #expect(try await page.text("#energy").contains("not published"))
        #expect(try await page.text("[data-country=\"UZ\"]").contains("1 (equipment trade)"))

        // The three services' watches are open (each sends `created` once registered, which opens the
        // HTTP stream): a recorded flow arrives on the page live, and the figures follow without a reload.
        try await page.waitUntil("document.getElementById('live-status').textContent === 'live'")
        #expect(
            try await page.text("#live-note")
                == "trade flows: live; shipment events: live; enrolments: live.")
        #expect(try await page.evaluate("document.querySelectorAll('#live-events li').length", as: Int.self) == 0)
        let loads = try await page.evaluate("Number(document.body.dataset.loads)", as: Int.self)
        _ = try await Self.post(
            base, "caravan.trade.v1.TradeService/RecordFlow", Self.flow(year, "TJ", "Textiles", 0.5e9, key: "dash-live")
        )
        try await page.waitUntil("document.querySelectorAll('#live-events li').length === 1")
        #expect(try await page.text("#live-events").contains("Trade flow recorded: Tajikistan, Textiles"))
        let updated = try #require((try await Self.get(base, "/v1/overview?year=\(year)"))["trade"] as? [String: Any])
        try await page.waitUntil(
            "Number(document.getElementById('trade-recorded').dataset.value) === \(Self.number(updated["totalUsd"]))")
        #expect(try await page.evaluate("Number(document.body.dataset.loads)", as: Int.self) > loads)
        #expect(try await page.evaluate("document.querySelectorAll('#by-country .hbar').length", as: Int.self) == 4)
        try await page.screenshot(Screenshots.path("dashboard.png"))

        // subscribe() against the streaming contract, with the answers it would get (fetch stood in for).
        struct Subscription: Decodable {
            struct State: Decodable {
                var live: Bool
                var reason: String?
                var final: Bool?
            }
            var messages: [[String: Int]]
            var states: [State]
            var requests: [[String]]
        }
        let streamed = try await page.evaluate(
            Self.subscribeProbe(
                status: 200, type: "text/event-stream",
                body:
                    #"event: message\ndata: {\"n\":1}\n\n: a comment\r\nevent: message\r\ndata: {\"n\":\r\ndata: 2}\r\n\r\nevent: status\ndata: {\"code\":0,\"message\":\"\"}\n\n"#
            ),
            as: Subscription.self)
        #expect(streamed.messages == [["n": 1], ["n": 2]])
        #expect(streamed.requests.first == ["/v1/caravan.test.v1.Feed/Watch?region=central+asia", "text/event-stream"])
        #expect(streamed.states.first?.live == true)
        #expect(
            streamed.states.count == 2 && !streamed.states[1].live
                && streamed.states[1].reason == "stream ended (code 0)")
        let missing = try await page.evaluate(
            Self.subscribeProbe(status: 404, type: "application/json", body: "{}", after: 2500), as: Subscription.self)
        #expect(missing.messages.isEmpty && missing.requests.count == 1, "no retries against a missing route")
        #expect(missing.states.count == 1 && missing.states[0].final == true && !missing.states[0].live)

        // A phone's width: nothing wider than the screen.
        let phone = try await browser.open("\(base)/", width: 390, height: 844, mobile: true)
        try await phone.waitUntil("document.body.dataset.ready === 'true'")
        #expect(try await phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth", as: Bool.self))
        try await phone.screenshot(Screenshots.path("dashboard-phone.png"))

        // Logistics down: its sections say so, the rest still shows.
        _ = try await system.logistics.stop(signal: SIGKILL)
        #expect(try await eventually(timeout: .seconds(10)) { try await curl(["\(base)/readyz"]).status == 503 })
        try await page.navigate("\(base)/?refresh=600&year=\(year)")
        try await page.waitUntil(
            "document.body.dataset.ready === 'true' && document.getElementById('network').dataset.state === 'failed'")
        #expect(try await page.text("#network .section-message").contains("logistics"))
        #expect(try await page.evaluate("document.getElementById('milestone').dataset.state", as: String.self) == "ok")
        #expect(try await page.evaluate("document.getElementById('training').dataset.state", as: String.self) == "ok")
        #expect(try await page.text("[data-country=\"KZ\"]").contains("The logistics service"))
        #expect(try await page.text("#backends").contains("logistics not ready"))
        try await page.screenshot(Screenshots.path("dashboard-logistics-down.png"))

        #expect(try await system.gateway.stop() == 0)
        _ = try await system.trade.stop()
        _ = try await system.training.stop()
    }

    @Test(
        "In front of a gateway that asks for tokens: it asks for one; with a token in the URL's fragment its figures show"
    )
    func withAuthentication() async throws {
        guard let chromium = HeadlessBrowser.forTest() else { return }
        let system = try await WholeSystem.start()
        defer { system.removeDirectories() }
        let keyFile = system.directories[0].path("auth.key")
        try (String(repeating: "dashboard-", count: 4) + "\n").write(toFile: keyFile, atomically: true, encoding: .utf8)
        let gateway = try await startGateway(
            [("trade", [system.trade]), ("logistics", [system.logistics]), ("training", [system.training])],
            extra: ["--auth-key-file", keyFile])
        let base = try await httpBase(gateway)
        let minted = try await runCommand(
            "caravan",
            ["token", "--key-file", keyFile, "--subject", "dashboard", "--scope", "caravan.read", "--ttl", "10m"])
        try #require(minted.status == 0, "caravan token: \(minted.stderr)")
        let token = minted.stdout.trimmingCharacters(in: .whitespacesAndNewlines)

        let browser = try HeadlessBrowser(executable: chromium)
        defer { browser.close() }
        let refused = try await browser.open("\(base)/?year=2024")
        try await refused.waitUntil("document.body.dataset.ready === 'true'")
        #expect(try await refused.evaluate("document.getElementById('auth').hidden", as: Bool.self) == false)
        #expect(try await refused.text("#auth").contains("an access token is needed"))
        #expect(!(try await refused.text("main").contains("USD 94.8 bn")))

        let shown = try await browser.open("\(base)/?year=2024#token=\(token)")
        try await shown.waitUntil("document.body.dataset.ready === 'true'")
        #expect(
            try await shown.text("#milestone-value").hasPrefix("USD 94.8 bn of USD 100 bn (94.8 %), published figure"))
        #expect(try await shown.evaluate("location.hash", as: String.self) == "", "the token leaves the address bar")
        #expect(try await gateway.stop() == 0)
        for process in [system.gateway, system.trade, system.logistics, system.training] {
            _ = try await process.stop()
        }
    }
}
