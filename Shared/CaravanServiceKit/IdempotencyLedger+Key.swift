import CaravanCore

extension IdempotencyLedger {
    /// The idempotency key of a write: the request's own field (`value`) if set, else
    /// the `idempotency-key` the call carried; nil when neither is.
    ///
    /// Both set to different values is refused with INVALID_ARGUMENT naming
    /// `field`: the caller cannot mean both.
    public static func key(
        request value: String,
        context: ServerContext,
        field name: String = "idempotency_key"
    ) throws(RPCError) -> String? {
        let header = context.idempotencyKey ?? ""
        switch (value.isEmpty, header.isEmpty) {
        case (true, true):
            return nil
        case (false, true):
            return value
        case (true, false):
            return header
        case (false, false):
            guard value == header else {
                throw RPCError.invalidArgument(
                    field: name, "\"\(value)\" differs from the call's idempotency-key \"\(header)\"; send one")
            }
            return value
        }
    }
}
