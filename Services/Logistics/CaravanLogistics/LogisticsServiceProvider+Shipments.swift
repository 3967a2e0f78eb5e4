import CaravanCore
import CaravanDomain
import CaravanLogisticsAPI

extension LogisticsServiceProvider {
    public func bookShipment(request: BookShipmentRequest, context: ServerContext) async throws -> BookShipmentResponse
    {
        let snapshot = try await self.snapshot()
        let origin = try snapshot.node(for: request.originCityId, field: "origin_city_id")
        let destination = try snapshot.node(for: request.destinationCityId, field: "destination_city_id")
        guard origin != destination else {
            throw RPCError.invalidArgument(field: "destination_city_id", "must differ from origin_city_id")
        }
        guard !request.cargoCategoryId.isEmpty else {
            throw RPCError.invalidArgument(
                field: "cargo_category_id", "is required (ListCargoCategories shows the ids)")
        }
        guard let categoryIndex = snapshot.categoryIndex[request.cargoCategoryId] else {
            throw RPCError.invalidArgument(
                field: "cargo_category_id",
                "unknown category \"\(request.cargoCategoryId)\"; ListCargoCategories shows the ids")
        }
        guard request.containersTeu > 0 else {
            throw RPCError.invalidArgument(field: "containers_teu", "must be at least 1 TEU")
        }
        guard request.containersTeu <= Self.maxContainers else {
            throw RPCError.invalidArgument(field: "containers_teu", "at most \(Self.maxContainers) TEU per booking")
        }
        var finder = RouteFinder(graph: snapshot.graph)
        guard let path = finder.fastest(from: origin, to: destination) else {
            throw RPCError(
                code: .failedPrecondition,
                message:
                    "No route from \(request.originCityId) to \(request.destinationCityId) over active links; nothing was booked."
            )
        }
        let route = snapshot.route(for: path)
        let bookedAt = self.now()
        let shipment = Shipment(
            originCityId: request.originCityId,
            destinationCityId: request.destinationCityId,
            cargoCategoryId: request.cargoCategoryId,
            containersTeu: request.containersTeu,
            plannedRoute: route,
            bookedAtUnixSeconds: bookedAt,
            etaUnixSeconds: bookedAt + Int64((route.totalHours * 3600).rounded()),
            status: .booked,
            lastCityId: request.originCityId,
            synthetic: request.synthetic
        )
        let crossings =
            route.crossings.isEmpty ? "no border crossing" : "crossing at \(route.crossings.joined(separator: ", "))"
        let draft = ShipmentDraft(
            shipment: shipment,
            originCountry: snapshot.cities[Int(origin)].country,
            destinationCountry: snapshot.cities[Int(destination)].country,
            bookedNote: "\(request.containersTeu) TEU of \(snapshot.categories[categoryIndex].name); "
                + "\(route.legs.count) legs, \(route.totalHours) h, \(crossings)"
        )
        let write = try IdempotentWrite(request, context: context)
        let response = try await self.storage {
            try await self.store.write { try await LogisticsWorkflow.bookShipment(draft, write: write, in: $0) }
        }
        if let shipment = response.shipment {
            self.recordedEvents.publish(
                WatchShipmentsResponse(
                    event: LogisticsRecords.bookedEvent(of: shipment, note: draft.bookedNote), shipment: shipment))
        }
        return response
    }

    public func trackShipment(request: TrackShipmentRequest, context: ServerContext) async throws
        -> TrackShipmentResponse
    {
        guard !request.id.isEmpty else { throw RPCError.invalidArgument(field: "id", "is required") }
        guard let found = try await self.storage({ try await self.store.shipment(id: request.id) }) else {
            throw RPCError(code: .notFound, message: "No shipment \"\(request.id)\".")
        }
        return found
    }

