import CRMDomain
import CRMTestSupport
import Foundation
import Testing
@testable import CRMPostgresStore
@testable import CRMStore

/// A primary and its streaming-replication standby, both real PostgreSQL servers the test starts: a store given both
/// (a multi-host URL) writes to the one that accepts writes and follows a promotion by itself.
@Suite("PostgreSQL store: a primary and its standby")
struct PostgresFailoverTests {
    @Test("a multi-host URL lists its servers in order; target_session_attrs may only ask for the server that accepts writes")
    func multiHostLocation() throws {
        let both = try PostgresLocation(url: "postgres://crm@site-a:5432,site-b:6543/crm")
        #expect(both.servers == [.init(host: "site-a", port: 5432), .init(host: "site-b", port: 6543)])
        #expect(both.host == "site-a" && both.onStandbyLoss == .refuseWrites)
        #expect(both.description == "postgres://crm@site-a:5432,site-b:6543/crm?sslmode=disable")
        #expect(try PostgresLocation(url: both.description) == both)
        let defaults = try PostgresLocation(url: "postgres://crm@a,b/crm?target_session_attrs=read-write")
        #expect(defaults.servers.map(\.port) == [5432, 5432])
        #expect(try PostgresLocation(url: "postgres://crm@a/crm?target_session_attrs=primary").servers.count == 1)
        for (url, problem) in [
            ("postgres://crm@a,/crm", "an empty one between commas"),
            ("postgres://crm@a:1,b:x/crm", "has a port that is not a number"),
            ("postgres://crm@a,b/crm?target_session_attrs=any", "has target_session_attrs=any; crmd writes"),
        ] {
            do {
                _ = try PostgresLocation(url: url)
                Issue.record("\(url) was accepted")
            } catch {
                #expect(error.description.contains(problem), "\(error.description)")
            }
        }
    }

