public import CRMDomain
public import CRMStore
import Foundation
public import Logging
import NIOSSL
import PostgresNIO

/// The store on a PostgreSQL server that several `crmd` nodes share (`vapor/postgres-nio`'s `PostgresClient` pools
/// the connections).
///
/// This is the store's first part: opening (numbered migrations, one node at a time, refusing a database of a newer
/// schema), and the fact log with the append's idempotency by fact id, across nodes too. It does not yet keep the
/// derived tables or the read model, so it is not a ``Store`` yet and `crmd` does not use it; it grows into one.
///
/// Every value goes to the server as a bound parameter of a prepared statement (postgres-nio's `PostgresQuery`
/// interpolation), never into the SQL text.
public final class PostgresStore: Sendable {
    private let client: PostgresClient
    private let running: Task<Void, Never>
    private let logger: Logger
    private let limits: StoreLimits
    /// Where it is, without the password.
    public let location: PostgresLocation

    private init(client: PostgresClient, running: Task<Void, Never>, location: PostgresLocation, limits: StoreLimits, logger: Logger) {
        self.client = client
        self.running = running
        self.location = location
        self.limits = limits
        self.logger = logger
    }

    /// Connects and brings the schema up to date.
    ///
    /// - Throws: ``StoreError/openFailed(path:reason:)`` saying what failed: the server cannot be reached, refuses the
    ///   user or the password, the database does not exist, or it holds a schema newer than this version knows.
    public static func open(
        _ location: PostgresLocation, limits: StoreLimits = .standard, logger: Logger = Logger(label: "crm.store.postgres")
    ) async throws -> PostgresStore {
        let tls = tlsConfiguration(for: location)
        // One connection first: the pool retries a connection it cannot make without end, and whoever starts crmd
        // wants the reason now (unreachable, wrong user or password, no such database).
        do {
            var probe = PostgresConnection.Configuration(
                host: location.host, port: location.port, username: location.user, password: location.password,
                database: location.database, tls: try tls.map { .require(try NIOSSLContext(configuration: $0)) } ?? .disable)
            probe.options.connectTimeout = .seconds(10)
            let connection = try await PostgresConnection.connect(configuration: probe, id: 0, logger: logger)
            try await connection.close()
        } catch {
            throw StoreError.openFailed(path: location.description, reason: PostgresStore.explain(error))
        }
        var configuration = PostgresClient.Configuration(
            host: location.host, port: location.port, username: location.user, password: location.password,
            database: location.database, tls: tls.map { .require($0) } ?? .disable)
        configuration.options.connectTimeout = .seconds(10)
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        let running = Task { await client.run() }
        let store = PostgresStore(client: client, running: running, location: location, limits: limits, logger: logger)
        do {
            try await store.migrate()
        } catch {
            await store.close()
            throw StoreError.openFailed(path: location.description, reason: PostgresStore.explain(error))
        }
        return store
    }

    /// Closes the connections; calls after this fail.
    public func close() async {
        running.cancel()
        await running.value
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
        for try await value in try await read("SELECT coalesce(max(version), 0) FROM schema_migrations").decode(Int.self) {
            version = value
        }
        return version
    }

    // MARK: Statements

    /// Runs one statement and returns its rows.
    func read(_ query: PostgresQuery) async throws -> PostgresRowSequence {
        try await client.query(query, logger: logger)
    }

    /// Runs one statement whose rows do not matter.
    func write(_ query: PostgresQuery) async throws {
        try await client.query(query, logger: logger)
    }

    /// Runs `body` in one transaction on one connection; it is rolled back when `body` throws.
    func withTransaction<Result: Sendable>(
        _ body: (PostgresConnection, Logger) async throws -> Result
    ) async throws -> Result {
        let logger = self.logger
        return try await client.withTransaction(logger: logger) { connection in try await body(connection, logger) }
    }

    // MARK: Facts

    /// Appends the facts of `requests` in one transaction and says, per fact, what happened to it, with the same rules
    /// as ``Store/append(_:conflicts:audit:)``: a fact whose id is stored is a duplicate or a conflict settled by
    /// `conflicts`, and with ``ConflictPolicy/keepStored`` a request whose first fact is stored stores none of its
    /// others. Nodes appending the same id at once store it once: the second insert waits for the first to commit and
    /// then finds it.
    ///
    /// - Throws: ``StoreError/invalidFact(index:id:reason:)`` for a fact that cannot be stored (nothing is), or
    ///   ``StoreError/tooManyFacts(count:maximum:)``.
    public func appendFacts(_ requests: [[Fact]], conflicts: ConflictPolicy) async throws -> [IngestOutcome] {
        let facts = requests.flatMap { $0 }
        guard facts.count <= limits.maximumFactsPerAppend else {
            throw StoreError.tooManyFacts(count: facts.count, maximum: limits.maximumFactsPerAppend)
        }
        var prepared: [PreparedFact] = []
        prepared.reserveCapacity(facts.count)
        for (index, fact) in facts.enumerated() { prepared.append(try PreparedFact(fact, index: index, limits: limits)) }
        var starts = Set<Int>()
        var next = 0
        for request in requests {
            if !request.isEmpty { starts.insert(next) }
            next += request.count
        }
        let requestStarts = starts
        // Every append first locks its facts' ids, in one order for all (transaction-scoped advisory locks): two nodes
        // appending overlapping facts then wait for each other instead of deadlocking on the unique index.
        let locks = Array(Set(prepared.map { Self.lockKey($0.fact.id) })).sorted()
        return try await withTransaction { connection, logger in
            try await connection.query("SELECT pg_advisory_xact_lock(k) FROM unnest(\(locks)::bigint[]) AS k", logger: logger)
            var outcomes: [IngestOutcome] = []
            var retried = false
            let handles = HandleCache()
            for (index, p) in prepared.enumerated() {
                if requestStarts.contains(index) {
                    retried = false
                } else if retried {
                    outcomes.append(.duplicate)
                    continue
                }
                let outcome = try await Self.append(p, conflicts: conflicts, on: connection, handles: handles, logger: logger)
                outcomes.append(outcome)
                if outcome != .inserted, conflicts == .keepStored, requestStarts.contains(index) { retried = true }
            }
            return outcomes
        }
    }

