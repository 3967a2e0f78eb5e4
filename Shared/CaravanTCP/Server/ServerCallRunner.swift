import CaravanCore
import NIOCore

/// What a server connection keeps for one running call: its handler's task,
/// its request stream (streaming calls) and its deadline timer.
struct ServerCallHandle {
    let task: Task<Void, Never>
    let requests: RawMessageStream.Continuation?
    let deadlineTimer: Scheduled<Void>?

    /// Hands the call a request message, or the end of its requests.
    func deliver(_ message: ByteBuffer?, ended: Bool) {
        if let message { self.requests?.yield(Array(message.readableBytesView)) }
        if ended { self.requests?.finish() }
    }

    /// The call ended before its handler returned: cancel the handler.
    func stop(_ error: RPCError) {
        self.deadlineTimer?.cancel()
        self.task.cancel()
        self.requests?.finish(throwing: error)
    }

    /// The handler returned first: the deadline no longer matters.
    func finished() {
        self.deadlineTimer?.cancel()
    }
}

/// Starts a connection's calls: one task per call, so that each can be
/// cancelled alone (CANCEL, deadline, shutdown), on the connection's event
/// loop when the server runs handlers there. The task builds the answer
/// frame and hands it to the connection.
struct ServerCallRunner {
    let router: RPCRouter
    let handler: NIOLoopBound<ServerConnectionHandler>
    let allocator: ByteBufferAllocator
    /// Set when handlers run on the connection's event loop.
    let executor: EventLoopExecutor?

    init(
        router: RPCRouter, handler: NIOLoopBound<ServerConnectionHandler>, allocator: ByteBufferAllocator,
        onEventLoop: Bool
    ) {
        self.router = router
        self.handler = handler
        self.allocator = allocator
        self.executor = onEventLoop ? EventLoopExecutor(eventLoop: handler.eventLoop) : nil
    }

    /// Starts a call's task, or refuses a unary call admission control
    /// does not admit (without a task). An admitted call gives its place
    /// back when its handler returns.
    func start(
        _ call: ServerConnectionStateMachine<ServerCallHandle>.CallStart, now: ContinuousClock.Instant,
        scheduleDeadline: (UInt32, ContinuousClock.Instant) -> Scheduled<Void>
    ) -> Result<ServerCallHandle, RPCError> {
        let admitted: (ticket: AdmissionControl.Ticket, by: AdmissionControl)?
        if let admission = self.router.admission, call.route.handler.kind == .unary {
            switch admission.admit(deadline: call.context.deadline, now: now) {
            case .success(let ticket): admitted = (ticket, admission)
            case .failure(let refusal): return .failure(refusal)
            }
        } else {
            admitted = nil
        }
        let callID = call.callID
        let context = call.context
        let router = self.router
        var requests: RawMessageStream.Continuation?
        let task: Task<Void, Never>
        switch call.route.handler {
        case .unary(let handler):
            let request = Array(call.firstMessage!.readableBytesView)
            task = self.answer(callID) {
                let outcome = await router.handleUnary(handler, request: request, context: context)
                if let (ticket, admission) = admitted { admission.finished(ticket, with: outcome) }
                return outcome
            }
        case .serverStreaming(let handler):
            let request = Array(call.firstMessage!.readableBytesView)
            let writer = self.messageWriter(callID)
            task = self.stream(callID) {
                await router.handle(context: context) { context in try await handler(request, writer, context) }
            }
        case .clientStreaming(let handler):
            let (stream, continuation) = RawMessageStream.makeStream()
            requests = continuation
            task = self.answer(callID) {
                await router.handleUnary(
                    { _, context in try await handler(stream, context) }, request: [], context: context)
            }
        case .bidirectionalStreaming(let handler):
            let (stream, continuation) = RawMessageStream.makeStream()
            requests = continuation
            let writer = self.messageWriter(callID)
            task = self.stream(callID) {
                await router.handle(context: context) { context in try await handler(stream, writer, context) }
            }
        }
        if let requests {
            if let first = call.firstMessage { requests.yield(Array(first.readableBytesView)) }
            if call.requestsEnded { requests.finish() }
        }
        let timer = context.deadline.map { scheduleDeadline(callID, $0) }
        return .success(ServerCallHandle(task: task, requests: requests, deadlineTimer: timer))
    }

    /// A call that ends with one response message or an error.
    private func answer(
        _ callID: UInt32, _ run: @escaping @Sendable () async -> Result<[UInt8], RPCError>
    ) -> Task<Void, Never> {
        let allocator = self.allocator
        let handler = self.handler
        return Task(executorPreference: self.executor) {
            var buffer: ByteBuffer
            switch await run() {
            case .success(let response):
                buffer = allocator.buffer(capacity: WireFormat.prefixSize + response.count)
                buffer.writeFrame(kind: .response, flags: .hasMessage, callID: callID, payload: response)
            case .failure(let error):
                buffer = allocator.buffer(capacity: 64 + error.message.utf8.count)
                FrameHeaders.writeErrorResponse(error, callID: callID, into: &buffer)
            }
            Self.finish(callID, buffer, on: handler)
        }
    }

    /// A call whose messages went out one by one; it ends with its status.
    private func stream(_ callID: UInt32, _ run: @escaping @Sendable () async -> RPCError?) -> Task<Void, Never> {
        let allocator = self.allocator
        let handler = self.handler
        return Task(executorPreference: self.executor) {
            let error = await run()
            var buffer = allocator.buffer(capacity: 64)
            if let error {
                FrameHeaders.writeErrorResponse(error, callID: callID, into: &buffer)
            } else {
                buffer.writeFrame(kind: .response, callID: callID)
            }
            Self.finish(callID, buffer, on: handler)
        }
    }

    private static func finish(
        _ callID: UInt32, _ answer: ByteBuffer, on handler: NIOLoopBound<ServerConnectionHandler>
    ) {
        if handler.eventLoop.inEventLoop {
            handler.value.callFinished(callID, answer: answer)
        } else {
            handler.eventLoop.execute { handler.value.callFinished(callID, answer: answer) }
        }
    }

    private func messageWriter(_ callID: UInt32) -> RawMessageWriter {
        let allocator = self.allocator
        let handler = self.handler
        return RawMessageWriter { bytes in
            var frame = allocator.buffer(capacity: WireFormat.prefixSize + bytes.count)
            frame.writeFrame(kind: .message, flags: .hasMessage, callID: callID, payload: bytes)
            let buffer = frame
            try await handler.eventLoop.flatSubmit { handler.value.streamMessage(callID, buffer) }.get()
        }
    }
}
