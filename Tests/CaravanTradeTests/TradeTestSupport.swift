import CaravanCore
import CaravanInProcess
import CaravanTrade
import CaravanTradeAPI
import Foundation
import Testing

/// A trade service on a fresh in-memory database, called through the
/// in-process transport and the generated client, as a remote caller would.
struct TradeHarness {
    let client: TradeServiceClient
    let store: SQLiteTradeStore

    init(configuration: TradeServiceProvider.Configuration = .defaults) throws {
        let store = try SQLiteTradeStore.inMemory()
        let service = TradeServiceProvider(store: store, configuration: configuration)
        let transport = InProcessTransport(serving: [service])
        self.client = TradeServiceClient(wrapping: RPCClient(transport: transport, retryPolicy: .none))
        self.store = store
    }

    @discardableResult
    func record(_ flow: TradeFlow, key: String = "") async throws -> TradeFlow {
        let response = try await self.client.recordFlow(RecordFlowRequest(flow: flow, idempotencyKey: key))
        return try #require(response.flow)
    }

    /// Every flow matching `filter`, page by page.
    func listAll(_ filter: TradeFlowFilter? = nil, pageSize: UInt32) async throws -> [TradeFlow] {
        var flows: [TradeFlow] = []
        var token = ""
        var pages = 0
        repeat {
            let page = try await self.client.listFlows(
                ListFlowsRequest(filter: filter, pageSize: pageSize, pageToken: token))
            #expect(page.flows.count <= Int(pageSize))
            flows += page.flows
            token = page.nextPageToken
            pages += 1
            try #require(pages < 10_000, "paging does not end")
        } while !token.isEmpty
        return flows
    }
}

/// A valid flow to vary in tests.
func sampleFlow(
    year: UInt32 = 2024, month: UInt32 = 0, country: String = "KZ", direction: TradeDirection = .directionExport,
    category: String = "auto parts", value: Double = 1_000_000, synthetic: Bool = false
) -> TradeFlow {
    TradeFlow(
        year: year, month: month, country: country, direction: direction, category: category, valueUsd: value,
        source: "test fixture", synthetic: synthetic)
}

/// Runs `body`, which must fail with `code`; returns the error's message.
@discardableResult
func expectRPCError(
    _ code: RPCError.Code,
    mentioning text: String? = nil,
    sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () async throws -> Void
) async -> String? {
    do {
        try await body()
        Issue.record("expected \(code), but the call succeeded", sourceLocation: sourceLocation)
        return nil
    } catch let error as RPCError {
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
        if let text {
            #expect(
                error.message.contains(text), "\"\(error.message)\" should mention \(text)",
                sourceLocation: sourceLocation)
        }
        return error.message
    } catch {
        Issue.record("expected RPCError \(code), got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}
