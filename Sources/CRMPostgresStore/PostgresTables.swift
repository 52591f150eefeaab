import CRMDomain
import CRMStore
import Foundation
import Logging
import PostgresNIO

/// One PostgreSQL connection used synchronously, for the store's logic (``StoreTables`` is synchronous so that it is
/// written once for SQLite and PostgreSQL): each statement waits for its answer.
///
/// It must run on a thread of its own (a dispatch queue's), never on an event loop (NIO refuses the wait there) nor on
/// the Swift concurrency pool (a waiting thread would starve it). Every value is a bound parameter of the statement
/// (postgres-nio's `PostgresQuery` interpolation), never part of its text.
struct BlockingConnection: @unchecked Sendable {
    let connection: PostgresConnection
    let logger: Logger
    /// How long one statement may take before the connection is closed and the statement fails with
    /// ``StatementTimedOut``; nil for no bound.
    var deadline: TimeAmount? = nil

    /// Runs one statement and returns its rows.
    @discardableResult
    func query(_ query: PostgresQuery) throws -> PostgresQueryResult {
        guard let deadline else { return try connection.query(query, logger: logger).wait() }
        return try connection.answer(to: query, logger: logger, within: deadline).wait()
    }

    /// Runs one statement and returns how many rows it changed.
    func execute(_ query: PostgresQuery) throws -> Int {
        try self.query(query).metadata.rows ?? 0
    }
}

/// A statement that had no answer within its bound; its connection was closed.
struct StatementTimedOut: Error, CustomStringConvertible {
    let after: TimeAmount

    var description: String {
        "the database did not answer a statement within \(Double(after.nanoseconds) / 1e9) s (the server was lost, or "
            + "a commit waits for a synchronous standby that does not answer); the connection was closed"
    }
}

extension PostgresConnection {
    /// The answer to `query`, or, when none has come within `limit`, ``StatementTimedOut`` and the connection closed.
    ///
    /// The bound holds even when the answer never comes (a server lost mid-statement whose connection postgres-nio
    /// does not fail).
    func answer(to query: PostgresQuery, logger: Logger, within limit: TimeAmount) -> EventLoopFuture<PostgresQueryResult> {
        let answer = self.query(query, logger: logger)
        let bounded = answer.eventLoop.makePromise(of: PostgresQueryResult.self)
        answer.cascade(to: bounded)
        let timer = answer.eventLoop.scheduleTask(in: limit) {
            bounded.fail(StatementTimedOut(after: limit))
            self.close().whenComplete { _ in }
        }
        bounded.futureResult.whenComplete { _ in timer.cancel() }
        return bounded.futureResult
    }
}

/// ``StoreTables`` on one PostgreSQL connection, inside the transaction or read of whoever holds it.
///
/// Text columns keep the server's collation, so every order and range whose result must equal SQLite's (which
/// compares text byte by byte) says `COLLATE "C"`.
struct PostgresTables: StoreTables {
    let db: BlockingConnection
    /// In an append transaction, the writes held back until its end and what it remembers (``BatchBuffer``); nil
    /// for reads, which write nothing and run every statement as it comes.
    var buffer: BatchBuffer? = nil

    // MARK: Facts and their keys

    func insertFact(_ p: PreparedFact) throws -> Int64? {
        let rows = try db.query("""
            INSERT INTO facts (fact_id, kind, observed_at, source, payload)
            VALUES (\(p.fact.id.rawValue), \(Int16(p.kind.rawValue)), \(p.fact.observedAt), \(Int16(p.sourceCode)), \(p.payload))
            ON CONFLICT (fact_id) DO NOTHING RETURNING seq
            """).rows
        return try rows.first?.decode(Int64.self)
    }

    func insertKeys(_ keys: [String], kind: FactKind, fact: Fact, position: Int64) throws {
        guard !keys.isEmpty else { return }
        if let buffer {
            buffer.holdKeys(keys, kind: Int16(kind.rawValue), observedAt: fact.observedAt, factID: fact.id.rawValue, position: position)
            return
        }
        try db.query("""
            INSERT INTO fact_keys (key, kind, observed_at, fact_id, fact_seq)
            SELECT k, \(Int16(kind.rawValue)), \(fact.observedAt), \(fact.id.rawValue), \(position) FROM unnest(\(keys)::text[]) AS k
            ON CONFLICT DO NOTHING
            """)
    }

