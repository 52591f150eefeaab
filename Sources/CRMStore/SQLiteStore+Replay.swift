public import CRMDomain
import Foundation
import GRDB

/// The facts the watch streams show, for replaying them from the store: which kinds to read.
public struct ReplayKinds: OptionSet, Sendable, Hashable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// Interactions.
    public static let interactions = ReplayKinds(rawValue: 1)
    /// Complaint openings and transitions.
    public static let complaintSteps = ReplayKinds(rawValue: 2)
    /// Delay notices sent.
    public static let delayNotices = ReplayKinds(rawValue: 4)

    /// The stored kinds, as the `kind` column holds them.
    package var factKinds: [FactKind] {
        var kinds: [FactKind] = []
        if contains(.interactions) { kinds.append(.interaction) }
        if contains(.complaintSteps) { kinds += [.complaintOpened, .complaintTransition] }
        if contains(.delayNotices) { kinds.append(.delayNoticeSent) }
        return kinds
    }
}

/// A fact with its position in the store's arrival order.
public struct PositionedFact: Sendable {
    /// Where the fact arrived among all facts: later arrivals have greater positions.
    public let position: Int64
    /// The fact.
    public let fact: Fact

    package init(position: Int64, fact: Fact) {
        self.position = position
        self.fact = fact
    }
}

/// A proactive notice recorded as sent (``Store/recordNoticeSent(_:subject:at:)``).
public struct SentNotice: Sendable, Hashable {
    /// The notice's id.
    public let id: String
    /// The complaint or order it is about.
    public let subject: String
    /// When it was sent, Unix ms.
    public let at: Int64

    package init(id: String, subject: String, at: Int64) {
        self.id = id
        self.subject = subject
        self.at = at
    }
}

extension SQLiteStore {
    /// See ``Store/lastFactPosition()``.
    public func lastFactPosition() async throws -> Int64 {
        try await readForMaintenance { db in try Int64.fetchOne(db, sql: "SELECT MAX(seq) FROM facts") ?? 0 }
    }

    /// See ``Store/replayFacts(_:since:after:through:limit:)``.
    ///
    /// The first page finds its start through the partial index `facts_watched_by_time` (the smallest position among
    /// the watched facts at or after `since`), then every page walks the facts table by position.
    public func replayFacts(_ kinds: ReplayKinds, since: Int64, after: Int64?, through: Int64, limit: Int) async throws -> [PositionedFact] {
        let codes = kinds.factKinds.map(\.rawValue)
        guard !codes.isEmpty, limit > 0 else { return [] }
        let list = codes.map(String.init).joined(separator: ",")
        return try await readForMaintenance { db in
            var start = (after ?? 0) + 1
            if after == nil {
                // The kinds of the partial index, spelled as in its WHERE clause, so SQLite uses it.
                guard let first = try Int64.fetchOne(db, sql: """
                    SELECT MIN(seq) FROM facts INDEXED BY facts_watched_by_time
                    WHERE observed_at >= ? AND kind IN (\(ReplayKinds.watchedKindList))
                    """, arguments: [since])
                else { return [] }
                start = first
            }
            let rows = try Row.fetchAll(db, sql: """
                SELECT seq, fact_id, observed_at, source, payload FROM facts
                WHERE seq >= ? AND seq <= ? AND kind IN (\(list)) AND observed_at >= ?
                ORDER BY seq LIMIT ?
                """, arguments: [start, through, since, limit])
            let handles = HandleCache()
            return try rows.map { row in
                let stored = StoredFactRow(seq: row[0], id: row[1], observedAt: row[2], sourceCode: UInt8(truncatingIfNeeded: row[3] as Int64), payload: row[4])
                do {
                    return PositionedFact(position: stored.seq, fact: try stored.decode(handles: handles))
                } catch {
                    throw StoreError.corruptFact(id: stored.id, reason: "\(error)")
                }
            }
        }
    }

    /// See ``Store/sentNotices(since:after:limit:)``.
    public func sentNotices(since: Int64, after: SentNotice?, limit: Int) async throws -> [SentNotice] {
        guard limit > 0 else { return [] }
        return try await readForMaintenance { db in
            try Row.fetchAll(db, sql: """
                SELECT notice_id, subject, sent_at FROM sent_notices
                WHERE sent_at >= ? AND (sent_at, notice_id) > (?, ?)
                ORDER BY sent_at, notice_id LIMIT ?
                """, arguments: [since, after?.at ?? Int64.min, after?.id ?? "", limit]
            ).map { SentNotice(id: $0[0], subject: $0[1], at: $0[2]) }
        }
    }
}

extension ReplayKinds {
    /// Every kind a watch stream replays, as the partial index lists them.
    package static let watchedKindList = ReplayKinds([.interactions, .complaintSteps, .delayNotices]).factKinds.map { String($0.rawValue) }.joined(separator: ",")
}
