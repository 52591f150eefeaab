import CRMDomain
import Foundation
import GRDB

/// ``StoreTables`` on one SQLite connection: GRDB's cached prepared statements, inside the transaction or read of
/// whoever holds `db`.
struct SQLiteTables: StoreTables {
    let db: Database

    // MARK: Facts and their keys

    private static let insertFactSQL = """
        INSERT INTO facts (fact_id, kind, observed_at, source, payload) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (fact_id) DO NOTHING
        """
    private static let insertKeySQL = "INSERT OR IGNORE INTO fact_keys (key, kind, observed_at, fact_id, fact_seq) VALUES (?, ?, ?, ?, ?)"
    private static let storedFactSQL = "SELECT seq, fact_id, observed_at, source, payload FROM facts WHERE fact_id = ?"
    private static let replaceFactSQL = "UPDATE facts SET kind = ?, observed_at = ?, source = ?, payload = ? WHERE seq = ?"
    private static let deleteKeySQL = "DELETE FROM fact_keys WHERE key = ? AND kind = ? AND observed_at = ? AND fact_id = ?"
    private static let byKeySQL = """
        SELECT f.seq, f.fact_id, f.observed_at, f.source, f.payload
        FROM fact_keys k JOIN facts f ON f.seq = k.fact_seq
        WHERE k.key = ?
        """
    private static let byKeyAndKindsSQL = byKeySQL + " AND k.kind BETWEEN ? AND ?"
    private static let earliestSQL = "SELECT MIN(observed_at) FROM fact_keys WHERE key = ?"
    private static let interactionsSQL = """
        SELECT f.seq, k.fact_id, k.observed_at, f.source, f.payload FROM fact_keys k JOIN facts f ON f.seq = k.fact_seq
        WHERE k.key = ? AND k.kind = \(FactKind.interaction.rawValue)
        """
    private static let interactionsOrder = " ORDER BY k.observed_at DESC, k.fact_id DESC LIMIT ?"
    private static let interactionsFromNewestSQL = interactionsSQL + interactionsOrder
    private static let interactionsBeforeSQL = interactionsSQL + " AND (k.observed_at, k.fact_id) < (?, ?)" + interactionsOrder
    private static let ratingsSQL = """
        SELECT f.seq, f.fact_id, f.observed_at, f.source, f.payload FROM fact_keys k JOIN facts f ON f.seq = k.fact_seq
        WHERE k.key = ? AND k.kind = ? AND k.observed_at >= ? AND k.observed_at < ?
        ORDER BY k.observed_at, k.fact_id
        """
    private static let insertAuditSQL = "INSERT INTO audit_log (at, actor, action, subject, detail) VALUES (?, ?, ?, ?, ?)"

    func insertFact(_ p: PreparedFact) throws -> Int64? {
        try db.cachedStatement(sql: Self.insertFactSQL)
            .execute(arguments: [p.fact.id.rawValue, p.kind.rawValue, p.fact.observedAt, Int64(p.sourceCode), p.payload])
        return db.changesCount > 0 ? db.lastInsertedRowID : nil
    }

    func insertKeys(_ keys: [String], kind: FactKind, fact: Fact, position: Int64) throws {
        let statement = try db.cachedStatement(sql: Self.insertKeySQL)
        for key in keys {
            try statement.execute(arguments: [key, kind.rawValue, fact.observedAt, fact.id.rawValue, position])
        }
    }

    func storedFact(id: String) throws -> StoredFactRow? {
        try Row.fetchOne(db.cachedStatement(sql: Self.storedFactSQL), arguments: [id]).map { Self.factRow($0) }
    }

    func replaceFact(at position: Int64, with p: PreparedFact) throws {
        try db.cachedStatement(sql: Self.replaceFactSQL)
            .execute(arguments: [p.kind.rawValue, p.fact.observedAt, Int64(p.sourceCode), p.payload, position])
    }

    func deleteKeys(_ keys: [String], kind: FactKind, observedAt: Int64, factID: String) throws {
        let statement = try db.cachedStatement(sql: Self.deleteKeySQL)
        for key in keys { try statement.execute(arguments: [key, kind.rawValue, observedAt, factID]) }
    }

    func factRows(key: String, kinds: ClosedRange<FactKind.RawValue>?) throws -> [StoredFactRow] {
        if let kinds {
            return try factRows(db.cachedStatement(sql: Self.byKeyAndKindsSQL), [key, kinds.lowerBound, kinds.upperBound])
        }
        return try factRows(db.cachedStatement(sql: Self.byKeySQL), [key])
    }

