import GRDB

extension SQLiteStore {
    /// See ``Store/recordNoticeSent(_:subject:at:)``; one `INSERT OR IGNORE` in the group commit.
    public func recordNoticeSent(_ noticeID: String, subject: String, at: Int64) async throws -> Bool {
        guard case let .recorded(inserted) = try await submit(.recordNotice(id: noticeID, subject: subject, at: at)) else { return false }
        return inserted
    }

    /// See ``Store/noticeSent(_:)``.
    public func noticeSent(_ noticeID: String) async throws -> Bool {
        try await readForMaintenance { db in
            try Bool.fetchOne(db, sql: "SELECT EXISTS(SELECT 1 FROM sent_notices WHERE notice_id = ?)", arguments: [noticeID]) ?? false
        }
    }
}