    func storedFact(id: String) throws -> StoredFactRow? {
        try factRows("SELECT seq, fact_id, observed_at, source, payload FROM facts WHERE fact_id = \(id)").first
    }

    func replaceFact(at position: Int64, with p: PreparedFact) throws {
        try db.query("""
            UPDATE facts SET kind = \(Int16(p.kind.rawValue)), observed_at = \(p.fact.observedAt), source = \(Int16(p.sourceCode)),
                payload = \(p.payload)
            WHERE seq = \(position)
            """)
    }

    func deleteKeys(_ keys: [String], kind: FactKind, observedAt: Int64, factID: String) throws {
        try sendHeldKeys()
        try db.query("""
            DELETE FROM fact_keys
            WHERE key = ANY(\(keys)::text[]) AND kind = \(Int16(kind.rawValue)) AND observed_at = \(observedAt) AND fact_id = \(factID)
            """)
    }

    func factRows(key: String, kinds: ClosedRange<FactKind.RawValue>?) throws -> [StoredFactRow] {
        let low = Int16(kinds?.lowerBound ?? FactKind.allCases.map(\.rawValue).min()!)
        let high = Int16(kinds?.upperBound ?? FactKind.allCases.map(\.rawValue).max()!)
        try sendHeldKeys()
        return try factRows("""
            SELECT f.seq, f.fact_id, f.observed_at, f.source, f.payload
            FROM fact_keys k JOIN facts f ON f.seq = k.fact_seq
            WHERE k.key = \(key) AND k.kind BETWEEN \(low) AND \(high)
            """)
    }

    func earliestObservation(key: String) throws -> Int64? {
        try sendHeldKeys()
        return try db.query("SELECT min(observed_at) FROM fact_keys WHERE key = \(key)").rows.first?.decode(Int64?.self)
    }

    func interactionRows(key: String, before cursor: TimelineCursor?, limit: Int) throws -> [StoredFactRow] {
        let kind = Int16(FactKind.interaction.rawValue)
        // Without a cursor, one past the greatest time: every interaction is before it.
        let at = cursor?.at ?? .max
        let id = cursor?.factID.rawValue ?? ""
        let newestFirst = cursor == nil
        try sendHeldKeys()
        return try factRows("""
            SELECT f.seq, k.fact_id, k.observed_at, f.source, f.payload FROM fact_keys k JOIN facts f ON f.seq = k.fact_seq
            WHERE k.key = \(key) AND k.kind = \(kind)
                AND (\(newestFirst) OR (k.observed_at, k.fact_id COLLATE "C") < (\(at), \(id) COLLATE "C"))
            ORDER BY k.observed_at DESC, k.fact_id COLLATE "C" DESC LIMIT \(Int64(limit))
            """)
    }

    func ratingRows(in period: TimeRange) throws -> [StoredFactRow] {
        try sendHeldKeys()
        return try factRows("""
            SELECT f.seq, f.fact_id, f.observed_at, f.source, f.payload FROM fact_keys k JOIN facts f ON f.seq = k.fact_seq
            WHERE k.key = \(FactKey.ratings) AND k.kind = \(Int16(FactKind.rating.rawValue))
                AND k.observed_at >= \(period.start) AND k.observed_at < \(period.end)
            ORDER BY k.observed_at, k.fact_id COLLATE "C"
            """)
    }

    func insertAudit(at: Int64, actor: String, action: String, subject: String, detail: String) throws {
        if let buffer {
            buffer.holdAudit(at: at, actor: actor, action: action, subject: subject, detail: detail)
            return
        }
        try db.query("""
            INSERT INTO audit_log (at, actor, action, subject, detail) VALUES (\(at), \(actor), \(action), \(subject), \(detail))
            """)
    }

    /// Sends the keys an append transaction holds back, before a statement that reads or deletes `fact_keys`.
    private func sendHeldKeys() throws {
        try buffer?.sendKeys(on: db)
    }

