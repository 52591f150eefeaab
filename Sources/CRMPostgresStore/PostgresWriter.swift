import CRMStore
import Foundation
import _ConnectionPoolModule
import Logging
import NIOCore
import NIOPosix
import PostgresNIO
import Synchronization

/// The one connection a node's group commit writes through, opened on first use and opened again after it was lost
/// (the server restarted, the network failed): the next batch after a loss reconnects by itself.
final class WriterConnection: Sendable {
    private let servers: ServerSelection
    private let timeout: Duration
    private let logger: Logger
    private let current = Mutex<PostgresConnection?>(nil)

    /// `timeout` bounds a connection attempt to a single server.
    init(servers: ServerSelection, timeout: Duration, logger: Logger) {
        self.servers = servers
        self.timeout = timeout
        self.logger = logger
    }

    /// A connection still open when the store is let go without ``close()`` (a failing caller) is closed, and kept
    /// until it is (postgres-nio asserts that a connection is closed before it is freed).
    deinit {
        if let open = current.withLock({ $0 }), !open.isClosed {
            open.close().whenComplete { _ in _ = open }
        }
    }

    /// How long one of the writer's statements may take before its batch answers UNAVAILABLE (and the connection is
    /// closed): with several servers 10 s (the statements take milliseconds; one still unanswered has most likely lost
    /// its server, and the node should look for the new primary soon), with one server, which there is no other to
    /// look for, 30 s (a machine busy enough to take longer should still finish its work).
    ///
    /// A batch holds the append lock for one batch of another node at most; a commit waiting for a synchronous standby
    /// that is gone waits until the bound too. A commit that lands after it is known by its facts' ids on retry.
    var statementDeadline: TimeAmount { servers.several ? .seconds(10) : .seconds(30) }

    /// The open connection, connecting first when there is none or it was lost (to the first of the URL's servers
    /// that accepts writes). Blocks: call it on the writer's queue.
    func connection() throws -> BlockingConnection {
        if let open = current.withLock({ $0 }), !open.isClosed {
            return BlockingConnection(connection: open, logger: logger, deadline: statementDeadline)
        }
        let made = try servers.connectWriter(timeout: timeout)
        do {
            // A wait for a lock (another node's batch holding the append lock, or a commit of it stuck waiting for a
            // standby) ends on the server too, not only in this node's wait for the answer.
            try BlockingConnection(connection: made, logger: logger, deadline: statementDeadline)
                .query(PostgresQuery(unsafeSQL: "SET lock_timeout = '\(statementDeadline.nanoseconds / 1_000_000)ms'"))
        } catch {
            _ = try? made.close().wait()
            throw error
        }
        current.withLock { $0 = made }
        return BlockingConnection(connection: made, logger: logger, deadline: statementDeadline)
    }

    /// Drops the connection after a failure that may have left it unusable; the next batch opens another.
    func discard() {
        let lost = current.withLock { connection -> PostgresConnection? in
            defer { connection = nil }
            return connection
        }
        _ = try? lost?.close().wait()
    }

    /// Closes the connection for good.
    func close() async {
        let open = current.withLock { connection -> PostgresConnection? in
            defer { connection = nil }
            return connection
        }
        try? await open?.close()
    }
}

/// A group commit's batch on PostgreSQL: one transaction that first takes the store's append lock.
///
/// The append lock (a transaction-scoped advisory lock, ``appendLock``) makes the appends of every node one after the
/// other. That is what keeps the derived tables and the read model right when nodes append facts about the same
/// customers at once: an identity recomputation reads the links around a handle and rewrites the customers of the
/// whole area, and no other append may change that area between its reads and its writes (two links merging three
/// customers through two nodes, a link racing an unlink). It also makes positions (`facts.seq`) follow commit order —
/// a batch takes its positions while holding the lock and releases it only after its commit is visible — so a watch
/// that has read up to a position never misses a fact committed later with a smaller one. Each node still sends a
/// whole batch per transaction, so the lock is taken once per group commit, not once per fact.
///
/// The batch's appends share one ``BatchBuffer``: the facts' keys, the read model's rows and the audit entries are
/// sent once for the whole batch, just before the commit. Applied `isolated`, they are sent before each append's
/// savepoint is released, so that a failure is that append's alone.
///
/// With `requireStandby` (a primary and its standbys named, `standby-lost=refuse-writes`), a committed batch is
/// acknowledged only once a standby has flushed the WAL up to its commit (``confirmReplicated(_:)``). PostgreSQL's
/// synchronous replication makes each commit wait for the standby, but a failover manager that finds the standby lost
/// clears `synchronous_standby_names` (pg_auto_failover's `wait_primary`), and commits then return with the primary's
/// copy only: such a batch answers UNAVAILABLE instead, and its retries are acknowledged (DUPLICATE) once a standby has
/// caught up.
struct PostgresBatchTransaction: BatchTransaction {
    let writer: WriterConnection
    let handles: WriterHandleCache
    let requireStandby: Bool

