import CRMDomain
import CRMMessages
import CRMStore
import CRMWire

/// What every service handler needs: the store, the event hub and the clock.
struct ServiceEnvironment: Sendable {
    let store: any Store
    let events: EventHub
    let now: @Sendable () -> Int64

    // MARK: Callers

    /// The caller, or nil outside an authenticated call.
    var principal: Principal? { Principal.current }

    /// The name written to the audit trail.
    var auditActor: String { principal?.auditName ?? "anonymous" }

    /// Whose records the call may see: ``RecordScope/everyone`` for staff and adapters, one customer for a
    /// `customer` principal. ``AccessPolicy`` decides which methods a role may call; this decides which records such
    /// a call may touch, and only the methods the policy opens to customers ever meet a customer scope.
    ///
    /// A customer principal without a customer binding may see nothing.
    func recordScope() throws -> RecordScope {
        guard let principal, principal.role == .customer else { return .everyone }
        guard let id = principal.customerID else {
            throw RPCStatus.permissionDenied("this customer credential is bound to no customer; ask for a new token")
        }
        return .customer(id)
    }

    /// The source a fact made by the caller is recorded under.
    var factSource: FactSource {
        switch principal?.role {
        case .agent?, .supervisor?: .agent
        case .customer?: .selfService
        case .adapter?, nil: .channel
        }
    }

    /// The caller as a wire actor.
    var actorRef: ActorRef {
        guard let principal else { return ActorRef(role: .system, name: "anonymous") }
        let role: Role = switch principal.role {
        case .adapter: .adapter
        case .agent: .agent
        case .supervisor: .supervisor
        case .customer: .customer
        }
        return ActorRef(role: role, name: principal.name, team: principal.team?.wire ?? .unspecified)
    }

    // MARK: Customers

    /// Resolves a selector to a customer id, enforcing customer scoping; NOT_FOUND when no customer matches.
    func resolve(_ selector: CustomerSelector?, field: String) async throws -> CustomerID {
        guard let id = try await resolveIfKnown(selector, field: field) else {
            throw RPCStatus.notFound("no customer matches \(field); check the id or handle, or search by name")
        }
        return id
    }

    /// Resolves a selector; nil when the handle names no customer yet.
    func resolveIfKnown(_ selector: CustomerSelector?, field: String) async throws -> CustomerID? {
        let target = try validated { try Check.present(selector?.target, field) }
        let id: CustomerID?
        switch target {
        case .customerID(let raw):
            id = try validated { try Check.customerID(raw, field + ".customer_id") }
        case .handle(let wire):
            let handle = try validated { try CRMDomain.Handle(wire: wire, field: field + ".handle") }
            id = try await store.customerID(for: handle)
        }
        if !(try recordScope().permits(id)) {
            throw RPCStatus.permissionDenied("customers may only see their own records; \(field) does not name you")
        }
        return id
    }

    // MARK: Writing

    /// The one write path of every state-changing call: the call's facts (its own first, then those that come with
    /// it) and its audit entry go to the store in one append, so one transaction and one group commit; the audit entry
    /// is written only when a fact is new. A key already stored keeps its fact even when the retried request would
    /// make a different one (a server-stamped time, other stated handles): the request answers DUPLICATE and changes
    /// nothing, with no read before the append.
    ///
    /// Store refusals become INVALID_ARGUMENT; a closed store or an unreachable database UNAVAILABLE (retryable); a
    /// full disk RESOURCE_EXHAUSTED; anything else INTERNAL.
    func write(_ facts: [Fact], audit action: String, subject: AuditSubject, _ detail: String) async throws -> AppendReceipt {
        try await write(facts, audit: [AppendAudit(at: now(), actor: auditActor, action: action, subject: subject, detail: detail)])
    }

    /// ``write(_:audit:subject:_:)`` with any number of audit entries; `facts` are one request (its own fact first).
    func write(_ facts: [Fact], audit: [AppendAudit]) async throws -> AppendReceipt {
        try await write(requests: [facts], audit: audit)
    }

    /// Appends several requests' facts (each its own fact first, then the facts that come with it) in one append.
    func write(requests: [[Fact]], audit: [AppendAudit]) async throws -> AppendReceipt {
        do {
            return try await store.append(requests, conflicts: .keepStored, audit: audit)
        } catch let error as StoreError {
            throw error.rpcStatus
        }
    }

