package import CRMDomain
package import Foundation

/// The rows of `customer_summaries`: each customer's ``CustomerSummary``, encoded by ``SummaryCodec``.
struct SummaryRows<Tables: StoreTables> {
    let tables: Tables

    /// The stored summary of a customer, or nil when it has none.
    func summary(of customerID: String) throws -> CustomerSummary? {
        guard let data = try tables.summaryBytes(of: customerID) else { return nil }
        return try Self.decode(data, customer: customerID)
    }

    typealias Lookup = SummaryLookup

    /// The stored summary of the customer `handle` belongs to: one statement, one indexed read from any handle.
    func lookUp(handle: Handle) throws -> Lookup {
        SummaryLookup(row: try tables.summaryLookup(handle: handle.canonical))
    }

    /// The stored summary of a customer: one statement. Without a stored summary the id may name no customer at all;
    /// the reader's projection tells.
    func lookUp(customer: String) throws -> Lookup {
        guard let data = try tables.summaryBytes(of: customer) else {
            return .unreadable(customer: customer)
        }
        guard let summary = try? Self.decode(data, customer: customer) else { return .unreadable(customer: customer) }
        return .found(summary)
    }

    /// The stored bytes of a customer's summary (for comparisons in tests and verification).
    func bytes(of customerID: String) throws -> [UInt8]? {
        try tables.summaryBytes(of: customerID).map { [UInt8]($0) }
    }

    func save(_ summary: CustomerSummary) throws {
        let bytes: [UInt8]
        do { bytes = try SummaryCodec.encode(summary) } catch { throw StoreError.writeFailed(reason: error.description) }
        try tables.saveSummary(Data(bytes), of: summary.id.rawValue)
    }

    func delete(_ customerID: String) throws {
        try tables.deleteSummary(of: customerID)
    }

    private static func decode(_ data: Data, customer: String) throws(StoreError) -> CustomerSummary {
        do { return try SummaryCodec.decode(data) } catch { throw .corruptSummary(customer: customer, reason: error.description) }
    }
}

/// Keeps the read model current inside the append's transaction, after the derived tables.
///
/// The common case folds: each fact stored as new is folded into the summary of every customer its handles belong
/// to (``CustomerSummary/fold(_:)``), and each order or complaint whose row was recomputed has its digest moved from
/// its previous owner to its current one. All of it takes one read and one write per customer touched, whatever the
/// customer's history.
///
/// Where a fold cannot be exact the summary is rebuilt from the facts with the domain's projection: a customer that
/// is new, merged, split or renamed (``IdentityChanges/changed``), a customer named by a fact that replaced another
/// with the same id, and a customer whose summary is missing. A customer that no longer exists loses its row.
struct ReadModelMaintenance<Tables: StoreTables> {
    let tables: Tables

    private var owners: [Handle: String?] = [:]
    private var loaded: [String: CustomerSummary] = [:]
    private var rebuild: Set<String> = []
    private let handles: HandleCache

    init(tables: Tables, handles: HandleCache = HandleCache()) {
        self.tables = tables
        self.handles = handles
    }

    /// Applies one append: `inserted` are the facts stored as new, `replaced` the old and new versions of facts
    /// replaced by a conflicting one.
    mutating func apply(_ changes: DerivedChanges, inserted: [Fact], replaced: [Fact]) throws {
        rebuild = changes.identity.changed
        for fact in replaced {
            for handle in fact.mentionedHandles { if let owner = try owner(of: handle) { rebuild.insert(owner) } }
        }
        for fact in inserted {
            var done: Set<String> = []
            for handle in fact.mentionedHandles {
                guard let owner = try owner(of: handle), done.insert(owner).inserted else { continue }
                try modify(owner) { $0.fold(fact) }
            }
        }
        for change in changes.orders {
            if let previous = change.previousOwner, let owner = try owner(ofCanonical: previous) {
                try modify(owner) { $0.removeOrder(change.number) }
            }
            if let view = change.view, let owner = try owner(of: view.record.customer) {
                try modify(owner) { $0.place(OrderDigest(view)) }
            }
        }
        for change in changes.complaints {
            if let previous = change.previousOwner, let owner = try owner(ofCanonical: previous) {
                try modify(owner) { $0.removeComplaint(change.id) }
            }
            if let complaint = change.complaint, let owner = try owner(of: complaint.customer) {
                try modify(owner) { $0.place(ComplaintDigest(complaint)) }
            }
        }

        let rows = SummaryRows(tables: tables)
        for id in changes.identity.removed.subtracting(rebuild) { try rows.delete(id) }
        let loader = ProfileLoader(tables: tables)
        for id in rebuild.sorted() {
            if let profile = try loader.profile(of: id) { try rows.save(profile.summary) } else { try rows.delete(id) }
        }
        for (id, summary) in loaded where !rebuild.contains(id) { try rows.save(summary) }
    }

    /// The customer `handle` belongs to after this append's identity changes.
    mutating func owner(of handle: Handle) throws -> String? {
        if let known = owners[handle] { return known }
        let id = try tables.handleRow(handle.canonical)?.customer
        owners[handle] = id
        return id
    }

    private mutating func owner(ofCanonical canonical: String) throws -> String? {
        try owner(of: handles.handle(canonical: canonical))
    }

    /// Applies `change` to a customer's summary, unless it is to be rebuilt anyway; a customer without a stored
    /// summary is rebuilt.
    private mutating func modify(_ id: String, _ change: (inout CustomerSummary) -> Void) throws {
        guard !rebuild.contains(id) else { return }
        if loaded[id] == nil {
            let stored: CustomerSummary?
            do {
                stored = try SummaryRows(tables: tables).summary(of: id)
            } catch StoreError.corruptSummary {
                // Damaged bytes are no reason to refuse a write: the facts are the truth, rebuild from them.
                stored = nil
            }
            guard let stored else {
                rebuild.insert(id)
                return
            }
            loaded[id] = stored
        }
        change(&loaded[id]!)
    }
}

/// What a look-up of a read model found.
package enum SummaryLookup {
    /// No customer has the handle (or the id).
    case unknown
    /// The customer's stored summary.
    case found(CustomerSummary)
    /// The customer exists, but their summary is missing or cannot be decoded (the next write about them, or
    /// `crmd verify --repair`, rebuilds it); readers project it from the facts meanwhile.
    case unreadable(customer: String)

    /// What a look-up by handle found, from the row of the handle's customer and their stored summary bytes (nil: no
    /// such handle), for a store that reads that row its own way (PostgreSQL's prepared statement).
    package init(row: (customer: String, summary: Data?)?) {
        guard let (customer, data) = row else {
            self = .unknown
            return
        }
        guard let data, let summary = try? SummaryCodec.decode(data) else {
            self = .unreadable(customer: customer)
            return
        }
        self = .found(summary)
    }
}
