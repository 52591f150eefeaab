/// The kinds of connection error: each is a status code and a token that begins the
/// message of the GOAWAY sent before closing (docs/PROTOCOL.md, "Errors").
///
/// The token lets a peer (or a person reading a capture) tell the kinds apart by a stable
/// word, where the status code alone says only "INTERNAL".
public enum ConnectionErrorKind: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// The peer broke a framing or stream-state rule. INTERNAL.
    case protocolError = "PROTOCOL_ERROR"
    /// A frame is longer than the receiver's limit for its type. RESOURCE_EXHAUSTED.
    case frameSizeError = "FRAME_SIZE_ERROR"
    /// A MESSAGE overran a flow-control window, or a WINDOW_UPDATE overflowed one. INTERNAL.
    case flowControlError = "FLOW_CONTROL_ERROR"
    /// A SETTINGS frame holds a value out of range or one that may not change. INTERNAL.
    case settingsError = "SETTINGS_ERROR"
    /// The peer did not finish the TLS handshake, preface and first SETTINGS in time. UNAVAILABLE.
    case handshakeTimeout = "HANDSHAKE_TIMEOUT"
    /// The peer did not acknowledge a keepalive PING in time. UNAVAILABLE.
    case keepaliveTimeout = "KEEPALIVE_TIMEOUT"

    /// The status code the GOAWAY carries.
    public var statusCode: RPCStatus.Code {
        switch self {
        case .protocolError, .flowControlError, .settingsError: .internal
        case .frameSizeError: .resourceExhausted
        case .handshakeTimeout, .keepaliveTimeout: .unavailable
        }
    }

    /// The status of a connection error of this kind: `TOKEN: detail`.
    public func status(_ detail: String) -> RPCStatus {
        RPCStatus(code: statusCode, message: "\(rawValue): \(detail)")
    }

    public var description: String { rawValue }
}
