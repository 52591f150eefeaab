import CRMTLS
import CRMWire
import NIOCore
import NIOPosix
import Synchronization

/// One TLS connection of a client, ready for calls once the server's SETTINGS have arrived.
final class ClientConnection: Sendable {
    let channel: any Channel
    let ref: ClientConnectionRef

    init(channel: any Channel, ref: ClientConnectionRef) {
        self.channel = channel
        self.ref = ref
    }

    /// Sends GOAWAY, lets the open calls finish, then closes; returns once closed.
    func close() async {
        ref.execute { $0.beginClose() }
        try? await channel.closeFuture.get()
    }
}

/// Keeps a client's one connection: connects lazily, reconnects after the connection goes away
/// (at once) or after a failed attempt (after gRPC's backoff).
final class ConnectionManager: Sendable {
    private enum State {
        /// No connection; the next call connects, unless a failed attempt asks to wait until `retryAt`.
        case idle
        /// An attempt is under way.
        case connecting(EventLoopFuture<ClientConnection>)
        /// A connection takes calls.
        case ready(ClientConnection)
        /// `close()` was called.
        case closed
    }

    private struct Failures {
        var count = 0
        var retryAt: ContinuousClock.Instant?
        var lastError = ""
    }

    private enum Action {
        case use(ClientConnection)
        case wait(EventLoopFuture<ClientConnection>)
        case connect(EventLoopPromise<ClientConnection>)
        case fail(RPCStatus)
    }

    private let host: String
    private let port: Int
    private let serverName: String?
    private let tls: TLSContext
    private let limits: ProtocolLimits
    private let backoff: Backoff
    /// The loop every connection of this manager lives on, chosen once, so that callers may run
    /// their tasks on it (``RPCClient/executor``) and reach the connection without a thread hop.
    let eventLoop: any EventLoop
    private let state = Mutex<(State, Failures)>((.idle, Failures()))

    init(
        host: String, port: Int, serverName: String?, tls: TLSContext, limits: ProtocolLimits, backoff: Backoff,
        group: any EventLoopGroup
    ) {
        self.host = host
        self.port = port
        self.serverName = serverName
        self.tls = tls
        self.limits = limits
        self.backoff = backoff
        self.eventLoop = group.next()
    }

    /// A connection ready for calls.
    ///
    /// - Throws: `RPCStatus` UNAVAILABLE when no connection can be made now (the attempt failed,
    ///   or the last one failed and the backoff has not elapsed); the request was not sent.
    func connection(before deadline: NIODeadline? = nil) async throws -> ClientConnection {
        let action = state.withLock { pair -> Action in
            switch pair.0 {
            case .ready(let connection):
                return .use(connection)
            case .connecting(let future):
                return .wait(future)
            case .closed:
                return .fail(RPCStatus(code: .unavailable, message: "not processed: the client is closed"))
            case .idle:
                if let retryAt = pair.1.retryAt, ContinuousClock.now < retryAt {
                    let wait = ContinuousClock.now.duration(to: retryAt).components
                    let milliseconds = wait.seconds * 1000 + wait.attoseconds / 1_000_000_000_000_000
                    return .fail(
                        RPCStatus(
                            code: .unavailable,
                            message: "not processed: cannot connect to \(host):\(port) (\(pair.1.lastError)); "
                                + "the next attempt is in \(milliseconds) ms"))
                }
                let promise = eventLoop.makePromise(of: ClientConnection.self)
                pair.0 = .connecting(promise.futureResult)
                return .connect(promise)
            }
        }
        switch action {
        case .use(let connection):
            return connection
        case .wait(let future):
            return try await Self.wait(for: future, before: deadline, what: "\(host):\(port)")
        case .fail(let status):
            throw status
        case .connect(let promise):
            connect(promise)
            return try await Self.wait(for: promise.futureResult, before: deadline, what: "\(host):\(port)")
        }
    }

