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
/// server, in the URL's order, that suits ``PostgresLocation/targetSession`` (for `read-write`, one that answers
/// `SHOW transaction_read_only` with `off`: not a standby), with a pool (`PostgresClient`) of its own. When a call
/// finds that server gone or read-only (a failover promoted a standby and the old primary is down or follows it), it
/// tells ``lost(_:)``; the pool is closed and the next call looks again, so a node follows the primary by itself. Calls
/// in between fail with ``StoreError/unavailable(reason:)``, which clients retry. With one server this is what the
/// pool did alone: after a loss, the next call connects again.
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

    /// How long one of several servers may take to answer before the next is tried (a server that is down but whose
    /// host still answers refuses at once; this bounds one whose host is gone).
    static let connectTimeout: Duration = .seconds(3)

    /// How long the attempt to connect to a server may take: for one server as for any connection, for one of several
    /// ``connectTimeout``.
    private var attemptTimeout: Duration { location.servers.count > 1 ? Self.connectTimeout : .seconds(10) }

    init(location: PostgresLocation, tls: TLSConfiguration?, logger: Logger) {
        self.location = location
        self.tls = tls
        self.logger = logger
    }

    /// The pool of the server in use, choosing one first when there is none.
    ///
    /// - Throws: ``StoreError/unavailable(reason:)`` when no server named suits (each one's reason said).
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
    func lost(_ client: PostgresClient) {
        let dropped: Chosen? = state.withLock { state in
            guard case .chosen(let chosen) = state, chosen.client === client else { return nil }
            state = .idle
            return chosen
        }
        guard let dropped else { return }
        logger.warning("lost the database server; looking for one that suits again", metadata: ["server": "\(dropped.server)"])
        dropped.running.cancel()
    }

    /// Closes the pool; later calls fail.
    func close() async {
        let previous = state.withLock { state -> State in
            defer { state = .closed }
            return state
        }
        switch previous {
        case .chosen(let chosen):
            chosen.running.cancel()
            await chosen.running.value
        case .choosing(let task):
            if let chosen = try? await task.value {
                chosen.running.cancel()
                await chosen.running.value
            }
        case .idle, .closed:
            break
        }
    }

    // MARK: Choosing

    /// Tries each server in order; the first that suits gets a pool.
    private func choose() async throws -> Chosen {
        var refusals: [String] = []
        for server in location.servers {
            do {
                let connection = try await PostgresConnection.connect(
                    configuration: try connectionConfiguration(server, timeout: attemptTimeout), id: 0, logger: logger)
                let suits: Bool
                do {
                    suits = try await suitsTarget(connection)
                    try? await connection.close()
                } catch {
                    try? await connection.close()
                    throw error
                }
                guard suits else {
                    refusals.append("\(server) accepts no writes (a standby, or read-only)")
                    continue
                }
                let chosen = try startPool(server)
                let published = state.withLock { state -> Bool in
                    guard case .choosing = state else { return false }
                    state = .chosen(chosen)
                    return true
                }
                guard published else {
                    chosen.running.cancel()
                    throw StoreError.unavailable(reason: "the store is closed")
                }
                if location.servers.count > 1 { logger.notice("using the database server", metadata: ["server": "\(server)"]) }
                return chosen
            } catch let error as StoreError {
                throw error
            } catch {
                // One server: its own error, which says what to do about it.
                if location.servers.count == 1 { throw error }
                refusals.append("\(server): \(PostgresStore.explain(error))")
            }
        }
        throw StoreError.unavailable(reason: Self.noneSuits(location, refusals: refusals))
    }

    /// What to say when no server suits.
    static func noneSuits(_ location: PostgresLocation, refusals: [String]) -> String {
        if location.servers.count == 1, let refusal = refusals.first {
            return "\(refusal): name the primary in the URL, or the primary and its standbys (HOST1:PORT1,HOST2:PORT2) for "
                + "crmd to find the one that accepts writes"
        }
        let wanted = location.targetSession == .readWrite ? "accepts writes" : "answers"
        return "none of the database servers named \(wanted) (\(refusals.joined(separator: "; "))); a failover may be under way"
    }

    /// Whether the server is one the location's target session asks for.
    private func suitsTarget(_ connection: PostgresConnection) async throws -> Bool {
        guard location.targetSession == .readWrite else { return true }
        for try await readOnly in try await connection.query("SHOW transaction_read_only", logger: logger).decode(String.self) {
            return readOnly == "off"
        }
        return false
    }

    /// A pool of connections to `server`, running.
    private func startPool(_ server: PostgresLocation.Server) throws -> Chosen {
        var configuration = PostgresClient.Configuration(
            host: server.host, port: server.port, username: location.user, password: location.password,
            database: location.database, tls: tls.map { .require($0) } ?? .disable)
        configuration.options.connectTimeout = .seconds(10)
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        let running = Task { await client.run() }
        return Chosen(server: server, client: client, running: running)
    }

    /// One connection's configuration for `server`.
    func connectionConfiguration(_ server: PostgresLocation.Server, timeout: Duration) throws -> PostgresConnection.Configuration {
        var configuration = PostgresConnection.Configuration(
            host: server.host, port: server.port, username: location.user, password: location.password,
            database: location.database, tls: try tls.map { .require(try NIOSSLContext(configuration: $0)) } ?? .disable)
        configuration.options.connectTimeout = .seconds(timeout.components.seconds)
        return configuration
    }

    // MARK: The writer's connection

    /// Connects to the first server that suits, blocking (the group commit's writer runs on a queue of its own).
    ///
    /// The writer looks for itself rather than following the pool's choice: after a failover the two find the same
    /// new primary, there being one server that accepts writes.
    func connectWriter(timeout: Duration) throws -> PostgresConnection {
        var refusals: [String] = []
        for server in location.servers {
            do {
                let connection = try PostgresConnection.connect(
                    on: MultiThreadedEventLoopGroup.singleton.next(),
                    configuration: try connectionConfiguration(server, timeout: location.servers.count > 1 ? Self.connectTimeout : timeout),
                    id: 1, logger: logger
                ).wait()
                if location.targetSession == .any {
                    writerUses(server)
                    return connection
                }
                let rows = try connection.query("SHOW transaction_read_only", logger: logger).wait()
                if try rows.first?.decode(String.self) == "off" {
                    writerUses(server)
                    return connection
                }
                _ = try? connection.close().wait()
                refusals.append("\(server) accepts no writes (a standby, or read-only)")
            } catch {
                if location.servers.count == 1 { throw error }
                refusals.append("\(server): \(PostgresStore.explain(error))")
            }
        }
        throw StoreError.unavailable(reason: Self.noneSuits(location, refusals: refusals))
    }

    /// The writer found `server`: when the pool uses another (the old primary, before a failover), it is closed, so
    /// that reads follow at once rather than after their own wait for a server that is gone.
    private func writerUses(_ server: PostgresLocation.Server) {
        let dropped: Chosen? = state.withLock { state in
            guard case .chosen(let chosen) = state, chosen.server != server else { return nil }
            state = .idle
            return chosen
        }
        guard let dropped else { return }
        logger.warning(
            "the writer found another database server accepting writes; reads move to it", metadata: ["from": "\(dropped.server)", "to": "\(server)"])
        dropped.running.cancel()
    }
}
