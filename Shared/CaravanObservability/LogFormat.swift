/// How log lines look: `text` for people, `json` for collectors.
public enum LogFormat: String, Sendable, CaseIterable {
    /// `2026-11-30T01:02:03.456Z info caravan.trade: Call finished rpc.method=… trace_id=…`
    case text
    /// One JSON object per line: `timestamp`, `level`, `label`, `message`, `metadata`.
    case json
}
