import CRMDomain
public import CRMStore
import Foundation
public import Logging
import NIOSSL
import PostgresNIO

/// The store on a PostgreSQL server that several `crmd` nodes share: the same facts, derived tables and read model as
/// ``SQLiteStore``, kept by the same logic (``StoreTables``; the SQL is ``PostgresTables``').
///
/// Appends go through a group commit (``GroupCommitter``) on one connection of this node's, and every node's
/// transactions take one append lock, so appends are applied one after the other across nodes (see
/// ``PostgresBatchTransaction``). Reads lease connections from `vapor/postgres-nio`'s pool (`PostgresClient`). Audit
/// entries, tokens and sent notices are single statements through the pool, so a revocation or a notice recorded by
/// one node is what every node reads next. Opening applies the numbered migrations, one node at a time, and refuses
/// a database of a newer schema.
///
/// Every value goes to the server as a bound parameter of a prepared statement (postgres-nio's `PostgresQuery`
/// interpolation), never into the SQL text. A lost connection answers ``StoreError/unavailable(reason:)``, and the
/// next call connects again.
public final class PostgresStore: Sendable {
    /// The server in use and its pool of connections.
    let client: ServerSelection
    let logger: Logger
    let limits: StoreLimits
    let committer: GroupCommitter
    private let writer: WriterConnection
    /// Where it is, without the password.
    public let location: PostgresLocation

    private init(
        servers: ServerSelection, writer: WriterConnection, location: PostgresLocation, limits: StoreLimits, logger: Logger
    ) {
        self.client = servers
        self.writer = writer
        self.location = location
        self.limits = limits
        self.logger = logger
        committer = GroupCommitter(
            budget: limits.maximumFactsPerTransaction,
            transaction: PostgresBatchTransaction(
                writer: writer, handles: WriterHandleCache(),
                requireStandby: location.servers.count > 1 && location.onStandbyLoss == .refuseWrites))
    }

    /// What the group commit has done since the store was opened.
    public var writerStatistics: WriterStatistics { committer.statistics }

    /// True: every crmd node on the database writes to it.
    public var sharedWithOtherNodes: Bool { true }

    /// The database's URL, without the password.
    public var whereabouts: String { location.description }

    /// Connects and brings the schema up to date.
    ///
    /// - Throws: ``StoreError/databaseOpenFailed(url:reason:)`` saying what failed: the server cannot be reached, refuses the
    ///   user or the password, the database does not exist, or it holds a schema newer than this version knows.
    ///
    /// A database holding an unfinished copy from a SQLite store (``StoreCopy``) is refused, unless
    /// `allowingUnfinishedCopy` (the copy itself opens it so).
    public static func open(
        _ location: PostgresLocation, limits: StoreLimits = .standard, logger: Logger = Logger(label: "crm.store.postgres"),
        allowingUnfinishedCopy: Bool = false
    ) async throws -> PostgresStore {
        let tls = tlsConfiguration(for: location)
        let servers = ServerSelection(location: location, tls: tls, logger: logger)
        // The server chosen now, on a connection of its own: the pool retries a connection it cannot make without
        // end, and whoever starts crmd wants the reason now (unreachable, wrong user or password, no such database,
        // only standbys). With one server, choosing throws that server's own error.
        do {
            _ = try await servers.client()
        } catch {
            await servers.close()
            throw StoreError.databaseOpenFailed(url: location.description, reason: PostgresStore.explainOpen(error, location))
        }
        // The writer connects again after a loss on demand; an attempt gives up within the same bound as a wait for
        // a connection of the pool (ConnectionLease), so every call answers within about that long.
        let store = PostgresStore(
            servers: servers, writer: WriterConnection(servers: servers, timeout: ConnectionLease.timeout, logger: logger),
            location: location, limits: limits, logger: logger)
        let refusal: String?
        do {
            try await store.migrate()
            refusal = try await store.refusal(allowingUnfinishedCopy: allowingUnfinishedCopy)
        } catch {
            await store.close()
            throw StoreError.databaseOpenFailed(url: location.description, reason: PostgresStore.explainOpen(error, location))
        }
        if let refusal {
            await store.close()
            throw StoreError.databaseOpenFailed(url: location.description, reason: refusal)
        }
        return store
    }

    /// Waits for accepted appends to commit, refuses new ones and closes the connections; calls after this fail.
    public func close() async {
        await committer.close()
        await writer.close()
        await client.close()
    }

    /// The TLS `sslmode` asks for; nil for none.
    private static func tlsConfiguration(for location: PostgresLocation) -> TLSConfiguration? {
        switch location.sslMode {
        case .disable:
            return nil
        case .require:
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.certificateVerification = .none
            return tls
        case .verifyFull(let caFile):
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .file(caFile)
            tls.certificateVerification = .fullVerification
            return tls
        }
    }

