import CRMWire
import NIOCore

/// One open stream on a client connection. Event-loop confined.
final class ClientStream: ConnectionStream {
    let id: StreamID
    let call: any ClientStreamDelegate
    var state: StreamState = .open
    var receivedHeaders = false
    var responseCount = 0
    var sendWindow: SendWindow
    var receiveWindow: ReceiveWindow
    var pending = CircularBuffer<PendingFrame>()
    var isBlocked = false
    var deadlineTimer: Scheduled<Void>?

    init(id: StreamID, call: any ClientStreamDelegate, sendWindow: SendWindow, receiveWindow: ReceiveWindow) {
        self.id = id
        self.call = call
        self.sendWindow = sendWindow
        self.receiveWindow = receiveWindow
    }

    /// Whether the method allows only one response.
    var expectsOneResponse: Bool {
        switch call.kind {
        case .unary, .clientStreaming: true
        case .serverStreaming, .bidirectionalStreaming: false
        }
    }
}
