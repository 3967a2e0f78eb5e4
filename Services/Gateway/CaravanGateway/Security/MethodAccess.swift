import CaravanAuth
import CaravanCore

/// Which scope each method the gateway serves needs: the declared table of
/// reads and writes. A method in neither list (one added to a proto and not
/// here) needs `caravan.write`: forgetting to classify a method can only make
/// it harder to call. A test checks every method of every routed schema is
/// listed, so the table is kept complete.
public enum MethodAccess {
    /// What a call needs.
    public enum Requirement: Equatable, Sendable {
        /// Anyone, without a token: health, for probes.
        case open
        /// A valid token with this scope.
        case scope(String)
    }

    /// Services served without a token.
    public static let openServices: Set<String> = ["caravan.health.v1.Health"]

    /// Methods that change state, per service.
    public static let writes: [String: Set<String>] = [
        "caravan.trade.v1.TradeService": ["RecordFlow", "RecordStreamSession"],
        "caravan.logistics.v1.LogisticsService": ["AddLink", "RetireLink", "BookShipment", "RecordShipmentEvent"],
        "caravan.training.v1.TrainingService": ["CreateProgram", "RegisterTrainee", "Enrol", "Withdraw", "Complete"],
    ]

    /// Methods that only read, per service.
    public static let reads: [String: Set<String>] = [
        "caravan.trade.v1.TradeService": [
            "GetFlow", "ListFlows", "StreamFlows", "WatchFlows", "GetSummary", "TopCategories", "HubStats",
            "ListEnergyProjects",
        ],
        "caravan.logistics.v1.LogisticsService": [
            "ListCities", "GetCity", "ListLinks", "NetworkStats", "FindRoute", "ListCargoCategories",
            "TrackShipment", "WatchShipment", "WatchShipments", "ListShipments", "CountShipments",
        ],
        "caravan.training.v1.TrainingService": [
            "GetProgram", "ListPrograms", "GetTrainee", "ListEnrolments", "WatchEnrolments", "Statistics",
            "TraineeHistory",
        ],
        "caravan.gateway.v1.Gateway": ["CountryProfile", "PartnershipOverview"],
        "caravan.reflection.v1.Reflection": ["ListServices", "FileDescriptors"],
    ]

    public static func requirement(for descriptor: MethodDescriptor) -> Requirement {
        if Self.openServices.contains(descriptor.service) { return .open }
        if Self.reads[descriptor.service]?.contains(descriptor.method) == true,
            Self.writes[descriptor.service]?.contains(descriptor.method) != true
        {
            return .scope(CaravanScope.read)
        }
        return .scope(CaravanScope.write)
    }
}
