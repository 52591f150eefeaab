import CRMServer
import CRMTestSupport
import Foundation
import Synchronization
import Testing

@Suite("Sweeper")
struct SweeperTests {
    @Test("the server runs its sweeps periodically while it runs, and stops them at shutdown; a failing run is retried")
    func sweepsRunWhileServing() async throws {
        let runs = Count()
        let failures = Count()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("crm-sweep-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let certificates = try TestCertificates.shared()
        let configuration = ServerConfiguration(
            host: "127.0.0.1", port: 0, dataDirectory: directory, certificateFile: certificates.serverCertificate,
            privateKeyFile: certificates.serverKey, metricsPort: nil, logLevel: "critical")
        let app = CRMServerApp(configuration: configuration, logger: quietLogger) { _ in
            ServerComponents(
                services: [ProbeService()],
                sweeps: [
                    SweepTask(name: "count", interval: .milliseconds(20)) { runs.add() },
                    SweepTask(name: "fail", interval: .milliseconds(20)) {
                        failures.add()
                        throw SweepFailure()
                    },
                ])
        }
        try await app.start()
        // A generous wait, not a timing claim: the whole suite shares two cores, and a sweep's task may wait its turn.
        let deadline = ContinuousClock.now + .seconds(120)
        while (runs.value < 3 || failures.value < 3) && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(runs.value >= 3)
        #expect(failures.value >= 3)
        await app.shutdown(gracePeriod: .seconds(1))
        let after = runs.value
        try await Task.sleep(for: .milliseconds(100))
        #expect(runs.value == after)
    }

    struct SweepFailure: Error {}

    final class Count: Sendable {
        private let count = Mutex(0)
        func add() { count.withLock { $0 += 1 } }
        var value: Int { count.withLock { $0 } }
    }
}