    func earliestObservation(key: String) throws -> Int64? {
        try Int64.fetchOne(db.cachedStatement(sql: Self.earliestSQL), arguments: [key])
    }

    func interactionRows(key: String, before cursor: TimelineCursor?, limit: Int) throws -> [StoredFactRow] {
        if let cursor {
            return try factRows(db.cachedStatement(sql: Self.interactionsBeforeSQL), [key, cursor.at, cursor.factID.rawValue, limit])
        }
        return try factRows(db.cachedStatement(sql: Self.interactionsFromNewestSQL), [key, limit])
    }

    func ratingRows(in period: TimeRange) throws -> [StoredFactRow] {
        try factRows(
            db.cachedStatement(sql: Self.ratingsSQL), [FactKey.ratings, FactKind.rating.rawValue, period.start, period.end])
    }

    func insertAudit(at: Int64, actor: String, action: String, subject: String, detail: String) throws {
        try db.cachedStatement(sql: Self.insertAuditSQL).execute(arguments: [at, actor, action, subject, detail])
    }

    private func factRows(_ statement: Statement, _ arguments: StatementArguments) throws -> [StoredFactRow] {
        var result: [StoredFactRow] = []
        let cursor = try Row.fetchCursor(statement, arguments: arguments)
        while let row = try cursor.next() { result.append(Self.factRow(row)) }
        return result
    }

    /// A row of `seq, fact_id, observed_at, source, payload`.
    private static func factRow(_ row: Row, from column: Int = 0) -> StoredFactRow {
        StoredFactRow(
            seq: row[column], id: row[column + 1], observedAt: row[column + 2],
            sourceCode: UInt8(truncatingIfNeeded: row[column + 3] as Int64), payload: row[column + 4])
    }

    // MARK: Handles and customers

    private static let handleRowSQL = "SELECT customer_id, first_seen_at FROM handles WHERE handle = ?"
    private static let saveHandleSQL = """
        INSERT INTO handles (handle, customer_id, first_seen_at) VALUES (?, ?, ?)
        ON CONFLICT (handle) DO UPDATE SET customer_id = excluded.customer_id, first_seen_at = excluded.first_seen_at
        """
    private static let deleteHandleSQL = "DELETE FROM handles WHERE handle = ?"
    private static let membersSQL = "SELECT handle FROM handles WHERE customer_id = ? ORDER BY handle"
    private static let anyHandleSQL = "SELECT 1 FROM handles WHERE customer_id = ? LIMIT 1"
    private static let ownerAndAnchorSQL = """
        SELECT h.customer_id, c.anchor FROM handles h LEFT JOIN customers c ON c.customer_id = h.customer_id WHERE h.handle = ?
        """
    /// One statement instead of one for the members and one per member.
    private static let memberFactsSQL = """
        SELECT m.handle, f.seq, f.fact_id, f.observed_at, f.source, f.payload
        FROM handles m JOIN fact_keys k ON k.key = 'h/' || m.handle JOIN facts f ON f.seq = k.fact_seq
        WHERE m.customer_id = ?
        """
    private static let saveCustomerSQL = """
        INSERT INTO customers (customer_id, anchor, first_seen_at) VALUES (?, ?, ?)
        ON CONFLICT (customer_id) DO UPDATE SET anchor = excluded.anchor, first_seen_at = excluded.first_seen_at
        """
    private static let anchorSQL = "SELECT anchor FROM customers WHERE customer_id = ?"
    private static let setFieldsSQL = "UPDATE customers SET name = ?, company = ?, city = ? WHERE customer_id = ?"
    private static let deleteWordsSQL = "DELETE FROM customer_name_words WHERE customer_id = ?"
    private static let insertWordSQL = "INSERT OR IGNORE INTO customer_name_words (word, customer_id) VALUES (?, ?)"
    private static let deleteCustomerSQL = "DELETE FROM customers WHERE customer_id = ?"
    private static let fieldsSQL = "SELECT name, company, city FROM customers WHERE customer_id = ?"
    private static let wordPrefixSQL = "SELECT DISTINCT customer_id FROM customer_name_words WHERE word >= ? AND word < ? LIMIT ?"

    func handleRow(_ handle: String) throws -> HandleRow? {
        try Row.fetchOne(db.cachedStatement(sql: Self.handleRowSQL), arguments: [handle]).map {
            HandleRow(customer: $0[0], firstSeenAt: $0[1])
        }
    }

    func saveHandle(_ handle: String, customer: String, firstSeenAt: Int64) throws {
        try db.cachedStatement(sql: Self.saveHandleSQL).execute(arguments: [handle, customer, firstSeenAt])
    }