    /// The rows of a statement selecting `seq, fact_id, observed_at, source, payload`.
    private func factRows(_ query: PostgresQuery) throws -> [StoredFactRow] {
        try db.query(query).rows.map { row in
            let (seq, id, observedAt, source, payload) = try row.decode((Int64, String, Int64, Int16, Data).self)
            return StoredFactRow(seq: seq, id: id, observedAt: observedAt, sourceCode: UInt8(truncatingIfNeeded: source), payload: payload)
        }
    }

    // MARK: Handles and customers

    func handleRow(_ handle: String) throws -> HandleRow? {
        guard let buffer else {
            return try db.query("SELECT customer_id, first_seen_at FROM handles WHERE handle = \(handle)").rows.first.map {
                let (customer, firstSeenAt) = try $0.decode((String, Int64).self)
                return HandleRow(customer: customer, firstSeenAt: firstSeenAt)
            }
        }
        if let known = buffer.handleRow(handle) { return known }
        // The customer's summary comes along: an append reads the handle's owner, then folds into their summary.
        let found = try db.query("""
            SELECT h.customer_id, h.first_seen_at, s.summary
            FROM handles h LEFT JOIN customer_summaries s ON s.customer_id = h.customer_id WHERE h.handle = \(handle)
            """).rows.first.map { try $0.decode((String, Int64, Data?).self) }
        guard let (customer, firstSeenAt, summary) = found else {
            buffer.remember(nil, of: handle)
            return nil
        }
        let row = HandleRow(customer: customer, firstSeenAt: firstSeenAt)
        buffer.remember(row, of: handle)
        if buffer.summary(of: customer) == nil { buffer.rememberStored(summary, of: customer) }
        return row
    }

    func saveHandle(_ handle: String, customer: String, firstSeenAt: Int64) throws {
        try db.query("""
            INSERT INTO handles (handle, customer_id, first_seen_at) VALUES (\(handle), \(customer), \(firstSeenAt))
            ON CONFLICT (handle) DO UPDATE SET customer_id = excluded.customer_id, first_seen_at = excluded.first_seen_at
            """)
        buffer?.remember(HandleRow(customer: customer, firstSeenAt: firstSeenAt), of: handle)
    }

    func deleteHandle(_ handle: String) throws {
        try db.query("DELETE FROM handles WHERE handle = \(handle)")
        buffer?.remember(nil, of: handle)
    }

    func members(of customer: String) throws -> [String] {
        try strings("SELECT handle FROM handles WHERE customer_id = \(customer) ORDER BY handle COLLATE \"C\"")
    }

    func hasHandles(_ customer: String) throws -> Bool {
        try !db.query("SELECT 1 FROM handles WHERE customer_id = \(customer) LIMIT 1").rows.isEmpty
    }

    func ownerAndAnchor(of handle: String) throws -> (customer: String, anchor: String?)? {
        try db.query("""
            SELECT h.customer_id, c.anchor FROM handles h LEFT JOIN customers c ON c.customer_id = h.customer_id
            WHERE h.handle = \(handle)
            """).rows.first.map { try $0.decode((String, String?).self) }
    }

    func memberFactRows(of customer: String) throws -> [(handle: String, row: StoredFactRow)] {
        try sendHeldKeys()
        return try db.query("""
            SELECT m.handle, f.seq, f.fact_id, f.observed_at, f.source, f.payload
            FROM handles m JOIN fact_keys k ON k.key = 'h/' || m.handle JOIN facts f ON f.seq = k.fact_seq
            WHERE m.customer_id = \(customer)
            """).rows.map { row in
            let (handle, seq, id, observedAt, source, payload) = try row.decode((String, Int64, String, Int64, Int16, Data).self)
            return (handle, StoredFactRow(seq: seq, id: id, observedAt: observedAt, sourceCode: UInt8(truncatingIfNeeded: source), payload: payload))
        }
    }

    func saveCustomer(_ customer: String, anchor: String, firstSeenAt: Int64) throws {
        try db.query("""
            INSERT INTO customers (customer_id, anchor, first_seen_at) VALUES (\(customer), \(anchor), \(firstSeenAt))
            ON CONFLICT (customer_id) DO UPDATE SET anchor = excluded.anchor, first_seen_at = excluded.first_seen_at
            """)
    }

