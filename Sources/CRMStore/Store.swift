public import CRMDomain

/// The persistence the services use: facts in, profiles, snapshots, orders, complaints and report data out.
///
/// Implementations keep the facts as the truth and everything else as a function of them, so any order of appends of
/// the same facts leaves the same state. Every method is `async` and the protocol is `Sendable`, so an
/// implementation may be a local SQLite file (``SQLiteStore``) or a client of a database server shared by several
/// nodes (PostgreSQL: `PostgresStore`) without changing callers.
///
/// Handles passed in are already normalised (``Handle`` can only be made by normalising), so a caller may look a
/// customer up by any written form of any of their handles.
public protocol Store: Sendable {
    // MARK: Facts

    /// Appends the facts of `requests`, and `audit` with them when any of the facts is new, in one transaction; returns,
    /// per fact in the order given (the requests' facts one after the other), what happened to it
    /// (``IngestOutcome/inserted``, ``IngestOutcome/duplicate`` when the same id and content were stored,
    /// ``IngestOutcome/conflict(replaced:)`` when the same id was stored with a different content, settled by
    /// `conflicts`) and the customer its first handle belongs to once the append is applied.
    ///
    /// A request is one fact with the facts that come with it (the links a message states, the tracking an order
    /// carries): with ``ConflictPolicy/keepStored``, a request whose first fact is already stored is a retry and stores
    /// none of its facts, whatever they are now (the others answer ``IngestOutcome/duplicate``, as the request does).
    ///
    /// Derived tables and each customer's read model (``CustomerSummary``) are brought up to date in the same
    /// transaction, so a read after the append returns sees them. Returns only after the transaction committed durably.
    /// The append is atomic: a refused fact (``StoreError/invalidFact(index:id:reason:)``, its index counted over all
    /// the requests' facts) or a failed write stores none of the call's facts nor its audit entries, and never affects
    /// other callers' appends. Cancelling the calling task does not withdraw an append already submitted.
    func append(_ requests: [[Fact]], conflicts: ConflictPolicy, audit: [AppendAudit]) async throws -> AppendReceipt

    // MARK: Customers

    /// The customer a handle belongs to, or `nil` when no fact names it.
    func customerID(for handle: Handle) async throws -> CustomerID?
    /// The customers of several handles at once, in one read (bulk pushes answer with each item's customer); a
    /// handle no customer has is absent from the result.
    func customerIDs(for handles: [Handle]) async throws -> [Handle: CustomerID]
    /// The full profile of the customer a handle belongs to.
    func profile(for handle: Handle) async throws -> CustomerProfile?
    /// The full profile of a customer.
    func profile(of customer: CustomerID) async throws -> CustomerProfile?
    /// The read model of the customer a handle belongs to: one indexed read, no projection.
    func summary(for handle: Handle) async throws -> CustomerSummary?
    /// The read model of a customer.
    func summary(of customer: CustomerID) async throws -> CustomerSummary?
    /// What the IVR and the agent screen show when the person behind `handle` calls, at `now`.
    func callerSnapshot(for handle: Handle, now: Int64, problem: ProblemType?) async throws -> CallerSnapshot?
    /// The caller snapshot of a customer at `now`.
    func callerSnapshot(of customer: CustomerID, now: Int64, problem: ProblemType?) async throws -> CallerSnapshot?
    /// Customers whose current name has words starting with each word of `name` (case-insensitive), by name.
    func searchCustomers(name: String, limit: Int) async throws -> [CustomerMatch]
    /// A page of a customer's cross-channel timeline, newest first, strictly before `cursor` (from the newest when nil).
    func timeline(of customer: CustomerID, before cursor: TimelineCursor?, limit: Int) async throws -> TimelinePage

    // MARK: Orders

    /// An order with its tracking, as its winning record describes it.
    func order(_ number: OrderNumber) async throws -> OrderView?
    /// A customer's orders, by placement time then number.
    func orders(of customer: CustomerID) async throws -> [OrderView]
    /// Orders past their estimate at `now` and neither delivered nor cancelled, oldest estimate first: the
    /// candidates for proactive delay notices.
    func overdueOrders(now: Int64, limit: Int) async throws -> [OrderView]
    /// The tracking events of an order, in time order.
    func trackingEvents(of order: OrderNumber) async throws -> [TrackingRecord]

    // MARK: Complaints

    /// A complaint with its full history.
    func complaint(_ id: ComplaintID) async throws -> Complaint?
    /// Complaints in any of `states` opened before `openedBefore` (all when nil), oldest first: the work queue.
    func complaints(inStates states: Set<ComplaintState>, openedBefore: Int64?, limit: Int) async throws -> [Complaint]
    /// A customer's complaints, oldest first.
    func complaints(of customer: CustomerID) async throws -> [Complaint]

