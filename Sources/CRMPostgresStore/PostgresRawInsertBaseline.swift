public import CRMDomain
public import CRMStore
import Foundation
import PostgresNIO

/// The reference the ingest benchmark on PostgreSQL divides by, as ``RawInsertBaseline`` is on SQLite: the rows an
/// append writes to the truth tables (`facts` and `fact_keys`), inserted by the store's own prepared statements one
/// after the other in one transaction on one connection, then committed. Encoding the rows is done before the clock
/// starts; only the inserts and the commit are timed. The derived tables and read models the store keeps in the same
/// transactions are not written: the ratio says what they, the group commit and the acknowledgements cost.
public enum PostgresRawInsertBaseline {
    /// Inserts `facts` into the database at `location` (migrated like a store first) and returns how long the inserts
    /// and the commit took.
    public static func measure(facts: [Fact], location: PostgresLocation) async throws -> Duration {
        var rows: [PreparedFact] = []
        rows.reserveCapacity(facts.count)
        for (index, fact) in facts.enumerated() { rows.append(try PreparedFact(fact, index: index, limits: .standard)) }
        let store = try await PostgresStore.open(location)
        do {
            let elapsed = try await ConnectionLease.following(store.client) { pool in try await pool.withConnection { connection in
                let logger = store.logger
                let clock = ContinuousClock()
                return try await clock.measure {
                    try await connection.query("BEGIN", logger: logger)
                    for p in rows {
                        var seq: Int64 = 0
                        for try await value in try await connection.query(
                            """
                            INSERT INTO facts (fact_id, kind, observed_at, source, payload)
                            VALUES (\(p.fact.id.rawValue), \(Int16(p.kind.rawValue)), \(p.fact.observedAt), \(Int16(p.sourceCode)), \(p.payload))
                            ON CONFLICT (fact_id) DO NOTHING RETURNING seq
                            """, logger: logger
                        ).decode(Int64.self) {
                            seq = value
                        }
                        guard !p.keys.isEmpty else { continue }
                        try await connection.query(
                            """
                            INSERT INTO fact_keys (key, kind, observed_at, fact_id, fact_seq)
                            SELECT k, \(Int16(p.kind.rawValue)), \(p.fact.observedAt), \(p.fact.id.rawValue), \(seq) FROM unnest(\(p.keys)::text[]) AS k
                            ON CONFLICT DO NOTHING
                            """, logger: logger)
                    }
                    try await connection.query("COMMIT", logger: logger)
                }
            } }
            await store.close()
            return elapsed
        } catch {
            await store.close()
            throw error
        }
    }
}
