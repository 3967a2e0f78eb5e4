/// The SVG chart library the gateway's dashboard and `caravan load --format
/// html` share (`charts.js`, embedded at build time, so every executable
/// that shows charts carries them and a page needs nothing from the network).
public enum WebCharts {
    /// The library's JavaScript: defines `CaravanCharts`.
    public static let script = String(decoding: PackageResources.charts_js, as: UTF8.self)
}
