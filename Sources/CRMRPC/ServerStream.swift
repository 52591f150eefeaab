import CRMWire
import NIOCore

/// One open stream on a server connection: its state, windows, call and what waits to be sent.
/// Event-loop confined.
final class ServerStream: ConnectionStream {
    let id: StreamID
    var state: StreamState
    let call: any ServerCallHandler
    let context: RPCContext
    var sendWindow: SendWindow
    var receiveWindow: ReceiveWindow
    var headersSent = false
    /// Frames waiting for window, in order; at most one message per writer plus the trailers.
    var pending = CircularBuffer<PendingFrame>()
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
}
