import CRMMessages
import CRMRPC
import CRMServer
import CRMServerTesting
import CRMWire
import Synchronization
import Testing

/// Repeated bad tokens from one address are answered more and more slowly, and the first slowed one is logged.
@Suite("Authentication throttle")
struct AuthenticationThrottleTests {
    /// A clock that moves only when told.
    final class ManualClock: Sendable {
        private let base = ContinuousClock.now
        private let offset = Mutex(Duration.zero)
        func advance(by amount: Duration) { offset.withLock { $0 += amount } }
        var now: ContinuousClock.Instant { base + offset.withLock { $0 } }
    }

    @Test("five bad tokens a minute are free; then the delay doubles from 100 ms up to 5 s, and the first slowed one is to be logged")
    func delaysGrow() {
        let clock = ManualClock()
        let throttle = AuthenticationThrottle(now: { clock.now })
        let decisions = (1...14).map { _ in throttle.recordFailure(from: "10.0.0.7") }
        #expect(decisions.prefix(5).allSatisfy { $0.delay == .zero && !$0.startsSlowing })
        #expect(decisions.map(\.failuresInWindow) == Array(1...14))
        #expect(decisions.dropFirst(5).map(\.delay) == [
            .milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800), .milliseconds(1_600),
            .milliseconds(3_200), .seconds(5), .seconds(5), .seconds(5),
        ])
        #expect(decisions.map(\.startsSlowing) == Array(repeating: false, count: 5) + [true] + Array(repeating: false, count: 8))
        // Another address has its own count.
        #expect(throttle.recordFailure(from: "10.0.0.8").delay == .zero)
    }

    @Test("a new window starts free, and a good token forgets the failures")
    func windowsAndSuccess() {
        let clock = ManualClock()
        let throttle = AuthenticationThrottle(now: { clock.now })
        for _ in 1...6 { _ = throttle.recordFailure(from: "10.0.0.7") }
        clock.advance(by: .seconds(61))
        #expect(throttle.recordFailure(from: "10.0.0.7") == .init(delay: .zero, failuresInWindow: 1, startsSlowing: false))
        for _ in 1...5 { _ = throttle.recordFailure(from: "10.0.0.7") }
        throttle.recordSuccess(from: "10.0.0.7")
        #expect(throttle.recordFailure(from: "10.0.0.7").failuresInWindow == 1)
    }

    @Test("the addresses remembered are bounded: expired ones go first, then the oldest")
    func boundedMemory() {
        let clock = ManualClock()
        let throttle = AuthenticationThrottle(policy: .init(maxTrackedAddresses: 3), now: { clock.now })
        for n in 0..<3 { _ = throttle.recordFailure(from: "10.0.0.\(n)") }
        clock.advance(by: .seconds(1))
        for n in 3..<100 { _ = throttle.recordFailure(from: "10.0.0.\(n)") }
        #expect(throttle.trackedAddresses == 3)
        // The newest is still counted.
        #expect(throttle.recordFailure(from: "10.0.0.99").failuresInWindow == 2)
    }

    @Test("on the real server, the sixth bad token from an address is answered UNAUTHENTICATED after a delay it names")
    func throughTheServer() async throws {
        try await withTestServer { h in
            var options = CallOptions()
            options.metadata.add("authorization", "Bearer crm_not-a-real-token")
            var messages: [String] = []
            for _ in 1...6 {
                do {
                    _ = try await h.rpc.unary(ProfileService.getProfile, GetProfileRequest(customer: byID("cus_0")), options: options)
                    Issue.record("a bad token was accepted")
                } catch let status as RPCStatus {
                    #expect(status.code == .unauthenticated)
                    messages.append(status.message)
                }
            }
            #expect(messages.prefix(5).allSatisfy { $0 == "the token is unknown; create one with `crmd token create`" })
            #expect(
                messages.last
                    == "the token is unknown; create one with `crmd token create`; answered after 100 ms: 6 bad tokens from 127.0.0.1 within 60 s")
            // A good token is still served at once, and forgets the address's failures.
            #expect(try await h.status(ProfileService.getCallerSnapshot, GetCallerSnapshotRequest(customer: byHandle(phone("0812-3456-7890"))), as: .sales).code != .unauthenticated)
        }
    }
}