    // MARK: Ratings and reports

    /// A customer's ratings, by time.
    func ratings(of customer: CustomerID) async throws -> [RatingRecord]
    /// The complaints and ratings the domain's reports need for `period` (see ``ReportData``).
    func reportData(for period: TimeRange) async throws -> ReportData
    /// Profiles of the customers with an order placed in `period` (every buyer when nil), for the tier
    /// distribution and the repeat-purchase rate. Costs one profile projection per buyer.
    func buyerProfiles(placedIn period: TimeRange?) async throws -> [CustomerProfile]

    // MARK: Audit and access

    /// Appends audit entries, durably, with the same group commit as facts.
    func appendAudit(_ entries: [AuditEntry]) async throws
    /// Audit entries about `subject` (all subjects when nil), after sequence number `after`, oldest first.
    func auditEntries(subject: String?, after: Int64?, limit: Int) async throws -> [AuditRecord]
    /// Stores an access token's record, keyed by the digest of the token (the token itself is never stored).
    func saveToken(_ token: AccessTokenRecord) async throws
    /// The record of the token whose digest is `digest`.
    func token(digest: [UInt8]) async throws -> AccessTokenRecord?
    /// Marks a token revoked at `at`; returns whether it existed.
    func revokeToken(digest: [UInt8], at: Int64) async throws -> Bool
    /// Every token record, revoked and expired ones included, oldest first.
    func allTokens() async throws -> [AccessTokenRecord]

    // MARK: Idempotency

    /// Whether a fact with id `id` (an idempotency key) is stored, whatever its content. Writes need not ask first:
    /// ``append(_:conflicts:audit:)`` with ``ConflictPolicy/keepStored`` answers a retried request without changing
    /// anything.
    func containsFact(_ id: FactID) async throws -> Bool

    // MARK: Return inspections

    /// The return-inspection facts of a complaint, oldest check first.
    func returnInspections(of complaint: ComplaintID) async throws -> [Fact]

    // MARK: Sent notices

    /// Records that the proactive notice `noticeID` about `subject` (a complaint or order id) was sent at `at`;
    /// returns true when this call recorded it and false when it was already recorded, so that a notice whose
    /// id is deterministic is sent exactly once, across restarts too. Delay notices are facts instead
    /// (``FactPayload/delayNoticeSent(_:)``).
    func recordNoticeSent(_ noticeID: String, subject: String, at: Int64) async throws -> Bool
    /// Whether the proactive notice `noticeID` was recorded as sent.
    func noticeSent(_ noticeID: String) async throws -> Bool
    /// Notices recorded as sent at or after `since`, by time then id, after `after` (nil: from the first), at most
    /// `limit`.
    func sentNotices(since: Int64, after: SentNotice?, limit: Int) async throws -> [SentNotice]

    // MARK: Replay

    /// Whether other server nodes write to this store too (a database server several crmd share), so that a node
    /// learns of their writes only by reading the fact log. False unless the store says otherwise.
    var sharedWithOtherNodes: Bool { get }
    /// The position of the newest fact in arrival order; 0 for an empty store. Positions follow commit order: a
    /// fact committed after another has a greater position, so a reader that has seen every fact up to a position
    /// never later finds a new one below it.
    func lastFactPosition() async throws -> Int64
    /// Facts of `kinds` whose time is at or after `since`, in arrival order, at positions after `after` (nil: from
    /// the first such fact) and at most `through`, at most `limit` of them: what the watch streams replay before
    /// they go live, page by page.
    func replayFacts(_ kinds: ReplayKinds, since: Int64, after: Int64?, through: Int64, limit: Int) async throws -> [PositionedFact]
}

extension Store {
    /// Appends facts, each its own request, with the domain's convergent conflict rule and no audit entry; returns each
    /// fact's outcome.
    public func append(_ facts: [Fact]) async throws -> [IngestOutcome] {
        try await append(facts.map { [$0] }, conflicts: .convergent, audit: []).outcomes
    }
}

extension Store {
    /// A store of one node's own.
    public var sharedWithOtherNodes: Bool { false }
}

/// A ``Store`` a server runs on: one it can report on and close.
public protocol ServableStore: Store {
    /// What the group commit has done since the store was opened (the server's commit metrics).
    var writerStatistics: WriterStatistics { get }
    /// Where the store is, for logs and the start banner: a file's path, or a database URL without its password.
    var whereabouts: String { get }
    /// Waits for accepted appends to commit, refuses new ones and closes; calls after this fail.
    func close() async throws
}
