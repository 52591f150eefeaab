import Testing

/// Runs `body`, failing the test instead of hanging when it has not finished within `limit` (a watch call
/// that never returns, an event that never arrives); `progress` says how far it got.
func withTimeLimit(
    _ limit: Duration, progress: @escaping @Sendable () async -> String, _ body: @escaping @Sendable () async throws -> Void
) async throws {
    let finished = try await withThrowingTaskGroup(of: Bool.self) { group in
        group.addTask {
            try await body()
            return true
        }
        group.addTask {
            try? await Task.sleep(for: limit)
            return false
        }
        let first = try await group.next() ?? false
        if !first { Issue.record("not finished within \(limit): \(await progress())") }
        group.cancelAll()
        while (try? await group.next()) != nil {}
        return first
    }
    if !finished { throw CancellationError() }
}
