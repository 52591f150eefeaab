import CRMStore
import Logging
import PostgresNIO
import Synchronization

/// How long a call waits for a connection of the pool before it gives up with ``StoreError/unavailable(reason:)``.
///
/// postgres-nio's pool keeps a lease waiting while it retries connecting to a server that is down, with no end of its
/// own; a caller would wait for minutes. The wait for the connection is bounded here, not the statements once they run
/// (a long report is not cut short).
enum ConnectionLease {
    /// The longest wait for a connection.
    static let timeout: Duration = .seconds(5)

    /// Runs `body` on a connection of the pool of the server in use, failing with ``StoreError/unavailable(reason:)``
    /// when none is leased within ``timeout``.
    static func withConnection<T: Sendable>(
        _ servers: ServerSelection, _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        let leased = Flag()
        return try await following(servers) { client in
            try await bounded(unless: leased) {
                try await client.withConnection { connection in
                    leased.set()
                    return try await body(connection)
                }
            }
        }
    }

    /// Runs one statement through the pool, failing with ``StoreError/unavailable(reason:)`` when it has not begun to
    /// answer within ``timeout`` (the statements sent this way touch a few rows: a token, a notice, a page of the
    /// audit trail).
    static func query(_ servers: ServerSelection, _ query: PostgresQuery, logger: Logger) async throws -> PostgresRowSequence {
        try await following(servers) { client in
            try await bounded(unless: nil) { try await client.query(query, logger: logger) }
        }
    }

    /// Runs a prepared statement through the pool (prepared once per connection) and returns its rows, bounded as
    /// ``query(_:_:logger:)``.
    static func execute<Statement: PostgresPreparedStatement>(
        _ servers: ServerSelection, _ statement: Statement, logger: Logger
    ) async throws -> [Statement.Row] where Statement.Row: Sendable {
        try await following(servers) { client in
            try await bounded(unless: nil) {
                var rows: [Statement.Row] = []
                for try await row in try await client.execute(statement, logger: logger) { rows.append(row) }
                return rows
            }
        }
    }

    /// Runs `operation` with the pool of the server in use (not bounded: for what may run long, as a migration); when
    /// it fails because that server is gone or no longer accepts writes, the selection forgets it, so that the next call
    /// looks again (a failover promoted another server). A wait for a connection that ran out is not such a failure
    /// (every connection may be busy): the selection's watcher tells whether the server is gone.
    static func following<T: Sendable>(
        _ servers: ServerSelection, _ operation: (PostgresClient) async throws -> T
    ) async throws -> T {
        let client = try await servers.client()
        do {
            return try await operation(client)
        } catch is CancellationError where !Task.isCancelled {
            // The pool refused a caller nobody cancelled: it is not serving; give it up and let the call be retried.
            servers.lost(client, because: "the pool answered a call with CancellationError")
            throw StoreError.unavailable(reason: "the database connection pool stopped serving; retry")
        } catch {
            if PostgresFailure.meansServerLost(error) { servers.lost(client, because: PostgresStore.explain(error)) }
            throw error
        }
    }

    /// Set once, read from any thread.
    final class Flag: Sendable {
        private let value = Atomic<Bool>(false)
        func set() { value.store(true, ordering: .releasing) }
        var isSet: Bool { value.load(ordering: .acquiring) }
    }

    /// Runs `operation`, failing when it has not finished within ``timeout`` and `started` (if any) is not set by then.
    private static func bounded<T: Sendable>(
        unless started: Flag?, _ operation: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await operation() }
            group.addTask {
                try await Task.sleep(for: timeout)
                if started?.isSet == true { return nil }
                throw StoreError.unavailable(
                    reason: "no connection to the database within \(timeout) (the server is down or every connection is busy)")
            }
            while let result = try await group.next() {
                if let value = result {
                    group.cancelAll()
                    return value
                }
            }
            throw CancellationError()
        }
    }
}
