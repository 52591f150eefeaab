public import CRMStore
import Foundation
import GRDB
public import Logging
import NIOCore
import PostgresNIO

/// Copies an embedded SQLite store into an empty PostgreSQL database, for a deployment that outgrew one machine.
///
/// Every table is copied as it is, rows in key order, in chunks: the facts with their positions, their keys, the
/// derived tables and the read model, the audit trail, the access tokens and the sent notices. Nothing is recomputed,
/// so a store of millions of customers copies in the time its rows take to send. Each chunk is one `COPY … FROM
/// STDIN` (PostgreSQL's bulk load) and commits on its own; a copy that stopped (a lost connection, Ctrl-C) resumes
/// after the greatest key each table holds, because chunks arrive in key order. While a copy is unfinished the
/// database says so in `store_copy`, and crmd refuses to serve it.
///
/// Afterwards every customer is verified: the row counts of every table match, each customer's read model is the
/// same bytes in both stores, and each customer's read model on PostgreSQL equals the domain's projection of the
/// facts PostgreSQL now holds (``PostgresStore/verifyReadModel(repair:progress:)``). Only then is the copy marked
/// finished.
///
/// The source must not change meanwhile: stop crmd on it first. A resumed copy checks that the source's last fact is
/// still the one it was when the copy began; other changes are found by the verification.
public struct StoreCopy: Sendable {
    /// The SQLite database file.
    public let source: String
    /// The PostgreSQL database, empty or holding this copy unfinished.
    public let target: PostgresLocation
    /// Rows per chunk.
    public var chunkRows = 20_000

    public init(source: String, target: PostgresLocation) {
        self.source = source
        self.target = target
    }

    /// What a copy did.
    public struct Report: Sendable {
        /// Rows copied now (not counting those a previous, interrupted run copied), by table.
        public var copied: [(table: String, rows: Int)] = []
        /// Whether the copy resumed one that had stopped.
        public var resumed = false
        /// Customers verified.
        public var customers = 0
        /// What the verification found wrong; empty when the copy is finished and correct.
        public var problems: [String] = []
    }

    /// Copies, verifies, and marks the copy finished when verification found nothing wrong. `progress` hears each
    /// step (`copying facts`, …, `verifying customers`) with rows or customers done of the total; without it the
    /// copy does not count the rows of each table before it sends them.
    public func run(progress: MigrationProgress? = nil, logger: Logger = Logger(label: "crm.store.copy")) async throws -> Report {
        guard FileManager.default.fileExists(atPath: source) else {
            throw StoreCopyError("there is no SQLite store at \(source): give the data directory crmd serves from (or its crm.sqlite)")
        }
        // Opening it as a store brings its schema up to this version's, which the copy's column lists are.
        try await SQLiteStore(path: source, progress: progress).close()
        var readOnly = Configuration()
        readOnly.readonly = true
        let sqlite = try DatabaseQueue(path: source, configuration: readOnly)
        defer { try? sqlite.close() }
        // A fact appended moves the last position, which is read without scanning (a count would read the table).
        // What does not move it (a fact replaced in place, a token, a notice, an audit entry) the verification's
        // counts and comparisons find.
        let fingerprint = try await sqlite.read { db in
            SourceFingerprint(lastPosition: try Int64.fetchOne(db, sql: "SELECT coalesce(max(seq), 0) FROM facts") ?? 0)
        }

        let store = try await PostgresStore.open(target, logger: logger, allowingUnfinishedCopy: true)
        do {
            let report = try await copyAndVerify(sqlite, fingerprint: fingerprint, into: store, progress: progress)
            await store.close()
            return report
        } catch {
            await store.close()
            throw error
        }
    }

