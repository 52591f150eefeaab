import CRMServerTesting

/// What the CLI tests need of a ``TestServer`` beyond starting it: the flags that point `crm` at it, and a wait for
/// watches started as child processes.
extension TestServer {
    /// The connection flags of `caller`: `--server`, `--ca` and `--token`.
    func flags(_ caller: TestCaller) async throws -> [String] {
        ["--server", address, "--ca", caFile, "--token", try await token(caller) ?? ""]
    }

    /// A CA that did not sign the server's certificate, for refusal tests.
    var untrustedCAFile: String { testCertificates.untrustedCAFile }

    /// Waits until `count` watch streams are subscribed: a watch started as a child process is listening from
    /// then on. The limit (counted in checks, not on the clock) only guards against a hang.
    func waitForWatchers(_ count: Int) async throws {
        for _ in 0..<24_000 {
            if await events.subscriberCount >= count { return }
            try await Task.sleep(for: .milliseconds(5))
        }
        throw WatchersNotSubscribed(
            description: "no \(count) watch streams subscribed after 24,000 checks; \(await events.subscriberCount) are")
    }

    struct WatchersNotSubscribed: Error, CustomStringConvertible {
        var description: String
    }
}
