public import CRMRPC
public import CRMWire

extension CallOptions {
    /// The options of one call of a generated client: these (the client's defaults) with the
    /// call's own options laid over them.
    ///
    /// - The call's metadata is added after the defaults; a key the call sets replaces the
    ///   default's entries of that key (so a call can send another `authorization`).
    /// - The call's timeout or deadline, when it gives either, replaces the default timeout. The
    ///   default timeout applies to unary calls only: streams run until they end or are cancelled.
    /// - A read (`idempotent`) is always sent as idempotent; otherwise the call's flag holds.
    public func merging(_ call: CallOptions?, idempotent: Bool, kind: WireCallKind) -> CallOptions {
        var result = self
        if kind != .unary { result.timeout = nil }
        guard let call else {
            result.isIdempotent = result.isIdempotent || idempotent
            return result
        }
        if call.timeout != nil || call.deadline != nil {
            result.timeout = call.timeout
            result.deadline = call.deadline
        }
        let overridden = Set(call.metadata.entries.map(\.key))
        var metadata = Metadata(metadata.entries.filter { !overridden.contains($0.key) })
        metadata.add(contentsOf: call.metadata)
        result.metadata = metadata
        result.isIdempotent = call.isIdempotent || idempotent
        result.maxAttempts = call.maxAttempts
        return result
    }
}
