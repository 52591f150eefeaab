import CRMServer
import Synchronization

/// The server time of a test, Unix ms, as the services read it: tests move it instead of sleeping, so a
/// delivery 31 days late or a complaint past its service level takes no time to reach.
public final class TestClock: Sendable {
    private let origin: @Sendable () -> Int64
    private let offset = Mutex<Int64>(0)

    /// A clock standing at `start` until it is moved: every run of a test sees the same times, so a test can
    /// name exact instants (``TestServer/now``) in its requests and expectations.
    public init(_ start: Int64 = TestServer.now) {
        origin = { start }
    }

    private init(origin: @escaping @Sendable () -> Int64) {
        self.origin = origin
    }

    /// The wall clock (still movable), for tests whose other side reads the real date: the agent CLI turns
    /// "today" and `--since` days into times with the machine's clock.
    public static func wall() -> TestClock {
        TestClock(origin: unixMillisecondsNow)
    }

    /// The current time.
    public var now: Int64 { origin() + offset.withLock { $0 } }

    /// Moves the clock forward by `milliseconds`.
    public func advance(by milliseconds: Int64) { offset.withLock { $0 += milliseconds } }

    /// The clock as the services take it.
    public var read: @Sendable () -> Int64 { { [self] in now } }
}
