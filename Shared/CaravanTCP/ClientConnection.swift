import CaravanCore
import NIOCore

/// One open connection to a server; safe to use from any task.
struct ClientConnection: Sendable {
    let channel: any Channel
    let handler: NIOLoopBound<ClientConnectionHandler>

    var eventLoop: any EventLoop { self.channel.eventLoop }

    /// Sends a REQUEST frame (encoded with call id 0) and waits for the
    /// RESPONSE. Cancelling the task sends CANCEL.
    func unary(frame: ByteBuffer, deadline: NIODeadline?) async throws -> [UInt8] {
        let eventLoop = self.eventLoop
        let handler = self.handler
        let slot = NIOLoopBoundBox.makeEmptyBox(valueType: UInt32.self, eventLoop: eventLoop)
        return try await withTaskCancellationHandler {
            // Unsafe rather than checked: this is the per-call hot path, and the
            // handler resumes each call exactly once (it removes the call from its
            // table as it resumes it; see ClientConnectionHandler).
            try await withUnsafeThrowingContinuation { continuation in
                if eventLoop.inEventLoop {
                    handler.value.start(frame, sink: .unary(continuation), deadline: deadline, slot: slot)
                } else {
                    eventLoop.execute {
                        handler.value.start(frame, sink: .unary(continuation), deadline: deadline, slot: slot)
                    }
                }
            }
        } onCancel: {
            eventLoop.execute { handler.value.cancel(slot: slot) }
        }
    }

    /// Opens a streaming call: ``StreamingCall/send(_:)`` writes request
    /// frames, `responses` yields the answers.
    func openStream(deadline: NIODeadline?) -> StreamingCall {
        let (responses, continuation) = RawMessageStream.makeStream()
        return StreamingCall(
            connection: self,
            slot: NIOLoopBoundBox.makeEmptyBox(valueType: UInt32.self, eventLoop: self.eventLoop),
            responses: responses,
            sink: continuation,
            deadline: deadline
        )
    }
}

/// A streaming call on one connection.
struct StreamingCall: Sendable {
    let connection: ClientConnection
    let slot: NIOLoopBoundBox<UInt32?>
    let responses: RawMessageStream
    let sink: RawMessageStream.Continuation
    let deadline: NIODeadline?

    /// Sends the REQUEST frame opening the call.
    func start(_ frame: ByteBuffer) async throws {
        let handler = self.connection.handler
        let sink = self.sink
        let deadline = self.deadline
        let slot = self.slot
        try await self.connection.eventLoop.submit {
            handler.value.start(frame, sink: .stream(sink), deadline: deadline, slot: slot)
        }.get()
    }

    /// Sends a MESSAGE or END_OF_STREAM frame; waits until it is written.
    func send(_ frame: ByteBuffer) async throws {
        let handler = self.connection.handler
        let slot = self.slot
        try await self.connection.eventLoop.flatSubmit { handler.value.send(frame, slot: slot) }.get()
    }

    /// Abandons the call if it is still open.
    func cancel() {
        let handler = self.connection.handler
        let slot = self.slot
        self.connection.eventLoop.execute { handler.value.cancel(slot: slot) }
    }
}
