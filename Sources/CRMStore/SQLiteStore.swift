public import CRMDomain
import Foundation
import GRDB

/// The embedded store: one SQLite file in WAL mode, written by one group-committing writer, read by a pool of
/// readers that never block it.
///
/// Durability: `synchronous=FULL`, so a commit is on disk before ``append(_:conflicts:audit:)`` returns. Facts are the
/// truth (`facts`, `fact_keys`); identity, names, orders and complaints are derived tables recomputed in the same
/// transaction for what each append touched, and so is each touched customer's read model (`customer_summaries`),
/// from which caller snapshots are one indexed read. Full profiles are projected from the facts on read by the
/// domain's ``ProfileProjection``, from a handful of index range reads (see the CRMStore documentation).
public final class SQLiteStore: ServableStore {
    /// Where the database file is.
    public let path: String
    /// The limits in force.
    public let limits: StoreLimits
    /// The database; internal for the backup (StoreBackup.swift).
    let pool: DatabasePool
    private let committer: GroupCommitter
    private let readers: CallingThreadReaders

    /// Opens (creating and migrating if needed) the store at `location`; `progress` hears of long migrations.
    public convenience init(
        location: StoreLocation, limits: StoreLimits = .standard, progress: MigrationProgress? = nil
    ) throws(StoreError) {
        do {
            try FileManager.default.createDirectory(atPath: location.directory, withIntermediateDirectories: true)
        } catch {
            throw .openFailed(path: location.directory, reason: "cannot create the directory (\(error.localizedDescription))")
        }
        try self.init(path: location.databasePath, limits: limits, progress: progress)
    }

    /// Opens (creating and migrating if needed) the database file at `path`; `progress` hears of long migrations.
    public init(path: String, limits: StoreLimits = .standard, progress: MigrationProgress? = nil) throws(StoreError) {
        var configuration = Configuration()
        configuration.label = "crm.store"
        configuration.busyMode = .timeout(10)
        configuration.maximumReaderCount = 8
        configuration.prepareDatabase { db in
            try Self.configureConnection(db)
        }
        do {
            let pool = try DatabasePool(path: path, configuration: configuration)
            try Self.configureWriter(pool)
            try Migrations.migrator(progress: progress).migrate(pool)
            self.pool = pool
        } catch {
            throw .openFailed(path: path, reason: "\(error)")
        }
        self.path = path
        self.limits = limits
        readers = CallingThreadReaders(path: path, configuration: configuration)
        let applier = WriteApplier()
        committer = GroupCommitter(
            budget: limits.maximumFactsPerTransaction,
            transaction: SQLiteBatchTransaction(pool: pool) { db, operation in try applier.apply(operation, in: db) })
    }

    /// Settings of every connection.
    static func configureConnection(_ db: Database) throws {
        // 1 KiB pages, for a new file only: most writes insert at random places in the key indexes (by fact id, by
        // handle), and each group commit writes every page it touched to the WAL; smaller pages write less for the
        // same rows. Facts up to about 1,000 bytes still fit in one page.
        try db.execute(sql: "PRAGMA page_size = 1024")
        try db.execute(sql: "PRAGMA cache_size = -65536")  // 64 MiB per connection
        // Read through a memory map (up to SQLite's usual build limit of 2 GiB): readers share the OS page cache
        // instead of copying every page with a system call, which is most of a snapshot's system time.
        try db.execute(sql: "PRAGMA mmap_size = 2147418112")
    }

    /// Settings of the single writer connection. They are applied after the pool is open because GRDB, when it
    /// switches the file to WAL, sets `synchronous=NORMAL` on the writer, which would sync only at checkpoints.
    static func configureWriter(_ pool: DatabasePool) throws {
        try pool.writeWithoutTransaction { db in
            // FULL: the WAL is synced at every commit, so an acknowledged append survives power loss, not only a
            // crash of the process.
            try db.execute(sql: "PRAGMA synchronous = FULL")
            // Checkpoint every 64 MiB of WAL (65,536 pages of 1 KiB) rather than every 1,000 pages: a page changed by
            // many small group commits is copied back to the database file once per checkpoint, not once per commit.
            try db.execute(sql: "PRAGMA wal_autocheckpoint = 65536")
            // Debian's SQLite is built with SECURE_DELETE, which overwrites every freed byte with zeros: each read model
            // rewritten in place would cost a second pass over its page. Nothing here is secret from whoever can
            // read the file, so the writer does not pay for it.
            try db.execute(sql: "PRAGMA secure_delete = OFF")
            // A page cache of 4 MiB for the writer, not the readers' 64 MiB: every commit costs SQLite a walk over its
            // page cache's hash table (`pcache1TruncateUnsafe` under `sqlite3PagerCommitPhaseTwo`, 16 % of crmd's CPU
            // under unary pushes with 64 MiB), while the pages the writer needs are in the OS page cache anyway.
            // Measured: 64 → 4 MiB took unary pushes from 7,512 to 8,645 rows/s and the IVR flow at 1,000,000
            // customers from 3,079 to 3,712 pairs/s (docs/BENCHMARKS.md).
            try db.execute(sql: "PRAGMA cache_size = -4096")
        }
    }

