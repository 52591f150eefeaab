import CRMStore
import Foundation
import NIOCore
import PostgresNIO

/// What one append transaction holds back and remembers, so that the common append (an interaction from a known
/// customer) costs two statements on PostgreSQL instead of six.
///
/// Every statement is a round trip to the server, and on PostgreSQL the round trips, not the server's work, are what
/// an append costs. So, within one group commit's transaction:
/// - the writes nothing reads back in the same append are held and sent at the end, one multi-row statement per table
///   for the whole batch: the facts' keys (``insertKeys``), the read model's rows (``saveSummary``,
///   ``deleteSummary``) and the audit entries (``insertAudit``). A read of `fact_keys` sends the held keys first,
///   and a summary held back is answered from here, so the transaction reads its own writes as before;
/// - what the transaction read or wrote of `handles` is remembered (handle rows only change through this
///   transaction: the append lock keeps every other node out), and a handle is read together with its customer's
///   summary, which the fold of the read model reads next.
///
/// Used by one thread at a time: the writer's, for one transaction. After a rollback the buffer is thrown away.
final class BatchBuffer {
    /// Held `fact_keys` rows, column by column.
    private var keys: [String] = []
    private var keyKinds: [Int16] = []
    private var keyTimes: [Int64] = []
    private var keyFactIDs: [String] = []
    private var keyPositions: [Int64] = []

    /// A held write of a customer's summary.
    enum SummaryWrite {
        case save(Data)
        case delete
    }

    /// Held writes of `customer_summaries`, the last per customer.
    private var summaryWrites: [String: SummaryWrite] = [:]
    /// Summaries as the database holds them (nil: no row), read earlier in this transaction.
    private var storedSummaries: [String: Data?] = [:]
    /// Handle rows (nil: no such handle) read or written in this transaction.
    private var handleRows: [String: HandleRow?] = [:]

    /// Held audit entries, column by column.
    private var auditTimes: [Int64] = []
    private var auditActors: [String] = []
    private var auditActions: [String] = []
    private var auditSubjects: [String] = []
    private var auditDetails: [String] = []

    // MARK: Holding

    func holdKeys(_ keys: [String], kind: Int16, observedAt: Int64, factID: String, position: Int64) {
        for key in keys {
            self.keys.append(key)
            keyKinds.append(kind)
            keyTimes.append(observedAt)
            keyFactIDs.append(factID)
            keyPositions.append(position)
        }
    }

    func holdSummary(_ write: SummaryWrite, of customer: String) {
        summaryWrites[customer] = write
    }

    func holdAudit(at: Int64, actor: String, action: String, subject: String, detail: String) {
        auditTimes.append(at)
        auditActors.append(actor)
        auditActions.append(action)
        auditSubjects.append(subject)
        auditDetails.append(detail)
    }

    // MARK: Remembering

    /// The handle row known to this transaction: `.some(nil)` when the handle is known not to exist, nil when it was
    /// not read yet.
    func handleRow(_ handle: String) -> HandleRow?? { handleRows[handle] }

    func remember(_ row: HandleRow?, of handle: String) { handleRows[handle] = .some(row) }

    /// A customer's summary as this transaction would read it: `.some(nil)` when it has none, nil when unknown here.
    func summary(of customer: String) -> Data?? {
        switch summaryWrites[customer] {
        case .save(let bytes): return .some(bytes)
        case .delete: return .some(nil)
        case nil: return storedSummaries[customer]
        }
    }

    func rememberStored(_ summary: Data?, of customer: String) { storedSummaries[customer] = .some(summary) }

    // MARK: Sending

    /// Sends the held keys (before a statement that reads or deletes `fact_keys`).
    func sendKeys(on db: BlockingConnection) throws {
        guard !keys.isEmpty else { return }
        try db.query("""
            INSERT INTO fact_keys (key, kind, observed_at, fact_id, fact_seq)
            SELECT * FROM unnest(\(keys)::text[], \(keyKinds)::int2[], \(keyTimes)::int8[], \(keyFactIDs)::text[], \(keyPositions)::int8[])
            ON CONFLICT DO NOTHING
            """)
        keys.removeAll(keepingCapacity: true)
        keyKinds.removeAll(keepingCapacity: true)
        keyTimes.removeAll(keepingCapacity: true)
        keyFactIDs.removeAll(keepingCapacity: true)
        keyPositions.removeAll(keepingCapacity: true)
    }

    /// Sends every held write: at the end of the transaction (or of an append's savepoint), before its commit.
    func send(on db: BlockingConnection) throws {
        try sendKeys(on: db)
        var deleted: [String] = []
        var saved: [String] = []
        var bytes: [ByteBuffer] = []  // postgres-nio encodes arrays of ByteBuffer, not of Data, as bytea[]
        for (customer, write) in summaryWrites {
            switch write {
            case .save(let data):
                saved.append(customer)
                bytes.append(ByteBuffer(bytes: data))
                storedSummaries[customer] = .some(data)
            case .delete:
                deleted.append(customer)
                storedSummaries[customer] = .some(nil)
            }
        }
        summaryWrites.removeAll(keepingCapacity: true)
        if !deleted.isEmpty {
            try db.query("DELETE FROM customer_summaries WHERE customer_id = ANY(\(deleted)::text[])")
        }
        if !saved.isEmpty {
            try db.query("""
                INSERT INTO customer_summaries (customer_id, summary) SELECT * FROM unnest(\(saved)::text[], \(bytes)::bytea[])
                ON CONFLICT (customer_id) DO UPDATE SET summary = excluded.summary
                """)
        }
        if !auditTimes.isEmpty {
            try db.query("""
                INSERT INTO audit_log (at, actor, action, subject, detail)
                SELECT * FROM unnest(\(auditTimes)::int8[], \(auditActors)::text[], \(auditActions)::text[], \(auditSubjects)::text[],
                    \(auditDetails)::text[])
                """)
            auditTimes.removeAll(keepingCapacity: true)
            auditActors.removeAll(keepingCapacity: true)
            auditActions.removeAll(keepingCapacity: true)
            auditSubjects.removeAll(keepingCapacity: true)
            auditDetails.removeAll(keepingCapacity: true)
        }
    }
}