    func anchor(of customer: String) throws -> String? {
        try db.query("SELECT anchor FROM customers WHERE customer_id = \(customer)").rows.first?.decode(String.self)
    }

    func saveFields(of customer: String, name: String?, company: String?, city: String?, nameWords: Set<String>) throws {
        try db.query("UPDATE customers SET name = \(name), company = \(company), city = \(city) WHERE customer_id = \(customer)")
        try db.query("DELETE FROM customer_name_words WHERE customer_id = \(customer)")
        guard !nameWords.isEmpty else { return }
        try db.query("""
            INSERT INTO customer_name_words (word, customer_id) SELECT w, \(customer) FROM unnest(\(Array(nameWords))::text[]) AS w
            ON CONFLICT DO NOTHING
            """)
    }

    func deleteCustomer(_ customer: String) throws {
        try db.query("DELETE FROM customers WHERE customer_id = \(customer)")
        try db.query("DELETE FROM customer_name_words WHERE customer_id = \(customer)")
    }

    func fields(of customer: String) throws -> (name: String?, company: String?, city: String?)? {
        try db.query("SELECT name, company, city FROM customers WHERE customer_id = \(customer)").rows.first.map {
            try $0.decode((String?, String?, String?).self)
        }
    }

    func customers(withNameWordPrefix prefix: String, limit: Int) throws -> [String] {
        try strings("""
            SELECT DISTINCT customer_id FROM customer_name_words WHERE word >= \(prefix) AND word < \(prefix + "\u{10FFFF}")
            LIMIT \(Int64(limit))
            """)
    }

    // MARK: Orders and complaints

    func orderOwner(_ number: String) throws -> String? {
        try db.query("SELECT customer_handle FROM orders WHERE order_number = \(number)").rows.first?.decode(String.self)
    }

    func saveOrder(_ r: OrderRow) throws {
        try db.query("""
            INSERT INTO orders (order_number, customer_handle, record_fact_id, placed_at, estimated_delivery_at, status, is_final,
                subtotal, total, delivered_at)
            VALUES (\(r.number), \(r.customerHandle), \(r.recordFactID), \(r.placedAt), \(r.estimatedDeliveryAt), \(r.status),
                \(r.isFinal), \(r.subtotal), \(r.total), \(r.deliveredAt))
            ON CONFLICT (order_number) DO UPDATE SET customer_handle = excluded.customer_handle,
                record_fact_id = excluded.record_fact_id, placed_at = excluded.placed_at,
                estimated_delivery_at = excluded.estimated_delivery_at, status = excluded.status, is_final = excluded.is_final,
                subtotal = excluded.subtotal, total = excluded.total, delivered_at = excluded.delivered_at
            """)
    }

    func deleteOrder(_ number: String) throws {
        try db.query("DELETE FROM orders WHERE order_number = \(number)")
    }

    func orderNumbers(ofHandle handle: String) throws -> [String] {
        try strings("SELECT order_number FROM orders WHERE customer_handle = \(handle)")
    }

    func overdueOrderNumbers(now: Int64, limit: Int) throws -> [String] {
        try strings("""
            SELECT order_number FROM orders WHERE NOT is_final AND estimated_delivery_at < \(now)
            ORDER BY estimated_delivery_at, order_number COLLATE "C" LIMIT \(Int64(limit))
            """)
    }

    func buyers(placedFrom from: Int64, to: Int64) throws -> [String] {
        try strings("""
            SELECT DISTINCT h.customer_id COLLATE "C" FROM orders o JOIN handles h ON h.handle = o.customer_handle
            WHERE o.placed_at >= \(from) AND o.placed_at < \(to) ORDER BY 1
            """)
    }

    func complaintOwner(_ id: String) throws -> String? {
        try db.query("SELECT customer_handle FROM complaints WHERE complaint_id = \(id)").rows.first?.decode(String.self)
    }

