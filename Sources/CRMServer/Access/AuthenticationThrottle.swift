import Synchronization

/// Slows the answers to repeated bad tokens from one address, so that guessing tokens costs an attacker time while a
/// client that mistyped one is answered at once.
///
/// Each address gets ``Policy/freeFailures`` bad tokens per ``Policy/window`` answered without delay; every further
/// one in that window waits ``Policy/baseDelay``, doubled at each failure up to ``Policy/maxDelay``, before it is
/// answered (the call holds one of its connection's concurrent streams meanwhile). The first slowed failure of a
/// window is to be logged. A good token from the address forgets its failures. At most
/// ``Policy/maxTrackedAddresses`` addresses are remembered, so a flood from many addresses cannot grow it without
/// bound. A bad token costs no more than before: its digest and one look-up.
public final class AuthenticationThrottle: Sendable {
    /// How many failures are free and how the delay grows.
    public struct Policy: Sendable, Hashable {
        /// Bad tokens per address and window answered without delay.
        public var freeFailures: Int
        /// The window failures are counted in, from an address's first failure.
        public var window: Duration
        /// The delay of the first slowed failure; each further one doubles it.
        public var baseDelay: Duration
        /// The longest delay.
        public var maxDelay: Duration
        /// How many addresses are remembered at most.
        public var maxTrackedAddresses: Int

        /// 5 free failures a minute, then 100 ms doubling up to 5 s; 10,000 addresses.
        public init(
            freeFailures: Int = 5, window: Duration = .seconds(60), baseDelay: Duration = .milliseconds(100),
            maxDelay: Duration = .seconds(5), maxTrackedAddresses: Int = 10_000
        ) {
            self.freeFailures = freeFailures
            self.window = window
            self.baseDelay = baseDelay
            self.maxDelay = maxDelay
            self.maxTrackedAddresses = maxTrackedAddresses
        }
    }

    /// What to do with one bad token.
    public struct Decision: Sendable, Hashable {
        /// How long to wait before answering (zero while failures are free).
        public var delay: Duration
        /// The address's bad tokens in the current window, this one included.
        public var failuresInWindow: Int
        /// Whether this is the first slowed failure of the window, to be logged.
        public var startsSlowing: Bool

        /// A decision: wait `delay`; `failuresInWindow` so far; whether it `startsSlowing`.
        public init(delay: Duration, failuresInWindow: Int, startsSlowing: Bool) {
            self.delay = delay
            self.failuresInWindow = failuresInWindow
            self.startsSlowing = startsSlowing
        }
    }

    private struct Entry {
        var windowStart: ContinuousClock.Instant
        var failures: Int
    }

    public let policy: Policy
    private let now: @Sendable () -> ContinuousClock.Instant
    private let entries = Mutex<[String: Entry]>([:])

    /// A throttle with `policy`, reading time from `now` (injected by tests).
    public init(policy: Policy = Policy(), now: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now }) {
        self.policy = policy
        self.now = now
    }

    /// How many addresses are remembered now.
    public var trackedAddresses: Int { entries.withLock { $0.count } }

    /// Counts a bad token from `address` and says how long to wait before answering it.
    public func recordFailure(from address: String) -> Decision {
        let now = now()
        let policy = policy
        let failures = entries.withLock { entries -> Int in
            if var entry = entries[address], now - entry.windowStart < policy.window {
                entry.failures += 1
                entries[address] = entry
                return entry.failures
            }
            if entries[address] == nil, entries.count >= policy.maxTrackedAddresses {
                Self.makeRoom(in: &entries, now: now, window: policy.window)
            }
            entries[address] = Entry(windowStart: now, failures: 1)
            return 1
        }
        let slowed = failures - policy.freeFailures
        guard slowed > 0 else { return Decision(delay: .zero, failuresInWindow: failures, startsSlowing: false) }
        // 2^(slowed - 1) × base, computed without overflow and capped.
        var delay = policy.baseDelay
        for _ in 1..<min(slowed, 32) where delay < policy.maxDelay { delay *= 2 }
        return Decision(delay: min(delay, policy.maxDelay), failuresInWindow: failures, startsSlowing: slowed == 1)
    }

    /// A good token from `address`: its failures are forgotten.
    public func recordSuccess(from address: String) {
        entries.withLock { _ = $0.removeValue(forKey: address) }
    }

    /// Forgets the addresses whose window has passed; if none has, the one whose window began first.
    private static func makeRoom(in entries: inout [String: Entry], now: ContinuousClock.Instant, window: Duration) {
        let before = entries.count
        entries = entries.filter { now - $0.value.windowStart < window }
        if entries.count == before, let oldest = entries.min(by: { $0.value.windowStart < $1.value.windowStart }) {
            entries.removeValue(forKey: oldest.key)
        }
    }
}
