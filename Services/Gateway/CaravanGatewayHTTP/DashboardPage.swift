import CaravanWebCharts

/// The dashboard served at `/`, and the files it loads from `/assets/`.
///
/// The page is HTML, CSS and JavaScript kept as ordinary files in
/// `Dashboard/` (edited, linted and diffed as what they are) and embedded in
/// the executable at build time (SwiftPM's `embedInCode`), so the gateway
/// stays one self-sufficient binary: no resource bundle to ship beside it,
/// and nothing the page needs comes from another host. The JavaScript reads
/// the gateway's own JSON API; figures generated rather than reported are
/// marked "synthetic" wherever shown.
enum DashboardPage {
    struct Asset: Sendable {
        var contentType: String
        var bytes: [UInt8]
    }

    static let index = Asset(contentType: "text/html; charset=utf-8", bytes: PackageResources.index_html)

    /// The files under `/assets/`, by name.
    static let assets: [String: Asset] = [
        "dashboard.css": Asset(contentType: "text/css; charset=utf-8", bytes: PackageResources.dashboard_css),
        "dashboard.js": Asset(contentType: "text/javascript; charset=utf-8", bytes: PackageResources.dashboard_js),
        "network-map.js": Asset(contentType: "text/javascript; charset=utf-8", bytes: PackageResources.network_map_js),
        "charts.js": Asset(contentType: "text/javascript; charset=utf-8", bytes: Array(WebCharts.script.utf8)),
    ]

    /// Scripts, styles and requests from the gateway itself only: the page
    /// works offline, and injected markup cannot load or send anything
    /// elsewhere. (Inline style attributes are allowed: the charts set them.)
    static let contentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        + "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
}
