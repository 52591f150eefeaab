public import CRMDomain
import Foundation
import GRDB

extension SQLiteStore {
    /// Recomputes every derived table from all the facts, with the domain's rules, and lists each difference from
    /// what is stored (empty when the store is consistent). Reads the whole database: for checks after a crash, in
    /// tests and in maintenance windows, not on a serving path.
    public func verifyDerivedState() async throws -> [String] {
        try await readForMaintenance { db in
            var problems: [String] = []
            var facts: [Fact] = []
            let cursor = try Row.fetchCursor(db, sql: "SELECT seq, fact_id, observed_at, source, payload FROM facts")
            while let row = try cursor.next() {
                facts.append(try StoredFactRow(
                    seq: row[0], id: row[1], observedAt: row[2], sourceCode: UInt8(truncatingIfNeeded: row[3] as Int64), payload: row[4]).decoded())
            }

            // Identity.
            let graph = IdentityGraph(facts: facts)
            var expected: [String: String] = [:]
            for component in graph.components {
                for handle in component.handles { expected[handle.canonical] = component.id.rawValue }
            }
            var stored: [String: String] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT handle, customer_id FROM handles") { stored[row[0]] = row[1] }
            for (handle, id) in expected where stored[handle] != id {
                problems.append("handle \(handle): stored customer \(stored[handle] ?? "none"), expected \(id)")
            }
            for handle in stored.keys where expected[handle] == nil { problems.append("handle \(handle) is stored but no fact names it") }
            let customerIDs = Set(try String.fetchAll(db, sql: "SELECT customer_id FROM customers"))
            let expectedIDs = Set(graph.components.map(\.id.rawValue))
            for id in expectedIDs.subtracting(customerIDs) { problems.append("customer \(id) has no customers row") }
            for id in customerIDs.subtracting(expectedIDs) { problems.append("customers row \(id) matches no customer") }

            // Keys: every fact filed under exactly its keys.
            let keyCount = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM fact_keys") ?? 0
            let expectedKeys = facts.reduce(0) { $0 + Set(FactKey.keys(of: $1)).count }
            if keyCount != expectedKeys { problems.append("fact_keys has \(keyCount) rows, expected \(expectedKeys)") }

            // Orders and complaints.
            var byOrder: [String: [Fact]] = [:]
            var byComplaint: [String: [Fact]] = [:]
            for fact in facts {
                switch fact.payload {
                case let .order(o): byOrder[o.orderNumber.rawValue, default: []].append(fact)
                case let .tracking(t): byOrder[t.orderNumber.rawValue, default: []].append(fact)
                case let .complaintOpened(c): byComplaint[c.id.rawValue, default: []].append(fact)
                case let .complaintTransition(s): byComplaint[s.complaintID.rawValue, default: []].append(fact)
                default: continue
                }
            }
            var storedOrders: [String: String] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT order_number, status, customer_handle FROM orders") {
                storedOrders[row[0]] = (row[1] as String) + " " + (row[2] as String)
            }
            for (number, facts) in byOrder {
                let view = OrderAssembly.view(from: facts)
                let want = view.map { $0.status.rawValue + " " + $0.record.customer.canonical }
                if storedOrders[number] != want { problems.append("order \(number): stored \(storedOrders[number] ?? "none"), expected \(want ?? "none")") }
            }
            var storedComplaints: [String: String] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT complaint_id, state FROM complaints") { storedComplaints[row[0]] = row[1] }
            for complaint in ComplaintAssembly.complaints(from: byComplaint.values.flatMap { $0 }) {
                let id = complaint.id.rawValue
                if storedComplaints[id] != complaint.state.rawValue {
                    problems.append("complaint \(id): stored \(storedComplaints[id] ?? "none"), expected \(complaint.state.rawValue)")
                }
            }
            return problems.sorted()
        }
    }

    /// Recomputes every customer's read model from the facts with the domain's projection and lists each customer
    /// whose stored summary differs (or is missing, or damaged), and each stored summary of no customer. With
    /// `repair`, the differing summaries are rewritten from the facts, in transactions of 1,000 customers, through the
    /// writer (safe while the store serves: each rewrite is the same computation an append would do).
    ///
    /// Reads one customer's facts at a time, so memory stays small at any size; the time is one projection per
    /// customer. `progress` hears how many customers were checked of how many.
    public func verifyReadModel(repair: Bool = false, progress: MigrationProgress? = nil) async throws -> ReadModelReport {
        let ids = try await readForMaintenance { db in try String.fetchAll(db, sql: "SELECT customer_id FROM customers ORDER BY customer_id") }
        var report = ReadModelReport()
        var index = 0
        while index < ids.count {
            let chunk = Array(ids[index..<min(index + 1_000, ids.count)])
            index += chunk.count
            let differing = try await readForMaintenance { db in try ReadModelCheck(tables: SQLiteTables(db: db)).differences(chunk) }
            report.checked += chunk.count
            report.differences += differing.map(\.problem)
            if repair && !differing.isEmpty {
                let repairIDs = differing.map(\.customer)
                try await writerForMaintenance { db in try ReadModelCheck(tables: SQLiteTables(db: db)).repair(repairIDs) }
                report.repaired += repairIDs.count
            }
            progress?("read model check", report.checked, ids.count)
        }
        let strays = try await readForMaintenance { db in
            try String.fetchAll(db, sql: """
                SELECT s.customer_id FROM customer_summaries s LEFT JOIN customers c ON c.customer_id = s.customer_id
                WHERE c.customer_id IS NULL ORDER BY s.customer_id
                """)
        }
        for id in strays { report.differences.append("customer \(id): a read model is stored but no such customer exists") }
        if repair && !strays.isEmpty {
            try await writerForMaintenance { db in for id in strays { try SummaryRows(tables: SQLiteTables(db: db)).delete(id) } }
            report.repaired += strays.count
        }
        return report
    }

    /// The stored bytes of a customer's read model (tests compare them with the projection's).
    func storedSummaryBytes(of customer: CustomerID) async throws -> [UInt8]? {
        try await readForMaintenance { db in try SummaryRows(tables: SQLiteTables(db: db)).bytes(of: customer.rawValue) }
    }

    /// How many stored facts have the id `id` (0 or 1).
    public func storedFactCount(id: FactID) async throws -> Int {
        try await readForMaintenance { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM facts WHERE fact_id = ?", arguments: [id.rawValue]) ?? 0
        }
    }

    /// The stored fact with the id `id`, decoded, or nil (the kill test compares it with what was acknowledged).
    func storedFact(id: FactID) async throws -> Fact? {
        try await readForMaintenance { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT observed_at, source, payload FROM facts WHERE fact_id = ?", arguments: [id.rawValue])
            else { return nil }
            let payload: [UInt8] = [UInt8](row["payload"] as Data)
            return try payload.withUnsafeBytes { bytes in
                try FactCodec.decodeFact(id: id.rawValue, observedAt: row["observed_at"], sourceCode: row["source"], bytes: bytes)
            }
        }
    }

    /// The result of SQLite's `PRAGMA integrity_check` ("ok" when the file is sound).
    public func integrityCheck() async throws -> String {
        try await readForMaintenance { db in try String.fetchAll(db, sql: "PRAGMA integrity_check").joined(separator: "; ") }
    }

    /// Every derived row, sorted, as text: two stores given the same facts in any order must print the same.
    func derivedStateDump() async throws -> String {
        try await readForMaintenance { db in
            var out = ""
            for (table, order) in [
                ("handles", "handle"), ("customers", "customer_id"), ("customer_name_words", "word, customer_id"),
                ("orders", "order_number"), ("complaints", "complaint_id"),
            ] {
                for row in try Row.fetchAll(db, sql: "SELECT * FROM \(table) ORDER BY \(order)") { out += "\(table) \(row)\n" }
            }
            return out
        }
    }

    /// Runs raw SQL on the writer (tests only: to damage a row on purpose).
    func executeRaw(_ sql: String, arguments: StatementArguments = []) async throws {
        try await writerForMaintenance { db in try db.execute(sql: sql, arguments: arguments) }
    }
}