    func deleteHandle(_ handle: String) throws {
        try db.cachedStatement(sql: Self.deleteHandleSQL).execute(arguments: [handle])
    }

    func members(of customer: String) throws -> [String] {
        try String.fetchAll(db.cachedStatement(sql: Self.membersSQL), arguments: [customer])
    }

    func hasHandles(_ customer: String) throws -> Bool {
        try Int64.fetchOne(db.cachedStatement(sql: Self.anyHandleSQL), arguments: [customer]) != nil
    }

    func ownerAndAnchor(of handle: String) throws -> (customer: String, anchor: String?)? {
        try Row.fetchOne(db.cachedStatement(sql: Self.ownerAndAnchorSQL), arguments: [handle]).map { ($0[0], $0[1]) }
    }

    func memberFactRows(of customer: String) throws -> [(handle: String, row: StoredFactRow)] {
        var result: [(handle: String, row: StoredFactRow)] = []
        result.reserveCapacity(32)
        let cursor = try Row.fetchCursor(db.cachedStatement(sql: Self.memberFactsSQL), arguments: [customer])
        while let row = try cursor.next() { result.append((row[0], Self.factRow(row, from: 1))) }
        return result
    }

    func saveCustomer(_ customer: String, anchor: String, firstSeenAt: Int64) throws {
        try db.cachedStatement(sql: Self.saveCustomerSQL).execute(arguments: [customer, anchor, firstSeenAt])
    }

    func anchor(of customer: String) throws -> String? {
        try String.fetchOne(db.cachedStatement(sql: Self.anchorSQL), arguments: [customer])
    }

    func saveFields(of customer: String, name: String?, company: String?, city: String?, nameWords: Set<String>) throws {
        try db.cachedStatement(sql: Self.setFieldsSQL).execute(arguments: [name, company, city, customer])
        try db.cachedStatement(sql: Self.deleteWordsSQL).execute(arguments: [customer])
        let insert = try db.cachedStatement(sql: Self.insertWordSQL)
        for word in nameWords { try insert.execute(arguments: [word, customer]) }
    }

    func deleteCustomer(_ customer: String) throws {
        try db.cachedStatement(sql: Self.deleteCustomerSQL).execute(arguments: [customer])
        try db.cachedStatement(sql: Self.deleteWordsSQL).execute(arguments: [customer])
    }

    func fields(of customer: String) throws -> (name: String?, company: String?, city: String?)? {
        try Row.fetchOne(db.cachedStatement(sql: Self.fieldsSQL), arguments: [customer]).map { ($0[0], $0[1], $0[2]) }
    }

    func customers(withNameWordPrefix prefix: String, limit: Int) throws -> [String] {
        try String.fetchAll(db.cachedStatement(sql: Self.wordPrefixSQL), arguments: [prefix, prefix + "\u{10FFFF}", limit])
    }

    // MARK: Orders and complaints

    private static let orderOwnerSQL = "SELECT customer_handle FROM orders WHERE order_number = ?"
    private static let saveOrderSQL = """
        INSERT OR REPLACE INTO orders (order_number, customer_handle, record_fact_id, placed_at, estimated_delivery_at,
            status, is_final, subtotal, total, delivered_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """
    private static let deleteOrderSQL = "DELETE FROM orders WHERE order_number = ?"
    private static let ordersOfHandleSQL = "SELECT order_number FROM orders WHERE customer_handle = ?"
    private static let overdueSQL = """
        SELECT order_number FROM orders WHERE is_final = 0 AND estimated_delivery_at < ?
        ORDER BY estimated_delivery_at, order_number LIMIT ?
        """
    private static let buyersSQL = """
        SELECT DISTINCT h.customer_id FROM orders o JOIN handles h ON h.handle = o.customer_handle
        WHERE o.placed_at >= ? AND o.placed_at < ? ORDER BY h.customer_id
        """
    private static let complaintOwnerSQL = "SELECT customer_handle FROM complaints WHERE complaint_id = ?"
    private static let saveComplaintSQL = """
        INSERT OR REPLACE INTO complaints (complaint_id, customer_handle, order_number, category, state, opened_at,
            first_response_at, resolved_at, decided_at, refund_total)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """
    private static let deleteComplaintSQL = "DELETE FROM complaints WHERE complaint_id = ?"
    private static let complaintsOfHandleSQL = "SELECT complaint_id FROM complaints WHERE customer_handle = ?"
    private static let complaintQueueSQL = """
        SELECT opened_at, complaint_id FROM complaints WHERE state = ? AND opened_at < ?
        ORDER BY opened_at, complaint_id LIMIT ?
        """
    private static let complaintsInPeriodSQL = """
        SELECT complaint_id FROM complaints WHERE opened_at >= ?1 AND opened_at < ?2
        UNION SELECT complaint_id FROM complaints WHERE decided_at >= ?1 AND decided_at < ?2
        """

