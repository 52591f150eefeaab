public import CRMTLS
public import CRMWire
public import NIOCore
public import NIOPosix
import Synchronization

/// A crm/1 server: listens on TCP, speaks TLS with ALPN `crm/1` (required), and serves the
/// methods of its services, with the health and reflection services built in.
///
/// ```swift
/// let server = try RPCServer(
///     configuration: .init(host: "127.0.0.1", port: 7443, tls: tlsConfiguration),
///     services: [MyService()])
/// try await server.start()
/// // ...
/// await server.shutdown()
/// ```
public final class RPCServer: Sendable {
    /// Where and how a server listens.
    public struct Configuration: Sendable {
        /// The address to bind, such as `127.0.0.1` or `0.0.0.0`.
        public var host: String
        /// The TCP port; 0 picks a free one (see `localAddress`).
        public var port: Int
        /// The server's TLS: certificate, key, and for mTLS the client CA bundle and mode. The
        /// server sets ALPN to `crm/1` (required) and the handshake timeout from `limits`.
        public var tls: TLSConfiguration
        /// The protocol limits and timers (docs/PROTOCOL.md, section 15).
        public var limits: ProtocolLimits

        public init(
            host: String = "127.0.0.1", port: Int = RPCProtocol.defaultPort, tls: TLSConfiguration,
            limits: ProtocolLimits = .default
        ) {
            self.host = host
            self.port = port
            self.tls = tls
            self.limits = limits
        }
    }

    private enum State {
        case idle
        case running(any Channel)
        case stopped
    }

    /// The configuration the server was made with.
    public let configuration: Configuration
    /// The built-in health service; set the status of services here.
    public let health: HealthService
    private let router: MethodRouter
    private let interceptors: [any RPCInterceptor]
    private let tlsContext: TLSContext
    private let group: any EventLoopGroup
    private let state = Mutex(State.idle)
    private let connections = ConnectionRegistry()

    /// A server for `services`, with `interceptors` around every handler (the first outermost).
    ///
    /// - Throws: `TLSError` when the TLS configuration cannot be loaded.
    public init(
        configuration: Configuration, services: [any RPCService], interceptors: [any RPCInterceptor] = [],
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) throws {
        var tls = configuration.tls
        tls.applicationProtocols = [RPCProtocol.alpn]
        tls.requiresApplicationProtocol = true
        let handshake = configuration.limits.handshakeTimeout.nanoseconds
        tls.handshakeTimeout = .nanoseconds(handshake)
        self.tlsContext = try TLSContext(configuration: tls)
        self.configuration = configuration
        self.interceptors = interceptors
        self.group = eventLoopGroup
        let health = HealthService()
        self.health = health
        var router = MethodRouter()
        for service in services { router.register(service) }
        router.register(health)
        // Every service the server serves is SERVING until told otherwise.
        for service in Set(router.methods.map(\.info.service) + [Reflection.name]) {
            health.setStatus(.serving, forService: service)
        }
        var methods = router.methods
        methods.append(contentsOf: ReflectionService.ownMethods)
        router.register(ReflectionService(methods: methods))
        self.router = router
    }

    /// The address the server listens on once started (with the port chosen when it was 0).
    public var localAddress: SocketAddress? {
        state.withLock { state in
            switch state {
            case .running(let channel): channel.localAddress
            case .idle, .stopped: nil
            }
        }
    }

    /// How many connections are open now.
    public var connectionCount: Int { connections.count }

    /// The channels of the open connections (for tests that look at what a connection holds).
    var connectionChannels: [any Channel] { connections.channels }

