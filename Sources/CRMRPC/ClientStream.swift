import CRMWire
import NIOCore

/// A request frame waiting for flow-control credit, or for the frames before it.
enum PendingRequest {
    /// An encoded request message, with END_STREAM or not; its writer resumes once it is sent.
    case message(ByteBuffer, endStream: Bool, CheckedContinuation<Void, any Error>?)
    /// The empty END_STREAM MESSAGE.
    case endStream
}

/// One open stream on a client connection. Event-loop confined.
final class ClientStream {
    let id: StreamID
    let call: any ClientStreamDelegate
    var state: StreamState = .open
    var receivedHeaders = false
    var responseCount = 0
    var sendWindow: SendWindow
    var receiveWindow: ReceiveWindow
    var pending = CircularBuffer<PendingRequest>()
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

    /// Whether END_STREAM is sent or queued: nothing more may be written.
    var isHalfClosing: Bool {
        if !state.canSend { return true }
        return pending.contains {
            switch $0 {
            case .endStream: true
            case .message(_, let endStream, _): endStream
            }
        }
    }
}
