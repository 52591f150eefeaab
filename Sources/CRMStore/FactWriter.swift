import CRMDomain
import Foundation

/// What one append touched, so that only that part of the derived state is recomputed.
struct Touched {
    /// The earliest time of the new facts naming each handle.
    var handleTimes: [Handle: Int64] = [:]
    /// Handles whose identity area must be recomputed whatever their first-seen time (links, unlinks, replacements).
    var identitySeeds: Set<Handle> = []
    /// Handles whose first-seen time must be read again from the index (a replaced fact may have held the minimum).
    var firstSeenToRecount: Set<Handle> = []
    /// Handles with new field observations.
    var fieldHandles: Set<Handle> = []
    /// Order numbers whose record or tracking changed.
    var orders: Set<String> = []
    /// Complaints whose opening or steps changed.
    var complaints: Set<String> = []

    mutating func add(_ fact: Fact, replaced: Bool = false) {
        for handle in fact.mentionedHandles {
            handleTimes[handle] = min(handleTimes[handle] ?? .max, fact.observedAt)
            if replaced {
                identitySeeds.insert(handle)
                firstSeenToRecount.insert(handle)
                fieldHandles.insert(handle)
            }
        }
        switch fact.payload {
        case let .identityLink(pair), let .identityUnlink(pair):
            identitySeeds.insert(pair.first)
            identitySeeds.insert(pair.second)
        case let .fieldObservation(o): fieldHandles.insert(o.handle)
        case let .order(o): orders.insert(o.orderNumber.rawValue)
        case let .tracking(t): orders.insert(t.orderNumber.rawValue)
        case let .complaintOpened(c): complaints.insert(c.id.rawValue)
        case let .complaintTransition(s): complaints.insert(s.complaintID.rawValue)
        case .interaction, .rating, .delayNoticeSent, .returnInspection: break
        }
    }
}

/// Writes one append's facts and brings the derived tables up to date, inside the writer's transaction.
package struct FactWriter<Tables: StoreTables> {
    let tables: Tables
    /// Normalised handles, shared with the read model's decoding.
    var handles = HandleCache()

    package init(tables: Tables, handles: HandleCache = HandleCache()) {
        self.tables = tables
        self.handles = handles
    }

    /// Appends the facts, brings the derived tables and the read model up to date, writes `audit` when anything was
    /// stored, and says what happened to each fact and whose it is. `requestStarts` are the indexes of the requests'
    /// first facts: with ``ConflictPolicy/keepStored`` a request whose first fact was stored already stores nothing.
    package func append(
        _ facts: [PreparedFact], requestStarts: [Int], conflicts: ConflictPolicy, audit: [AppendAudit]
    ) throws -> AppendReceipt {
        var touched = Touched()
        var outcomes: [IngestOutcome] = []
        var inserted: [Fact] = []
        var replaced: [Fact] = []
        outcomes.reserveCapacity(facts.count)
        let starts = Set(requestStarts)
        var retried = false
        var skipped: Set<Int> = []
        for (index, p) in facts.enumerated() {
            if starts.contains(index) {
                retried = false
            } else if retried {
                // A retried request adds nothing, not even facts it did not bring the first time.
                outcomes.append(.duplicate)
                skipped.insert(index)
                continue
            }
            if let position = try tables.insertFact(p) {
                try tables.insertKeys(p.keys, kind: p.kind, fact: p.fact, position: position)
                touched.add(p.fact)
                inserted.append(p.fact)
                outcomes.append(.inserted)
            } else {
                outcomes.append(try resolveExisting(p, conflicts: conflicts, touched: &touched, replaced: &replaced))
                if conflicts == .keepStored && starts.contains(index) { retried = true }
            }
        }
        let changes = try DerivedState(tables: tables).update(for: touched)
        var readModel = ReadModelMaintenance(tables: tables, handles: handles)
        try readModel.apply(changes, inserted: inserted, replaced: replaced)
        var customers: [CustomerID?] = []
        customers.reserveCapacity(facts.count)
        for (index, p) in facts.enumerated() {
            guard !skipped.contains(index), let handle = p.fact.mentionedHandles.first, let owner = try readModel.owner(of: handle) else {
                customers.append(nil)
                continue
            }
            do { customers.append(try CustomerID(owner)) } catch { throw StoreError.corruptFact(id: handle.canonical, reason: "\(error)") }
        }
        let receipt = AppendReceipt(outcomes: outcomes, customers: customers)
        if receipt.storedSomething && !audit.isEmpty {
            for entry in audit {
                let subject: String
                switch entry.subject {
                case let .text(text): subject = text
                case let .customerOfFact(index): subject = customers.indices.contains(index) ? customers[index]?.rawValue ?? "" : ""
                }
                try tables.insertAudit(at: entry.at, actor: entry.actor, action: entry.action, subject: subject, detail: entry.detail)
            }
        }
        return receipt
    }

    /// A fact whose id is already stored: a duplicate, or a conflict settled the domain's way (the smaller canonical
    /// encoding stays, whichever arrived first).
    private func resolveExisting(
        _ p: PreparedFact, conflicts: ConflictPolicy, touched: inout Touched, replaced: inout [Fact]
    ) throws -> IngestOutcome {
        guard let stored = try tables.storedFact(id: p.fact.id.rawValue) else {
            throw StoreError.writeFailed(reason: "fact \(p.fact.id) was neither inserted nor found")
        }
        let old: Fact
        do {
            switch try StoredFactResolution(p, stored: stored, conflicts: conflicts, handles: handles) {
            case .duplicate: return .duplicate
            case .keepStored: return .conflict(replaced: false)
            case .replace(let stale): old = stale
            }
        } catch {
            throw StoreError.corruptFact(id: stored.id, reason: error.description)
        }
        try tables.replaceFact(at: stored.seq, with: p)
        try tables.deleteKeys(FactKey.keys(of: old), kind: FactKind(old.payload), observedAt: old.observedAt, factID: old.id.rawValue)
        try tables.insertKeys(p.keys, kind: p.kind, fact: p.fact, position: stored.seq)
        touched.add(old, replaced: true)
        touched.add(p.fact, replaced: true)
        replaced += [old, p.fact]
        return .conflict(replaced: true)
    }
}
