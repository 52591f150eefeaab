import CRMTestSupport
import Foundation
import PostgresNIO
import Testing

/// The PostgreSQL every PostgreSQL test starts for itself: Debian's server in a temporary directory on a free
/// loopback port, reached through postgres-nio as the store will reach it.
@Suite("A test's own PostgreSQL cluster")
struct PostgresClusterTests {
    @Test("a throwaway cluster starts on loopback, answers bound queries through postgres-nio, and is gone after stop")
    func startQueryStop() async throws {
        let cluster = try PostgresTestCluster.start()
        var stopped = false
        defer { if !stopped { cluster.stop() } }
        try await withPostgresClient(cluster) { client in
            var versions: [Int] = []
            for try await (version, user) in try await client.query(
                "SELECT current_setting('server_version_num')::int, current_user::text"
            ).decode((Int, String).self) {
                versions.append(version)
                #expect(user == PostgresTestCluster.user)
            }
            #expect(versions.count == 1)
            #expect(versions.allSatisfy { $0 >= 150_000 })

            // Values go as bound parameters, never into the SQL text: a quote in a value is just a character.
            try await client.query("CREATE TABLE t (id bigint PRIMARY KEY, name text NOT NULL)")
            let name = "O'Brien; DROP TABLE t"
            try await client.query("INSERT INTO t (id, name) VALUES (\(Int64(1)), \(name))")
            var names: [String] = []
            for try await stored in try await client.query("SELECT name FROM t WHERE id = \(Int64(1))").decode(String.self) {
                names.append(stored)
            }
            #expect(names == [name])
        }
        cluster.stop()
        stopped = true
        #expect(!FileManager.default.fileExists(atPath: cluster.directory))
    }
}
