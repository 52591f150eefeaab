/// What a frame carries: the `type` byte of the frame header (docs/PROTOCOL.md, "Frame types").
///
/// The set is closed: a frame whose type byte is none of these is a connection error
/// (`FrameError.unknownFrameType`), so a peer speaking a later protocol version fails loudly
/// instead of having its frames dropped. New types arrive with a new ALPN identifier.
public enum FrameType: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Opens a stream (client, payload `RequestHeaders`) or starts the answer (server,
    /// payload `ResponseHeaders`).
    case headers = 1
    /// Exactly one protobuf message of the method's request or response type.
    case message = 2
    /// How the call ended (payload `Trailers`); server only; closes the stream.
    case trailers = 3
    /// Ends one stream early from either side (payload `StreamReset`).
    case rstStream = 4
    /// The sender's limits, or an acknowledgement of the peer's (payload `Settings`); stream 0.
    case settings = 5
    /// A keepalive probe or its echo (payload `Ping`); stream 0.
    case ping = 6
    /// The sender takes no new streams (payload `GoAway`); stream 0.
    case goAway = 7
    /// More flow-control credit (payload `WindowUpdate`); stream 0 for the connection.
    case windowUpdate = 8

    /// Which stream ids a frame of this type may carry.
    public enum StreamScope: Sendable, Hashable {
        /// Stream 0 only.
        case connection
        /// A stream id other than 0 only.
        case stream
        /// Stream 0 (the connection) or a stream.
        case either
    }

    /// Which stream ids a frame of this type may carry.
    public var streamScope: StreamScope {
        switch self {
        case .headers, .message, .trailers, .rstStream: .stream
        case .settings, .ping, .goAway: .connection
        case .windowUpdate: .either
        }
    }

    /// The flags defined for this type. Receivers test only these bits and ignore the others.
    ///
    /// `END_STREAM` is defined on HEADERS and MESSAGE, but only in frames from the client; a
    /// server sends it as 0 and a client ignores it.
    public var definedFlags: FrameFlags {
        switch self {
        case .headers, .message: .endStream
        case .settings, .ping: .ack
        case .trailers, .rstStream, .goAway, .windowUpdate: []
        }
    }

    /// The name the protocol document uses, such as `RST_STREAM`.
    public var description: String {
        switch self {
        case .headers: "HEADERS"
        case .message: "MESSAGE"
        case .trailers: "TRAILERS"
        case .rstStream: "RST_STREAM"
        case .settings: "SETTINGS"
        case .ping: "PING"
        case .goAway: "GOAWAY"
        case .windowUpdate: "WINDOW_UPDATE"
        }
    }
}
