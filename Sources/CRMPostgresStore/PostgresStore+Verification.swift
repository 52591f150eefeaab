public import CRMStore
import PostgresNIO

extension PostgresStore {
    /// How many chunks of 1,000 customers ``verifyReadModel(repair:progress:)`` checks at once.
    static let verificationChunksAtOnce = 4

    /// Recomputes every customer's read model from the facts with the domain's projection and lists each customer
    /// whose stored summary differs (or is missing, or damaged), and each stored summary of no customer; the same
    /// check as ``SQLiteStore/verifyReadModel(repair:progress:)``. With `repair`, the differing summaries are
    /// rewritten from the facts, 1,000 customers per transaction, each holding the append lock: safe while nodes
    /// serve the database.
    ///
    /// Reads 1,000 customers per read transaction, four such reads at once, so memory stays small but for the list of
    /// customer ids; the time is one projection per customer. `progress` hears how many customers were checked of how
    /// many.
    public func verifyReadModel(repair: Bool = false, progress: MigrationProgress? = nil) async throws -> ReadModelReport {
        let ids = try await read(oneStatement: true) { reads in
            try reads.tables.db.query(#"SELECT customer_id FROM customers ORDER BY customer_id COLLATE "C""#).rows.map {
                try $0.decode(String.self)
            }
        }
        var report = ReadModelReport()
        var index = 0
        while index < ids.count {
            // A few chunks at once, each in a read transaction of its own: the projections here and the reads on the
            // server overlap.
            var wave: [[String]] = []
            while wave.count < Self.verificationChunksAtOnce && index < ids.count {
                wave.append(Array(ids[index..<min(index + 1_000, ids.count)]))
                index += wave.last!.count
            }
            let found = try await withThrowingTaskGroup(of: (Int, [(customer: String, problem: String)]).self) { group in
                for (position, chunk) in wave.enumerated() {
                    group.addTask { (position, try await self.read { reads in try ReadModelCheck(tables: reads.tables).differences(chunk) }) }
                }
                var found = [[(customer: String, problem: String)]](repeating: [], count: wave.count)
                for try await (position, differing) in group { found[position] = differing }
                return found
            }
            for (chunk, differing) in zip(wave, found) {
                report.checked += chunk.count
                report.differences += differing.map(\.problem)
                if repair && !differing.isEmpty {
                    let repairIDs = differing.map(\.customer)
                    try await writeHoldingAppendLock { tables in try ReadModelCheck(tables: tables).repair(repairIDs) }
                    report.repaired += repairIDs.count
                }
            }
            progress?("read model check", report.checked, ids.count)
        }
        let strays = try await read(oneStatement: true) { reads in
            try reads.tables.db.query("""
                SELECT s.customer_id FROM customer_summaries s LEFT JOIN customers c ON c.customer_id = s.customer_id
                WHERE c.customer_id IS NULL ORDER BY s.customer_id COLLATE "C"
                """).rows.map { try $0.decode(String.self) }
        }
        for id in strays { report.differences.append("customer \(id): a read model is stored but no such customer exists") }
        if repair && !strays.isEmpty {
            // Under the lock, only those still without a customer: one an append made meanwhile keeps its read model.
            try await writeHoldingAppendLock { tables in
                try tables.db.query("""
                    DELETE FROM customer_summaries s WHERE s.customer_id = ANY(\(strays)::text[])
                        AND NOT EXISTS (SELECT 1 FROM customers c WHERE c.customer_id = s.customer_id)
                    """)
            }
            report.repaired += strays.count
        }
        return report
    }
}
