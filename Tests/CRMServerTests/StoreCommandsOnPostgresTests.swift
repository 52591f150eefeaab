import CRMDataset
import CRMDomain
import CRMMessages
import CRMRPC
import CRMStore
import CRMTestSupport
import Foundation
import Testing

@testable import CRMPostgresStore
@testable import CRMServer

/// The crmd subcommands that move and check a store on PostgreSQL, run as the process a person runs: `crmd store
/// copy` from a seeded data directory, crmd serving the copy with the tokens made before it, and `crmd verify
/// --database` finding, then repairing, a damaged read model.
@Suite("crmd store copy and verify on PostgreSQL", .serialized)
struct StoreCommandsOnPostgresTests {
    @Test("crmd store copy moves a seeded store and its tokens; the copy serves the same profiles; verify checks and repairs it")
    func copyServeVerify() async throws {
        let data = try TemporaryDirectory()
        let url = try PostgresTestCluster.shared().createDatabase()
        let seeded = try await CRMDBinary.run(["seed", "--customers", "20", "--data-dir", data.path])
        #expect(seeded.status == 0, "\(seeded)")
        let supervisor = try await CRMDBinary.run(["token", "create", "--role", "supervisor", "--name", "sari", "--data-dir", data.path])
        #expect(supervisor.status == 0, "\(supervisor)")
        let token = supervisor.stdout.trimmingCharacters(in: .whitespacesAndNewlines)

        let copied = try await CRMDBinary.run(["store", "copy", "--from", "sqlite:\(data.path)", "--to", url])
        #expect(copied.status == 0, "\(copied)")
        #expect(copied.stderr.contains("verified 20 customers"), "\(copied.stderr)")
        let again = try await CRMDBinary.run(["store", "copy", "--from", "sqlite:\(data.path)", "--to", url])
        #expect(again.status == 1 && again.stderr.contains("is not empty"), "\(again)")

        // The copy serves what the data directory served, to the token made before the copy.
        let postgresNode = try await CRMDNode.start(database: url, dataDirectory: data.path)
        defer { postgresNode.stop() }
        let sqliteNode = try await CRMDNode.start(database: nil, dataDirectory: data.path)
        defer { sqliteNode.stop() }
        let handles = DatasetGenerator(seed: 2024).customer(0).facts.flatMap(\.mentionedHandles)
        #expect(!handles.isEmpty)
        for handle in Set(handles) {
            let request = GetProfileRequest(customer: CustomerSelector(target: .handle(handle.wire)), interactionLimit: 200)
            var fromCopy = try await postgresNode.client().unary(ProfileService.getProfile, request, options: .bearer(token))
            var original = try await sqliteNode.client().unary(ProfileService.getProfile, request, options: .bearer(token))
            fromCopy.profile?.asOfMs = 0
            original.profile?.asOfMs = 0
            #expect(try fromCopy.wireBytes() == original.wireBytes(), "\(handle.canonical)")
            #expect(fromCopy.profile != nil)
        }
        postgresNode.stop()

        let clean = try await CRMDBinary.run(["verify", "--database", url, "--data-dir", data.path])
        #expect(clean.status == 0, "\(clean)")
        #expect(clean.stderr.contains("checked 20 customers: 0 read models differ from their facts"), "\(clean.stderr)")

        let store = try await PostgresStore.open(PostgresLocation(url: url))
        try await store.write("UPDATE customer_summaries SET summary = '\\x01'::bytea WHERE customer_id IN (SELECT min(customer_id) FROM customers)")
        await store.close()
        let found = try await CRMDBinary.run(["verify", "--database", url, "--data-dir", data.path])
        #expect(found.status == 1, "\(found)")
        #expect(found.stdout.contains("the stored read model differs from its facts in damaged"), "\(found.stdout)")
        let repaired = try await CRMDBinary.run(["verify", "--repair", "--database", url, "--data-dir", data.path])
        #expect(repaired.status == 0 && repaired.stderr.contains("1 rewritten"), "\(repaired)")
        #expect(try await CRMDBinary.run(["verify", "--database", url, "--data-dir", data.path]).status == 0)

        let derived = try await CRMDBinary.run(["verify", "--derived-tables", "--database", url, "--data-dir", data.path])
        #expect(derived.status == 64 && derived.stderr.contains("--derived-tables works on the embedded SQLite store only"), "\(derived)")
    }

    @Test("crmd store copy says what to fix in its arguments")
    func badArguments() async throws {
        let data = try TemporaryDirectory()
        let noScheme = try await CRMDBinary.run(["store", "copy", "--from", data.path, "--to", "postgres://crm@127.0.0.1:1/x"])
        #expect(noScheme.status == 64 && noScheme.stderr.contains("--from takes sqlite:DATA-DIR"), "\(noScheme)")
        let badURL = try await CRMDBinary.run(["store", "copy", "--from", "sqlite:\(data.path)", "--to", "mysql://x"])
        #expect(badURL.status == 64 && badURL.stderr.contains("--to:"), "\(badURL)")
        let empty = try await CRMDBinary.run(["store", "copy", "--from", "sqlite:\(data.path)", "--to", "postgres://crm@127.0.0.1:1/x"])
        #expect(empty.status == 1 && empty.stderr.contains("there is no SQLite store at"), "\(empty)")
    }
}