    private func copyAndVerify(
        _ sqlite: DatabaseQueue, fingerprint: SourceFingerprint, into store: PostgresStore, progress: MigrationProgress?
    ) async throws -> Report {
        var report = Report()
        report.resumed = try await begin(fingerprint, in: store)
        // Keeping secondary indexes, and checking each key's fact, as rows arrive would touch pages at random, row by
        // row; they are made again, and the reference checked, in one pass each when every row is in.
        try await store.setIndexesAside(of: CopiedTable.all.map(\.name))
        try await store.dropFactKeysReference()
        for table in CopiedTable.all {
            // Counting reads a whole table: only for a progress line someone sees.
            var (total, done) = (0, 0)
            if progress != nil {
                total = try await sqlite.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table.name)") ?? 0 }
                done = try await store.rowCount(of: table)
            }
            var after = try await store.greatestKey(of: table)
            var copied = 0
            progress?("copying \(table.name)", done, total)
            while true {
                let chunk = try await sqlite.read { [chunkRows, after] db in try table.chunk(db, after: after, limit: chunkRows) }
                guard let last = chunk.lastKey else { break }
                try await store.copyRows(chunk.text, into: table)
                after = last
                done += chunk.rows
                copied += chunk.rows
                progress?("copying \(table.name)", done, total)
            }
            report.copied.append((table.name, copied))
        }
        try await store.continueSequences()
        progress?("making the indexes", 0, 1)
        try await store.restoreIndexesSetAside()
        progress?("checking the keys' facts", 0, 1)
        try await store.restoreFactKeysReference()
        try await verify(sqlite, store, into: &report, progress: progress)
        if report.problems.isEmpty { try await store.finishCopy() }
        return report
    }

    /// Marks the database as receiving a copy of this source, or checks that the copy it holds unfinished is of
    /// this source as it was; says whether the copy resumes.
    private func begin(_ fingerprint: SourceFingerprint, in store: PostgresStore) async throws -> Bool {
        if let unfinished = try await store.unfinishedCopy() {
            guard unfinished.source == source else {
                throw StoreCopyError(
                    "\(target) holds an unfinished copy of another SQLite store (\(unfinished.source)); finish that one, or drop and create the database again")
            }
            guard unfinished.fingerprint == fingerprint else {
                throw StoreCopyError(
                    "\(source) changed since its copy into \(target) began (its last fact at position \(unfinished.fingerprint.lastPosition) "
                        + "then, \(fingerprint.lastPosition) now): stop crmd on it, drop and create the database again, and copy afresh")
            }
            return true
        }
        guard try await store.isEmptyForCopy() else {
            throw StoreCopyError(
                "\(target) is not empty (it holds facts, customers, tokens, sent notices or audit entries): copy into a new database (createdb) so that nothing is mixed")
        }
        try await store.beginCopy(from: source, fingerprint)
        return false
    }

    private func verify(_ sqlite: DatabaseQueue, _ store: PostgresStore, into report: inout Report, progress: MigrationProgress?) async throws {
        for table in CopiedTable.all {
            let expected = try await sqlite.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table.name)") ?? 0 }
            let found = try await store.rowCount(of: table)
            if expected != found { report.problems.append("\(table.name): \(expected) rows in \(source), \(found) in \(target)") }
        }
        // Each customer's read model, byte for byte, in customer order.
        let total = try await sqlite.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM customer_summaries") ?? 0 }
        var after = ""
        var compared = 0
        while true {
            let expected = try await sqlite.read { [chunkRows, after] db in
                try Row.fetchAll(
                    db, sql: "SELECT customer_id, summary FROM customer_summaries WHERE customer_id > ? ORDER BY customer_id LIMIT ?",
                    arguments: [after, chunkRows]
                ).map { ($0[0] as String, $0[1] as Data) }
            }
            guard let last = expected.last?.0 else { break }
            let found = try await store.summaries(of: expected.map(\.0))
            for (customer, bytes) in expected where found[customer] != bytes {
                report.problems.append("customer \(customer): the read model in \(target) is not the one in \(source)")
            }
            compared += expected.count
            after = last
            progress?("comparing read models", compared, total)
        }
        // Each customer's read model against the facts PostgreSQL now holds.
        var checking: MigrationProgress?
        if let progress { checking = { _, done, total in progress("verifying customers", done, total) } }
        let check = try await store.verifyReadModel(progress: checking)
        report.customers = check.checked
        report.problems += check.differences
    }
}

/// The source's last fact position when its copy began.
struct SourceFingerprint: Equatable {
    let lastPosition: Int64
}

/// A copy that cannot go on, saying why and what to do.
public struct StoreCopyError: Error, CustomStringConvertible {
    public let description: String

    init(_ description: String) { self.description = description }
}

/// A table as the copy moves it: its columns (the same names in both schemas) and the key its rows are sent in.
struct CopiedTable: Sendable {
    let name: String
    let columns: [String]
    let key: [KeyColumn]

    /// A key column. Both databases order its values alike: integers by value, text byte by byte (SQLite's BINARY,
    /// `COLLATE "C"` on PostgreSQL), blobs byte by byte.
    struct KeyColumn: Sendable {
        enum Kind: Sendable {
            case text
            case integer
            case blob
        }

        let name: String
        let kind: Kind
    }

