/// The `flags` byte of a frame header.
///
/// Each flag means something only on the frame types that define it
/// (`FrameType.definedFlags`); `endStream` and `ack` share bit 0x1 because no type defines
/// both. Receivers test only the defined bits and ignore the others; senders leave the
/// others 0.
public struct FrameFlags: OptionSet, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: UInt8

    public init(rawValue: UInt8) {
        self.rawValue = rawValue
    }

    /// On HEADERS or MESSAGE from the client: the client sends nothing more on this stream
    /// (it half-closes). A MESSAGE frame with this flag and an empty payload carries no
    /// message; it only half-closes.
    public static let endStream = FrameFlags(rawValue: 0x1)

    /// On SETTINGS or PING: this frame answers the peer's frame of the same type.
    public static let ack = FrameFlags(rawValue: 0x1)

    /// The flags as hex, such as `0x01`.
    public var description: String {
        let hex = String(rawValue, radix: 16, uppercase: true)
        return hex.count == 1 ? "0x0\(hex)" : "0x\(hex)"
    }
}
