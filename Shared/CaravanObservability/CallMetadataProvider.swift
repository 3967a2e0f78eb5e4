import CaravanCore
import Logging

extension Logger.MetadataProvider {
    /// Adds the trace and span of the call being served (from
    /// ``ServerContext/current``) to every line logged while serving it,
    /// whichever logger the handler uses.
    public static let caravanCall = Logger.MetadataProvider {
        guard let parts = ServerContext.current?.trace?.parts else { return [:] }
        return ["trace_id": .string(parts.traceID), "span_id": .string(parts.parentID)]
    }
}
