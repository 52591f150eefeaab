import CRMStore
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO
import Synchronization

/// Which of the location's servers this node uses, and the pool of connections to it.
///
/// A URL may name a primary and its standbys (`postgres://crm@site-a:5432,site-b:5432/crm`). The node uses the first
/// server, in the URL's order, that accepts writes (one that answers `SHOW transaction_read_only` with `off`: not a
/// standby), with a pool (`PostgresClient`) of its own. With several servers the node watches for a failover: a call
/// that finds the connection lost or the server read-only tells ``lost(_:)``, and a watcher asks the server in use,
/// once a second on a connection of its own, whether it still accepts writes (so a server that went away without a
/// word, or came back as a standby, is noticed even by a node that only reads). Either closes the pool, and the next
/// call looks again, so the node follows the primary by itself; calls in between fail with
/// ``StoreError/unavailable(reason:)``, which clients retry. With one server there is nothing to follow: its pool
/// reconnects by itself after a loss.
final class ServerSelection: Sendable {
    /// A chosen server and its pool.
    struct Chosen: Sendable {
        let server: PostgresLocation.Server
        let client: PostgresClient
        let running: Task<Void, Never>
    }

    private enum State {
        /// Nothing chosen: the next call looks.
        case idle
        /// One caller looks; the others wait for the same answer.
        case choosing(Task<Chosen, any Error>)
        case chosen(Chosen)
        case closed
    }

    let location: PostgresLocation
    private let tls: TLSConfiguration?
    private let logger: Logger
    private let state = Mutex<State>(.idle)
    /// Pools given up (after a failover) whose run tasks ``close()`` still waits for.
    private let retired = Mutex<[Task<Void, Never>]>([])
    /// The watcher of the server in use (several servers only).
    private let watcher = Mutex<Task<Void, Never>?>(nil)

    /// How long one of several servers may take to connect and say whether it accepts writes before the next is tried
    /// (a server that is down but whose host still answers refuses at once; this bounds one whose host is gone).
    static let attemptTimeout: Duration = .seconds(3)
    /// How often the watcher asks the server in use whether it still accepts writes.
    static let watchInterval: Duration = .seconds(1)

    init(location: PostgresLocation, tls: TLSConfiguration?, logger: Logger) {
        self.location = location
        self.tls = tls
        self.logger = logger
    }

    /// Whether there is another server to move to.
    var several: Bool { location.servers.count > 1 }

    /// How long an attempt on one server may take: for one server as for any connection at start, for one of several
    /// ``attemptTimeout``.
    private var attemptTimeout: Duration { several ? Self.attemptTimeout : .seconds(10) }

    /// The pool of the server in use, choosing one first when there is none.
    ///
    /// - Throws: ``StoreError/unavailable(reason:)`` when no server named accepts writes (each one's reason said), or,
    ///   with one server, the error connecting to it.
    func client() async throws -> PostgresClient {
        // The common case, a server chosen, takes the lock and nothing else.
        let next: Next = try state.withLock { state in
            switch state {
            case .chosen(let chosen):
                return .ready(chosen.client)
            case .choosing(let task):
                return .wait(task)
            case .closed:
                throw StoreError.unavailable(reason: "the store is closed")
            case .idle:
                let task = Task { try await self.choose() }
                state = .choosing(task)
                return .wait(task)
            }
        }
        switch next {
        case .ready(let client):
            return client
        case .wait(let task):
            do {
                return try await task.value.client
            } catch {
                state.withLock { if case .choosing(let current) = $0, current == task { $0 = .idle } }
                throw error
            }
        }
    }

    private enum Next {
        case ready(PostgresClient)
        case wait(Task<Chosen, any Error>)
    }

    /// The server in use now, if one is chosen.
    var current: PostgresLocation.Server? {
        state.withLock { if case .chosen(let chosen) = $0 { chosen.server } else { nil } }
    }

    /// Forgets `client`'s server when it is still the one in use: its pool is closed and the next call looks again.
    /// With one server, nothing happens (its pool reconnects by itself).
    func lost(_ client: PostgresClient, because reason: String) {
        guard several, let dropped = giveUp(where: { $0.client === client }) else { return }
        logger.warning(
            "the database server in use is lost or no longer accepts writes; looking for the one that does",
            metadata: ["server": "\(dropped.server)", "reason": "\(reason)"])
    }

