package import CRMDomain
package import Foundation

/// The statements a store's logic runs, one method per statement, so that the logic (appending facts, keeping the
/// derived tables and the read model, projecting profiles, answering queries) is written once and each database
/// keeps only its own SQL: ``SQLiteTables`` for the embedded file, `PostgresTables` for a PostgreSQL server.
///
/// Calls are synchronous: an implementation runs on the thread of the transaction or read it belongs to (SQLite's
/// writer queue or a reader, or a thread holding a PostgreSQL connection), and every call of one write runs inside
/// that write's transaction. Canonical handles (``Handle/canonical``), customer ids, order numbers and complaint ids
/// are passed as their stored text.
package protocol StoreTables {
    // MARK: Facts and their keys

    /// Inserts a fact unless its id is stored; returns its position when it was inserted, nil when the id was there.
    func insertFact(_ fact: PreparedFact) throws -> Int64?
    /// Files a stored fact under `keys` (a key it is filed under already is left alone).
    func insertKeys(_ keys: [String], kind: FactKind, fact: Fact, position: Int64) throws
    /// The stored fact with id `id`.
    func storedFact(id: String) throws -> StoredFactRow?
    /// Replaces the content of the fact at `position` (its id stays).
    func replaceFact(at position: Int64, with fact: PreparedFact) throws
    /// Removes the filing of the fact `id` observed at `observedAt` of kind `kind` under `keys`.
    func deleteKeys(_ keys: [String], kind: FactKind, observedAt: Int64, factID: String) throws
    /// The facts filed under `key`, of `kinds` when given.
    func factRows(key: String, kinds: ClosedRange<FactKind.RawValue>?) throws -> [StoredFactRow]
    /// The earliest time of a fact filed under `key`.
    func earliestObservation(key: String) throws -> Int64?
    /// The interactions filed under `key`, newest first (by time, then fact id), strictly before `cursor` when given.
    func interactionRows(key: String, before cursor: TimelineCursor?, limit: Int) throws -> [StoredFactRow]
    /// The ratings observed in `period`, by time then fact id.
    func ratingRows(in period: TimeRange) throws -> [StoredFactRow]
    /// Appends an entry to the audit trail.
    func insertAudit(at: Int64, actor: String, action: String, subject: String, detail: String) throws

    // MARK: Handles and customers

    /// The customer a handle belongs to and when it was first seen.
    func handleRow(_ handle: String) throws -> HandleRow?
    /// Writes which customer a handle belongs to and when it was first seen.
    func saveHandle(_ handle: String, customer: String, firstSeenAt: Int64) throws
    func deleteHandle(_ handle: String) throws
    /// The handles of a customer, ascending.
    func members(of customer: String) throws -> [String]
    /// Whether any handle belongs to `customer`.
    func hasHandles(_ customer: String) throws -> Bool
    /// The customer a handle belongs to and that customer's anchor, in one read.
    func ownerAndAnchor(of handle: String) throws -> (customer: String, anchor: String?)?
    /// Every fact naming a handle of `customer`, with the handle it is filed under (a fact naming two of them comes
    /// twice).
    func memberFactRows(of customer: String) throws -> [(handle: String, row: StoredFactRow)]
    func saveCustomer(_ customer: String, anchor: String, firstSeenAt: Int64) throws
    func anchor(of customer: String) throws -> String?
    /// Sets a customer's current name, company and city, and the words their name is found by.
    func saveFields(of customer: String, name: String?, company: String?, city: String?, nameWords: Set<String>) throws
    /// Removes a customer's row and name words.
    func deleteCustomer(_ customer: String) throws
    /// A customer's current name, company and city; nil when the customer is unknown.
    func fields(of customer: String) throws -> (name: String?, company: String?, city: String?)?
    /// Customers with a name word starting with `prefix`, at most `limit`.
    func customers(withNameWordPrefix prefix: String, limit: Int) throws -> [String]

    // MARK: Orders and complaints

    /// The handle an order's row names.
    func orderOwner(_ number: String) throws -> String?
    func saveOrder(_ row: OrderRow) throws
    func deleteOrder(_ number: String) throws
    /// The orders whose row names `handle`.
    func orderNumbers(ofHandle handle: String) throws -> [String]
    /// Orders not final whose estimate is before `now`, oldest estimate first.
    func overdueOrderNumbers(now: Int64, limit: Int) throws -> [String]
    /// The customers with an order placed at or after `from` and before `to`, ascending.
    func buyers(placedFrom from: Int64, to: Int64) throws -> [String]
    /// The handle a complaint's row names.
    func complaintOwner(_ id: String) throws -> String?
    func saveComplaint(_ row: ComplaintRow) throws
    func deleteComplaint(_ id: String) throws
    /// The complaints whose row names `handle`.
    func complaintIDs(ofHandle handle: String) throws -> [String]
    /// Complaints in `state` opened before `openedBefore`, oldest first.
    func complaintQueue(state: ComplaintState, openedBefore: Int64, limit: Int) throws -> [(openedAt: Int64, id: String)]
    /// Complaints opened or decided in `period`.
    func complaintIDs(openedOrDecidedIn period: TimeRange) throws -> [String]

    // MARK: Read model

    /// The stored summary bytes of a customer.
    func summaryBytes(of customer: String) throws -> Data?
    /// The customer a handle belongs to and their stored summary bytes, in one read.
    func summaryLookup(handle: String) throws -> (customer: String, summary: Data?)?
    func saveSummary(_ bytes: Data, of customer: String) throws
    func deleteSummary(of customer: String) throws
}

/// A `handles` row.
package struct HandleRow: Sendable {
    package let customer: String
    package let firstSeenAt: Int64

    package init(customer: String, firstSeenAt: Int64) {
        self.customer = customer
        self.firstSeenAt = firstSeenAt
    }
}

/// An `orders` row: the winning record of an order and the status its tracking gives.
package struct OrderRow: Sendable {
    package let number: String
    package let customerHandle: String
    package let recordFactID: String
    package let placedAt: Int64
    /// The estimate in force; an order without one is never overdue, so it holds `Int64.max`.
    package let estimatedDeliveryAt: Int64
    package let status: String
    package let isFinal: Bool
    package let subtotal: Int64
    package let total: Int64
    package let deliveredAt: Int64?
}

/// A `complaints` row: state and clocks folded from a complaint's opening and steps.
package struct ComplaintRow: Sendable {
    package let id: String
    package let customerHandle: String
    package let orderNumber: String
    package let category: String
    package let state: String
    package let openedAt: Int64
    package let firstResponseAt: Int64?
    package let resolvedAt: Int64?
    package let decidedAt: Int64?
    package let refundTotal: Int64?
}

extension StoreTables {
    /// Decoded facts under `key`, optionally of some kinds.
    func facts(key: String, kinds: ClosedRange<FactKind.RawValue>? = nil, handles: HandleCache = HandleCache()) throws -> [Fact] {
        try factRows(key: key, kinds: kinds).map { try $0.decoded(handles: handles) }
    }

    func factRows(key: String) throws -> [StoredFactRow] { try factRows(key: key, kinds: nil) }
}
