import CaravanCore
import CoreMetrics

/// A server's transport instruments: TCP connections, frames and bytes each
/// way, and calls turned away before any handler ran, by reason (the
/// gateway's HTTP door counts its refusals here too).
///
/// Made once per server. Connection handlers count frames and bytes in
/// plain fields and add them here once per read batch and once per flush,
/// so the hot path pays a few atomic adds per batch, not per frame.
public final class TransportMetrics: Sendable {
    /// Metric names; docs/OBSERVABILITY.md lists them with their labels.
    public enum Name {
        public static let connections = "caravan_tcp_connections"
        public static let frames = "caravan_tcp_frames_total"
        public static let bytes = "caravan_tcp_bytes_total"
        public static let rejected = "caravan_rpc_server_rejected_total"
    }

    /// Why a call (or a connection) was refused before reaching a handler.
    public enum RejectionReason: String, Sendable, CaseIterable {
        /// More concurrent calls on a connection than allowed.
        case concurrencyLimit = "concurrency_limit"
        /// More connections than allowed (counted per refused connection).
        case connectionLimit = "connection_limit"
        /// Request metadata above the limit.
        case metadataTooLarge = "metadata_too_large"
        /// A frame above the maximum frame size.
        case frameTooLarge = "frame_too_large"
        /// A malformed request header or metadata key, or a missing request message.
        case badRequest = "bad_request"
        /// A frame breaking the protocol; the connection is closed.
        case badFrame = "bad_frame"
        /// No such method.
        case unknownMethod = "unknown_method"
        /// The server is draining.
        case shuttingDown = "shutting_down"
        /// Admission control: the server is at its adaptive concurrency limit.
        case overloaded
        /// Admission control: the deadline is nearer than the fastest recent call took.
        case cannotFinishInTime = "cannot_finish_in_time"
        /// The gateway's HTTP door: more HTTP calls in flight than allowed.
        case httpInFlightLimit = "http_in_flight_limit"

        /// Why admission control refused a call (its status says which).
        public init(admissionRefusal refusal: RPCError) {
            self = refusal.code == .resourceExhausted ? .overloaded : .cannotFinishInTime
        }
    }

    let connections: Meter
    let framesIn: Counter
    let framesOut: Counter
    let bytesIn: Counter
    let bytesOut: Counter
    private let rejections: [RejectionReason: Counter]

    public init(factory: any MetricsFactory = MetricsSystem.factory) {
        self.connections = Meter(label: Name.connections, dimensions: [], factory: factory)
        self.framesIn = Counter(label: Name.frames, dimensions: [("direction", "in")], factory: factory)
        self.framesOut = Counter(label: Name.frames, dimensions: [("direction", "out")], factory: factory)
        self.bytesIn = Counter(label: Name.bytes, dimensions: [("direction", "in")], factory: factory)
        self.bytesOut = Counter(label: Name.bytes, dimensions: [("direction", "out")], factory: factory)
        var rejections: [RejectionReason: Counter] = [:]
        for reason in RejectionReason.allCases {
            rejections[reason] = Counter(
                label: Name.rejected, dimensions: [("reason", reason.rawValue)], factory: factory)
        }
        self.rejections = rejections
    }

    /// Counts a call refused before any handler ran, by either door.
    public func rejected(_ reason: RejectionReason) {
        self.rejections[reason]!.increment()
    }

    func connectionOpened() { self.connections.increment() }

    func connectionClosed() { self.connections.decrement() }

    /// One frame written and flushed on its own (a streamed message).
    func wroteFrame(bytes: Int) {
        self.framesOut.increment()
        self.bytesOut.increment(by: Int64(bytes))
    }
}

/// Frames and bytes one connection moved since they were last added to
/// the server's ``TransportMetrics``. Event-loop confined, like its handler.
struct TrafficTally {
    var framesIn = 0
    var bytesIn = 0
    var framesOut = 0
    var bytesOut = 0

    mutating func flushIn(to metrics: TransportMetrics) {
        if self.framesIn > 0 {
            metrics.framesIn.increment(by: Int64(self.framesIn))
            metrics.bytesIn.increment(by: Int64(self.bytesIn))
            (self.framesIn, self.bytesIn) = (0, 0)
        }
    }

    mutating func flushOut(to metrics: TransportMetrics) {
        if self.framesOut > 0 {
            metrics.framesOut.increment(by: Int64(self.framesOut))
            metrics.bytesOut.increment(by: Int64(self.bytesOut))
            (self.framesOut, self.bytesOut) = (0, 0)
        }
    }
}