    /// Closes the pool; later calls fail.
    func close() async {
        let previous = state.withLock { state -> State in
            defer { state = .closed }
            return state
        }
        watcher.withLock { $0 }?.cancel()
        await watcher.withLock { $0 }?.value
        switch previous {
        case .chosen(let chosen):
            retire(chosen)
        case .choosing(let task):
            if let chosen = try? await task.value { retire(chosen) }
        case .idle, .closed:
            break
        }
        for running in retired.withLock({ $0 }) { await running.value }
    }

    /// Forgets the chosen server when `matches` says so (the next call looks again) and stops its pool; returns it.
    private func giveUp(where matches: (Chosen) -> Bool) -> Chosen? {
        let dropped: Chosen? = state.withLock { state in
            guard case .chosen(let chosen) = state, matches(chosen) else { return nil }
            state = .idle
            return chosen
        }
        if let dropped { retire(dropped) }
        return dropped
    }

    /// Stops a pool that is no longer used; ``close()`` waits for it to end.
    private func retire(_ chosen: Chosen) {
        chosen.running.cancel()
        retired.withLock { $0.append(chosen.running) }
    }

    // MARK: Choosing

    /// Tries each server in order; the first that accepts writes gets a pool.
    private func choose() async throws -> Chosen {
        var refusals: [String] = []
        for server in location.servers {
            let accepts: Bool
            do {
                accepts = try await acceptsWrites(server)
            } catch {
                // One server: its own error, which says what to do about it.
                if !several { throw error }
                refusals.append("\(server): \(PostgresStore.explain(error))")
                continue
            }
            guard accepts else {
                refusals.append("\(server) accepts no writes (a standby, or read-only)")
                continue
            }
            let chosen = await startPool(server)
            let published = state.withLock { state -> Bool in
                guard case .choosing = state else { return false }
                state = .chosen(chosen)
                return true
            }
            guard published else {
                retire(chosen)
                throw StoreError.unavailable(reason: "the store is closed")
            }
            if several {
                logger.notice("using the database server", metadata: ["server": "\(server)"])
                startWatching()
            }
            return chosen
        }
        throw StoreError.unavailable(reason: Self.noneAccepts(location, refusals: refusals))
    }

    /// What to say when no server accepts writes.
    static func noneAccepts(_ location: PostgresLocation, refusals: [String]) -> String {
        if location.servers.count == 1, let refusal = refusals.first {
            return "\(refusal): name the primary in the URL, or the primary and its standbys (HOST1:PORT1,HOST2:PORT2) for "
                + "crmd to find the one that accepts writes"
        }
        return "none of the database servers named accepts writes (\(refusals.joined(separator: "; "))); a failover may be under way"
    }

    /// Whether `server` accepts writes, asked on a connection of its own: the connection within ``attemptTimeout`` (as
    /// postgres-nio bounds a connection and its start-up), then the answer within as long again.
    private func acceptsWrites(_ server: PostgresLocation.Server) async throws -> Bool {
        let connection = try await PostgresConnection.connect(
            configuration: try connectionConfiguration(server, timeout: attemptTimeout), id: 0, logger: logger)
        // Closed before it is let go (postgres-nio asserts that a connection is closed when freed).
        do {
            let accepts = try await Self.acceptsWrites(connection, within: attemptTimeout, logger: logger)
            try? await connection.close()
            return accepts
        } catch {
            try? await connection.close()
            throw error
        }
    }

    /// `SHOW transaction_read_only` is `off`, answered within `limit` (else the connection is closed and this throws).
    private static func acceptsWrites(_ connection: PostgresConnection, within limit: Duration, logger: Logger) async throws -> Bool {
        try await askAcceptsWrites(connection, within: limit, logger: logger).get()
    }

    /// Asks whether the server accepts writes, for a caller that waits (async) or blocks (the writer).
    private static func askAcceptsWrites(_ connection: PostgresConnection, within limit: Duration, logger: Logger) -> EventLoopFuture<Bool> {
        connection.answer(to: "SHOW transaction_read_only", logger: logger, within: .init(limit)).flatMapThrowing { result in
            try result.rows.first?.decode(String.self) == "off"
        }
    }

