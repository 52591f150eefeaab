import CRMTestSupport
import PostgresNIO

/// Runs `body` with a postgres-nio client of `cluster`, connected as its superuser.
func withPostgresClient(_ cluster: PostgresTestCluster, _ body: (PostgresClient) async throws -> Void) async throws {
    let client = PostgresClient(
        configuration: PostgresClient.Configuration(
            host: "127.0.0.1", port: cluster.port, username: PostgresTestCluster.user, password: nil,
            database: PostgresTestCluster.database, tls: .disable))
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { await client.run() }
        try await body(client)
        group.cancelAll()
    }
}
