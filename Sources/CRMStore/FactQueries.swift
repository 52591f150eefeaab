package import CRMDomain
import Foundation
import GRDB

/// Reads facts by their keys with cached prepared statements; shared by the writer (to recompute derived state)
/// and the readers (to project profiles).
struct FactQueries {
    let db: Database

    private static let byKey = """
        SELECT f.seq, f.fact_id, f.observed_at, f.source, f.payload
        FROM fact_keys k JOIN facts f ON f.seq = k.fact_seq
        WHERE k.key = ?
        """
    private static let byKeyAndKinds = """
        SELECT f.seq, f.fact_id, f.observed_at, f.source, f.payload
        FROM fact_keys k JOIN facts f ON f.seq = k.fact_seq
        WHERE k.key = ? AND k.kind BETWEEN ? AND ?
        """

    /// Every fact filed under `key`.
    func rows(key: String) throws -> [StoredFactRow] {
        try collect(db.cachedStatement(sql: Self.byKey), [key])
    }

    /// The facts of kinds `kinds` filed under `key`.
    func rows(key: String, kinds: ClosedRange<FactKind.RawValue>) throws -> [StoredFactRow] {
        try collect(db.cachedStatement(sql: Self.byKeyAndKinds), [key, kinds.lowerBound, kinds.upperBound])
    }

    func rows(key: String, kind: FactKind) throws -> [StoredFactRow] {
        try rows(key: key, kinds: kind.rawValue...kind.rawValue)
    }

    /// Decoded facts under `key`, optionally of some kinds.
    func facts(key: String, kinds: ClosedRange<FactKind.RawValue>? = nil, handles: HandleCache = HandleCache()) throws -> [Fact] {
        try (kinds.map { try rows(key: key, kinds: $0) } ?? rows(key: key)).map { try $0.decoded(handles: handles) }
    }

    private func collect(_ statement: Statement, _ arguments: StatementArguments) throws -> [StoredFactRow] {
        var result: [StoredFactRow] = []
        let cursor = try Row.fetchCursor(statement, arguments: arguments)
        while let row = try cursor.next() {
            result.append(StoredFactRow(
                seq: row[0], id: row[1], observedAt: row[2], sourceCode: UInt8(truncatingIfNeeded: row[3] as Int64), payload: row[4]))
        }
        return result
    }
}

extension StoredFactRow {
    /// The fact, or ``StoreError/corruptFact(id:reason:)``.
    package func decoded(handles: HandleCache = HandleCache()) throws(StoreError) -> Fact {
        do { return try decode(handles: handles) } catch { throw .corruptFact(id: id, reason: error.description) }
    }
}

extension FactKind {
    /// Link and unlink facts.
    static let identity: ClosedRange<RawValue> = FactKind.identityLink.rawValue...FactKind.identityUnlink.rawValue
}

/// The rule the domain applies wherever facts compete (fields, order records, complaint openings, identity pairs):
/// the greatest ``FactPrecedence`` wins.
enum Precedence {
    static func strongest(_ facts: some Sequence<Fact>) -> Fact? {
        facts.max { $0.precedence < $1.precedence }
    }
}