    public func recordShipmentEvent(
        request: RecordShipmentEventRequest, context: ServerContext
    ) async throws -> RecordShipmentEventResponse {
        guard !request.shipmentId.isEmpty else { throw RPCError.invalidArgument(field: "shipment_id", "is required") }
        guard ShipmentStateMachine.recordableKinds.contains(request.kind) else {
            let reason =
                request.kind == .booked
                ? "BOOKED is recorded by BookShipment"
                : "must be one of DEPARTED, CROSSED_BORDER, ARRIVED_AT_TERMINAL, DELAYED, DELIVERED, CANCELLED"
            throw RPCError.invalidArgument(field: "kind", reason)
        }
        if !request.locationCityId.isEmpty {
            let snapshot = try await self.snapshot()
            let node = try snapshot.node(for: request.locationCityId, field: "location_city_id")
            if request.kind == .crossedBorder, !snapshot.cities[Int(node)].isBorderCrossing {
                throw RPCError.invalidArgument(
                    field: "location_city_id", "\"\(request.locationCityId)\" is not a border crossing")
            }
        }
        guard request.atUnixSeconds >= 0 else {
            throw RPCError.invalidArgument(field: "at_unix_seconds", "must not be negative (0 means now)")
        }
        guard request.delayHours.isFinite, request.delayHours >= 0, request.delayHours <= 24 * 365 else {
            throw RPCError.invalidArgument(field: "delay_hours", "must be between 0 and 8760 hours")
        }
        guard request.delayHours == 0 || request.kind == .delayed else {
            throw RPCError.invalidArgument(field: "delay_hours", "applies to DELAYED events only")
        }
        try Self.checkNote(request.note, field: "note")
        let draft = ShipmentStateMachine.EventDraft(
            kind: request.kind,
            locationCityID: request.locationCityId,
            note: request.note,
            atUnixSeconds: request.atUnixSeconds == 0 ? self.now() : request.atUnixSeconds,
            delayHours: request.delayHours
        )
        let write = try IdempotentWrite(request, context: context)
        let shipmentID = request.shipmentId
        let response = try await self.storage {
            try await self.store.write {
                try await LogisticsWorkflow.recordEvent(shipmentID: shipmentID, draft, write: write, in: $0)
            }
        }
        // After the commit: watchers only ever see durable events.
        if let event = response.event, let shipment = response.shipment {
            self.broadcaster.publish(event, status: shipment.status)
            self.recordedEvents.publish(WatchShipmentsResponse(event: event, shipment: shipment))
        }
        return response
    }

    public func listShipments(request: ListShipmentsRequest, context: ServerContext) async throws
        -> ListShipmentsResponse
    {
        let country = request.country.isEmpty ? "" : try CountryCode.validated(request.country, field: "country")
        guard ShipmentStatus.allCases.contains(request.status) else {
            throw RPCError.invalidArgument(field: "status", "unknown status \(request.status.rawValue)")
        }
        let filter = "shipments|\(request.status.rawValue)|\(country)"
        let after = try PageToken.decode(request.pageToken, filter: filter)?.lastKey
        let limit = Self.pageSize(request.pageSize, defaultSize: 50, maxSize: 500)
        let page = try await self.storage {
            try await self.store.listShipments(status: request.status, country: country, after: after, limit: limit)
        }
        return ListShipmentsResponse(
            shipments: page.shipments,
            nextPageToken: page.nextAfter.map { PageToken(lastKey: $0).encode(filter: filter) } ?? "")
    }

    public func countShipments(request: CountShipmentsRequest, context: ServerContext) async throws
        -> CountShipmentsResponse
    {
        let country = request.country.isEmpty ? "" : try CountryCode.validated(request.country, field: "country")
        let counts = try await self.storage { try await self.store.countShipments(country: country) }
        return CountShipmentsResponse(
            booked: counts[.booked] ?? 0, inTransit: counts[.inTransit] ?? 0, delivered: counts[.delivered] ?? 0,
            cancelled: counts[.cancelled] ?? 0)
    }
}
