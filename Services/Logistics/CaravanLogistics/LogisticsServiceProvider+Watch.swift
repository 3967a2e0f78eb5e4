import CaravanCore
import CaravanDomain
import CaravanLogisticsAPI

extension LogisticsServiceProvider {
    /// Replays the history after `after_sequence`, then streams new events
    /// as they commit, until a final event (DELIVERED, CANCELLED) or until
    /// the caller goes away.
    public func watchShipment(
        request: WatchShipmentRequest,
        response: RPCWriter<WatchShipmentResponse>,
        context: ServerContext
    ) async throws {
        guard !request.id.isEmpty else { throw RPCError.invalidArgument(field: "id", "is required") }
        // Subscribe before reading the history, so an event committed in
        // between arrives on the stream (and is skipped if already sent).
        let subscription = self.broadcaster.subscribe(shipmentID: request.id)
        defer { subscription.cancel() }
        var sent = request.afterSequence
        var finished = false

        /// Sends what the database holds after `sent`; NOT_FOUND if unknown.
        func catchUp() async throws {
            guard let track = try await self.storage({ try await self.store.shipment(id: request.id) }) else {
                throw RPCError(code: .notFound, message: "No shipment \"\(request.id)\".")
            }
            let statuses = ShipmentStateMachine.statuses(along: track.events)
            for (event, status) in zip(track.events, statuses) where event.sequence > sent {
                try await response.write(WatchShipmentResponse(event: event, status: status))
                sent = event.sequence
                if ShipmentStateMachine.isFinal(status) { finished = true }
            }
            if let status = track.shipment?.status, ShipmentStateMachine.isFinal(status) { finished = true }
        }

        try await catchUp()
        if finished { return }
        let interval = self.watchPollInterval
        try await withThrowingTaskGroup(of: Void.self) { group in
            // A timer: events recorded by another process sharing the
            // database reach this watcher within one interval.
            group.addTask {
                while !Task.isCancelled {
                    try await Task.sleep(for: interval)
                    subscription.poll()
                }
            }
            defer { group.cancelAll() }
            for await signal in subscription.stream {
                switch signal {
                case .event(let event, let status) where event.sequence == sent + 1:
                    try await response.write(WatchShipmentResponse(event: event, status: status))
                    sent = event.sequence
                    if ShipmentStateMachine.isFinal(status) { finished = true }
                case .event(let event, _) where event.sequence <= sent:
                    continue  // already sent (history, or a repeated idempotent write)
                case .event, .poll:
                    try await catchUp()  // a gap: fill it from the database
                }
                if finished { break }
            }
        }
    }

    public func watchShipments(
        request: WatchShipmentsRequest, response: RPCWriter<WatchShipmentsResponse>, context: ServerContext
    ) async throws {
        try await self.recordedEvents.watch {
            try await response.write(WatchShipmentsResponse(created: true))
        } _: { change in
            try await response.write(change)
        }
    }
}
