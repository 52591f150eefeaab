public import NIOCore

/// The limits and timers of one side of a connection, each with the protocol's default
/// (docs/PROTOCOL.md, "Settings" and "Limits").
///
/// A side's own limits bound what it *receives*; it announces them in its first SETTINGS
/// frame (`settings`). The peer's announced values, read with `applying(_:isFirst:)`, bound
/// what it may *send*. The last three properties are local: never announced.
public struct ProtocolLimits: Sendable, Hashable {
    /// Streams the peer may have open at once. Default 100. A HEADERS frame beyond it is
    /// refused with RST_STREAM RESOURCE_EXHAUSTED.
    public var maxConcurrentStreams: Int
    /// The flow-control window of each new stream, in MESSAGE payload bytes. Default 8 MiB;
    /// at least `maxMessageSize`, so that the largest message always fits.
    public var initialStreamWindowSize: Int
    /// The flow-control window of the whole connection, in MESSAGE payload bytes. Default
    /// 16 MiB; at least `maxMessageSize`.
    public var connectionWindowSize: Int
    /// The largest payload of any frame. Default 4 MiB.
    public var maxFrameSize: Int
    /// The largest MESSAGE payload, that is the largest encoded message. Default 4 MiB,
    /// like gRPC.
    public var maxMessageSize: Int
    /// The largest payload of every frame other than MESSAGE (headers, trailers and the
    /// control frames). Default 16 KiB.
    public var maxHeaderSize: Int
    /// How long this side lets the connection go without receiving anything before it
    /// sends a keepalive PING. Default 60 s; zero sends none.
    public var keepaliveInterval: TimeAmount
    /// How long this side waits for the acknowledgement of its PING before it closes the
    /// connection. Default 20 s.
    public var keepaliveTimeout: TimeAmount
    /// How long a connection may have no open stream before this side closes it with
    /// GOAWAY OK. Default 5 minutes; zero never closes it.
    public var idleTimeout: TimeAmount

    /// Local: the time from accepting a TCP connection to having received the client's
    /// preface and first SETTINGS, TLS handshake included. Default 10 s.
    public var handshakeTimeout: TimeAmount
    /// Local: the connections a server keeps at once; the next ones are closed at once,
    /// before the TLS handshake. Default 10,000.
    public var maxConnections: Int
    /// Local: after a graceful GOAWAY, how long streams in flight may take to finish before
    /// they are reset with UNAVAILABLE and the connection closed. Default 30 s.
    public var shutdownGracePeriod: TimeAmount

    /// Limits with the given values; each one not given keeps its default.
    public init(
        maxConcurrentStreams: Int = 100,
        initialStreamWindowSize: Int = 8 << 20,
        connectionWindowSize: Int = 16 << 20,
        maxFrameSize: Int = 4 << 20,
        maxMessageSize: Int = 4 << 20,
        maxHeaderSize: Int = 16 << 10,
        keepaliveInterval: TimeAmount = .seconds(60),
        keepaliveTimeout: TimeAmount = .seconds(20),
        idleTimeout: TimeAmount = .minutes(5),
        handshakeTimeout: TimeAmount = .seconds(10),
        maxConnections: Int = 10_000,
        shutdownGracePeriod: TimeAmount = .seconds(30)
    ) {
        self.maxConcurrentStreams = maxConcurrentStreams
        self.initialStreamWindowSize = initialStreamWindowSize
        self.connectionWindowSize = connectionWindowSize
        self.maxFrameSize = maxFrameSize
        self.maxMessageSize = maxMessageSize
        self.maxHeaderSize = maxHeaderSize
        self.keepaliveInterval = keepaliveInterval
        self.keepaliveTimeout = keepaliveTimeout
        self.idleTimeout = idleTimeout
        self.handshakeTimeout = handshakeTimeout
        self.maxConnections = maxConnections
        self.shutdownGracePeriod = shutdownGracePeriod
    }

    /// The protocol's defaults, which also hold for a peer until its first SETTINGS frame
    /// says otherwise.
    public static let `default` = ProtocolLimits()

    /// The largest value any size, window or count may take: 2^31 - 1.
    public static let maxValue = Int(Int32.max)

    /// The longest payload a frame of `type` may have: `min(maxMessageSize, maxFrameSize)`
    /// for MESSAGE, `min(maxHeaderSize, maxFrameSize)` for every other type.
    public func maxPayloadSize(of type: FrameType) -> Int {
        switch type {
        case .message: min(maxMessageSize, maxFrameSize)
        case .headers, .trailers, .rstStream, .settings, .ping, .goAway, .windowUpdate: min(maxHeaderSize, maxFrameSize)
        }
    }

    /// The decoding limits that go with these: the same largest message.
    public var wireLimits: WireLimits {
        WireLimits(maxMessageSize: maxMessageSize)
    }

    // MARK: SETTINGS

    /// The SETTINGS payload that announces these limits: every announced kind, explicitly,
    /// so that the peer never depends on knowing the same defaults.
    public var settings: Settings {
        Settings(entries: [
            SettingEntry(key: .maxConcurrentStreams, value: UInt64(clamping: maxConcurrentStreams)),
            SettingEntry(key: .initialWindowSize, value: UInt64(clamping: initialStreamWindowSize)),
            SettingEntry(key: .connectionWindowSize, value: UInt64(clamping: connectionWindowSize)),
            SettingEntry(key: .maxFrameSize, value: UInt64(clamping: maxFrameSize)),
            SettingEntry(key: .maxMessageSize, value: UInt64(clamping: maxMessageSize)),
            SettingEntry(key: .maxHeaderSize, value: UInt64(clamping: maxHeaderSize)),
            SettingEntry(key: .keepaliveIntervalMs, value: Self.milliseconds(keepaliveInterval)),
            SettingEntry(key: .keepaliveTimeoutMs, value: Self.milliseconds(keepaliveTimeout)),
            SettingEntry(key: .idleTimeoutMs, value: Self.milliseconds(idleTimeout)),
        ])
    }

