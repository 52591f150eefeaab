/// A connection error found at the frame layer: what the peer sent that breaks the
/// protocol, and what it should do instead.
///
/// Every case is fatal to the connection: the receiver sends GOAWAY with `status` (its
/// message begins with `kind`'s token) and closes (docs/PROTOCOL.md, "Errors").
public enum FrameError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The client's first 8 bytes are not `CRM/1\r\n\0`; `received` holds those that arrived.
    case badPreface(received: [UInt8])
    /// The type byte names no frame type of this protocol version.
    case unknownFrameType(rawType: UInt8, rawStreamID: UInt32)
    /// The reserved high bit of the stream id is set.
    case reservedBitSet(type: FrameType, rawStreamID: UInt32)
    /// The peer's first frame is not a SETTINGS frame without ACK.
    case firstFrameNotSettings(type: FrameType, flags: FrameFlags)
    /// The length is over the receiver's limit for the frame's type; the body was not read.
    case frameTooLarge(type: FrameType, length: UInt32, limit: Int)
    /// A HEADERS, MESSAGE, TRAILERS or RST_STREAM frame on stream 0.
    case streamIDRequired(type: FrameType)
    /// A SETTINGS, PING or GOAWAY frame on a stream other than 0.
    case connectionFrameOnStream(type: FrameType, streamID: StreamID)
    /// A frame on an even stream id; streams are odd.
    case evenStreamID(type: FrameType, streamID: StreamID)
    /// A frame the sender's role never sends: TRAILERS from a client.
    case notAllowed(type: FrameType, from: ConnectionRole)
    /// A control frame's payload is not its protobuf message.
    case invalidPayload(type: FrameType, WireDecodingError)
    /// A SETTINGS or PING frame whose ACK flag and `ack` field disagree.
    case ackMismatch(type: FrameType, flag: Bool, field: Bool)
    /// A SETTINGS acknowledgement that carries entries.
    case settingsAckWithEntries(count: Int)
    /// A WINDOW_UPDATE whose increment is 0.
    case zeroWindowIncrement(streamID: StreamID)
    /// A SETTINGS frame with a value out of range, or one that may not change any more.
    case invalidSettings(String)
    /// The connection ended inside the preface or a frame, after `received` of the
    /// `expected` bytes of `part`. These bytes are left over, never delivered.
    case truncated(TruncatedPart, expected: Int, received: Int)

    /// Where the bytes stopped when the connection ended mid-frame.
    public enum TruncatedPart: Sendable, Hashable, CustomStringConvertible {
        /// The client's 8-byte preface.
        case preface
        /// A 10-byte frame header.
        case header
        /// The payload of the frame with this header.
        case payload(FrameHeader)

        public var description: String {
            switch self {
            case .preface: "the preface"
            case .header: "a frame header"
            case .payload(let header): "the payload of \(header)"
            }
        }
    }

    /// The kind of connection error, whose token begins the GOAWAY message.
    public var kind: ConnectionErrorKind {
        switch self {
        case .frameTooLarge: .frameSizeError
        case .invalidSettings, .settingsAckWithEntries: .settingsError
        case .badPreface, .unknownFrameType, .reservedBitSet, .firstFrameNotSettings, .streamIDRequired,
            .connectionFrameOnStream, .evenStreamID, .notAllowed, .invalidPayload, .ackMismatch, .zeroWindowIncrement,
            .truncated:
            .protocolError
        }
    }

    /// What the GOAWAY carries: the kind's status code, and `TOKEN: what went wrong`.
    public var status: RPCStatus {
        kind.status(detail)
    }

    /// What went wrong and what to do about it.
    public var description: String {
        "\(kind.rawValue): \(detail)"
    }

    private var detail: String {
        switch self {
        case .badPreface(let received):
            return "the connection did not start with the crm/1 preface 43 52 4D 2F 31 0D 0A 00 (\"CRM/1\\r\\n\\0\") "
                + "but with \(Self.hex(received)); a client sends the preface right after the TLS handshake "
                + "(is it speaking another protocol on this port?)"
        case .unknownFrameType(let rawType, let rawStreamID):
            return "frame type \(rawType) (stream \(rawStreamID)) is not a crm/1 frame type (1 to 8); "
                + "the peer speaks another protocol version"
        case .reservedBitSet(let type, let rawStreamID):
            return "the reserved high bit of the stream id is set (0x\(String(rawStreamID, radix: 16, uppercase: true))) "
                + "on a \(type) frame; senders leave it 0"
        case .firstFrameNotSettings(let type, let flags):
            let what = type == .settings ? "a SETTINGS acknowledgement (flags \(flags))" : "a \(type) frame"
            return "the first frame was \(what); each side sends a SETTINGS frame without ACK before any other frame"
        case .frameTooLarge(let type, let length, let limit):
            let setting = type == .message ? "MAX_MESSAGE_SIZE" : "MAX_HEADER_SIZE"
            return "a \(type) frame of \(length) bytes is over the limit of \(limit) bytes for its type; "
                + "the sender must respect the \(setting) and MAX_FRAME_SIZE the receiver announced"
        case .streamIDRequired(let type):
            return "a \(type) frame arrived on stream 0; HEADERS, MESSAGE, TRAILERS and RST_STREAM belong to a call's stream"
        case .connectionFrameOnStream(let type, let streamID):
            return "a \(type) frame arrived on stream \(streamID); SETTINGS, PING and GOAWAY belong on stream 0"
        case .evenStreamID(let type, let streamID):
            return "a \(type) frame arrived on stream \(streamID); stream ids are odd (a client opens 1, 3, 5, ...)"
        case .notAllowed(let type, let role):
            return "a \(role) sent a \(type) frame, which only a \(role.peer) sends"
        case .invalidPayload(let type, let error):
            return "the \(type) payload is not valid: \(error)"
        case .ackMismatch(let type, let flag, let field):
            return "a \(type) frame has the ACK flag \(flag ? "set" : "clear") but its payload says ack = \(field); "
                + "the flag and the field must agree"
        case .settingsAckWithEntries(let count):
            return "a SETTINGS acknowledgement carries \(count) entries; an acknowledgement carries none"
        case .zeroWindowIncrement(let streamID):
            return "a WINDOW_UPDATE on stream \(streamID) grants 0 bytes; an increment is at least 1"
        case .invalidSettings(let reason):
            return reason
        case .truncated(let part, let expected, let received):
            return "the connection closed after \(received) of the \(expected) bytes of \(part); "
                + "the peer must finish a frame before closing"
        }
    }

    private static func hex(_ bytes: [UInt8]) -> String {
        bytes.isEmpty ? "nothing" : bytes.map { byte in
            let digits = String(byte, radix: 16, uppercase: true)
            return digits.count == 1 ? "0" + digits : digits
        }.joined(separator: " ")
    }
}