    /// The append lock's key.
    static let appendLock: Int64 = 0x63_72_6d_5f_61_70_70  // "crm_app"

    func apply(_ batch: [WriteOperation], isolated: Bool) throws -> [Result<WriteResult, any Error>] {
        let db = try writer.connection()
        do {
            try db.query("BEGIN")
            try db.query("SELECT pg_advisory_xact_lock(\(Self.appendLock))")
            var results: [Result<WriteResult, any Error>] = []
            results.reserveCapacity(batch.count)
            var buffer = BatchBuffer()
            for operation in batch {
                if isolated { try db.query("SAVEPOINT write") }
                do {
                    let result = try apply(operation, on: PostgresTables(db: db, buffer: buffer))
                    if isolated {
                        try buffer.send(on: db)
                        try db.query("RELEASE SAVEPOINT write")
                    }
                    results.append(.success(result))
                } catch {
                    if PostgresFailure.meansServerLost(error) { throw error }
                    guard isolated else { throw OptimisticFailure() }
                    try db.query("ROLLBACK TO SAVEPOINT write")
                    // What the buffer remembers may be what the rollback undid.
                    buffer = BatchBuffer()
                    results.append(.failure(storeError(error)))
                }
            }
            if !isolated {
                do {
                    try buffer.send(on: db)
                } catch {
                    // Which append's rows failed is not known: apply the batch again, one savepoint per append.
                    if PostgresFailure.meansServerLost(error) { throw error }
                    throw OptimisticFailure()
                }
            }
            try db.query("COMMIT")
            if requireStandby { try Self.confirmReplicated(db) }
            return results
        } catch {
            if PostgresFailure.meansServerLost(error) {
                writer.discard()
            } else if (try? db.query("ROLLBACK")) == nil {
                writer.discard()
            }
            throw error
        }
    }

    /// How long a commit may take to reach a standby before its batch answers UNAVAILABLE.
    static let replicationWait: Duration = .seconds(2)

    /// Returns once a standby has flushed the WAL as far as the primary has now (past the commit just made, which was
    /// flushed before `COMMIT` returned); throws ``StoreError/unavailable(reason:)`` when none has within
    /// ``replicationWait``. The primary's flush position may include what other sessions wrote since: a standby that
    /// keeps up answers at once, one that lags is waited for. (The insert position would not do: it may lie past a page
    /// header no standby receives until more WAL is written.)
    static func confirmReplicated(_ db: BlockingConnection) throws {
        let first = try db.query("""
            SELECT pg_current_wal_flush_lsn()::text, EXISTS (\(unescaped: standbyHolding("pg_current_wal_flush_lsn()")))
            """).rows.first
        guard let (end, replicated) = try first?.decode((String, Bool).self) else {
            throw StoreError.unavailable(reason: "the primary did not say how far its WAL is flushed; retry")
        }
        if replicated { return }
        let deadline = ContinuousClock.now + replicationWait
        var pause = 0.001
        while ContinuousClock.now < deadline {
            Thread.sleep(forTimeInterval: pause)
            pause = min(pause * 2, 0.02)
            var position = PostgresBindings()
            position.append(end)
            let rows = try db.query(PostgresQuery(unsafeSQL: "SELECT EXISTS (\(standbyHolding("$1::pg_lsn")))", binds: position)).rows
            if try rows.first?.decode(Bool.self) == true { return }
        }
        throw StoreError.unavailable(
            reason: "the write is committed on the primary, but no standby has it (the standby is lost, and standby-lost is "
                + "refuse-writes); retry: it is acknowledged once a standby has caught up, or set standby-lost=accept-writes to "
                + "accept writes the primary alone holds")
    }