    func saveComplaint(_ r: ComplaintRow) throws {
        try db.query("""
            INSERT INTO complaints (complaint_id, customer_handle, order_number, category, state, opened_at, first_response_at,
                resolved_at, decided_at, refund_total)
            VALUES (\(r.id), \(r.customerHandle), \(r.orderNumber), \(r.category), \(r.state), \(r.openedAt), \(r.firstResponseAt),
                \(r.resolvedAt), \(r.decidedAt), \(r.refundTotal))
            ON CONFLICT (complaint_id) DO UPDATE SET customer_handle = excluded.customer_handle,
                order_number = excluded.order_number, category = excluded.category, state = excluded.state,
                opened_at = excluded.opened_at, first_response_at = excluded.first_response_at,
                resolved_at = excluded.resolved_at, decided_at = excluded.decided_at, refund_total = excluded.refund_total
            """)
    }

    func deleteComplaint(_ id: String) throws {
        try db.query("DELETE FROM complaints WHERE complaint_id = \(id)")
    }

    func complaintIDs(ofHandle handle: String) throws -> [String] {
        try strings("SELECT complaint_id FROM complaints WHERE customer_handle = \(handle)")
    }

    func complaintQueue(state: ComplaintState, openedBefore: Int64, limit: Int) throws -> [(openedAt: Int64, id: String)] {
        try db.query("""
            SELECT opened_at, complaint_id FROM complaints WHERE state = \(state.rawValue) AND opened_at < \(openedBefore)
            ORDER BY opened_at, complaint_id COLLATE "C" LIMIT \(Int64(limit))
            """).rows.map { try $0.decode((Int64, String).self) }
    }

    func complaintIDs(openedOrDecidedIn period: TimeRange) throws -> [String] {
        try strings("""
            SELECT complaint_id FROM complaints WHERE opened_at >= \(period.start) AND opened_at < \(period.end)
            UNION SELECT complaint_id FROM complaints WHERE decided_at >= \(period.start) AND decided_at < \(period.end)
            """)
    }

    // MARK: Read model

    func summaryBytes(of customer: String) throws -> Data? {
        if let known = buffer?.summary(of: customer) { return known }
        let stored = try db.query("SELECT summary FROM customer_summaries WHERE customer_id = \(customer)").rows.first?.decode(Data.self)
        buffer?.rememberStored(stored, of: customer)
        return stored
    }

    func summaryLookup(handle: String) throws -> (customer: String, summary: Data?)? {
        if buffer != nil {
            guard let customer = try handleRow(handle)?.customer else { return nil }
            return (customer, try summaryBytes(of: customer))
        }
        return try db.query("""
            SELECT h.customer_id, s.summary FROM handles h LEFT JOIN customer_summaries s ON s.customer_id = h.customer_id
            WHERE h.handle = \(handle)
            """).rows.first.map { try $0.decode((String, Data?).self) }
    }

    func saveSummary(_ bytes: Data, of customer: String) throws {
        if let buffer { return buffer.holdSummary(.save(bytes), of: customer) }
        try db.query("""
            INSERT INTO customer_summaries (customer_id, summary) VALUES (\(customer), \(bytes))
            ON CONFLICT (customer_id) DO UPDATE SET summary = excluded.summary
            """)
    }

    func deleteSummary(of customer: String) throws {
        if let buffer { return buffer.holdSummary(.delete, of: customer) }
        try db.query("DELETE FROM customer_summaries WHERE customer_id = \(customer)")
    }

    private func strings(_ query: PostgresQuery) throws -> [String] {
        try db.query(query).rows.map { try $0.decode(String.self) }
    }
}

/// The customer a handle belongs to and their stored summary bytes (``PostgresTables/summaryLookup(handle:)``'s row), as
/// a statement each pooled connection prepares once: the caller snapshot's read, the hottest on a call centre's screen.
struct SummaryByHandle: PostgresPreparedStatement {
    static let sql = """
        SELECT h.customer_id, s.summary FROM handles h LEFT JOIN customer_summaries s ON s.customer_id = h.customer_id
        WHERE h.handle = $1
        """
    typealias Row = (customer: String, summary: Data?)

    let handle: String

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 1)
        bindings.append(handle)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row {
        let (customer, summary) = try row.decode((String, Data?).self)
        return (customer, summary)
    }
}