    /// The advisory lock of a fact id: FNV-1a 64 of its bytes (two ids sharing one only wait for each other).
    static func lockKey(_ id: FactID) -> Int64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in id.rawValue.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return Int64(bitPattern: hash)
    }

    private static func append(
        _ p: PreparedFact, conflicts: ConflictPolicy, on connection: PostgresConnection, handles: HandleCache, logger: Logger
    ) async throws -> IngestOutcome {
        let id = p.fact.id.rawValue
        let kind = Int16(p.kind.rawValue)
        let source = Int16(p.sourceCode)
        var inserted: Int64?
        for try await seq in try await connection.query(
            """
            INSERT INTO facts (fact_id, kind, observed_at, source, payload)
            VALUES (\(id), \(kind), \(p.fact.observedAt), \(source), \(p.payload))
            ON CONFLICT (fact_id) DO NOTHING RETURNING seq
            """, logger: logger
        ).decode(Int64.self) {
            inserted = seq
        }
        if let seq = inserted {
            try await insertKeys(p.keys, kind: kind, fact: p.fact, seq: seq, on: connection, logger: logger)
            return .inserted
        }
        // Stored already (perhaps by another node a moment ago: the insert waited for its commit). Locked, so that a
        // replacement and another node's do not interleave.
        var row: StoredFactRow?
        for try await (seq, observedAt, storedSource, payload) in try await connection.query(
            "SELECT seq, observed_at, source, payload FROM facts WHERE fact_id = \(id) FOR UPDATE", logger: logger
        ).decode((Int64, Int64, Int16, Data).self) {
            row = StoredFactRow(seq: seq, id: id, observedAt: observedAt, sourceCode: UInt8(truncatingIfNeeded: storedSource), payload: payload)
        }
        guard let stored = row else { throw StoreError.writeFailed(reason: "fact \(id) was neither inserted nor found") }
        do {
            switch try StoredFactResolution(p, stored: stored, conflicts: conflicts, handles: handles) {
            case .duplicate: return .duplicate
            case .keepStored: return .conflict(replaced: false)
            case .replace: break
            }
        } catch {
            throw StoreError.corruptFact(id: id, reason: error.description)
        }
        try await connection.query(
            """
            UPDATE facts SET kind = \(kind), observed_at = \(p.fact.observedAt), source = \(source), payload = \(p.payload)
            WHERE seq = \(stored.seq)
            """, logger: logger)
        try await connection.query("DELETE FROM fact_keys WHERE fact_seq = \(stored.seq)", logger: logger)
        try await insertKeys(p.keys, kind: kind, fact: p.fact, seq: stored.seq, on: connection, logger: logger)
        return .conflict(replaced: true)
    }

    private static func insertKeys(
        _ keys: [String], kind: Int16, fact: Fact, seq: Int64, on connection: PostgresConnection, logger: Logger
    ) async throws {
        for key in keys {
            try await connection.query(
                """
                INSERT INTO fact_keys (key, kind, observed_at, fact_id, fact_seq)
                VALUES (\(key), \(kind), \(fact.observedAt), \(fact.id.rawValue), \(seq)) ON CONFLICT DO NOTHING
                """, logger: logger)
        }
    }

    /// Whether a fact with id `id` is stored.
    public func containsFact(_ id: FactID) async throws -> Bool {
        var found = false
        for try await _ in try await read("SELECT 1 FROM facts WHERE fact_id = \(id.rawValue)") {
            found = true
        }
        return found
    }

    /// The position of the newest fact in arrival order; 0 for an empty store.
    public func lastFactPosition() async throws -> Int64 {
        var position: Int64 = 0
        for try await value in try await read("SELECT coalesce(max(seq), 0) FROM facts").decode(Int64.self) {
            position = value
        }
        return position
    }

    /// The facts filed under `handle` (every fact that mentions it), in time order then id.
    public func facts(mentioning handle: Handle) async throws -> [Fact] {
        try await facts(filedUnder: FactKey.handle(handle), kinds: FactKind.allCases)
    }

    /// The return-inspection facts of a complaint, oldest check first (as ``Store/returnInspections(of:)``).
    public func returnInspections(of complaint: ComplaintID) async throws -> [Fact] {
        try await facts(filedUnder: FactKey.complaint(complaint), kinds: [.returnInspection]).sorted { $0.precedence < $1.precedence }
    }

    /// The facts of `kinds` filed under `key` in `fact_keys`, in time order then id.
    private func facts(filedUnder key: String, kinds: [FactKind]) async throws -> [Fact] {
        var facts: [Fact] = []
        let handles = HandleCache()
        let codes = kinds.map { Int16($0.rawValue) }
        for try await (id, observedAt, source, payload) in try await read(
            """
            SELECT f.fact_id, f.observed_at, f.source, f.payload FROM fact_keys k JOIN facts f ON f.seq = k.fact_seq
            WHERE k.key = \(key) AND k.kind = ANY(\(codes)) ORDER BY k.observed_at, k.fact_id
            """
        ).decode((String, Int64, Int16, Data).self) {
            let row = StoredFactRow(seq: 0, id: id, observedAt: observedAt, sourceCode: UInt8(truncatingIfNeeded: source), payload: payload)
            facts.append(try row.decoded(handles: handles))
        }
        return facts
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