    /// The connection attempt's result, or DEADLINE_EXCEEDED when the call's deadline comes first.
    private static func wait(
        for future: EventLoopFuture<ClientConnection>, before deadline: NIODeadline?, what: String
    ) async throws -> ClientConnection {
        guard let deadline else { return try await future.get() }
        let eventLoop = future.eventLoop
        let result = eventLoop.makePromise(of: ClientConnection.self)
        let timer = eventLoop.scheduleTask(deadline: deadline) {
            result.fail(RPCStatus(code: .deadlineExceeded, message: "the deadline passed while connecting to \(what)"))
        }
        future.whenComplete { outcome in
            timer.cancel()
            result.completeWith(outcome)
        }
        return try await result.futureResult.get()
    }

    /// Forgets `connection` if it is the current one: the next call connects anew.
    func connectionUnusable(_ channel: any Channel) {
        state.withLock { pair in
            if case .ready(let current) = pair.0, current.channel === channel { pair.0 = .idle }
        }
    }

    /// Closes the connection; later calls fail with UNAVAILABLE.
    func close() async {
        let current = state.withLock { pair -> ClientConnection? in
            defer { pair.0 = .closed }
            if case .ready(let connection) = pair.0 { return connection }
            return nil
        }
        await current?.close()
    }

    private func connect(_ promise: EventLoopPromise<ClientConnection>) {
        let limits = self.limits
        let tls = self.tls
        let serverName = self.serverName ?? host
        let eventLoop = promise.futureResult.eventLoop
        let ready = eventLoop.makePromise(of: Void.self)
        let connectionBox = Mutex<ClientConnection?>(nil)
        let future = ClientBootstrap(group: eventLoop)
            .connectTimeout(.seconds(20))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handler = ClientConnectionHandler(limits: limits, readyPromise: ready) {
                        self.connectionUnusable(channel)
                    }
                    let pipeline = channel.pipeline.syncOperations
                    try pipeline.addHandler(TLSHandler(context: tls, serverName: serverName))
                    try pipeline.addHandler(ByteToMessageHandler(FrameDecoder(role: .client, limits: limits)))
                    try pipeline.addHandler(handler)
                    let connection = ClientConnection(channel: channel, ref: handler.makeRef(eventLoop: channel.eventLoop))
                    connectionBox.withLock { $0 = connection }
                }
            }
            .connect(host: host, port: port)
            .flatMap { channel in
                ready.futureResult.flatMapThrowing { () throws -> ClientConnection in
                    guard let connection = connectionBox.withLock({ $0 }) else {
                        throw RPCStatus(code: .internal, message: "the connection was not set up")
                    }
                    return connection
                }.flatMapErrorThrowing { error in
                    channel.close(promise: nil)
                    throw error
                }
            }
        future.whenComplete { [self] result in
            switch result {
            case .success(let connection):
                let keep = state.withLock { pair -> Bool in
                    guard case .connecting = pair.0 else { return false }
                    pair.0 = .ready(connection)
                    pair.1 = Failures()
                    return true
                }
                if keep {
                    promise.succeed(connection)
                } else {
                    connection.channel.close(promise: nil)
                    promise.fail(RPCStatus(code: .unavailable, message: "not processed: the client is closed"))
                }
            case .failure(let error):
                let status = state.withLock { pair -> RPCStatus in
                    pair.1.count += 1
                    pair.1.lastError = Self.describe(error)
                    pair.1.retryAt = ContinuousClock.now + backoff.delay(afterFailures: pair.1.count)
                    if case .connecting = pair.0 { pair.0 = .idle }
                    return RPCStatus(
                        code: .unavailable, message: "not processed: cannot connect to \(host):\(port): \(pair.1.lastError)")
                }
                ready.fail(status)
                promise.fail(status)
            }
        }
    }

    private static func describe(_ error: any Error) -> String {
        switch error {
        case let status as RPCStatus: status.message
        case let tls as TLSError: tls.description
        default: String(describing: error)
        }
    }
}
