/// gRPC's connection backoff: how long a client waits before the next attempt to connect after a
/// failed one (https://github.com/grpc/grpc/blob/master/doc/connection-backoff.md).
///
/// The first wait is `initial`; each later one is `multiplier` times longer, up to `maximum`;
/// each is spread by ±`jitter` of itself so that clients do not reconnect in step.
public struct Backoff: Sendable, Hashable {
    /// The first wait. Default 1 s.
    public var initial: Duration
    /// How much longer each wait is than the one before. Default 1.6.
    public var multiplier: Double
    /// The spread of each wait, as a fraction of it. Default 0.2.
    public var jitter: Double
    /// The longest wait. Default 120 s.
    public var maximum: Duration

    public init(
        initial: Duration = .seconds(1), multiplier: Double = 1.6, jitter: Double = 0.2, maximum: Duration = .seconds(120)
    ) {
        self.initial = initial
        self.multiplier = multiplier
        self.jitter = jitter
        self.maximum = maximum
    }

    /// gRPC's values: 1 s, ×1.6, jitter 0.2, at most 120 s.
    public static let grpc = Backoff()

    /// The wait before the next attempt after `failures` failed ones in a row (at least 1),
    /// without jitter.
    public func baseDelay(afterFailures failures: Int) -> Duration {
        var delay = seconds(initial)
        let cap = seconds(maximum)
        for _ in 1..<max(failures, 1) {
            delay = min(delay * multiplier, cap)
        }
        return .nanoseconds(Int64(min(delay, cap) * 1e9))
    }

    /// The wait before the next attempt after `failures` failed ones in a row, with jitter drawn
    /// from `random` (a number in -1...1).
    public func delay(afterFailures failures: Int, random: Double) -> Duration {
        let base = seconds(baseDelay(afterFailures: failures))
        let spread = base * jitter * min(max(random, -1), 1)
        return .nanoseconds(Int64(max(base + spread, 0) * 1e9))
    }

    /// The wait before the next attempt, with fresh jitter.
    public func delay(afterFailures failures: Int) -> Duration {
        delay(afterFailures: failures, random: Double.random(in: -1...1))
    }

    private func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