    /// Binds and starts accepting connections.
    ///
    /// - Throws: when the address cannot be bound, or the server was started before.
    public func start() async throws {
        let limits = configuration.limits
        let router = self.router
        let interceptors = self.interceptors
        let tlsContext = self.tlsContext
        let connections = self.connections
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 1024)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            // docs/PROTOCOL.md section 12: the connection stops being read while more than the high mark of output
            // waits to be sent, and is read again below the low mark.
            .childChannelOption(.writeBufferWaterMark, value: .init(low: 32 << 10, high: 64 << 10))
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    switch connections.admit(child, limit: limits.maxConnections) {
                    case .admitted:
                        break
                    case .full:
                        throw RPCStatus(
                            code: .unavailable,
                            message: "the server holds its maximum of \(limits.maxConnections) connections")
                    case .shuttingDown:
                        throw RPCStatus(code: .unavailable, message: "the server is shutting down")
                    }
                    let handler = ServerConnectionHandler(limits: limits, router: router, interceptors: interceptors)
                    let pipeline = child.pipeline.syncOperations
                    try pipeline.addHandler(TLSHandler(context: tlsContext))
                    try pipeline.addHandler(ByteToMessageHandler(FrameDecoder(role: .server, limits: limits)))
                    try pipeline.addHandler(handler)
                    connections.attach(child, ref: handler.makeRef(eventLoop: child.eventLoop))
                }
            }
            .bind(host: configuration.host, port: configuration.port)
            .get()
        let started = state.withLock { state -> Bool in
            guard case .idle = state else { return false }
            state = .running(channel)
            return true
        }
        guard started else {
            try? await channel.close()
            throw RPCStatus(code: .failedPrecondition, message: "the server was already started; make a new one")
        }
    }

    /// Stops accepting connections and shuts the open ones down gracefully: GOAWAY, calls in
    /// flight finish (new ones get UNAVAILABLE), and after `gracePeriod` (default: the limits'
    /// shutdown grace period) the calls left are reset with UNAVAILABLE. Returns when every
    /// connection is closed.
    public func shutdown(gracePeriod: Duration? = nil) async {
        let channel = state.withLock { state -> (any Channel)? in
            defer { state = .stopped }
            if case .running(let channel) = state { return channel }
            return nil
        }
        health.markAllNotServing()
        let grace = gracePeriod.map { TimeAmount($0) } ?? configuration.limits.shutdownGracePeriod
        // From here on no connection is admitted, and one admitted but not yet set up (accepted
        // just before) is shut down as soon as it is; then the listener closes.
        for ref in connections.beginShutdown(gracePeriod: grace) {
            ref.execute { $0.beginGracefulShutdown(gracePeriod: grace) }
        }
        try? await channel?.close()
        for child in connections.channels {
            try? await child.closeFuture.get()
        }
    }
}

/// The server's open connections: counted against the limit, reachable for shutdown.
final class ConnectionRegistry: Sendable {
    enum Admission {
        case admitted
        /// The limit is reached.
        case full
        /// `beginShutdown` was called.
        case shuttingDown
    }

    private struct Entry {
        let channel: any Channel
        var ref: ServerConnectionRef?
    }

    private struct State {
        var entries: [ObjectIdentifier: Entry] = [:]
        /// Set by `beginShutdown`: the grace period of the connections still to be shut down.
        var shutdownGracePeriod: TimeAmount?
    }

    private let state = Mutex(State())

    var count: Int { state.withLock { $0.entries.count } }

    /// Every open connection's channel, set up or not.
    var channels: [any Channel] { state.withLock { $0.entries.values.map(\.channel) } }

    /// Counts `channel` in, unless `limit` connections are open already or the server is shutting
    /// down; forgets it when it closes.
    func admit(_ channel: any Channel, limit: Int) -> Admission {
        let key = ObjectIdentifier(channel)
        let admission = state.withLock { state -> Admission in
            guard state.shutdownGracePeriod == nil else { return .shuttingDown }
            guard state.entries.count < limit else { return .full }
            state.entries[key] = Entry(channel: channel, ref: nil)
            return .admitted
        }
        if case .admitted = admission {
            channel.closeFuture.whenComplete { _ in
                _ = self.state.withLock { $0.entries.removeValue(forKey: key) }
            }
        }
        return admission
    }

    /// Makes an admitted connection reachable; one set up after `beginShutdown` is shut down at once.
    func attach(_ channel: any Channel, ref: ServerConnectionRef) {
        let grace = state.withLock { state -> TimeAmount? in
            state.entries[ObjectIdentifier(channel)]?.ref = ref
            return state.shutdownGracePeriod
        }
        if let grace {
            ref.execute { $0.beginGracefulShutdown(gracePeriod: grace) }
        }
    }

    /// Admits no more connections; returns those set up so far, for the caller to shut down (the
    /// others are as they are attached).
    func beginShutdown(gracePeriod: TimeAmount) -> [ServerConnectionRef] {
        state.withLock { state in
            state.shutdownGracePeriod = gracePeriod
            return state.entries.values.compactMap(\.ref)
        }
    }
}