    /// Appends one chunk of a bulk call (`PushInteractions`, `ImportOrders`) in one transaction with an audit entry
    /// (`action`, `detail`); returns each item's outcome and customer (those of its first fact) by its position in the
    /// stream. When the store refuses one of the chunk's facts, nothing of the chunk is stored by that append, and the
    /// items are appended one by one (audited each with `itemDetail`), so that only the refused item is rejected.
    func writeChunk(
        _ items: [(position: Int, facts: [Fact])], audit action: String, subject: String, _ detail: String,
        itemDetail: (_ position: Int) -> String
    ) async throws -> [Int: Result<(outcome: ItemOutcome, customer: String), RPCStatus>] {
        var outcomes: [Int: Result<(outcome: ItemOutcome, customer: String), RPCStatus>] = [:]
        do {
            let receipt = try await write(
                requests: items.map(\.facts), audit: [AppendAudit(at: now(), actor: auditActor, action: action, subject: .text(subject), detail: detail)])
            var cursor = 0
            for item in items {
                outcomes[item.position] = .success((receipt.outcomes[cursor].wire, receipt.customers[cursor]?.rawValue ?? ""))
                cursor += item.facts.count
            }
        } catch let status as RPCStatus where status.code == .invalidArgument {
            for item in items {
                do {
                    let receipt = try await write(item.facts, audit: action, subject: .customerOfFact(0), itemDetail(item.position))
                    outcomes[item.position] = .success((receipt.outcomes[0].wire, receipt.customers[0]?.rawValue ?? ""))
                } catch let status as RPCStatus where status.code == .invalidArgument {
                    outcomes[item.position] = .failure(status)
                }
            }
        }
        return outcomes
    }

    /// Appends an audit entry for a call whose state change is not a fact (tokens, notices already recorded).
    func audit(_ method: String, subject: String, _ detail: String) async throws {
        try await store.appendAudit([AuditEntry(at: now(), actor: auditActor, action: method, subject: subject, detail: detail)])
    }
}

extension StoreError {
    /// The status a store failure answers with.
    var rpcStatus: RPCStatus {
        switch self {
        case .invalidFact, .tooManyFacts, .invalidArgument:
            RPCStatus(code: .invalidArgument, message: description)
        case .closed:
            RPCStatus(code: .unavailable, message: "the store is closed: \(description)")
        case .unavailable:
            RPCStatus(code: .unavailable, message: description)
        case .diskFull:
            RPCStatus(code: .resourceExhausted, message: "no disk space for the data directory: \(description)")
        default:
            RPCStatus(code: .internal, message: "the store failed: \(description)")
        }
    }
}

extension AgentTeamName {
    var wire: AgentTeam {
        switch self {
        case .sales: .sales
        case .afterSales: .afterSales
        case .chinaTeam: .chinaTeam
        case .warehouse: .warehouse
        }
    }
}

/// Whose records a call may see; the one place customer scoping is decided (see
/// ``ServiceEnvironment/recordScope()``).
enum RecordScope: Equatable, Sendable {
    /// Every customer's: staff and adapters.
    case everyone
    /// One customer's only: a customer principal, through self-service.
    case customer(CustomerID)

    /// The one customer the scope is limited to; nil for ``everyone``.
    var customer: CustomerID? {
        switch self {
        case .everyone: nil
        case .customer(let id): id
        }
    }

    /// Whether a record of `owner` (nil: of no customer yet) is in scope.
    func permits(_ owner: CustomerID?) -> Bool {
        switch self {
        case .everyone: true
        case .customer(let id): owner == id
        }
    }

    /// Whether staff's notes (complaint notes, inspectors' remarks) may be shown: not to customers.
    var showsStaffNotes: Bool { self == .everyone }
}

/// Deterministic short ids from idempotency keys (FNV-1a, 64 bits, twice with different seeds).
enum DerivedID {
    static func hex(_ text: String) -> String {
        func fnv(_ seed: UInt64) -> UInt64 {
            var h = seed
            for b in text.utf8 {
                h ^= UInt64(b)
                h = h &* 0x100_0000_01b3
            }
            return h
        }
        let a = fnv(0xcbf2_9ce4_8422_2325), b = fnv(0x84222325_cbf29ce4)
        func pad(_ v: UInt64) -> String {
            let s = String(v, radix: 16)
            return String(repeating: "0", count: 16 - s.count) + s
        }
        return pad(a) + pad(b)
    }

    /// The complaint id of an opening key: `cmp_` and 16 hex digits.
    static func complaint(_ key: FactID) -> String { "cmp_" + hex("complaint/" + key.rawValue).prefix(16) }
}