    func orderOwner(_ number: String) throws -> String? {
        try String.fetchOne(db.cachedStatement(sql: Self.orderOwnerSQL), arguments: [number])
    }

    func saveOrder(_ r: OrderRow) throws {
        try db.cachedStatement(sql: Self.saveOrderSQL).execute(arguments: [
            r.number, r.customerHandle, r.recordFactID, r.placedAt, r.estimatedDeliveryAt, r.status, r.isFinal, r.subtotal,
            r.total, r.deliveredAt,
        ])
    }

    func deleteOrder(_ number: String) throws {
        try db.cachedStatement(sql: Self.deleteOrderSQL).execute(arguments: [number])
    }

    func orderNumbers(ofHandle handle: String) throws -> [String] {
        try String.fetchAll(db.cachedStatement(sql: Self.ordersOfHandleSQL), arguments: [handle])
    }

    func overdueOrderNumbers(now: Int64, limit: Int) throws -> [String] {
        try String.fetchAll(db.cachedStatement(sql: Self.overdueSQL), arguments: [now, limit])
    }

    func buyers(placedFrom from: Int64, to: Int64) throws -> [String] {
        try String.fetchAll(db.cachedStatement(sql: Self.buyersSQL), arguments: [from, to])
    }

    func complaintOwner(_ id: String) throws -> String? {
        try String.fetchOne(db.cachedStatement(sql: Self.complaintOwnerSQL), arguments: [id])
    }

    func saveComplaint(_ r: ComplaintRow) throws {
        try db.cachedStatement(sql: Self.saveComplaintSQL).execute(arguments: [
            r.id, r.customerHandle, r.orderNumber, r.category, r.state, r.openedAt, r.firstResponseAt, r.resolvedAt,
            r.decidedAt, r.refundTotal,
        ])
    }

    func deleteComplaint(_ id: String) throws {
        try db.cachedStatement(sql: Self.deleteComplaintSQL).execute(arguments: [id])
    }

    func complaintIDs(ofHandle handle: String) throws -> [String] {
        try String.fetchAll(db.cachedStatement(sql: Self.complaintsOfHandleSQL), arguments: [handle])
    }

    func complaintQueue(state: ComplaintState, openedBefore: Int64, limit: Int) throws -> [(openedAt: Int64, id: String)] {
        try Row.fetchAll(db.cachedStatement(sql: Self.complaintQueueSQL), arguments: [state.rawValue, openedBefore, limit])
            .map { ($0[0], $0[1]) }
    }

    func complaintIDs(openedOrDecidedIn period: TimeRange) throws -> [String] {
        try String.fetchAll(db.cachedStatement(sql: Self.complaintsInPeriodSQL), arguments: [period.start, period.end])
    }

    // MARK: Read model

    private static let summarySQL = "SELECT summary FROM customer_summaries WHERE customer_id = ?"
    private static let summaryByHandleSQL = """
        SELECT h.customer_id, s.summary FROM handles h LEFT JOIN customer_summaries s ON s.customer_id = h.customer_id
        WHERE h.handle = ?
        """
    private static let saveSummarySQL = """
        INSERT INTO customer_summaries (customer_id, summary) VALUES (?, ?)
        ON CONFLICT (customer_id) DO UPDATE SET summary = excluded.summary
        """
    private static let deleteSummarySQL = "DELETE FROM customer_summaries WHERE customer_id = ?"

    func summaryBytes(of customer: String) throws -> Data? {
        try Data.fetchOne(db.cachedStatement(sql: Self.summarySQL), arguments: [customer])
    }

    func summaryLookup(handle: String) throws -> (customer: String, summary: Data?)? {
        try Row.fetchOne(db.cachedStatement(sql: Self.summaryByHandleSQL), arguments: [handle]).map { ($0[0], $0[1]) }
    }

    func saveSummary(_ bytes: Data, of customer: String) throws {
        try db.cachedStatement(sql: Self.saveSummarySQL).execute(arguments: [customer, bytes])
    }

    func deleteSummary(of customer: String) throws {
        try db.cachedStatement(sql: Self.deleteSummarySQL).execute(arguments: [customer])
    }
}