    /// The database's journal mode ("wal").
    func journalMode() throws -> String {
        try pool.writeWithoutTransaction { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "" }
    }

    /// The writer connection's `synchronous` setting (2 is FULL).
    func writerSynchronousSetting() throws -> Int {
        try pool.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1 }
    }

    /// What the group-committing writer has done since the store was opened.
    public var writerStatistics: WriterStatistics { committer.statistics }

    /// The database file's path.
    public var whereabouts: String { path }

    /// Waits for accepted writes to commit, refuses new ones and closes the database.
    public func close() async throws {
        await committer.close()
        do {
            try readers.close()
            try pool.close()
        } catch { throw StoreError.writeFailed(reason: "closing the database: \(error)") }
    }

    // MARK: Facts

    public func append(_ requests: [[Fact]], conflicts: ConflictPolicy, audit: [AppendAudit]) async throws -> AppendReceipt {
        let count = requests.reduce(0) { $0 + $1.count }
        guard count > 0 else { return AppendReceipt(outcomes: [], customers: []) }
        guard count <= limits.maximumFactsPerAppend else {
            throw StoreError.tooManyFacts(count: count, maximum: limits.maximumFactsPerAppend)
        }
        var prepared: [PreparedFact] = []
        var requestStarts: [Int] = []
        prepared.reserveCapacity(count)
        for request in requests where !request.isEmpty {
            requestStarts.append(prepared.count)
            for fact in request { prepared.append(try PreparedFact(fact, index: prepared.count, limits: limits)) }
        }
        guard case let .facts(receipt) = try await committer.submit(.facts(prepared, requestStarts, conflicts, audit)) else {
            throw StoreError.writeFailed(reason: "the writer answered an append with something else")
        }
        return receipt
    }

    // MARK: Customers

    public func customerID(for handle: Handle) async throws -> CustomerID? {
        try readOnCallingThread(oneStatement: true) { try $0.customerID(of: handle) }
    }

    public func customerIDs(for handles: [Handle]) async throws -> [Handle: CustomerID] {
        guard !handles.isEmpty else { return [:] }
        return try await read { try $0.customerIDs(for: handles) }
    }

    public func profile(for handle: Handle) async throws -> CustomerProfile? {
        try readOnCallingThread { try $0.profile(for: handle) }
    }

    public func profile(of customer: CustomerID) async throws -> CustomerProfile? {
        try readOnCallingThread { try $0.profile(of: customer.rawValue) }
    }

    public func summary(for handle: Handle) async throws -> CustomerSummary? {
        try summary(from: readOnCallingThread(oneStatement: true) { try $0.summaryLookup(for: handle) })
    }

    public func summary(of customer: CustomerID) async throws -> CustomerSummary? {
        try summary(from: readOnCallingThread(oneStatement: true) { try $0.summaryLookup(of: customer) })
    }

    /// The summary a look-up found; a customer whose stored summary is missing or damaged is projected from the facts
    /// instead, so a read never answers less than the facts say.
    private func summary(from lookup: SummaryLookup) throws -> CustomerSummary? {
        switch lookup {
        case .unknown: return nil
        case let .found(summary): return summary
        case let .unreadable(customer): return try readOnCallingThread { try $0.profile(of: customer)?.summary }
        }
    }

    public func callerSnapshot(for handle: Handle, now: Int64, problem: ProblemType?) async throws -> CallerSnapshot? {
        try await summary(for: handle).map { CallerSnapshot(summary: $0, now: now, problem: problem) }
    }

    public func callerSnapshot(of customer: CustomerID, now: Int64, problem: ProblemType?) async throws -> CallerSnapshot? {
        try await summary(of: customer).map { CallerSnapshot(summary: $0, now: now, problem: problem) }
    }

    public func searchCustomers(name: String, limit: Int) async throws -> [CustomerMatch] {
        try await read { try $0.searchCustomers(name: name, limit: limit) }
    }

    public func timeline(of customer: CustomerID, before cursor: TimelineCursor?, limit: Int) async throws -> TimelinePage {
        guard limit > 0 else { throw StoreError.invalidArgument("A timeline page needs a limit of at least 1 (got \(limit)).") }
        return try await read { try $0.timeline(of: customer, before: cursor, limit: limit) }
    }

    // MARK: Orders

    public func order(_ number: OrderNumber) async throws -> OrderView? {
        try await read { try $0.order(number.rawValue) }
    }

    public func orders(of customer: CustomerID) async throws -> [OrderView] {
        try await read { try $0.orders(of: customer) }
    }

    public func overdueOrders(now: Int64, limit: Int) async throws -> [OrderView] {
        try await read { try $0.overdueOrders(now: now, limit: limit) }
    }

    public func trackingEvents(of order: OrderNumber) async throws -> [TrackingRecord] {
        try await read { try $0.trackingEvents(of: order) }
    }

    // MARK: Complaints

    public func complaint(_ id: ComplaintID) async throws -> Complaint? {
        try await read { try $0.complaints([id.rawValue]).first }
    }

    public func complaints(inStates states: Set<ComplaintState>, openedBefore: Int64?, limit: Int) async throws -> [Complaint] {
        guard limit > 0 else { return [] }
        return try await read { try $0.complaints(inStates: states, openedBefore: openedBefore, limit: limit) }
    }

    public func complaints(of customer: CustomerID) async throws -> [Complaint] {
        try await read { try $0.complaints(of: customer) }
    }

    /// See ``Store/returnInspections(of:)``; the facts filed under the complaint's key, of the inspection kind.
    public func returnInspections(of complaint: ComplaintID) async throws -> [Fact] {
        try await read { try $0.returnInspections(of: complaint) }
    }

    // MARK: Ratings and reports

    public func ratings(of customer: CustomerID) async throws -> [RatingRecord] {
        try await read { try $0.ratings(of: customer) }
    }

    public func reportData(for period: TimeRange) async throws -> ReportData {
        try await read { try $0.reportData(for: period) }
    }

    public func buyerProfiles(placedIn period: TimeRange?) async throws -> [CustomerProfile] {
        try await read { try $0.buyerProfiles(placedIn: period) }
    }

    // MARK: Audit and access

    public func appendAudit(_ entries: [AuditEntry]) async throws {
        guard !entries.isEmpty else { return }
        _ = try await committer.submit(.audit(entries))
    }

    public func auditEntries(subject: String?, after: Int64?, limit: Int) async throws -> [AuditRecord] {
        try await readInPool { db in
            let columns = "SELECT seq, at, actor, action, subject, detail FROM audit_log"
            let rows: [Row]
            if let subject {
                rows = try Row.fetchAll(
                    db.cachedStatement(sql: columns + " WHERE subject = ? AND seq > ? ORDER BY seq LIMIT ?"),
                    arguments: [subject, after ?? 0, max(0, limit)])
            } else {
                rows = try Row.fetchAll(
                    db.cachedStatement(sql: columns + " WHERE seq > ? ORDER BY seq LIMIT ?"), arguments: [after ?? 0, max(0, limit)])
            }
            return rows.map {
                AuditRecord(sequence: $0[0], entry: AuditEntry(at: $0[1], actor: $0[2], action: $0[3], subject: $0[4], detail: $0[5]))
            }
        }
    }

    public func saveToken(_ token: AccessTokenRecord) async throws {
        _ = try await committer.submit(.saveToken(token))
    }

    private static let tokenColumns = "digest, principal, role, created_at, expires_at, revoked_at, team, customer_id"

    private static func tokenRecord(_ row: Row) -> AccessTokenRecord {
        let digest: Data = row[0]
        return AccessTokenRecord(
            digest: [UInt8](digest), principal: row[1], role: row[2], createdAt: row[3], expiresAt: row[4], revokedAt: row[5],
            team: row[6], customerID: row[7])
    }

    /// Read on the calling thread: every authenticated call looks its token up, and a revocation must hold from the
    /// next call, so the read is not cached; a point read costs less than the hop to a pool reader and back.
    public func token(digest: [UInt8]) async throws -> AccessTokenRecord? {
        try readDatabaseOnCallingThread(oneStatement: true) { db in
            try Row.fetchOne(
                db.cachedStatement(sql: "SELECT \(Self.tokenColumns) FROM access_tokens WHERE digest = ?"), arguments: [Data(digest)]
            ).map(Self.tokenRecord)
        }
    }

    public func allTokens() async throws -> [AccessTokenRecord] {
        try await readInPool { db in
            try Row.fetchAll(db.cachedStatement(sql: "SELECT \(Self.tokenColumns) FROM access_tokens ORDER BY created_at, digest"))
                .map(Self.tokenRecord)
        }
    }

    public func revokeToken(digest: [UInt8], at: Int64) async throws -> Bool {
        guard case let .revoked(existed) = try await committer.submit(.revokeToken(digest: digest, at: at)) else { return false }
        return existed
    }

    // MARK: Helpers

    /// Copies the write-ahead log into the database file and truncates it (`PRAGMA wal_checkpoint(TRUNCATE)`), as SQLite
    /// does by itself every 65,536 pages; the kill test forces it to be killed around one.
    public func checkpoint() async throws {
        try await pool.writeWithoutTransaction { db in _ = try db.checkpoint(.truncate) }
    }

    /// One of ``Store``'s queries, in a read transaction of a pool reader.
    private func read<T: Sendable>(_ query: @escaping @Sendable (StoreReads<SQLiteTables>) throws -> T) async throws -> T {
        try await readForMaintenance { db in try query(StoreReads(SQLiteTables(db: db))) }
    }

    private func readInPool<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await pool.read(body)
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError.readFailed(reason: "\(error)")
        }
    }

    /// A read on the calling thread, for the short look-ups the services make per request (profiles, snapshots).
    ///
    /// GRDB's `async` read hops from the caller's thread to the reader connection's queue and back; for a look-up of
    /// a few hundred microseconds the hops cost about half its CPU (measured: 477 to 244 µs per caller snapshot,
    /// docs/BENCHMARKS.md). Here the caller's thread runs the read itself, on one of ``CallingThreadReaders``'
    /// connections: the read is CPU work on pages that are almost always in memory, so the thread is busy, not
    /// blocked, and no connection is ever waited for. A body that runs exactly one statement says `oneStatement`:
    /// the statement is then its own read transaction, without `BEGIN` and `COMMIT`.
    private func readOnCallingThread<T>(oneStatement: Bool = false, _ query: (StoreReads<SQLiteTables>) throws -> T) throws -> T {
        try readDatabaseOnCallingThread(oneStatement: oneStatement) { db in try query(StoreReads(SQLiteTables(db: db))) }
    }

    /// ``readOnCallingThread(oneStatement:_:)`` for a statement of this store's own.
    private func readDatabaseOnCallingThread<T>(oneStatement: Bool = false, _ body: (Database) throws -> T) throws -> T {
        do {
            return try oneStatement ? readers.readOneStatement(body) : readers.read(body)
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError.readFailed(reason: "\(error)")
        }
    }

    func readForMaintenance<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await readInPool(body)
    }

    func submit(_ operation: WriteOperation) async throws -> WriteResult {
        try await committer.submit(operation)
    }

    func writerForMaintenance(_ body: @escaping @Sendable (Database) throws -> Void) async throws {
        try await pool.write(body)
    }
}

