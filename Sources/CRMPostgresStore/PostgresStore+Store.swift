public import CRMDomain
public import CRMStore
import Dispatch
import Foundation
import PostgresNIO

extension PostgresStore: ServableStore {
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

    /// Whether a fact with id `id` is stored.
    public func containsFact(_ id: FactID) async throws -> Bool {
        try await read(oneStatement: true) { reads in try reads.tables.storedFact(id: id.rawValue) != nil }
    }

    // MARK: Customers

    public func customerID(for handle: Handle) async throws -> CustomerID? {
        try await read(oneStatement: true) { try $0.customerID(of: handle) }
    }

    public func customerIDs(for handles: [Handle]) async throws -> [Handle: CustomerID] {
        guard !handles.isEmpty else { return [:] }
        return try await read { try $0.customerIDs(for: handles) }
    }

    public func profile(for handle: Handle) async throws -> CustomerProfile? {
        try await read { try $0.profile(for: handle) }
    }

    public func profile(of customer: CustomerID) async throws -> CustomerProfile? {
        try await read { try $0.profile(of: customer.rawValue) }
    }

    /// The caller snapshot's read: one prepared statement straight from the pool (no statement thread, no planning
    /// per call), the same row ``StoreReads/summaryLookup(for:)`` reads.
    public func summary(for handle: Handle) async throws -> CustomerSummary? {
        let rows: [SummaryByHandle.Row]
        do {
            rows = try await ConnectionLease.execute(client, SummaryByHandle(handle: handle.canonical), logger: logger)
        } catch {
            throw PostgresFailure.storeError(error, writing: false)
        }
        return try await summary(from: SummaryLookup(row: rows.first))
    }

    public func summary(of customer: CustomerID) async throws -> CustomerSummary? {
        try await summary(from: read(oneStatement: true) { try $0.summaryLookup(of: customer) })
    }

    /// The summary a look-up found; one whose stored summary is missing or damaged is projected from the facts.
    private func summary(from lookup: SummaryLookup) async throws -> CustomerSummary? {
        switch lookup {
        case .unknown: return nil
        case let .found(summary): return summary
        case let .unreadable(customer): return try await read { try $0.profile(of: customer)?.summary }
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

    // MARK: Replay

    /// The position of the newest fact; positions follow commit order (see ``PostgresBatchTransaction``).
    public func lastFactPosition() async throws -> Int64 {
        try await read(oneStatement: true) { reads in
            try reads.tables.db.query("SELECT coalesce(max(seq), 0) FROM facts").rows.first?.decode(Int64.self) ?? 0
        }
    }

    public func replayFacts(_ kinds: ReplayKinds, since: Int64, after: Int64?, through: Int64, limit: Int) async throws -> [PositionedFact] {
        let codes = kinds.factKinds.map { Int16($0.rawValue) }
        guard !codes.isEmpty, limit > 0 else { return [] }
        return try await read { reads in
            let db = reads.tables.db
            var start = (after ?? 0) + 1
            if after == nil {
                // The kinds of the partial index, spelled as in its WHERE clause, so the planner uses it.
                let first = try db.query(PostgresQuery(
                    unsafeSQL: "SELECT min(seq) FROM facts WHERE observed_at >= $1 AND kind IN (\(ReplayKinds.watchedKindList))",
                    binds: { var b = PostgresBindings(); b.append(since); return b }()
                )).rows.first?.decode(Int64?.self)
                guard let first else { return [] }
                start = first
            }
            let handles = HandleCache()
            return try db.query("""
                SELECT seq, fact_id, observed_at, source, payload FROM facts
                WHERE seq >= \(start) AND seq <= \(through) AND kind = ANY(\(codes)::smallint[]) AND observed_at >= \(since)
                ORDER BY seq LIMIT \(Int64(limit))
                """).rows.map { row in
                let (seq, id, observedAt, source, payload) = try row.decode((Int64, String, Int64, Int16, Data).self)
                let stored = StoredFactRow(seq: seq, id: id, observedAt: observedAt, sourceCode: UInt8(truncatingIfNeeded: source), payload: payload)
                return PositionedFact(position: seq, fact: try stored.decoded(handles: handles))
            }
        }
    }

    // MARK: Reading

    /// One of ``Store``'s queries on a connection of the pool, run by a thread of its own (``BlockingConnection``).
    /// A query of several statements runs in one read-only REPEATABLE READ transaction, so it sees one moment of the
    /// database, as SQLite's read transactions do; a query of one statement (`oneStatement`) needs none.
    func read<T: Sendable>(
        oneStatement: Bool = false, _ query: @escaping @Sendable (StoreReads<PostgresTables>) throws -> T
    ) async throws -> T {
        let logger = self.logger
        do {
            return try await ConnectionLease.withConnection(client) { connection in
                try await Self.blocking {
                    let db = BlockingConnection(connection: connection, logger: logger)
                    let reads = StoreReads(PostgresTables(db: db))
                    if oneStatement { return try query(reads) }
                    try db.query("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                    do {
                        let result = try query(reads)
                        try db.query("COMMIT")
                        return result
                    } catch {
                        _ = try? db.query("ROLLBACK")
                        throw error
                    }
                }
            }
        } catch {
            throw PostgresFailure.storeError(error, writing: false)
        }
    }

    /// `body` in one transaction of its own on a connection of the pool, holding the append lock, so that it runs
    /// between the appends of every node (``PostgresBatchTransaction/appendLock``): for maintenance writes that
    /// recompute derived rows, as an append would.
    func writeHoldingAppendLock(_ body: @escaping @Sendable (PostgresTables) throws -> Void) async throws {
        let logger = self.logger
        do {
            try await ConnectionLease.withConnection(client) { connection in
                try await Self.blocking {
                    let db = BlockingConnection(connection: connection, logger: logger)
                    try db.query("BEGIN")
                    do {
                        try db.query("SELECT pg_advisory_xact_lock(\(PostgresBatchTransaction.appendLock))")
                        try body(PostgresTables(db: db))
                        try db.query("COMMIT")
                    } catch {
                        _ = try? db.query("ROLLBACK")
                        throw error
                    }
                }
            }
        } catch {
            throw PostgresFailure.storeError(error, writing: true)
        }
    }

    /// The threads that wait for statements' answers: never the concurrency pool's, which must not block.
    private static let statementThreads = DispatchQueue(label: "crm.store.postgres.statements", attributes: .concurrent)

    private static func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            statementThreads.async { continuation.resume(with: Result { try body() }) }
        }
    }
}
