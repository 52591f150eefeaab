import CRMWire
import NIOCore

/// A frame of a call waiting for flow-control credit, or for the frames before it. A client queues messages and the
/// end of its requests; a server queues messages and its trailers.
enum PendingFrame {
    /// An encoded message, with END_STREAM or not; its writer resumes once it is sent.
    case message(ByteBuffer, endStream: Bool, CheckedContinuation<Void, any Error>?)
    /// The client's empty END_STREAM MESSAGE.
    case endOfRequests
    /// The server's trailers, which end the call.
    case trailers(Trailers)
}

/// What `ConnectionCore` keeps of one open stream, whichever end opened it. Event-loop confined.
protocol ConnectionStream: AnyObject {
    var id: StreamID { get }
    var state: StreamState { get set }
    var sendWindow: SendWindow { get set }
    var receiveWindow: ReceiveWindow { get set }
    /// Frames waiting for credit, in order.
    var pending: CircularBuffer<PendingFrame> { get set }
    /// Whether the stream is in the connection's queue of streams waiting for credit.
    var isBlocked: Bool { get set }
    /// The call's deadline, while it runs.
    var deadlineTimer: Scheduled<Void>? { get set }
}

extension ConnectionStream {
    /// The stream is over: its deadline no longer matters.
    func stopTimers() {
        deadlineTimer?.cancel()
        deadlineTimer = nil
    }

    /// The stream is over: every writer still waiting fails with `status`.
    func failPending(with status: @autoclosure () -> RPCStatus) {
        while let frame = pending.popFirst() {
            if case .message(_, _, let continuation?) = frame { continuation.resume(throwing: status()) }
        }
    }

    /// Whether nothing more may be written: END_STREAM or the trailers are sent or queued.
    var isEnding: Bool {
        if !state.canSend { return true }
        return pending.contains {
            switch $0 {
            case .message(_, let endStream, _): endStream
            case .endOfRequests, .trailers: true
            }
        }
    }
}
