/// A stream identifier: 31 bits, the header's high bit being reserved.
///
/// Stream 0 is the connection itself (SETTINGS, PING, GOAWAY, connection WINDOW_UPDATE).
/// Every call opens its own stream; clients open them with odd ids, strictly increasing,
/// starting at 1. No stream has an even id.
public struct StreamID: RawRepresentable, Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The id, from 0 to `StreamID.maxRawValue`.
    public let rawValue: UInt32

    /// The largest id: 2^31 - 1. A client that has used it opens a new connection.
    public static let maxRawValue: UInt32 = 0x7FFF_FFFF

    /// The connection itself.
    public static let connection = StreamID(uncheckedRawValue: 0)

    /// The first stream a client opens on a connection.
    public static let firstClientStream = StreamID(uncheckedRawValue: 1)

    /// The id `rawValue`, or nil when its reserved high bit is set.
    public init?(rawValue: UInt32) {
        guard rawValue <= Self.maxRawValue else { return nil }
        self.rawValue = rawValue
    }

    init(uncheckedRawValue: UInt32) {
        rawValue = uncheckedRawValue
    }

    /// Whether this is stream 0, the connection.
    public var isConnection: Bool { rawValue == 0 }

    /// Whether a client may open a stream with this id: odd ids only.
    public var isClientInitiated: Bool { rawValue & 1 == 1 }

    /// The next id a client opens after this one, or nil when the ids are used up.
    public var nextClientStream: StreamID? {
        if rawValue == 0 { return .firstClientStream }
        let next = rawValue + (isClientInitiated ? 2 : 1)
        return StreamID(rawValue: next)
    }

    public static func < (lhs: StreamID, rhs: StreamID) -> Bool {
        lhs.rawValue < rhs.rawValue
    }

    public var description: String { String(rawValue) }
}

extension StreamID: ExpressibleByIntegerLiteral {
    /// A literal id; the literal must be below 2^31 (a programming error otherwise).
    public init(integerLiteral value: UInt32) {
        precondition(value <= Self.maxRawValue, "stream id \(value) sets the reserved high bit")
        rawValue = value
    }
}
