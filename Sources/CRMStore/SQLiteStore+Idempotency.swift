public import CRMDomain
import GRDB

extension SQLiteStore {
    /// See ``Store/containsFact(_:)``; one lookup in the unique index on `facts.fact_id`.
    public func containsFact(_ id: FactID) async throws -> Bool {
        let raw = id.rawValue
        return try await readForMaintenance { db in
            try Bool.fetchOne(db, sql: "SELECT EXISTS(SELECT 1 FROM facts WHERE fact_id = ?)", arguments: [raw]) ?? false
        }
    }
}
