import CRMDataset
import CRMDomain
import CRMTestSupport
import Foundation
import Testing
@testable import CRMPostgresStore
@testable import CRMStore

/// `StoreCopy`: a SQLite store copied into PostgreSQL answers every query as the original did, a copy interrupted
/// part-way resumes and finishes, and a target that is not empty or a source that changed is refused.
@Suite("Copying a SQLite store into PostgreSQL")
struct StoreCopyTests {
    /// A SQLite store of `customers` generated customers with a token, audit entries and a sent notice, closed.
    private func seededSQLite(customers: Int, in directory: TemporaryDirectory) async throws -> (path: String, handles: [Handle]) {
        let path = directory.file("crm.sqlite")
        let store = try SQLiteStore(path: path)
        let generator = DatasetGenerator(seed: 7)
        _ = try await Seeder(generator: generator, appenders: 2, customersPerAppend: 10).seed(store, range: 0..<customers, progress: false)
        try await store.saveToken(AccessTokenRecord(
            digest: Array(repeating: 0xAB, count: 32), principal: "sari", role: "supervisor", createdAt: 1_700_000_000_000, expiresAt: nil,
            team: "ops\tteam\\1\n"))
        try await store.appendAudit([
            AuditEntry(at: 1_700_000_000_001, actor: "sari", action: "token.create", subject: "token/1", detail: "tab\there, back\\slash"),
            AuditEntry(at: 1_700_000_000_002, actor: "budi", action: "complaint.decide", subject: "customer/x"),
        ])
        _ = try await store.recordNoticeSent("notice/1", subject: "order/1", at: 1_700_000_000_003)
        try await store.close()
        let handles = (0..<customers).flatMap { generator.customer($0).facts.flatMap(\.mentionedHandles) }
        return (path, Array(Set(handles)).sorted { $0.canonical < $1.canonical })
    }

    @Test("a copy stopped part-way resumes, and the copy answers every profile, snapshot, token and audit entry as SQLite did")
    func copyResumeAndCompare() async throws {
        let directory = try TemporaryDirectory()
        let (path, handles) = try await seededSQLite(customers: 40, in: directory)
        let url = try PostgresTestCluster.shared().createDatabase()
        let target = try PostgresLocation(url: url)
        var copy = StoreCopy(source: path, target: target)
        copy.chunkRows = 50

        // Stop the first run as soon as it has sent some keys of the facts: the run's own task is cancelled.
        let stopped = await Task {
            try await copy.run(progress: { step, done, _ in
                if step == "copying fact_keys" && done > 0 { withUnsafeCurrentTask { $0?.cancel() } }
            })
        }.result
        #expect(throws: (any Error).self) { try stopped.get() }
        await #expect(throws: StoreError.self, "crmd does not serve an unfinished copy") { try await PostgresStore.open(target).close() }

        let report = try await copy.run()
        #expect(report.resumed)
        // The facts were all sent before the stop; the resumed run sends none of them again.
        #expect(report.copied.first { $0.table == "facts" }?.rows == 0)
        #expect(report.copied.first { $0.table == "customer_summaries" }?.rows == 40)
        #expect(report.problems == [])
        #expect(report.customers > 0)

        let sqlite = try SQLiteStore(path: path)
        let postgres = try await PostgresStore.open(target)
        let now: Int64 = 1_735_000_000_000
        for handle in handles {
            let expected = try await sqlite.profile(for: handle)
            #expect(try await postgres.profile(for: handle) == expected, "\(handle.canonical)")
            let snapshot = try await sqlite.callerSnapshot(for: handle, now: now, problem: nil)
            #expect(try await postgres.callerSnapshot(for: handle, now: now, problem: nil) == snapshot, "\(handle.canonical)")
        }
        #expect(try await postgres.allTokens() == sqlite.allTokens())
        #expect(try await postgres.auditEntries(subject: nil, after: nil, limit: 100) == sqlite.auditEntries(subject: nil, after: nil, limit: 100))
        #expect(try await postgres.noticeSent("notice/1"))
        #expect(try await postgres.lastFactPosition() == sqlite.lastFactPosition())

        // Appends go on after the copied positions and audit entries.
        let next = try Fact(
            id: FactID("wa/after-copy"), observedAt: now, source: .channel,
            payload: .interaction(try Interaction(
                channel: .whatsApp, direction: .inbound, handle: try #require(handles.first { $0.kind == .phone }), intent: .other,
                summary: "halo")))
        #expect(try await postgres.append([next]) == [.inserted])
        #expect(try await postgres.lastFactPosition() == sqlite.lastFactPosition() + 1)
        try await postgres.appendAudit([AuditEntry(at: now, actor: "sari", action: "note", subject: "after")])
        let trail = try await postgres.auditEntries(subject: nil, after: nil, limit: 100)
        #expect(trail.map(\.sequence) == Array(1...3).map(Int64.init))
        #expect(try await postgres.verifyReadModel().differences == [])

        // The indexes and the keys' reference set aside during the copy are back, as a new store has them.
        let fresh = try await PostgresStore.open(PostgresLocation(url: try PostgresTestCluster.shared().createDatabase()))
        let schema: @Sendable (PostgresStore) async throws -> [String] = { store in
            try await store.read(oneStatement: true) { reads in
                try reads.tables.db.query("""
                    SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema()
                    UNION ALL SELECT conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint
                    WHERE connamespace = current_schema()::regnamespace ORDER BY 1
                    """).rows.map { try $0.decode(String.self) }
            }
        }
        #expect(try await schema(postgres) == schema(fresh))
        await fresh.close()
        try await sqlite.close()
        await postgres.close()
    }

    @Test("a target that holds anything, or a source that changed since its copy began, is refused with what to do")
    func refusals() async throws {
        let directory = try TemporaryDirectory()
        let (path, _) = try await seededSQLite(customers: 5, in: directory)
        let cluster = try PostgresTestCluster.shared()

        let occupied = try PostgresLocation(url: try cluster.createDatabase())
        let store = try await PostgresStore.open(occupied)
        try await store.appendAudit([AuditEntry(at: 1, actor: "sari", action: "note", subject: "x")])
        await store.close()
        await #expect {
            try await StoreCopy(source: path, target: occupied).run()
        } throws: { error in
            "\(error)".contains("is not empty") && "\(error)".contains("createdb")
        }

        // A first run stopped at once, then the source grows: the copy cannot resume.
        let target = try PostgresLocation(url: try cluster.createDatabase())
        _ = await Task {
            try await StoreCopy(source: path, target: target).run(progress: { step, _, _ in
                if step.hasPrefix("copying") { withUnsafeCurrentTask { $0?.cancel() } }
            })
        }.result
        let source = try SQLiteStore(path: path)
        _ = try await source.append([try Fact(
            id: FactID("wa/late"), observedAt: 1_735_000_000_000, source: .channel,
            payload: .interaction(try Interaction(channel: .whatsApp, direction: .inbound, handle: .phone("0812-9999-0000"), intent: .other, summary: "x")))])
        try await source.close()
        await #expect {
            try await StoreCopy(source: path, target: target).run()
        } throws: { error in
            "\(error)".contains("changed since its copy") && "\(error)".contains("copy afresh")
        }

        await #expect {
            try await StoreCopy(source: directory.file("missing.sqlite"), target: target).run()
        } throws: { error in
            "\(error)".contains("there is no SQLite store at")
        }
    }
}
