import CRMWire
import NIOCore

/// A frame of a call waiting for flow-control credit, or for the messages before it.
enum PendingFrame {
    /// An encoded response message; its writer resumes once it is sent.
    case message(ByteBuffer, CheckedContinuation<Void, any Error>?)
    /// The trailers that end the call.
    case trailers(Trailers)
}

/// One open stream on a server connection: its state, windows, call and what waits to be sent.
/// Event-loop confined.
final class ServerStream {
    let id: StreamID
    var state: StreamState
    let call: any ServerCallHandler
    let context: RPCContext
    var sendWindow: SendWindow
    var receiveWindow: ReceiveWindow
    var headersSent = false
    /// Frames waiting for window, in order; at most one message per writer plus the trailers.
    var pending = CircularBuffer<PendingFrame>()
    /// Whether the stream is in the connection's list of streams waiting for window.
    var isBlocked = false
    var deadlineTimer: Scheduled<Void>?

    init(
        id: StreamID, state: StreamState, call: any ServerCallHandler, context: RPCContext, sendWindow: SendWindow,
        receiveWindow: ReceiveWindow
    ) {
        self.id = id
        self.state = state
        self.call = call
        self.context = context
        self.sendWindow = sendWindow
        self.receiveWindow = receiveWindow
    }

    /// Whether the trailers are already queued: nothing more may be written.
    var isEnding: Bool {
        pending.contains { if case .trailers = $0 { true } else { false } }
    }
}