    /// Why the store could not be opened, and what to do about it.
    static func explainOpen(_ error: any Error, _ location: PostgresLocation) -> String {
        if let schema = error as? PostgresSchemaError { return schema.description }
        let what = explain(error)
        if error is NIOSSLError || (error as? PSQLError)?.underlying is NIOSSLError {
            return "\(what); the server's TLS certificate was not accepted: with sslmode=verify-full, sslrootcert must be the CA "
                + "that signed it and the URL's host a name or address the certificate holds"
        }
        guard let error = error as? PSQLError else { return what }
        switch error.serverInfo?[.sqlState] {
        case "28000", "28P01":
            return "\(what); check the user in the URL and the password (PGPASSWORD, or the password file PGPASSFILE or ~/.pgpass)"
        case "3D000":
            return "\(what); create it (createdb -O \(location.user) \(location.database)) or fix the database in the URL"
        case .some:
            return what
        case nil:
            break
        }
        switch error.code {
        case .connectionError:
            return "\(what); check that PostgreSQL runs at \(location.host):\(location.port) and accepts TCP connections there "
                + "(its listen_addresses, port and pg_hba.conf), or fix the host and port in the URL"
        case .sslUnsupported, .failedToAddSSLHandler:
            return "\(what); the server does not speak TLS as sslmode asks: enable ssl on the server or use sslmode=disable"
        case .authMechanismRequiresPassword, .saslError, .unsupportedAuthMechanism:
            return "\(what); give the password in PGPASSWORD or the password file (PGPASSFILE, default ~/.pgpass)"
        default:
            return what
        }
    }

    /// What went wrong, in words a person can act on (postgres-nio's errors hide the server's message by default).
    static func explain(_ error: any Error) -> String {
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] {
                let code = error.serverInfo?[.sqlState].map { " (SQLSTATE \($0))" } ?? ""
                return "the server says: \(message)\(code)"
            }
            if let underlying = error.underlying { return "\(error.code): \(underlying)" }
            return "\(error.code)"
        }
        return "\(error)"
    }

    /// Why a node must not serve this database, what to do about it; nil when it may.
    ///
    /// A database holding an unfinished copy from a SQLite store is refused, unless `allowingUnfinishedCopy`. With
    /// standby-lost=refuse-writes, a user who cannot read the standbys' positions is refused.
    private func refusal(allowingUnfinishedCopy: Bool) async throws -> String? {
        if location.servers.count > 1 && location.onStandbyLoss == .refuseWrites, try await !replicationVisible() {
            return "with standby-lost=refuse-writes crmd checks that each commit reached a standby in pg_stat_replication, "
                + "which the user \(location.user) may not read: GRANT pg_read_all_stats TO \(location.user), or set "
                + "standby-lost=accept-writes"
        }
        if !allowingUnfinishedCopy, let copy = try await unfinishedCopy() {
            return "a copy of the SQLite store \(copy.source) into it has not finished; run `crmd store copy --from "
                + "'sqlite:\(copy.source)' --to '\(location)'` again to finish it (it resumes sending rows where it stopped), "
                + "or drop the database"
        }
        return nil
    }

    /// With standby-lost=refuse-writes the writer reads the standbys' positions in `pg_stat_replication`, which only a
    /// superuser or a member of `pg_read_all_stats` sees: whether this user does.
    private func replicationVisible() async throws -> Bool {
        let rows = try await rows("""
            SELECT rolsuper OR pg_has_role(current_user, 'pg_read_all_stats', 'MEMBER') FROM pg_roles WHERE rolname = current_user
            """)
        for try await visible in rows.decode(Bool.self) { return visible }
        return false
    }

    // MARK: Schema

    /// Applies the migrations the database lacks, in order, one node at a time (a transaction-scoped advisory lock).
    private func migrate() async throws {
        try await withTransaction { connection, logger in
            try await connection.query("SELECT pg_advisory_xact_lock(\(PostgresMigrations.lockKey))", logger: logger)
            try await connection.query(
                """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())
                """, logger: logger)
            var applied = 0
            for try await version in try await connection.query(
                "SELECT coalesce(max(version), 0) FROM schema_migrations", logger: logger
            ).decode(Int.self) {
                applied = version
            }
            let known = PostgresMigrations.all.count
            guard applied <= known else {
                throw PostgresSchemaError.newer(version: applied, known: known)
            }
            for (index, migration) in PostgresMigrations.all.enumerated() where index + 1 > applied {
                for statement in migration.statements {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query(
                    "INSERT INTO schema_migrations (version, name) VALUES (\(index + 1), \(migration.name))", logger: logger)
                logger.notice("migrated the store", metadata: ["version": "\(index + 1)", "name": "\(migration.name)"])
            }
        }
    }

    /// The schema version the database is at.
    public func schemaVersion() async throws -> Int {
        var version = 0
        for try await value in try await rows("SELECT coalesce(max(version), 0) FROM schema_migrations").decode(Int.self) {
            version = value
        }
        return version
    }

    // MARK: Statements

    /// Runs one statement and returns its rows.
    func rows(_ query: PostgresQuery) async throws -> PostgresRowSequence {
        do {
            return try await ConnectionLease.query(client, query, logger: logger)
        } catch {
            throw PostgresFailure.storeError(error, writing: false)
        }
    }

    /// Runs one statement whose rows do not matter.
    func write(_ query: PostgresQuery) async throws {
        do {
            _ = try await ConnectionLease.query(client, query, logger: logger)
        } catch {
            throw PostgresFailure.storeError(error, writing: true)
        }
    }

    /// Runs `body` in one transaction on one connection; it is rolled back when `body` throws.
    func withTransaction<Result: Sendable>(
        _ body: (PostgresConnection, Logger) async throws -> Result
    ) async throws -> Result {
        let logger = self.logger
        return try await ConnectionLease.following(client) { pool in
            try await pool.withTransaction(logger: logger) { connection in try await body(connection, logger) }
        }
    }

}

/// A database this version cannot use.
enum PostgresSchemaError: Error, CustomStringConvertible {
    case newer(version: Int, known: Int)

    var description: String {
        switch self {
        case .newer(let version, let known):
            "the database is at schema version \(version), newer than this crmd knows (\(known)): a newer crmd migrated "
                + "it; run that version (or newer) instead"
        }
    }
}
