public import CRMDomain
import GRDB

extension SQLiteStore {
    /// See ``Store/returnInspections(of:)``; the facts filed under the complaint's key, of the inspection kind.
    public func returnInspections(of complaint: ComplaintID) async throws -> [Fact] {
        try await readForMaintenance { db in
            let kind = FactKind.returnInspection.rawValue
            return try FactQueries(db: db).facts(key: FactKey.complaint(complaint), kinds: kind...kind)
                .sorted { $0.precedence < $1.precedence }
        }
    }
}
