public import CRMWire

/// A set of methods a server serves: implement it to bundle a service's handlers.
///
/// ```swift
/// struct EchoService: RPCService {
///     func registerMethods(with router: inout MethodRouter) {
///         router.register(Echo.say) { request, context in request }
///     }
/// }
/// ```
public protocol RPCService: Sendable {
    /// Adds the service's handlers to `router`.
    func registerMethods(with router: inout MethodRouter)
}

/// What reflection and logs know about a registered method.
public struct RegisteredMethod: Sendable, Hashable {
    /// The method's service, name and call kind.
    public let info: WireMethodInfo
    /// Whether the method is safe to retry, as its registration declared.
    public let isIdempotent: Bool
    /// The fully qualified request message name, such as `crm.v1.HealthCheckRequest`.
    public let requestMessage: String
    /// The fully qualified response message name.
    public let responseMessage: String
}

/// The methods a server serves, by path, each with its typed handler.
///
/// Register one handler per method with the function for the method's call kind:
/// `register` (unary), `registerServerStreaming`, `registerClientStreaming`,
/// `registerBidirectional`. A method registered twice keeps its last handler.
public struct MethodRouter: Sendable {
    private var handlers: [String: any ServerMethodHandler] = [:]

    /// An empty router.
    public init() {}

    /// Registers every method of `service`.
    public mutating func register(_ service: some RPCService) {
        service.registerMethods(with: &self)
    }

    /// Registers the handler of a unary method: one request in, one response out.
    ///
    /// Throw an `RPCStatus` to end the call with it; any other error ends it with UNKNOWN.
    ///
    /// - Parameter runsOnEventLoop: run the handler's task on the connection's event loop
    ///   instead of the global concurrent executor, which saves two thread hops per call. Only
    ///   for handlers that never block and do little work before they suspend or return: while
    ///   one runs, that loop serves no other connection. Off by default.
    public mutating func register<Request, Response>(
        _ method: WireMethod<Request, Response>, idempotent: Bool = false, runsOnEventLoop: Bool = false,
        handler: @escaping @Sendable (Request, RPCContext) async throws -> Response
    ) {
        add(method, .unary, idempotent: idempotent, runsOnEventLoop: runsOnEventLoop, .unary(handler))
    }

    /// Registers the handler of a server-streaming method: one request in, any number of
    /// responses written with the writer, which suspends while the client's window is full.
    public mutating func registerServerStreaming<Request, Response>(
        _ method: WireMethod<Request, Response>, idempotent: Bool = false,
        handler: @escaping @Sendable (Request, ResponseWriter<Response>, RPCContext) async throws -> Void
    ) {
        add(method, .serverStreaming, idempotent: idempotent, .serverStreaming(handler))
    }

    /// Registers the handler of a client-streaming method: a stream of requests in, one
    /// response out.
    ///
    /// - Parameter runsOnEventLoop: as for ``register(_:idempotent:runsOnEventLoop:handler:)``.
    public mutating func registerClientStreaming<Request, Response>(
        _ method: WireMethod<Request, Response>, idempotent: Bool = false, runsOnEventLoop: Bool = false,
        handler: @escaping @Sendable (RequestStream<Request>, RPCContext) async throws -> Response
    ) {
        add(method, .clientStreaming, idempotent: idempotent, runsOnEventLoop: runsOnEventLoop, .clientStreaming(handler))
    }

    /// Registers the handler of a bidirectional method: a stream each way, independent of
    /// each other.
    public mutating func registerBidirectional<Request, Response>(
        _ method: WireMethod<Request, Response>, idempotent: Bool = false,
        handler: @escaping @Sendable (RequestStream<Request>, ResponseWriter<Response>, RPCContext) async throws -> Void
    ) {
        add(method, .bidirectionalStreaming, idempotent: idempotent, .bidirectional(handler))
    }

    /// Every registered method, sorted by path.
    public var methods: [RegisteredMethod] {
        handlers.values.map(\.registration).sorted { $0.info.path < $1.info.path }
    }

    /// The handler of the method at `path`, if one is registered.
    func handler(for path: String) -> (any ServerMethodHandler)? {
        handlers[path]
    }

    private mutating func add<Request, Response>(
        _ method: WireMethod<Request, Response>, _ kind: WireCallKind, idempotent: Bool, runsOnEventLoop: Bool = false,
        _ body: ServerMethod<Request, Response>.Body
    ) {
        precondition(
            method.kind == kind,
            "\(method.path) is a \(method.kind.rawValue) method; register it with the function for that kind, not for \(kind.rawValue)"
        )
        let registration = RegisteredMethod(
            info: method.info, isIdempotent: idempotent, requestMessage: Request.protoName,
            responseMessage: Response.protoName)
        handlers[method.path] = ServerMethod(registration: registration, runsOnEventLoop: runsOnEventLoop, body: body)
    }
}

/// A registered method with its message types erased, as the connection sees it.
protocol ServerMethodHandler: Sendable {
    var registration: RegisteredMethod { get }

    /// The typed call that serves one stream; runs on the connection's event loop.
    func makeCall(
        streamID: StreamID, context: RPCContext, connection: ServerConnectionRef, interceptors: InterceptorChain
    ) -> any ServerCallHandler
}

/// A registered method and its typed handler.
struct ServerMethod<Request: WireMessage, Response: WireMessage>: ServerMethodHandler {
    enum Body: Sendable {
        case unary(@Sendable (Request, RPCContext) async throws -> Response)
        case serverStreaming(@Sendable (Request, ResponseWriter<Response>, RPCContext) async throws -> Void)
        case clientStreaming(@Sendable (RequestStream<Request>, RPCContext) async throws -> Response)
        case bidirectional(@Sendable (RequestStream<Request>, ResponseWriter<Response>, RPCContext) async throws -> Void)
    }

    let registration: RegisteredMethod
    /// Whether the handler's task runs on the connection's event loop (unary and
    /// client-streaming only: handlers with a writer always run on the global executor).
    let runsOnEventLoop: Bool
    let body: Body

    func makeCall(
        streamID: StreamID, context: RPCContext, connection: ServerConnectionRef, interceptors: InterceptorChain
    ) -> any ServerCallHandler {
        ServerCall(method: self, streamID: streamID, context: context, connection: connection, interceptors: interceptors)
    }
}
