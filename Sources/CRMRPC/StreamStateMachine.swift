/// One stream's state, seen from either side (docs/PROTOCOL.md, section 7.2).
///
/// The server's view: `open` after the client's HEADERS, `halfClosedRemote` after the client's
/// END_STREAM, `closed` after TRAILERS or RST_STREAM. The client's view mirrors it with
/// `halfClosedLocal`. Closed streams are forgotten by the connection; a late frame for one is
/// recognised by its id being below the highest opened.
enum StreamState: Sendable, Hashable {
    /// Both directions open.
    case open
    /// The peer has sent END_STREAM: it sends no more messages (server's view).
    case halfClosedRemote
    /// This side has sent END_STREAM (client's view).
    case halfClosedLocal
    /// Ended: TRAILERS or RST_STREAM sent or received.
    case closed

    /// What a MESSAGE from the peer means in this state.
    enum InboundMessage: Sendable, Hashable {
        /// Accept it.
        case accept
        /// The peer had already half-closed: a PROTOCOL_ERROR.
        case afterEndStream
        /// The stream is over: discard it.
        case discard
    }

    /// Whether the peer may still send a MESSAGE.
    var inboundMessage: InboundMessage {
        switch self {
        case .open, .halfClosedLocal: .accept
        case .halfClosedRemote: .afterEndStream
        case .closed: .discard
        }
    }

    /// The peer half-closed.
    mutating func receiveEndStream() {
        switch self {
        case .open: self = .halfClosedRemote
        case .halfClosedLocal: self = .closed
        case .halfClosedRemote, .closed: break
        }
    }

    /// This side half-closed.
    mutating func sendEndStream() {
        switch self {
        case .open: self = .halfClosedLocal
        case .halfClosedRemote: self = .closed
        case .halfClosedLocal, .closed: break
        }
    }

    /// Whether this side may still send a MESSAGE.
    var canSend: Bool {
        switch self {
        case .open, .halfClosedRemote: true
        case .halfClosedLocal, .closed: false
        }
    }

    /// Whether the peer has finished sending (no stream WINDOW_UPDATE is due any more).
    var peerFinished: Bool {
        switch self {
        case .halfClosedRemote, .closed: true
        case .open, .halfClosedLocal: false
        }
    }
}