    /// A pool of connections to `server`, its run task begun (the pool serves leases only once `run()` is under way,
    /// and warns otherwise).
    private func startPool(_ server: PostgresLocation.Server) async -> Chosen {
        var configuration = PostgresClient.Configuration(
            host: server.host, port: server.port, username: location.user, password: location.password,
            database: location.database, tls: tls.map { .require($0) } ?? .disable)
        configuration.options.connectTimeout = .seconds(10)
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        let (started, begun) = AsyncStream<Void>.makeStream()
        let running = Task {
            begun.finish()
            await client.run()
        }
        for await _ in started {}
        return Chosen(server: server, client: client, running: running)
    }

    /// One connection's configuration for `server`.
    private func connectionConfiguration(_ server: PostgresLocation.Server, timeout: Duration) throws -> PostgresConnection.Configuration {
        var configuration = PostgresConnection.Configuration(
            host: server.host, port: server.port, username: location.user, password: location.password,
            database: location.database, tls: try tls.map { .require(try NIOSSLContext(configuration: $0)) } ?? .disable)
        configuration.options.connectTimeout = .seconds(max(1, timeout.components.seconds))
        return configuration
    }

    // MARK: Watching the server in use

    /// Starts the watcher once: every ``watchInterval`` it asks the server in use, on a connection of its own, whether
    /// it still accepts writes, and gives the pool up when it does not or does not answer within ``attemptTimeout``.
    private func startWatching() {
        watcher.withLock { watcher in
            guard watcher == nil else { return }
            watcher = Task { await self.watch() }
        }
    }

    private func watch() async {
        var probe: (server: PostgresLocation.Server, connection: PostgresConnection)?
        while !Task.isCancelled {
            try? await Task.sleep(for: Self.watchInterval)
            guard !Task.isCancelled else { break }
            let chosen: Chosen? = state.withLock { if case .chosen(let chosen) = $0 { chosen } else { nil } }
            guard let chosen else { continue }
            if let open = probe, open.server != chosen.server || open.connection.isClosed {
                try? await open.connection.close()
                probe = nil
            }
            let server = chosen.server
            do {
                let connection: PostgresConnection
                if let open = probe {
                    connection = open.connection
                } else {
                    connection = try await PostgresConnection.connect(
                        configuration: try connectionConfiguration(server, timeout: Self.attemptTimeout), id: 2, logger: logger)
                    probe = (server, connection)
                }
                if try await !Self.acceptsWrites(connection, within: Self.attemptTimeout, logger: logger) {
                    lost(chosen.client, because: "\(server) now accepts no writes (a standby, or read-only)")
                }
            } catch {
                if let open = probe { try? await open.connection.close() }
                probe = nil
                lost(chosen.client, because: PostgresStore.explain(error))
            }
        }
        if let open = probe { try? await open.connection.close() }
    }

    // MARK: The writer's connection

    /// Connects to the first server that accepts writes, blocking (the group commit's writer runs on a queue of its
    /// own).
    ///
    /// The writer looks for itself rather than following the pool's choice: after a failover the two find the same
    /// new primary, there being one server that accepts writes.
    func connectWriter(timeout: Duration) throws -> PostgresConnection {
        var refusals: [String] = []
        let attempt = several ? Self.attemptTimeout : timeout
        for server in location.servers {
            do {
                let connection = try PostgresConnection.connect(
                    on: MultiThreadedEventLoopGroup.singleton.next(),
                    configuration: try connectionConfiguration(server, timeout: attempt), id: 1, logger: logger
                ).wait()
                do {
                    if try Self.askAcceptsWrites(connection, within: attempt, logger: logger).wait() {
                        writerUses(server)
                        return connection
                    }
                } catch {
                    _ = try? connection.close().wait()
                    throw error
                }
                _ = try? connection.close().wait()
                refusals.append("\(server) accepts no writes (a standby, or read-only)")
            } catch {
                if !several { throw error }
                refusals.append("\(server): \(PostgresStore.explain(error))")
            }
        }
        throw StoreError.unavailable(reason: Self.noneAccepts(location, refusals: refusals))
    }

    /// The writer found `server`: when the pool uses another (the old primary, before a failover), it is closed, so
    /// that reads follow at once rather than after their own wait for a server that is gone.
    private func writerUses(_ server: PostgresLocation.Server) {
        guard let dropped = giveUp(where: { $0.server != server }) else { return }
        logger.warning(
            "the writer found another database server accepting writes; reads move to it", metadata: ["from": "\(dropped.server)", "to": "\(server)"])
    }
}
