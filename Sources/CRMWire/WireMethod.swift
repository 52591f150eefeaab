/// How many messages each side of a call sends.
public enum WireCallKind: String, Sendable, Hashable, CaseIterable {
    /// One request, one response.
    case unary
    /// One request, a stream of responses.
    case serverStreaming
    /// A stream of requests, one response.
    case clientStreaming
    /// A stream each way.
    case bidirectionalStreaming
}

/// A method's name and call kind, without its message types: what reflection lists.
public struct WireMethodInfo: Sendable, Hashable, CustomStringConvertible {
    /// The fully qualified service name, such as `crm.v1.InteractionService`.
    public let service: String
    /// The method name, such as `PushInteraction`.
    public let method: String
    /// How many messages each side sends.
    public let kind: WireCallKind

    public init(service: String, method: String, kind: WireCallKind) {
        self.service = service
        self.method = method
        self.kind = kind
    }

    /// The path that request headers carry: `/crm.v1.InteractionService/PushInteraction`.
    public var path: String { "/\(service)/\(method)" }

    public var description: String { "\(path) (\(kind.rawValue))" }
}

/// A method with its request and response message types, generated for every `rpc`.
public struct WireMethod<Request: WireMessage, Response: WireMessage>: Sendable, Hashable {
    /// The method's name and call kind.
    public let info: WireMethodInfo

    public init(service: String, method: String, kind: WireCallKind) {
        info = WireMethodInfo(service: service, method: method, kind: kind)
    }

    /// The path that request headers carry.
    public var path: String { info.path }
    /// How many messages each side sends.
    public var kind: WireCallKind { info.kind }
}
