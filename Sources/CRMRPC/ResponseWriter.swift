public import CRMWire

/// Writes the responses of a server-streaming or bidirectional call.
///
/// `write` returns once the message is on its way; it suspends while the client's
/// flow-control window is full, so a client that does not read holds the handler, not the
/// server's memory. It throws once the call is over (cancelled, reset by the client, past its
/// deadline): stop writing then.
public struct ResponseWriter<Message: WireMessage>: Sendable {
    let streamID: StreamID
    let connection: ServerConnectionRef

    /// Sends the response headers now if they have not gone yet (the runtime does so when a
    /// server-streaming handler starts, after the interceptors let the call through).
    func sendHeaders() {
        let streamID = self.streamID
        connection.execute { $0.sendHeaders(on: streamID) }
    }

    /// Sends one response message.
    ///
    /// - Throws: `RPCStatus` when the call is over or the message cannot be sent (over the
    ///   client's size limit: RESOURCE_EXHAUSTED, which also ends the call).
    public func write(_ message: Message) async throws {
        let streamID = self.streamID
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            connection.execute { $0.sendMessage(message, on: streamID, continuation: continuation) }
        }
    }
}
