import CRMServer
import CRMServerTesting
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import Testing

@Suite("Sweeper")
struct SweeperTests {
    @Test(
        "the server runs its sweeps periodically while it runs, and stops them at shutdown; a failing run is retried",
        .timeLimit(.minutes(3)))
    func sweepsRunWhileServing() async throws {
        let runs = Count()
        let failures = Count()
        let held = Count()
        let released = Count()
        try await withTestServer(
            services: .custom(
                [ProbeService()],
                sweeps: [
                    SweepTask(name: "count", interval: .milliseconds(20)) { runs.add() },
                    SweepTask(name: "fail", interval: .milliseconds(20)) {
                        failures.add()
                        throw SweepFailure()
                    },
                    // A run that lasts until it is cancelled and then takes half a second to wind down (as a sweep
                    // finishing its batch would): shutdown may only return once it has ended.
                    SweepTask(name: "hold", interval: .milliseconds(20)) {
                        held.add()
                        try? await Task.sleep(for: .seconds(3_600))
                        await withCheckedContinuation { done in
                            DispatchQueue.global().asyncAfter(deadline: .now() + 0.5) { done.resume() }
                        }
                        released.add()
                    },
                ])
        ) { server in
            // A generous wait, not a timing claim: the whole suite shares two cores, and a sweep's task may wait its
            // turn.
            let deadline = ContinuousClock.now + .seconds(120)
            while (runs.value < 3 || failures.value < 3 || held.value < 1) && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(runs.value >= 3)
            #expect(failures.value >= 3)
            #expect(held.value == 1)
            #expect(released.value == 0)
            await server.app.shutdown(gracePeriod: .seconds(1))
            // Shutdown cancelled the sweeps and waited for them: the run in progress has ended, and no loop is left to
            // start another (the sweeper's task group is over when shutdown returns).
            #expect(released.value == 1)
            #expect(held.value == 1)
        }
    }

    @Test(
        "as a service in a group the server runs its sweeps beside it; the group's graceful shutdown stops the sweeper, then the server, and run() returns",
        .timeLimit(.minutes(3)))
    func runAsService() async throws {
        let runs = Count()
        let directory = TestServer.temporaryDataDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let served = Count()
        let app = CRMServerApp(
            configuration: try TestServer.configuration(directory: directory), onServing: { _ in served.add() }
        ) { _ in
            ServerComponents(
                services: [ProbeService()], sweeps: [SweepTask(name: "count", interval: .milliseconds(20)) { runs.add() }])
        }
        let group = ServiceGroup(services: [app], logger: Logger(label: "test"))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            // A generous wait, not a timing claim (see above).
            let deadline = ContinuousClock.now + .seconds(120)
            while runs.value < 2 && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(runs.value >= 2)
            #expect(served.value == 1)
            #expect(app.port != nil)
            await group.triggerGracefulShutdown()
            try await tasks.next()
        }
        #expect(app.port == nil)
        #expect(app.store == nil)
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