    /// The standbys (physical, streaming: not a logical decoding client, which holds no copy of the database) that have
    /// flushed the WAL as far as `position`, an SQL expression.
    private static func standbyHolding(_ position: String) -> String {
        """
        SELECT 1 FROM pg_stat_replication r
        WHERE r.state = 'streaming' AND r.flush_lsn >= \(position)
          AND NOT EXISTS (SELECT 1 FROM pg_replication_slots s WHERE s.active_pid = r.pid AND s.slot_type = 'logical')
        """
    }

    private func apply(_ operation: WriteOperation, on tables: PostgresTables) throws -> WriteResult {
        guard case let .facts(facts, requestStarts, conflicts, audit) = operation else {
            // Audit entries, tokens and notices are single statements of their own (PostgresStore+Records.swift).
            throw StoreError.writeFailed(reason: "the PostgreSQL writer only appends facts")
        }
        return .facts(try FactWriter(tables: tables, handles: handles.cache).append(
            facts, requestStarts: requestStarts, conflicts: conflicts, audit: audit))
    }

    func storeError(_ error: any Error) -> StoreError {
        PostgresFailure.storeError(error, writing: true)
    }
}

/// How PostgreSQL's and the connection's errors become the store's.
enum PostgresFailure {
    /// Whether the error means the server or the connection is gone (retry later) rather than a statement failed.
    static func isConnectionLost(_ error: any Error) -> Bool {
        if error is StatementTimedOut { return true }
        // The pool shut down (given up after a failover while a call held it), or failing to connect for a while.
        if let error = error as? ConnectionPoolError, error != .requestCancelled { return true }
        if let error = error as? PSQLError {
            switch error.code {
            case .serverClosedConnection, .clientClosedConnection, .connectionError, .uncleanShutdown, .poolClosed:
                return true
            case .server:
                // Class 08: connection exception; class 57: operator intervention (shutdown, crash, recovery), but for
                // 57014, a statement cancelled (statement_timeout, pg_cancel_backend) on a connection still good.
                let state = error.serverInfo?[.sqlState] ?? ""
                return state.hasPrefix("08") || (state.hasPrefix("57") && state != "57014")
            default:
                return false
            }
        }
        return error is ChannelError || error is IOError || error is NIOConnectionError
    }

    /// Whether the failure means the server in use is gone or no longer accepts writes, so that another of the URL's
    /// servers should be looked for: the connection lost, or a read-only server (SQLSTATE 25006: it was demoted to a
    /// standby).
    static func meansServerLost(_ error: any Error) -> Bool {
        isConnectionLost(error) || isReadOnly(error)
    }

    /// Whether the server refused a write because it is read-only (a standby, or a primary demoted to one).
    static func isReadOnly(_ error: any Error) -> Bool {
        (error as? PSQLError)?.serverInfo?[.sqlState] == "25006"
    }

    /// The store's error for a failure of a read or a write.
    static func storeError(_ error: any Error, writing: Bool) -> StoreError {
        if let error = error as? StoreError { return error }
        let reason = PostgresStore.explain(error)
        if isConnectionLost(error) { return .unavailable(reason: reason) }
        if isReadOnly(error) {
            return .unavailable(reason: "\(reason); the server no longer accepts writes (a failover is under way); try again")
        }
        // Too many connections already (53300), the server starting up or shutting down (57P03), a lock not had within
        // lock_timeout (55P03: the append lock held by a batch that does not end): try again later.
        if let error = error as? PSQLError, let state = error.serverInfo?[.sqlState], ["53300", "57P03", "55P03"].contains(state) {
            return .unavailable(reason: reason)
        }
        if let error = error as? PSQLError, let state = error.serverInfo?[.sqlState], state == "53100" {
            return .diskFull(reason: reason)
        }
        return writing ? .writeFailed(reason: reason) : .readFailed(reason: reason)
    }
}
