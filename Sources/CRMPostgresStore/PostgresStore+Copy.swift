import CRMStore
import Foundation
import GRDB
import NIOCore
import PostgresNIO

/// The statements ``StoreCopy`` runs on the target. Table and column names come from ``CopiedTable/all`` (constants
/// of this file's module), never from input; every value is a bound parameter or `COPY` data.
extension PostgresStore {
    /// Runs one statement of the copy and returns its rows. Such a statement may run long (a count of a large table, an
    /// index made, a reference checked), so only the wait for a connection is bounded (``ConnectionLease``), not the
    /// statement.
    private func longRows(_ query: PostgresQuery) async throws -> [PostgresRow] {
        let logger = self.logger
        do {
            return try await ConnectionLease.withConnection(client) { connection in
                var rows: [PostgresRow] = []
                for try await row in try await connection.query(query, logger: logger) { rows.append(row) }
                return rows
            }
        } catch {
            throw PostgresFailure.storeError(error, writing: true)
        }
    }

    /// The source an unfinished copy into this database is of, with its fingerprint; nil when no copy is unfinished.
    func unfinishedCopy() async throws -> (source: String, fingerprint: SourceFingerprint)? {
        for (source, last) in try await longRows("SELECT source, source_last_seq FROM store_copy LIMIT 1").decoded((String, Int64).self) {
            return (source, SourceFingerprint(lastPosition: last))
        }
        return nil
    }

    /// Whether the database holds nothing a copy could mix with.
    func isEmptyForCopy() async throws -> Bool {
        for occupied in try await longRows("""
            SELECT EXISTS (SELECT 1 FROM facts) OR EXISTS (SELECT 1 FROM customers) OR EXISTS (SELECT 1 FROM access_tokens)
                OR EXISTS (SELECT 1 FROM audit_log) OR EXISTS (SELECT 1 FROM sent_notices)
            """).decoded(Bool.self) {
            return !occupied
        }
        return true
    }

    func beginCopy(from source: String, _ fingerprint: SourceFingerprint) async throws {
        _ = try await longRows("""
            INSERT INTO store_copy (source, source_last_seq) VALUES (\(source), \(fingerprint.lastPosition))
            """)
    }

    func finishCopy() async throws {
        _ = try await longRows("DELETE FROM store_copy")
    }

    func rowCount(of table: CopiedTable) async throws -> Int {
        for count in try await longRows(PostgresQuery(unsafeSQL: "SELECT count(*) FROM \(table.name)")).decoded(Int.self) {
            return count
        }
        return 0
    }

    /// The key of the table's last row in the copy's order; nil when it is empty.
    func greatestKey(of table: CopiedTable) async throws -> [DatabaseValue]? {
        let order = table.key.map { $0.kind == .text ? "\($0.name) COLLATE \"C\" DESC" : "\($0.name) DESC" }.joined(separator: ", ")
        let sql = "SELECT \(table.key.map(\.name).joined(separator: ", ")) FROM \(table.name) ORDER BY \(order) LIMIT 1"
        for row in try await longRows(PostgresQuery(unsafeSQL: sql)) {
            var key: [DatabaseValue] = []
            for (column, cell) in zip(table.key, row.makeRandomAccess()) {
                switch column.kind {
                case .text: key.append(try cell.decode(String.self).databaseValue)
                case .integer: key.append(try cell.decode(Int64.self).databaseValue)
                case .blob: key.append(Data(buffer: try cell.decode(ByteBuffer.self)).databaseValue)
                }
            }
            return key
        }
        return nil
    }

    /// Sends rows in `COPY` text format into the table, in one statement (committed on its own).
    func copyRows(_ text: ByteBuffer, into table: CopiedTable) async throws {
        let logger = self.logger
        do {
            try await ConnectionLease.withConnection(client) { connection in
                try await connection.copyFrom(table: table.name, columns: table.columns, logger: logger) { writer in
                    try await writer.write(text)
                }
            }
        } catch {
            throw PostgresFailure.storeError(error, writing: true)
        }
    }

