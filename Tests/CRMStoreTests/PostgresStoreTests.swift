import CRMDomain
import CRMTestSupport
import Foundation
import PostgresNIO
import Testing
@testable import CRMPostgresStore
@testable import CRMStore

/// The PostgreSQL store's own parts (opening, migrations, URLs, several nodes on one database) on a cluster each test
/// starts for itself; what it shares with SQLite is tested on both by the conformance tests (``StoreKind``).
@Suite("PostgreSQL store: opening and several nodes")
struct PostgresStoreTests {
    @Test("a database URL is read as libpq writes it; sslmode and the port have defaults")
    func location() throws {
        let plain = try PostgresLocation(url: "postgres://crm@db.example:6543/crm", environment: ["PGPASSWORD": "s3cret"])
        #expect(plain.host == "db.example" && plain.port == 6543 && plain.user == "crm" && plain.database == "crm")
        #expect(plain.sslMode == .disable && plain.password == "s3cret")
        #expect(!plain.description.contains("s3cret"))
        let defaults = try PostgresLocation(url: "postgresql://crm@localhost/crm?sslmode=require")
        #expect(defaults.port == 5432 && defaults.sslMode == .require && defaults.password == nil)
        let verified = try PostgresLocation(url: "postgres://crm@h:1/d?sslmode=verify-full&sslrootcert=/etc/ca.pem")
        #expect(verified.sslMode == .verifyFull(caFile: "/etc/ca.pem"))
    }

    @Test(
        "a database URL that cannot be used is refused with what to write instead, never echoing a password",
        arguments: [
            ("mysql://crm@h/d", "does not start with postgres://"),
            ("postgres://crm@h", "names no database"),
            ("postgres://h:5432/d", "names no user"),
            ("postgres://crm:hunter2@h/d", "holds a password; give it in the environment variable PGPASSWORD"),
            ("postgres://crm@h:99999/d", "has a port that is not a number from 1 to 65535"),
            ("postgres://crm@h/d?sslmode=prefer", "has sslmode=prefer; use disable, require or verify-full"),
            ("postgres://crm@h/d?sslmode=verify-full", "without sslrootcert"),
            ("postgres://crm@h/d?application_name=x", "has the parameter application_name"),
        ])
    func badLocation(url: String, problem: String) {
        do {
            _ = try PostgresLocation(url: url)
            Issue.record("\(url) was accepted")
        } catch {
            #expect(error.description.contains(problem), "\(error.description)")
            #expect(!error.description.contains("hunter2"))
        }
    }

    @Test("opening migrates a new database once; a second node opening at the same time waits and finds it migrated")
    func openAndMigrate() async throws {
        try await withCluster { cluster in
            let location = try PostgresLocation(url: cluster.url)
            async let first = PostgresStore.open(location)
            async let second = PostgresStore.open(location)
            let stores = try await [first, second]
            for store in stores {
                #expect(try await store.schemaVersion() == PostgresMigrations.all.count)
                await store.close()
            }
        }
    }

