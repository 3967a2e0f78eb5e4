import CaravanCore
import NIOConcurrencyHelpers
import NIOCore

/// One open connection to a server; safe to use from any task. A call
/// starting on the connection's own event loop costs no thread hand-off.
struct ClientConnection: Sendable {
    let channel: any Channel
    let handler: NIOLoopBound<ClientConnectionHandler>

    var eventLoop: any EventLoop { self.channel.eventLoop }

    /// Sends a unary REQUEST and waits for the RESPONSE. Cancelling the
    /// task sends CANCEL.
    func unary(_ request: OutboundRequest) async throws -> [UInt8] {
        let eventLoop = self.eventLoop
        let handler = self.handler
        let slot = NIOLoopBoundBox.makeEmptyBox(valueType: UInt32.self, eventLoop: eventLoop)
        return try await withTaskCancellationHandler {
            // Unsafe rather than checked: this is the per-call hot path, and the
            // connection resumes each call exactly once (its state machine
            // removes the call from its table as the call ends).
            try await withUnsafeThrowingContinuation { continuation in
                if eventLoop.inEventLoop {
                    handler.value.start(request, sink: .unary(continuation), slot: slot)
                } else {
                    eventLoop.execute { handler.value.start(request, sink: .unary(continuation), slot: slot) }
                }
            }
        } onCancel: {
            eventLoop.execute { handler.value.cancel(slot: slot) }
        }
    }

    /// Opens a streaming call; nothing is sent until its first message (or
    /// its end) is written.
    func openStream() -> StreamingCall {
        let (responses, continuation) = RawMessageStream.makeStream()
        return StreamingCall(
            connection: self,
            slot: NIOLoopBoundBox.makeEmptyBox(valueType: UInt32.self, eventLoop: self.eventLoop),
            responses: responses,
            sink: continuation
        )
    }

    /// Stops taking calls; closes once the open ones have finished.
    func close() {
        let handler = self.handler
        self.eventLoop.execute { handler.value.close() }
    }
}

/// A streaming call on one connection.
struct StreamingCall: Sendable {
    let connection: ClientConnection
    let slot: NIOLoopBoundBox<UInt32?>
    let responses: RawMessageStream
    let sink: RawMessageStream.Continuation

    /// Sends the REQUEST opening the call, with its first message if any.
    func start(_ request: OutboundRequest) async throws {
        let handler = self.connection.handler
        let sink = self.sink
        let slot = self.slot
        try await self.connection.eventLoop.submit {
            handler.value.start(request, sink: .stream(sink), slot: slot)
        }.get()
    }

    /// Sends a MESSAGE (or END_OF_STREAM for nil); waits until written.
    func send(_ message: [UInt8]?) async throws {
        let handler = self.connection.handler
        let slot = self.slot
        try await self.connection.eventLoop.flatSubmit {
            handler.value.send(message, endStream: false, slot: slot)
        }.get()
    }

    /// Abandons the call if it is still open.
    func cancel() {
        let handler = self.connection.handler
        let slot = self.slot
        self.connection.eventLoop.execute { handler.value.cancel(slot: slot) }
    }
}

/// Writes a streaming call's requests: the first message opens the call in
/// its REQUEST frame, later ones go in MESSAGE frames; ``finish()``
/// half-closes (or opens the call with no message at all).
struct StreamRequestWriter: Sendable {
    let call: StreamingCall
    private let header: NIOLockedValueBox<RequestHeaderTemplate?>
    private let checkSize: @Sendable (Int) throws -> Void

    init(call: StreamingCall, header: RequestHeaderTemplate, checkSize: @escaping @Sendable (Int) throws -> Void) {
        self.call = call
        self.header = NIOLockedValueBox(header)
        self.checkSize = checkSize
    }

    /// Takes the header once: whoever gets it opens the call.
    private func takeHeader() -> RequestHeaderTemplate? {
        self.header.withLockedValue { header in
            defer { header = nil }
            return header
        }
    }

    var writer: RawMessageWriter {
        RawMessageWriter { bytes in
            if let header = self.takeHeader() {
                try self.checkSize(header.untimedCount + 11 + bytes.count)
                try await self.call.start(OutboundRequest(header: header, payload: bytes, flags: .hasMessage))
            } else {
                try self.checkSize(bytes.count)
                try await self.call.send(bytes)
            }
        }
    }

    func finish() async throws {
        if let header = self.takeHeader() {
            try await self.call.start(OutboundRequest(header: header, payload: nil, flags: .endStream))
        } else {
            try? await self.call.send(nil)  // the server may have answered already
        }
    }
}