    /// Drops the secondary indexes of the copied tables (not their primary keys and unique constraints, which the
    /// copy's resumption and the facts' ids rely on), having first recorded their definitions in `store_copy`, so that
    /// the rows arrive without an index page touched at random per row. Safe to run again: the definitions recorded
    /// stay and the ones found are added.
    func setIndexesAside(of tables: [String]) async throws {
        var definitions: [(name: String, definition: String)] = []
        for (name, definition) in try await longRows("""
            SELECT indexname, indexdef FROM pg_indexes
            WHERE schemaname = current_schema() AND tablename = ANY(\(tables)::text[])
                AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE contype IN ('p', 'u'))
            ORDER BY indexname
            """).decoded((String, String).self) {
            definitions.append((name, definition))
        }
        guard !definitions.isEmpty else { return }
        _ = try await longRows("""
            UPDATE store_copy SET set_aside_indexes = ARRAY(
                SELECT DISTINCT unnest(set_aside_indexes || \(definitions.map(\.definition))::text[]))
            """)
        for (name, _) in definitions {
            _ = try await longRows(PostgresQuery(unsafeSQL: "DROP INDEX IF EXISTS \"\(name.replacingOccurrences(of: "\"", with: "\"\""))\""))
        }
    }

    /// Makes again every index ``setIndexesAside(of:)`` dropped (each sorts its table once) and clears the record.
    func restoreIndexesSetAside() async throws {
        var definitions: [String] = []
        for recorded in try await longRows("SELECT set_aside_indexes FROM store_copy LIMIT 1").decoded([String].self) {
            definitions = recorded
        }
        for definition in definitions {
            // The definitions are pg_indexes' own text of this database's indexes, recorded above.
            _ = try await longRows(PostgresQuery(unsafeSQL: definition.replacingOccurrences(of: "CREATE INDEX ", with: "CREATE INDEX IF NOT EXISTS ")))
        }
        _ = try await longRows("UPDATE store_copy SET set_aside_indexes = '{}'")
    }

    /// Drops the reference from `fact_keys` to `facts` (v1's `fact_keys_fact_seq_fkey`) while a copy sends rows; an
    /// unfinished copy is never served, so nothing relies on it meanwhile.
    func dropFactKeysReference() async throws {
        _ = try await longRows("ALTER TABLE fact_keys DROP CONSTRAINT IF EXISTS fact_keys_fact_seq_fkey")
    }

    /// Adds the reference back, which checks every row at once (a join, not a look-up per row).
    func restoreFactKeysReference() async throws {
        _ = try await longRows("ALTER TABLE fact_keys DROP CONSTRAINT IF EXISTS fact_keys_fact_seq_fkey")
        _ = try await longRows("ALTER TABLE fact_keys ADD CONSTRAINT fact_keys_fact_seq_fkey FOREIGN KEY (fact_seq) REFERENCES facts (seq)")
    }

    /// Moves the sequences of `facts` and `audit_log` past the positions the copy brought, so that appends go on
    /// after them.
    func continueSequences() async throws {
        for table in ["facts", "audit_log"] {
            _ = try await longRows(PostgresQuery(unsafeSQL: """
                SELECT setval(pg_get_serial_sequence('\(table)', 'seq'), coalesce(max(seq), 0) + 1, false) FROM \(table)
                """))
        }
    }

    /// The stored read models of `customers`.
    func summaries(of customers: [String]) async throws -> [String: Data] {
        var found: [String: Data] = [:]
        for (customer, summary) in try await longRows(
            "SELECT customer_id, summary FROM customer_summaries WHERE customer_id = ANY(\(customers)::text[])"
        ).decoded((String, Data).self) {
            found[customer] = summary
        }
        return found
    }
}

extension Array where Element == PostgresRow {
    /// Each row's columns decoded.
    fileprivate func decoded<each Column: PostgresDecodable>(_ columns: (repeat each Column).Type) throws -> [(repeat each Column)] {
        try map { try $0.decode(columns) }
    }
}