/// Applies one write operation inside the group commit's transaction.
struct WriteApplier: Sendable {
    /// Handles normalised by earlier writes: the writer decodes the read models of the same customers again and again.
    private let handles = WriterHandleCache()

    func apply(_ operation: WriteOperation, in db: Database) throws -> WriteResult {
        switch operation {
        case let .facts(facts, requestStarts, conflicts, audit):
            return .facts(try FactWriter(tables: SQLiteTables(db: db), handles: handles.cache).append(
                facts, requestStarts: requestStarts, conflicts: conflicts, audit: audit))
        case let .audit(entries):
            let insert = try db.cachedStatement(sql: "INSERT INTO audit_log (at, actor, action, subject, detail) VALUES (?, ?, ?, ?, ?)")
            for e in entries { try insert.execute(arguments: [e.at, e.actor, e.action, e.subject, e.detail]) }
            return .done
        case let .saveToken(t):
            try db.cachedStatement(sql: """
                INSERT OR REPLACE INTO access_tokens (digest, principal, role, created_at, expires_at, revoked_at, team, customer_id)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """).execute(arguments: [Data(t.digest), t.principal, t.role, t.createdAt, t.expiresAt, t.revokedAt, t.team, t.customerID])
            return .done
        case let .revokeToken(digest, at):
            try db.cachedStatement(sql: "UPDATE access_tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE digest = ?")
                .execute(arguments: [at, Data(digest)])
            return .revoked(db.changesCount > 0)
        case let .recordNotice(id, subject, at):
            try db.cachedStatement(sql: "INSERT OR IGNORE INTO sent_notices (notice_id, subject, sent_at) VALUES (?, ?, ?)")
                .execute(arguments: [id, subject, at])
            return .recorded(db.changesCount > 0)
        }
    }
}

/// The writer's ``HandleCache``, kept across writes in generations of at most ``generation`` handles: the customers
/// being written stay cached, and the cache's memory stays bounded (about 1 MB) however many customers the store
/// holds. Only the single writer's dispatch queue touches it (``GroupCommitter`` runs every write there, one at a
/// time).
package final class WriterHandleCache: @unchecked Sendable {
    /// Handles per generation.
    static let generation = 4_096
    private var current = HandleCache()

    package init() {}

    /// The cache for the next write.
    package var cache: HandleCache {
        if current.count >= Self.generation { current = HandleCache(succeeding: current) }
        return current
    }
}