    @Test("without PGPASSWORD the password comes from the first matching line of the password file, which others must not read")
    func passwordFile() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("pgpass-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try """
            # host:port:database:user:password
            other.example:5432:*:crm:wrong
            db.example:6543:crm:crm:pa\\:ss
            *:*:*:*:fallback
            """.write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o600)
        let url = "postgres://crm@db.example:6543/crm"
        #expect(try PostgresLocation(url: url, environment: ["PGPASSFILE": path]).password == "pa:ss")
        #expect(try PostgresLocation(url: "postgres://x@elsewhere/y", environment: ["PGPASSFILE": path]).password == "fallback")
        #expect(try PostgresLocation(url: url, environment: ["PGPASSFILE": path, "PGPASSWORD": "env"]).password == "env")
        #expect(try PostgresLocation(url: url, environment: ["HOME": "/nonexistent"]).password == nil)
        chmod(path, 0o644)
        #expect {
            _ = try PostgresLocation(url: url, environment: ["PGPASSFILE": path])
        } throws: { error in
            "\(error)".contains("chmod 0600")
        }
        #expect {
            _ = try PostgresLocation(url: url, environment: ["PGPASSFILE": path + ".missing"])
        } throws: { error in
            "\(error)".contains("does not exist")
        }
    }

    @Test("a database migrated by a newer version is refused at open, saying which versions")
    func newerSchema() async throws {
        try await withCluster { cluster in
            let location = try PostgresLocation(url: cluster.url)
            let store = try await PostgresStore.open(location)
            await store.close()
            try await withPostgresClient(cluster) { client in
                try await client.query("INSERT INTO schema_migrations (version, name) VALUES (99, 'from the future')")
            }
            await #expect {
                _ = try await PostgresStore.open(location)
            } throws: { error in
                "\(error)".contains("the database is at schema version 99, newer than this crmd knows (\(PostgresMigrations.all.count))")
            }
        }
    }

    @Test("a server that refuses the user, or a database that does not exist, stops the open with the server's words")
    func refusedAtOpen() async throws {
        try await withCluster { cluster in
            let noUser = try PostgresLocation(url: "postgres://nobody@127.0.0.1:\(cluster.port)/postgres")
            await #expect {
                _ = try await PostgresStore.open(noUser)
            } throws: { error in
                "\(error)".contains("role \"nobody\" does not exist") && "\(error)".contains("check the user in the URL and the password")
            }
            let noDatabase = try PostgresLocation(url: "postgres://\(PostgresTestCluster.user)@127.0.0.1:\(cluster.port)/nowhere")
            await #expect {
                _ = try await PostgresStore.open(noDatabase)
            } throws: { error in
                "\(error)".contains("database \"nowhere\" does not exist") && "\(error)".contains("createdb -O")
            }
        }
    }

    @Test("sslmode: require encrypts without checking; verify-full checks the CA and the host; each refusal says why")
    func tlsModes() async throws {
        let certificates = try TestCertificates.shared()
        let cluster = try PostgresTestCluster.start(tls: (certificates.serverCertificate, certificates.serverKey))
        defer { cluster.stop() }
        let base = "postgres://\(PostgresTestCluster.user)@127.0.0.1:\(cluster.port)/postgres"
        for url in ["\(base)?sslmode=require", "\(base)?sslmode=verify-full&sslrootcert=\(certificates.caFile)"] {
            let store = try await PostgresStore.open(PostgresLocation(url: url))
            let encrypted = try await store.read(oneStatement: true) { reads in
                try reads.tables.db.query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").rows.first?.decode(Bool.self)
            }
            #expect(encrypted == true, "\(url)")
            #expect(try await store.append([try message("wa/tls", from: phone("0812-1111-3333"), on: .whatsApp, at: jan2024)]).count == 1)
            await store.close()
        }
        // A CA that did not sign the server's certificate: refused, saying it is the certificate.
        await #expect {
            _ = try await PostgresStore.open(PostgresLocation(url: "\(base)?sslmode=verify-full&sslrootcert=\(certificates.untrustedCAFile)"))
        } throws: { error in
            guard case StoreError.databaseOpenFailed(_, let reason) = error else { return false }
            return reason.contains("the server's TLS certificate was not accepted") && reason.contains("sslrootcert must be the CA")
        }
        // A server without TLS, asked for it: refused, saying to enable it or not to ask.
        let plain = try PostgresTestCluster.shared()
        await #expect {
            _ = try await PostgresStore.open(PostgresLocation(url: "postgres://\(PostgresTestCluster.user)@127.0.0.1:\(plain.port)/postgres?sslmode=require"))
        } throws: { error in
            "\(error)".contains("the server does not speak TLS as sslmode asks")
        }
    }

    @Test("a server nobody listens on stops the open at once, saying where it looked and that it was refused")
    func unreachable() async throws {
        let cluster = try PostgresTestCluster.start()
        let port = cluster.port
        cluster.stop()
        let location = try PostgresLocation(url: "postgres://\(PostgresTestCluster.user)@127.0.0.1:\(port)/postgres")
        await #expect {
            _ = try await PostgresStore.open(location)
        } throws: { error in
            guard case StoreError.databaseOpenFailed(let url, let reason) = error else { return false }
            return url.contains("127.0.0.1:\(port)") && reason.lowercased().contains("refused")
                && reason.contains("check that PostgreSQL runs at 127.0.0.1:\(port)")
        }
    }

    @Test("appends: a new fact is inserted, the same again a duplicate, another content under its id a conflict settled the domain's way")
    func appendOutcomes() async throws {
        try await withStore { store in
            let ana = try phone("0812-1111-2222")
            let first = try message("wa/1", from: ana, on: .whatsApp, at: jan2024, summary: "halo")
            #expect(try await store.append([[first]], conflicts: .convergent, audit: []).outcomes == [.inserted])
            #expect(try await store.append([[first]], conflicts: .convergent, audit: []).outcomes == [.duplicate])
            #expect(try await store.containsFact(first.id))
            #expect(try await store.lastFactPosition() == 1)

            // Another content under the same id: the smaller canonical encoding stays, whichever came first.
            let other = try message("wa/1", from: ana, on: .whatsApp, at: jan2024, summary: "zzz")
            let winner = [first, other].min { $0.canonicalDescription.utf8.lexicographicallyPrecedes($1.canonicalDescription.utf8) }!
            let outcome = try await store.append([[other]], conflicts: .convergent, audit: []).outcomes
            #expect(outcome == [.conflict(replaced: winner == other)])
            #expect(try await interactions(store, ana) == [winner])
            // keepStored never replaces.
            let third = try message("wa/1", from: ana, on: .whatsApp, at: jan2024, summary: "aaa")
            #expect(try await store.append([[third]], conflicts: .keepStored, audit: []).outcomes == [.conflict(replaced: false)])
            #expect(try await interactions(store, ana) == [winner])
        }
    }

    @Test("a complaint's return inspections are read back by complaint, oldest check first")
    func returnInspections() async throws {
        try await withStore { store in
            func check(_ id: String, at: Int64, accepted: Int64) throws -> Fact {
                try fact(id, at: at, source: .agent, .returnInspection(ReturnInspection(
                    complaintID: ComplaintID("K-7"), orderNumber: OrderNumber("ORD-7"), verdict: .partial,
                    items: [InspectedItem(sku: "SKU-1", returned: 2, accepted: accepted, finding: "")],
                    localShippingCost: 15_000, receivedAt: nil, inspectedBy: "gudang", notes: "")))
            }
            let later = try check("qc/2", at: jan2024 + day, accepted: 2)
            let earlier = try check("qc/1", at: jan2024, accepted: 1)
            _ = try await store.append([[later], [earlier]], conflicts: .convergent, audit: []).outcomes
            #expect(try await store.returnInspections(of: ComplaintID("K-7")) == [earlier, later])
            #expect(try await store.returnInspections(of: ComplaintID("K-8")).isEmpty)
        }
    }

    @Test("keepStored: a request whose first fact is stored is a retry and stores none of its other facts")
    func retriedRequest() async throws {
        try await withStore { store in
            let ana = try phone("0812-1111-2222")
            let budi = try phone("0813-3333-4444")
            let push = try message("wa/2", from: ana, on: .whatsApp, at: jan2024)
            let stated = try link("wa/2/link", ana, budi, at: jan2024)
            #expect(try await store.append([[push]], conflicts: .keepStored, audit: []).outcomes == [.inserted])
            #expect(try await store.append([[push, stated]], conflicts: .keepStored, audit: []).outcomes == [.duplicate, .duplicate])
            #expect(try await !store.containsFact(stated.id))
        }
    }

    @Test("two nodes pushing the same facts at the same moment store each once")
    func twoNodesAtOnce() async throws {
        try await withCluster { cluster in
            let location = try PostgresLocation(url: cluster.url)
            let nodes = [try await PostgresStore.open(location), try await PostgresStore.open(location)]
            let ana = try phone("0812-1111-2222")
            let facts = try (0..<200).map { try message("wa/\($0)", from: ana, on: .whatsApp, at: jan2024 + Int64($0)) }
            let outcomes = try await withThrowingTaskGroup(of: [IngestOutcome].self) { group in
                for (n, node) in nodes.enumerated() {
                    // Each node pushes every fact, one request each, in its own order, several at once.
                    let order = n == 0 ? facts : facts.reversed()
                    for chunk in stride(from: 0, to: order.count, by: 20).map({ Array(order[$0..<min($0 + 20, order.count)]) }) {
                        group.addTask { try await node.append(chunk.map { [$0] }, conflicts: .keepStored, audit: []).outcomes }
                    }
                }
                var all: [IngestOutcome] = []
                for try await result in group { all += result }
                return all
            }
            #expect(outcomes.count { $0 == .inserted } == facts.count)
            #expect(outcomes.count { $0 == .duplicate } == facts.count)
            #expect(try await nodes[1].lastFactPosition() >= Int64(facts.count))
            #expect(try await interactions(nodes[0], ana).count == facts.count)
            for node in nodes { await node.close() }
        }
    }

    @Test("two nodes share one token registry, one audit trail and one record of sent notices")
    func sharedRecords() async throws {
        try await withCluster { cluster in
            let location = try PostgresLocation(url: cluster.url)
            let a = try await PostgresStore.open(location)
            let b = try await PostgresStore.open(location)

            // A token issued on one node works on the other; revoked on one, it is refused by the other's next check.
            let token = AccessTokenRecord(
                digest: Array(repeating: 7, count: 32), principal: "sari", role: "agent", createdAt: jan2024,
                expiresAt: nil, team: "sales")
            try await a.saveToken(token)
            #expect(try await b.token(digest: token.digest) == token)
            #expect(try await b.revokeToken(digest: token.digest, at: jan2024 + 5))
            #expect(try await a.token(digest: token.digest)?.revokedAt == jan2024 + 5)
            #expect(try await !a.revokeToken(digest: Array(repeating: 9, count: 32), at: jan2024))
            #expect(try await a.allTokens().map(\.principal) == ["sari"])

            // One trail: entries from both nodes at once, each once, in one sequence.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (n, node) in [a, b].enumerated() {
                    for i in 0..<20 {
                        group.addTask {
                            try await node.appendAudit([
                                AuditEntry(at: jan2024, actor: "node\(n)", action: "Push", subject: i % 2 == 0 ? "cus_even" : "cus_odd", detail: "\(i)")
                            ])
                        }
                    }
                }
                try await group.waitForAll()
            }
            let trail = try await a.auditEntries(subject: nil, after: nil, limit: 100)
            #expect(trail.count == 40)
            #expect(trail.map(\.sequence) == trail.map(\.sequence).sorted())
            let even = try await b.auditEntries(subject: "cus_even", after: nil, limit: 100)
            #expect(even.count == 20)
            let page = try await b.auditEntries(subject: "cus_even", after: even[9].sequence, limit: 100)
            #expect(page.map(\.sequence) == Array(even[10...].map(\.sequence)))

            // A notice both nodes would send is recorded by one of them: that one sends it.
            let recorded = try await withThrowingTaskGroup(of: Bool.self) { group in
                for node in [a, b, a, b] {
                    group.addTask { try await node.recordNoticeSent("sla/K-1/first-response", subject: "K-1", at: jan2024) }
                }
                var results: [Bool] = []
                for try await result in group { results.append(result) }
                return results
            }
            #expect(recorded.count { $0 } == 1)
            #expect(try await b.noticeSent("sla/K-1/first-response"))
            #expect(try await b.recordNoticeSent("sla/K-2/resolution", subject: "K-2", at: jan2024 + 1))
            let notices = try await a.sentNotices(since: jan2024, after: nil, limit: 10)
            #expect(notices.map(\.id) == ["sla/K-1/first-response", "sla/K-2/resolution"])
            #expect(try await a.sentNotices(since: jan2024, after: notices[0], limit: 10).map(\.id) == ["sla/K-2/resolution"])
            await a.close()
            await b.close()
        }
    }

    // MARK: Helpers

    private func withCluster(_ body: (PostgresTestCluster) async throws -> Void) async throws {
        let cluster = try PostgresTestCluster.start()
        do {
            try await body(cluster)
        } catch {
            cluster.stop()
            throw error
        }
        cluster.stop()
    }

    private func withStore(_ body: (PostgresStore) async throws -> Void) async throws {
        try await withCluster { cluster in
            let store = try await PostgresStore.open(try PostgresLocation(url: cluster.url))
            do {
                try await body(store)
            } catch {
                await store.close()
                throw error
            }
            await store.close()
        }
    }

}

/// The interactions of the customer `handle` belongs to, as facts, in time order.
private func interactions(_ store: PostgresStore, _ handle: Handle) async throws -> [Fact] {
    guard let customer = try await store.customerID(for: handle) else { return [] }
    return try await store.timeline(of: customer, before: nil, limit: 10_000).records.reversed().map {
        Fact(id: $0.factID, observedAt: $0.at, source: $0.source, payload: .interaction($0.interaction))
    }
}
