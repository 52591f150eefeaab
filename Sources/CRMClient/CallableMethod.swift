import CRMRPC
public import CRMWire

/// A method called by its name with JSON messages (`crm call`): the typed method of the generated registry
/// (``CRMCallableMethods``) and its messages' generated JSON mapping, so any method can be called without code of
/// its own.
public struct CallableMethod: Sendable {
    /// The method's service, name and call kind.
    public let info: WireMethodInfo
    private let perform: @Sendable (RPCClient, CallOptions, [JSONValue], @Sendable (JSONValue) async throws -> Void) async throws -> Void

    /// The method `method`, called with JSON.
    public init<Request: WireJSONMessage, Response: WireJSONMessage>(_ method: WireMethod<Request, Response>) {
        info = method.info
        perform = { rpc, options, requests, emit in
            var messages: [Request] = []
            for (i, json) in requests.enumerated() {
                messages.append(try Request(json: json, path: requests.count == 1 && method.kind != .clientStreaming && method.kind != .bidirectionalStreaming ? "request" : "request[\(i)]"))
            }
            switch method.kind {
            case .unary:
                try await emit(try await rpc.unary(method, try Self.single(messages, method.info), options: options).json)
            case .serverStreaming:
                for try await response in try await rpc.serverStreaming(method, try Self.single(messages, method.info), options: options) {
                    try await emit(response.json)
                }
            case .clientStreaming:
                let response = try await rpc.clientStreaming(method, options: options) { writer in
                    for message in messages { try await writer.write(message) }
                }
                try await emit(response.message.json)
            case .bidirectionalStreaming:
                let call = try await rpc.bidirectional(method, options: options)
                for message in messages { try await call.requests.write(message) }
                call.requests.finish()
                for try await response in call.responses { try await emit(response.json) }
            }
        }
    }

    /// Calls the method on `client` with `requests` (one for unary and server-streaming calls, any number for the
    /// others), handing each response to `emit` as it arrives.
    ///
    /// - Throws: `WireJSONError` when a request is not the method's request message, `RPCStatus` when the call fails.
    public func call(
        on client: CRMClient, requests: [JSONValue], emit: @escaping @Sendable (JSONValue) async throws -> Void
    ) async throws {
        let options = client.configuration.defaultCallOptions.merging(
            nil, idempotent: client.isIdempotent(info), kind: info.kind)
        try await perform(client.rpc, options, requests, emit)
    }

    private static func single<M>(_ messages: [M], _ info: WireMethodInfo) throws(WireJSONError) -> M {
        guard messages.count == 1 else {
            throw WireJSONError(path: "request", reason: "\(info.path) is \(info.kind.rawValue): give exactly one request object, not \(messages.count)")
        }
        return messages[0]
    }
}

extension CRMClient {
    /// Whether the generated client of `info`'s service sends it as idempotent (a read).
    func isIdempotent(_ info: WireMethodInfo) -> Bool {
        CRMCallableMethods.idempotent.contains(info.path)
    }
}