    @Test("a URL naming only a standby is refused at open, saying that it accepts no writes")
    func onlyStandby() async throws {
        try await withPrimaryAndStandby { primary, standby, database in
            await #expect {
                _ = try await PostgresStore.open(PostgresLocation(url: "postgres://crm@127.0.0.1:\(standby.port)/\(database)"))
            } throws: { error in
                guard case StoreError.databaseOpenFailed(_, let reason) = error else { return false }
                return reason.contains("127.0.0.1:\(standby.port) accepts no writes")
            }
        }
    }

    @Test("the primary lost and its synchronous standby promoted: the store writes to the new primary by itself, answering UNAVAILABLE meanwhile, and every acknowledged fact is there")
    func followsPromotion() async throws {
        try await withPrimaryAndStandby { primary, standby, database in
            // The standby first: the store must pass over it to the primary.
            // accept-writes: once promoted, the standby is alone (refuse-writes would wait for a standby of its own).
            var location = try PostgresLocation(url: "postgres://crm@127.0.0.1:\(standby.port),127.0.0.1:\(primary.port)/\(database)")
            location.onStandbyLoss = .acceptWrites
            let store = try await PostgresStore.open(location)
            let ana = try phone("0812-5555-0001")
            var acknowledged: Set<String> = []
            for index in 0..<20 {
                let fact = try message("failover/\(index)", from: ana, on: .whatsApp, at: jan2024 + Int64(index))
                #expect(try await store.append([fact]) == [.inserted])
                acknowledged.insert(fact.id.rawValue)
            }
            #expect(store.client.current?.port == primary.port)
            #expect(try await store.token(digest: Array(repeating: 7, count: 32)) == nil)

            try primary.halt()
            // No server accepts writes now: unavailable, never another answer.
            let lost = try message("failover/lost", from: ana, on: .whatsApp, at: jan2024 + 100)
            await #expect {
                _ = try await store.append([lost])
            } throws: { error in
                if case StoreError.unavailable = error { return true }
                return false
            }
            try standby.promote()

            // Reads alone find the new primary (the store's watcher gave the lost one up), and see every write
            // acknowledged before the loss.
            let readDeadline = ContinuousClock.now + .seconds(60)
            var beforeLoss: [String] = []
            while true {
                do {
                    beforeLoss = try await interactionIDs(store, ana)
                    break
                } catch StoreError.unavailable {
                    guard ContinuousClock.now < readDeadline else { throw StoreError.unavailable(reason: "reads still fail after 60 s") }
                    try await Task.sleep(for: .milliseconds(200))
                }
            }
            #expect(store.client.current?.port == standby.port)
            #expect(Set(beforeLoss) == acknowledged)
            // A prepared statement (the token look-up every call begins with) on the new server's pool.
            #expect(try await store.token(digest: Array(repeating: 7, count: 32)) == nil)

            // The same appends a retrying client would send, until each is acknowledged.
            let deadline = ContinuousClock.now + .seconds(60)
            var unavailable = 0
            for index in 20..<40 {
                let fact = try message("failover/\(index)", from: ana, on: .whatsApp, at: jan2024 + Int64(index))
                while true {
                    do {
                        let outcome = try await store.append([fact])
                        #expect(outcome == [.inserted] || outcome == [.duplicate])
                        acknowledged.insert(fact.id.rawValue)
                        break
                    } catch StoreError.unavailable {
                        unavailable += 1
                        guard ContinuousClock.now < deadline else { throw StoreError.unavailable(reason: "still after 60 s") }
                        try await Task.sleep(for: .milliseconds(100))
                    }
                }
            }
            // Every fact acknowledged before and after the loss, once; the one refused meanwhile is not there.
            let stored = try await interactionIDs(store, ana)
            #expect(stored.count == acknowledged.count && Set(stored) == acknowledged, "unavailable answers: \(unavailable)")
            await store.close()
        }
    }

    @Test("standby lost: with refuse-writes (the default) a write the primary alone holds answers UNAVAILABLE and its retry is acknowledged once the standby is back; accept-writes acknowledges it at once")
    func standbyLost() async throws {
        try await withPrimaryAndStandby { primary, standby, database in
            let url = "postgres://crm@127.0.0.1:\(primary.port),127.0.0.1:\(standby.port)/\(database)"
            let refusing = try await PostgresStore.open(PostgresLocation(url: url))
            var acceptingLocation = try PostgresLocation(url: url)
            acceptingLocation.onStandbyLoss = .acceptWrites
            let accepting = try await PostgresStore.open(acceptingLocation)
            let ana = try phone("0812-5555-0002")
            #expect(try await refusing.append([try message("lost/0", from: ana, on: .sms, at: jan2024)]) == [.inserted])

            // The standby's site is lost, and the failover manager lets the primary commit alone (pg_auto_failover's
            // wait_primary clears synchronous_standby_names so).
            try standby.halt()
            try primary.sql("ALTER SYSTEM SET synchronous_standby_names = ''")
            try primary.sql("SELECT pg_reload_conf()")
            try await Task.sleep(for: .milliseconds(500))
            let refused = try message("lost/1", from: ana, on: .sms, at: jan2024 + 1)
            await #expect {
                _ = try await refusing.append([refused])
            } throws: { error in
                guard case StoreError.unavailable(let reason) = error else { return false }
                return reason.contains("no standby has it") && reason.contains("standby-lost=accept-writes")
            }
            #expect(try await accepting.append([try message("lost/2", from: ana, on: .sms, at: jan2024 + 2)]) == [.inserted])

            // The standby back: the refused write, committed meanwhile, is acknowledged by its retry.
            try standby.resume()
            let deadline = ContinuousClock.now + .seconds(60)
            var outcome: [IngestOutcome] = []
            while outcome.isEmpty {
                do {
                    outcome = try await refusing.append([refused])
                } catch StoreError.unavailable {
                    guard ContinuousClock.now < deadline else { throw StoreError.unavailable(reason: "still after 60 s") }
                    try await Task.sleep(for: .milliseconds(200))
                }
            }
            #expect(outcome == [.duplicate])
            #expect(try await interactionIDs(refusing, ana).sorted() == ["lost/0", "lost/1", "lost/2"])
            await refusing.close()
            await accepting.close()

            // A user who cannot read the standbys' positions is refused at open, with what to grant.
            try primary.sql("CREATE ROLE plain LOGIN")
            try primary.sql("GRANT ALL ON SCHEMA public TO plain; GRANT ALL ON ALL TABLES IN SCHEMA public TO plain", database: database)
            await #expect {
                _ = try await PostgresStore.open(
                    PostgresLocation(url: "postgres://plain@127.0.0.1:\(primary.port),127.0.0.1:\(standby.port)/\(database)"))
            } throws: { error in
                "\(error)".contains("GRANT pg_read_all_stats TO plain")
            }
        }
    }

    // MARK: Helpers

    /// A primary with a new database, and its synchronous standby; both stopped afterwards.
    private func withPrimaryAndStandby(
        _ body: (PostgresTestCluster, PostgresTestCluster, String) async throws -> Void
    ) async throws {
        let primary = try PostgresTestCluster.start()
        defer { primary.stop() }
        let url = try primary.createDatabase()
        let database = String(url[url.index(after: url.lastIndex(of: "/")!)...])
        let standby = try primary.startStandby(synchronous: true)
        defer { standby.stop() }
        try await body(primary, standby, database)
    }
}

/// The fact ids of the interactions of the customer `handle` belongs to.
private func interactionIDs(_ store: PostgresStore, _ handle: Handle) async throws -> [String] {
    guard let customer = try await store.customerID(for: handle) else { return [] }
    return try await store.timeline(of: customer, before: nil, limit: 10_000).records.map(\.factID.rawValue)
}
