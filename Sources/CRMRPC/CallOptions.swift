import CRMWire

/// How one client call is made: its deadline, metadata, and whether it may be retried.
public struct CallOptions: Sendable {
    /// The time the call may take, from when it starts; nil for none. With `deadline`, the
    /// earlier of the two holds.
    public var timeout: Duration?
    /// The instant by which the call must be over; nil for none.
    public var deadline: ContinuousClock.Instant?
    /// Metadata sent in the request headers.
    public var metadata: Metadata
    /// Whether the request is safe to repeat. The server is told; the client then also retries
    /// it after UNAVAILABLE even when the request may have been processed.
    public var isIdempotent: Bool
    /// How many times a unary or server-streaming call is tried in all. A retry happens only
    /// where safe: after UNAVAILABLE when the request was not processed (refused by GOAWAY or
    /// REFUSED_STREAM, or no connection could be made), or for an idempotent request. Default 3.
    public var maxAttempts: Int

    public init(
        timeout: Duration? = nil, deadline: ContinuousClock.Instant? = nil, metadata: Metadata = Metadata(),
        isIdempotent: Bool = false, maxAttempts: Int = 3
    ) {
        self.timeout = timeout
        self.deadline = deadline
        self.metadata = metadata
        self.isIdempotent = isIdempotent
        self.maxAttempts = maxAttempts
    }

    /// No deadline, no metadata, not idempotent, up to 3 attempts where safe.
    public static let defaults = CallOptions()

    /// The deadline that holds for a call started at `start`.
    func effectiveDeadline(from start: ContinuousClock.Instant) -> ContinuousClock.Instant? {
        let fromTimeout = timeout.map { start + $0 }
        switch (deadline, fromTimeout) {
        case (nil, nil): return nil
        case (let deadline?, nil): return deadline
        case (nil, let fromTimeout?): return fromTimeout
        case (let deadline?, let fromTimeout?): return min(deadline, fromTimeout)
        }
    }
}