    /// The kinds a SETTINGS frame after the first may carry. The others fix the framing and
    /// the windows for the life of the connection.
    public static let changeableSettings: Set<SettingKind> = [
        .maxConcurrentStreams, .keepaliveIntervalMs, .keepaliveTimeoutMs, .idleTimeoutMs,
    ]

    /// These limits with the entries of a SETTINGS frame applied, in order (a kind listed
    /// twice takes its last value), and checked.
    ///
    /// Entries of kind UNSPECIFIED or of a kind this build does not know are ignored.
    /// - Parameter isFirst: whether this is the sender's first SETTINGS frame; later ones may
    ///   only carry `changeableSettings`.
    /// - Throws: `FrameError.invalidSettings` when a value is out of range or may not change.
    public func applying(_ settings: Settings, isFirst: Bool) throws(FrameError) -> ProtocolLimits {
        var result = self
        for entry in settings.entries {
            if !isFirst, Self.announcedKinds.contains(entry.key), !Self.changeableSettings.contains(entry.key) {
                throw .invalidSettings(
                    "\(entry.key.protoName) may only be set in the first SETTINGS frame; "
                        + "send it once, right after the handshake")
            }
            try result.set(entry)
        }
        try result.validate()
        return result
    }

    /// Checks every announced value against its range and the windows against the largest
    /// message (docs/PROTOCOL.md, "Settings").
    public func validate() throws(FrameError) {
        try Self.check(.maxConcurrentStreams, maxConcurrentStreams, 0...Self.maxValue)
        try Self.check(.maxFrameSize, maxFrameSize, 16_384...Self.maxValue)
        try Self.check(.maxMessageSize, maxMessageSize, 1_024...Self.maxValue)
        try Self.check(.maxHeaderSize, maxHeaderSize, 1_024...Self.maxValue)
        try Self.check(.initialWindowSize, initialStreamWindowSize, 0...Self.maxValue)
        try Self.check(.connectionWindowSize, connectionWindowSize, 0...Self.maxValue)
        try Self.check(.keepaliveIntervalMs, Self.milliseconds(keepaliveInterval), 0...Self.maxValue)
        try Self.check(.keepaliveTimeoutMs, Self.milliseconds(keepaliveTimeout), 1...Self.maxValue)
        try Self.check(.idleTimeoutMs, Self.milliseconds(idleTimeout), 0...Self.maxValue)
        let largestMessage = min(maxMessageSize, maxFrameSize)
        if initialStreamWindowSize < largestMessage {
            throw .invalidSettings(
                "INITIAL_WINDOW_SIZE \(initialStreamWindowSize) is below the largest message, \(largestMessage) bytes; "
                    + "a message that does not fit a window can never be sent: raise the window or lower MAX_MESSAGE_SIZE")
        }
        if connectionWindowSize < largestMessage {
            throw .invalidSettings(
                "CONNECTION_WINDOW_SIZE \(connectionWindowSize) is below the largest message, \(largestMessage) bytes; "
                    + "a message that does not fit a window can never be sent: raise the window or lower MAX_MESSAGE_SIZE")
        }
    }

    private static let announcedKinds: Set<SettingKind> = [
        .maxConcurrentStreams, .initialWindowSize, .connectionWindowSize, .maxFrameSize, .maxMessageSize,
        .maxHeaderSize, .keepaliveIntervalMs, .keepaliveTimeoutMs, .idleTimeoutMs,
    ]

    private mutating func set(_ entry: SettingEntry) throws(FrameError) {
        // A kind this version does not know is ignored whatever its value: a newer peer may
        // announce it.
        guard Self.announcedKinds.contains(entry.key) else { return }
        guard entry.value <= UInt64(Self.maxValue) else {
            throw .invalidSettings(
                "\(entry.key.protoName) is \(entry.value), over the largest value any setting may take, \(Self.maxValue)")
        }
        let value = Int(entry.value)
        switch entry.key {
        case .maxConcurrentStreams: maxConcurrentStreams = value
        case .initialWindowSize: initialStreamWindowSize = value
        case .connectionWindowSize: connectionWindowSize = value
        case .maxFrameSize: maxFrameSize = value
        case .maxMessageSize: maxMessageSize = value
        case .maxHeaderSize: maxHeaderSize = value
        case .keepaliveIntervalMs: keepaliveInterval = .milliseconds(Int64(value))
        case .keepaliveTimeoutMs: keepaliveTimeout = .milliseconds(Int64(value))
        case .idleTimeoutMs: idleTimeout = .milliseconds(Int64(value))
        case .unspecified, .unrecognized: break  // filtered out above
        }
    }

    private static func check(_ kind: SettingKind, _ value: Int, _ range: ClosedRange<Int>) throws(FrameError) {
        guard range.contains(value) else {
            throw .invalidSettings("\(kind.protoName) is \(value), outside \(range.lowerBound)...\(range.upperBound)")
        }
    }

    private static func check(_ kind: SettingKind, _ value: UInt64, _ range: ClosedRange<Int>) throws(FrameError) {
        try check(kind, Int(clamping: value), range)
    }

    /// A duration in whole milliseconds, rounded up so that a positive duration stays positive.
    static func milliseconds(_ amount: TimeAmount) -> UInt64 {
        guard amount.nanoseconds > 0 else { return 0 }
        return UInt64(amount.nanoseconds / 1_000_000) + (amount.nanoseconds % 1_000_000 == 0 ? 0 : 1)
    }
}