/// What ``SQLiteStore/verifyReadModel(repair:progress:)`` found.
public struct ReadModelReport: Sendable, Hashable {
    /// Customers checked.
    public var checked = 0
    /// One line per customer whose stored read model differs from its facts, sorted by customer.
    public var differences: [String] = []
    /// Read models rewritten (with `repair`).
    public var repaired = 0

    package init() {}

    /// The names of the parts in which two summaries differ.
    static func differingParts(_ a: CustomerSummary, _ b: CustomerSummary) -> [String] {
        var parts: [String] = []
        if a.id != b.id || a.anchor != b.anchor { parts.append("id or anchor") }
        if a.handles != b.handles { parts.append("handles") }
        if a.fieldWinners != b.fieldWinners { parts.append("fields") }
        if a.firstSeenAt != b.firstSeenAt || a.lastSeenAt != b.lastSeenAt { parts.append("first or last seen") }
        if a.interactionCount != b.interactionCount || a.ratingCount != b.ratingCount { parts.append("counts") }
        if a.informationRequestTimes != b.informationRequestTimes || a.olderInformationRequests != b.olderInformationRequests {
            parts.append("information requests")
        }
        if a.lastContacts != b.lastContacts { parts.append("last contacts") }
        if a.orders != b.orders { parts.append("orders") }
        if a.complaints != b.complaints { parts.append("complaints") }
        return parts.isEmpty ? ["its encoding"] : parts
    }
}
