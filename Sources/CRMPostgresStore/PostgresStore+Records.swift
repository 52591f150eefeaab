public import CRMStore
import Foundation
import PostgresNIO

/// The audit trail, access tokens and sent notices, shared by every node: one trail, a token revoked on one node
/// refused by all at their next check (nothing is cached), a notice recorded once whichever node sends it.
extension PostgresStore {
    // MARK: Audit

    /// Appends audit entries in one statement (so in one transaction), in their order.
    public func appendAudit(_ entries: [AuditEntry]) async throws {
        guard !entries.isEmpty else { return }
        try await write(
            """
            INSERT INTO audit_log (at, actor, action, subject, detail)
            SELECT at, actor, action, subject, detail FROM unnest(\(entries.map(\.at))::bigint[], \(entries.map(\.actor))::text[], \(entries.map(\.action))::text[],
                                 \(entries.map(\.subject))::text[], \(entries.map(\.detail))::text[]) WITH ORDINALITY AS e(at, actor, action, subject, detail, n)
            ORDER BY n
            """)
    }

    /// Audit entries about `subject` (all when nil), after sequence number `after`, oldest first.
    public func auditEntries(subject: String?, after: Int64?, limit: Int) async throws -> [AuditRecord] {
        let query: PostgresQuery =
            if let subject {
                """
                SELECT seq, at, actor, action, subject, detail FROM audit_log
                WHERE subject = \(subject) AND seq > \(after ?? 0) ORDER BY seq LIMIT \(max(0, limit))
                """
            } else {
                """
                SELECT seq, at, actor, action, subject, detail FROM audit_log
                WHERE seq > \(after ?? 0) ORDER BY seq LIMIT \(max(0, limit))
                """
            }
        var records: [AuditRecord] = []
        for try await (seq, at, actor, action, subject, detail) in try await rows(query).decode(
            (Int64, Int64, String, String, String, String).self)
        {
            records.append(AuditRecord(sequence: seq, entry: AuditEntry(at: at, actor: actor, action: action, subject: subject, detail: detail)))
        }
        return records
    }

    // MARK: Tokens

    /// Stores a token's record (replacing one with the same digest).
    public func saveToken(_ t: AccessTokenRecord) async throws {
        try await write(
            """
            INSERT INTO access_tokens (digest, principal, role, created_at, expires_at, revoked_at, team, customer_id)
            VALUES (\(Data(t.digest)), \(t.principal), \(t.role), \(t.createdAt), \(t.expiresAt), \(t.revokedAt), \(t.team),
                    \(t.customerID))
            ON CONFLICT (digest) DO UPDATE SET principal = excluded.principal, role = excluded.role,
                created_at = excluded.created_at, expires_at = excluded.expires_at, revoked_at = excluded.revoked_at,
                team = excluded.team, customer_id = excluded.customer_id
            """)
    }

    /// The record of the token whose digest is `digest`.
    /// Every call with a token reads its record (no node caches tokens, so a revocation holds everywhere at once): a
    /// statement each pooled connection prepares once.
    public func token(digest: [UInt8]) async throws -> AccessTokenRecord? {
        do {
            return try await ConnectionLease.execute(client, TokenByDigest(digest: Data(digest)), logger: logger).first
        } catch {
            throw PostgresFailure.storeError(error, writing: false)
        }
    }

    /// Marks a token revoked at `at` (the first revocation's time stays); returns whether it exists.
    public func revokeToken(digest: [UInt8], at: Int64) async throws -> Bool {
        var found = false
        for try await _ in try await rows(
            "UPDATE access_tokens SET revoked_at = coalesce(revoked_at, \(at)) WHERE digest = \(Data(digest)) RETURNING 1")
        {
            found = true
        }
        return found
    }

    /// Every token record, oldest first.
    public func allTokens() async throws -> [AccessTokenRecord] {
        try await tokens("\(unescaped: Self.tokenColumns) ORDER BY created_at, digest")
    }

    /// A constant of this file, put into the SQL text as it is (`unescaped:`); values are bound.
    static let tokenColumns =
        "SELECT digest, principal, role, created_at, expires_at, revoked_at, team, customer_id FROM access_tokens"

    private func tokens(_ query: PostgresQuery) async throws -> [AccessTokenRecord] {
        var records: [AccessTokenRecord] = []
        for try await row in try await rows(query) { records.append(try Self.tokenRecord(row)) }
        return records
    }

    /// A row of ``tokenColumns``.
    static func tokenRecord(_ row: PostgresRow) throws -> AccessTokenRecord {
        let (digest, principal, role, createdAt, expiresAt, revokedAt, team, customerID) = try row.decode(
            (Data, String, String, Int64, Int64?, Int64?, String?, String?).self)
        return AccessTokenRecord(
            digest: Array(digest), principal: principal, role: role, createdAt: createdAt, expiresAt: expiresAt, revokedAt: revokedAt,
            team: team, customerID: customerID)
    }

    /// The token with a digest, prepared once per connection.
    struct TokenByDigest: PostgresPreparedStatement {
        static let sql = PostgresStore.tokenColumns + " WHERE digest = $1"
        typealias Row = AccessTokenRecord

        let digest: Data

        func makeBindings() throws -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 1)
            try bindings.append(digest)
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> AccessTokenRecord { try PostgresStore.tokenRecord(row) }
    }

    // MARK: Notices

    /// Records that notice `noticeID` about `subject` was sent at `at`; true when this call recorded it, false when
    /// it was recorded already (by any node): the caller that gets true is the one that sends it.
    public func recordNoticeSent(_ noticeID: String, subject: String, at: Int64) async throws -> Bool {
        var recorded = false
        for try await _ in try await rows(
            """
            INSERT INTO sent_notices (notice_id, subject, sent_at) VALUES (\(noticeID), \(subject), \(at))
            ON CONFLICT (notice_id) DO NOTHING RETURNING 1
            """)
        {
            recorded = true
        }
        return recorded
    }

    /// Whether notice `noticeID` was recorded as sent.
    public func noticeSent(_ noticeID: String) async throws -> Bool {
        var found = false
        for try await _ in try await rows("SELECT 1 FROM sent_notices WHERE notice_id = \(noticeID)") { found = true }
        return found
    }

    /// Notices sent at or after `since`, by time then id, after `after`, at most `limit`.
    public func sentNotices(since: Int64, after: SentNotice?, limit: Int) async throws -> [SentNotice] {
        guard limit > 0 else { return [] }
        var notices: [SentNotice] = []
        for try await (id, subject, at) in try await rows(
            """
            SELECT notice_id, subject, sent_at FROM sent_notices
            WHERE sent_at >= \(since) AND (sent_at, notice_id) > (\(after?.at ?? Int64.min), \(after?.id ?? ""))
            ORDER BY sent_at, notice_id LIMIT \(limit)
            """
        ).decode((String, String, Int64).self) {
            notices.append(SentNotice(id: id, subject: subject, at: at))
        }
        return notices
    }
}
