public import CRMDomain

/// A position in a timeline: the time and fact id of the last record of a page (records sort by both).
public struct TimelineCursor: Sendable, Hashable, CustomStringConvertible {
    /// The time of the record.
    public let at: Int64
    /// Its fact id.
    public let factID: FactID

    /// A cursor at a record.
    public init(at: Int64, factID: FactID) {
        self.at = at
        self.factID = factID
    }

    /// The cursor as an opaque text token (`<at>:<fact id>`), for clients to hand back.
    public var token: String { "\(at):\(factID.rawValue)" }

    /// Parses a token made by ``token``.
    public init(token: String) throws(StoreError) {
        guard let colon = token.firstIndex(of: ":"), let at = Int64(token[..<colon]),
              let id = try? FactID(String(token[token.index(after: colon)...]))
        else { throw .invalidArgument("\"\(token)\" is not a timeline cursor; pass back the `next` token of the previous page unchanged.") }
        self.init(at: at, factID: id)
    }

    /// The token.
    public var description: String { token }
}

/// One page of a timeline.
public struct TimelinePage: Sendable, Hashable {
    /// Interactions, newest first.
    public let records: [InteractionRecord]
    /// Where the next (older) page starts, or `nil` when this is the last.
    public let next: TimelineCursor?

    /// Creates a page.
    public init(records: [InteractionRecord], next: TimelineCursor?) {
        self.records = records
        self.next = next
    }
}

/// A customer found by name.
public struct CustomerMatch: Sendable, Hashable {
    /// The customer.
    public let id: CustomerID
    /// The current name.
    public let name: String?
    /// The current company.
    public let company: String?
    /// The current city.
    public let city: String?
    /// Every handle, ascending.
    public let handles: [Handle]
}

/// What the domain's period reports need, read in one go.
///
/// Feed ``complaints`` to `RefundRecap`, `ComplaintVolume` and `ServiceLevelCompliance` (each selects by its own
/// date), and ``ratings`` to `RatingReport`.
public struct ReportData: Sendable {
    /// The period asked for.
    public let period: TimeRange
    /// Complaints opened in the period or decided in it, by id.
    public let complaints: [Complaint]
    /// Ratings given in the period, by time.
    public let ratings: [RatingRecord]
}

/// Something a person or service did, kept for accountability.
public struct AuditEntry: Sendable, Hashable {
    /// When (Unix ms).
    public let at: Int64
    /// Who (a user name or service id).
    public let actor: String
    /// What, as a stable verb such as `complaint.decide` or `customer.view`.
    public let action: String
    /// What it was done to (a customer id, order number or complaint id).
    public let subject: String
    /// Free text; never secrets.
    public let detail: String

    /// Creates an entry.
    public init(at: Int64, actor: String, action: String, subject: String, detail: String = "") {
        self.at = at
        self.actor = actor
        self.action = action
        self.subject = subject
        self.detail = detail
    }
}

/// How an append settles a fact whose id is already stored with a different content.
public enum ConflictPolicy: Sendable, Hashable {
    /// The domain's rule: the fact with the smaller canonical encoding stays, whichever arrived first, so any
    /// arrival order of the same facts converges (``IngestOutcome/conflict(replaced:)`` says which stayed). For
    /// facts appended directly, such as a dataset's seeding or an ingestion tool's.
    case convergent
    /// The stored fact stays and nothing changes (``IngestOutcome/conflict(replaced:)`` with `false`), and a request
    /// whose first fact is stored stores none of its other facts: for the server's requests, where a retry under the
    /// same key must answer as the first time without rewriting or adding anything, even when the server would
    /// now make the facts differently (a server-stamped time, other stated handles).
    case keepStored
}

/// Who an audit entry written with an append is about.
public enum AuditSubject: Sendable, Hashable {
    /// A fixed subject (an order number, a complaint id, a batch).
    case text(String)
    /// The customer that the first handle of the append's fact at this index (over all its requests' facts) belongs to
    /// once the append is applied.
    case customerOfFact(Int)
}

/// An audit entry written in the transaction of an append, when the append stored at least one new fact.
public struct AppendAudit: Sendable, Hashable {
    /// When.
    public let at: Int64
    /// Who.
    public let actor: String
    /// What, as a stable verb.
    public let action: String
    /// About whom or what.
    public let subject: AuditSubject
    /// Free text; never secrets.
    public let detail: String

    /// Creates an entry.
    public init(at: Int64, actor: String, action: String, subject: AuditSubject, detail: String = "") {
        self.at = at
        self.actor = actor
        self.action = action
        self.subject = subject
        self.detail = detail
    }
}

/// What an append did.
public struct AppendReceipt: Sendable, Hashable {
    /// Per fact, in order, what happened to it.
    public let outcomes: [IngestOutcome]
    /// Per fact, in order, the customer its first handle belongs to once the append is applied (nil for a fact that
    /// names no handle, such as a tracking event or a complaint step, or one a retried request did not store).
    public let customers: [CustomerID?]

    /// Creates a receipt.
    public init(outcomes: [IngestOutcome], customers: [CustomerID?]) {
        self.outcomes = outcomes
        self.customers = customers
    }

    /// Whether any fact was stored as new, or replaced a stored one.
    public var storedSomething: Bool { outcomes.contains { $0 == .inserted || $0 == .conflict(replaced: true) } }
}

/// An audit entry as stored, with its sequence number (ascending in commit order).
public struct AuditRecord: Sendable, Hashable {
    /// The position in the log.
    public let sequence: Int64
    /// The entry.
    public let entry: AuditEntry

    package init(sequence: Int64, entry: AuditEntry) {
        self.sequence = sequence
        self.entry = entry
    }
}

/// An access token's record. Only a digest of the token is stored (the caller hashes, for example with SHA-256), so a
/// copy of the database does not give access.
public struct AccessTokenRecord: Sendable, Hashable {
    /// The digest of the token.
    public let digest: [UInt8]
    /// Who the token acts for.
    public let principal: String
    /// The role it grants (for example an `ActorRole` raw value).
    public let role: String
    /// When it was issued.
    public let createdAt: Int64
    /// When it stops working, if ever.
    public let expiresAt: Int64?
    /// When it was revoked, if it was.
    public let revokedAt: Int64?
    /// For an agent's token, the team it works in (an `AgentTeamName` raw value).
    public let team: String?
    /// For a customer's token, the one customer whose data it may see (a customer id).
    public let customerID: String?

    /// Creates a record.
    public init(
        digest: [UInt8], principal: String, role: String, createdAt: Int64, expiresAt: Int64?, revokedAt: Int64? = nil,
        team: String? = nil, customerID: String? = nil
    ) {
        self.digest = digest
        self.principal = principal
        self.role = role
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.revokedAt = revokedAt
        self.team = team
        self.customerID = customerID
    }

    /// Whether the token may be used at `now`.
    public func isValid(now: Int64) -> Bool {
        revokedAt == nil && (expiresAt.map { now < $0 } ?? true)
    }
}
