import CaravanObservability
import CaravanTCP
import Foundation
import Logging
import NIOCore

extension Observability {
    /// The TCP server's instruments when metrics are on.
    public func transportMetrics() -> TransportMetrics? {
        self.registry == nil ? nil : TransportMetrics()
    }

    /// The `/metrics` server when metrics are on. Once bound it prints
    /// `<name> metrics on HOST:PORT` on standard output (tests and scripts
    /// read the port from there when it was 0).
    public func metricsServer(name: String, host: String, logger: Logger) -> MetricsHTTPServer? {
        guard let registry = self.registry, let port = self.settings.metricsPort else { return nil }
        return MetricsHTTPServer(host: host, port: port, registry: registry, logger: logger) { address in
            let line = "\(name) metrics on \(address.ipAddress ?? host):\(address.port ?? 0)\n"
            StandardStream.output.write(line)
        }
    }
}
