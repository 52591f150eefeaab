import CRMDomain
import CRMTestSupport
import Foundation
import PostgresNIO
import Testing
@testable import CRMPostgresStore
@testable import CRMStore

/// The stores every conformance test runs against: the embedded SQLite file and PostgreSQL (a database of the test's
/// own in the process's shared test cluster).
enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    var testDescription: String { rawValue }
}

/// What the conformance tests read besides ``Store``: each store's own view of its derived tables and read model.
protocol InspectableStore: Store {
    /// Every row of the derived tables, in a stable order, one line each (equal dumps: equal derived state).
    func derivedStateDump() async throws -> String
    /// The stored read model of a customer, as bytes.
    func storedSummaryBytes(of customer: CustomerID) async throws -> [UInt8]?
    /// What the store's own checks find wrong (nothing, for a store without checks).
    func verificationProblems() async throws -> [String]
    /// How many facts with id `id` are stored (one at most, whatever was appended).
    func storedFactCount(id: FactID) async throws -> Int
    /// Overwrites a stored fact's payload with a byte that decodes as nothing: damage for the tests of failures.
    func damagePayload(ofFact id: String) async throws
    /// What the group commit has done.
    var writerStatistics: WriterStatistics { get }
    func close() async throws
}

extension SQLiteStore: InspectableStore {
    func damagePayload(ofFact id: String) async throws {
        try await executeRaw("UPDATE facts SET payload = x'01' WHERE fact_id = ?", arguments: [id])
    }

    func verificationProblems() async throws -> [String] {
        try await verifyDerivedState() + verifyReadModel().differences
    }
}

extension PostgresStore: InspectableStore {
    func derivedStateDump() async throws -> String {
        try await read { reads in
            var out = ""
            for (table, order) in [
                ("handles", "handle"), ("customers", "customer_id"), ("customer_name_words", "word, customer_id"),
                ("orders", "order_number"), ("complaints", "complaint_id"),
            ] {
                let sql = "SELECT t::text FROM \(table) t ORDER BY " + order.split(separator: ",").map { "\($0) COLLATE \"C\"" }.joined(separator: ",")
                for row in try reads.tables.db.query(PostgresQuery(unsafeSQL: sql)).rows {
                    out += "\(table) \(try row.decode(String.self))\n"
                }
            }
            return out
        }
    }

    func storedSummaryBytes(of customer: CustomerID) async throws -> [UInt8]? {
        try await read(oneStatement: true) { try $0.tables.summaryBytes(of: customer.rawValue).map { [UInt8]($0) } }
    }

    func verificationProblems() async throws -> [String] { [] }

    func storedFactCount(id: FactID) async throws -> Int {
        try await read(oneStatement: true) { reads in
            try reads.tables.db.query("SELECT count(*) FROM facts WHERE fact_id = \(id.rawValue)").rows.first?.decode(Int.self) ?? 0
        }
    }

    func damagePayload(ofFact id: String) async throws {
        try await read(oneStatement: true) { reads in
            try reads.tables.db.query("UPDATE facts SET payload = '\\x01'::bytea WHERE fact_id = \(id)")
        }
    }
}

/// Opens a new, empty store of `kind`, runs `body`, closes the store.
func withStore<T>(_ kind: StoreKind, limits: StoreLimits = .standard, _ body: (any InspectableStore) async throws -> T) async throws -> T {
    let store: any InspectableStore
    var directory: TemporaryDirectory?
    switch kind {
    case .sqlite:
        directory = try TemporaryDirectory()
        store = try SQLiteStore(path: directory!.file("crm.sqlite"), limits: limits)
    case .postgres:
        let url = try PostgresTestCluster.shared().createDatabase()
        store = try await PostgresStore.open(PostgresLocation(url: url), limits: limits)
    }
    defer { _ = directory }
    do {
        let result = try await body(store)
        try await store.close()
        return result
    } catch {
        try? await store.close()
        throw error
    }
}