    /// In the order the copy sends them: facts before the keys that refer to them.
    static let all: [CopiedTable] = [
        CopiedTable(name: "facts", columns: ["seq", "fact_id", "kind", "observed_at", "source", "payload"], key: [.integer("seq")]),
        CopiedTable(
            name: "fact_keys", columns: ["key", "kind", "observed_at", "fact_id", "fact_seq"],
            key: [.text("key"), .integer("kind"), .integer("observed_at"), .text("fact_id")]),
        CopiedTable(name: "handles", columns: ["handle", "customer_id", "first_seen_at"], key: [.text("handle")]),
        CopiedTable(
            name: "customers", columns: ["customer_id", "anchor", "first_seen_at", "name", "company", "city"], key: [.text("customer_id")]),
        CopiedTable(name: "customer_name_words", columns: ["word", "customer_id"], key: [.text("word"), .text("customer_id")]),
        CopiedTable(
            name: "orders",
            columns: [
                "order_number", "customer_handle", "record_fact_id", "placed_at", "estimated_delivery_at", "status", "is_final", "subtotal",
                "total", "delivered_at",
            ],
            key: [.text("order_number")]),
        CopiedTable(
            name: "complaints",
            columns: [
                "complaint_id", "customer_handle", "order_number", "category", "state", "opened_at", "first_response_at", "resolved_at",
                "decided_at", "refund_total",
            ],
            key: [.text("complaint_id")]),
        CopiedTable(name: "customer_summaries", columns: ["customer_id", "summary"], key: [.text("customer_id")]),
        CopiedTable(name: "audit_log", columns: ["seq", "at", "actor", "action", "subject", "detail"], key: [.integer("seq")]),
        CopiedTable(
            name: "access_tokens",
            columns: ["digest", "principal", "role", "created_at", "expires_at", "revoked_at", "team", "customer_id"],
            key: [.blob("digest")]),
        CopiedTable(name: "sent_notices", columns: ["notice_id", "subject", "sent_at"], key: [.text("notice_id")]),
    ]

    /// One chunk of rows read from SQLite: as `COPY` text lines, with the key of its last row.
    struct Chunk {
        var text = ByteBuffer()
        var rows = 0
        var lastKey: [DatabaseValue]?
    }

    /// The next `limit` rows after `after` (from the first when nil), in key order.
    func chunk(_ db: Database, after: [DatabaseValue]?, limit: Int) throws -> Chunk {
        let keyList = key.map(\.name).joined(separator: ", ")
        var sql = "SELECT \(columns.joined(separator: ", ")) FROM \(name)"
        var arguments = StatementArguments()
        if let after {
            sql += " WHERE (\(keyList)) > (\(Array(repeating: "?", count: key.count).joined(separator: ", ")))"
            arguments = StatementArguments(after)
        }
        sql += " ORDER BY \(keyList) LIMIT ?"
        _ = arguments.append(contentsOf: [limit])
        var chunk = Chunk()
        let keyIndexes = key.map { column in columns.firstIndex(of: column.name)! }
        let cursor = try Row.fetchCursor(db, sql: sql, arguments: arguments)
        while let row = try cursor.next() {
            for index in columns.indices {
                if index > 0 { chunk.text.writeInteger(UInt8(ascii: "\t")) }
                CopyText.write(row[index] as DatabaseValue, to: &chunk.text)
            }
            chunk.text.writeInteger(UInt8(ascii: "\n"))
            chunk.rows += 1
            chunk.lastKey = keyIndexes.map { row[$0] as DatabaseValue }
        }
        return chunk
    }
}

extension CopiedTable.KeyColumn {
    static func text(_ name: String) -> Self { Self(name: name, kind: .text) }
    static func integer(_ name: String) -> Self { Self(name: name, kind: .integer) }
    static func blob(_ name: String) -> Self { Self(name: name, kind: .blob) }
}

/// PostgreSQL's `COPY` text format: columns separated by tabs, `\N` for NULL, backslash escapes in text, `bytea` in
/// hex.
enum CopyText {
    static func write(_ value: DatabaseValue, to buffer: inout ByteBuffer) {
        switch value.storage {
        case .null:
            buffer.writeStaticString("\\N")
        case .int64(let number):
            buffer.writeString(String(number))
        case .double(let number):
            buffer.writeString(String(number))
        case .string(let text):
            for byte in text.utf8 {
                switch byte {
                case UInt8(ascii: "\\"): buffer.writeStaticString("\\\\")
                case UInt8(ascii: "\n"): buffer.writeStaticString("\\n")
                case UInt8(ascii: "\r"): buffer.writeStaticString("\\r")
                case UInt8(ascii: "\t"): buffer.writeStaticString("\\t")
                default: buffer.writeInteger(byte)
                }
            }
        case .blob(let data):
            // bytea's hex input, `\x…`, with its backslash escaped for COPY.
            buffer.writeStaticString("\\\\x")
            let digits = Array("0123456789abcdef".utf8)
            for byte in data {
                buffer.writeInteger(digits[Int(byte >> 4)])
                buffer.writeInteger(digits[Int(byte & 0x0F)])
            }
        }
    }
}
