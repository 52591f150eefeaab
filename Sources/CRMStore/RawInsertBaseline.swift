public import CRMDomain
import Foundation
import GRDB

/// The reference the ingest benchmark divides by: the same rows an append writes to the truth tables (`facts` and
/// `fact_keys`), inserted by plain prepared statements in one transaction, with the store's own schema and
/// durability settings. Encoding the rows is done before the clock starts; only the inserts and the commit are timed.
public enum RawInsertBaseline {
    /// Inserts `facts` into the database at `path` (created and migrated like a store if needed) and returns how
    /// long the inserts and the commit took.
    public static func measure(facts: [Fact], path: String) throws -> Duration {
        var configuration = Configuration()
        configuration.prepareDatabase { db in try SQLiteStore.configureConnection(db) }
        let pool = try DatabasePool(path: path, configuration: configuration)
        try SQLiteStore.configureWriter(pool)
        // The store's writer keeps a small page cache because it commits often; one large transaction is fastest with
        // the 64 MiB the other connections have, so the baseline gets those, and stays the fastest plain insert.
        try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA cache_size = -65536") }
        try Migrations.migrator().migrate(pool)
        var rows: [PreparedFact] = []
        rows.reserveCapacity(facts.count)
        for (index, fact) in facts.enumerated() { rows.append(try PreparedFact(fact, index: index, limits: .standard)) }
        let clock = ContinuousClock()
        let elapsed = try clock.measure {
            try pool.writeWithoutTransaction { db in
                try db.inTransaction(.immediate) {
                    let insertFact = try db.makeStatement(sql: "INSERT INTO facts (fact_id, kind, observed_at, source, payload) VALUES (?, ?, ?, ?, ?)")
                    let insertKey = try db.makeStatement(sql: "INSERT INTO fact_keys (key, kind, observed_at, fact_id, fact_seq) VALUES (?, ?, ?, ?, ?)")
                    for p in rows {
                        try insertFact.execute(arguments: [p.fact.id.rawValue, p.kind.rawValue, p.fact.observedAt, Int64(p.sourceCode), p.payload])
                        let seq = db.lastInsertedRowID
                        for key in p.keys {
                            try insertKey.execute(arguments: [key, p.kind.rawValue, p.fact.observedAt, p.fact.id.rawValue, seq])
                        }
                    }
                    return .commit
                }
            }
        }
        try pool.close()
        return elapsed
    }
}
