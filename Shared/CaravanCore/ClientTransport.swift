/// Carries calls to a server: the seam between stubs and a wire.
///
/// The TCP transport and the in-process one implement it. Errors thrown are
/// `RPCError`s; a transport marks calls it never sent with ``CallNeverSent``.
public protocol ClientTransport: Sendable {
    /// One request, one response.
    func unary(
        descriptor: MethodDescriptor,
        request: [UInt8],
        options: ResolvedCallOptions
    ) async throws -> [UInt8]

    /// Any streaming call. `requests` writes the request messages (a single
    /// one for server streaming) and returns to half-close; `responses`
    /// reads the response stream, which ends with an error for a non-OK
    /// status. When `responses` returns the call is cancelled if still open.
    func streaming<Result: Sendable>(
        descriptor: MethodDescriptor,
        options: ResolvedCallOptions,
        requests: @escaping @Sendable (RawMessageWriter) async throws -> Void,
        responses: (RawMessageStream) async throws -> Result
    ) async throws -> Result
}
