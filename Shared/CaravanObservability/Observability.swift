import CoreMetrics
import Logging
import Prometheus

/// How an executable logs and exports metrics, settled from its flags.
public struct ObservabilitySettings: Sendable {
    public var logLevel: Logger.Level = .info
    public var logFormat: LogFormat = .text
    public var redaction: LogRedaction = .defaults
    /// The level of the one line per call; `nil` for none.
    public var callLogLevel: Logger.Level? = .info
    /// Where `/metrics` is served; `nil` turns metrics off.
    public var metricsPort: Int?

    public init() {}

    public static var defaults: ObservabilitySettings { ObservabilitySettings() }
}

/// What ``Observability/bootstrap(_:)`` set up.
public struct Observability: Sendable {
    public let settings: ObservabilitySettings
    /// The Prometheus registry behind the metrics system; `nil` when metrics are off.
    public let registry: PrometheusCollectorRegistry?

    /// Installs the log handler and, when a metrics port is set, a
    /// Prometheus metrics factory, as the process's logging and metrics
    /// systems. Only `main` calls it, once.
    public static func bootstrap(_ settings: ObservabilitySettings) -> Observability {
        LoggingSystem.bootstrap(
            { label, provider in
                CaravanLogHandler(
                    label: label, level: settings.logLevel, format: settings.logFormat,
                    redaction: settings.redaction, metadataProvider: provider)
            },
            metadataProvider: .caravanCall
        )
        guard settings.metricsPort != nil else { return Observability(settings: settings, registry: nil) }
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(Self.metricsFactory(registry: registry))
        return Observability(settings: settings, registry: registry)
    }

    /// A Prometheus factory whose latency buckets reach down to 100 µs:
    /// most calls here take well under the default lowest bucket of 5 ms.
    public static func metricsFactory(registry: PrometheusCollectorRegistry) -> PrometheusMetricsFactory {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .microseconds(100), .microseconds(250), .microseconds(500),
            .milliseconds(1), .milliseconds(2.5), .milliseconds(5), .milliseconds(10), .milliseconds(25),
            .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
            .seconds(1), .seconds(2.5), .seconds(5), .seconds(10),
        ]
        return factory
    }

    /// The per-call interceptor for a server, with metrics when they are on.
    public func callObserver(logger: Logger) -> CallObserver {
        CallObserver(
            logger: logger, callLogLevel: self.settings.callLogLevel,
            metrics: self.registry == nil ? nil : CallMetrics())
    }
}
