import CRMWire
import NIOCore
import Synchronization

/// Messages decoded on the event loop, waiting for a task to consume them: the requests of a
/// streaming call on the server, the responses of every call on the client.
///
/// It has no bound of its own: flow control bounds it, because credit goes back to the sender
/// only for what has been consumed here. Each consumption adds to `unreportedBytes`; the first
/// one since the last report asks the event loop (through `report`) to collect them, so a burst
/// of consumptions costs one hop.
final class InboundMessageQueue<Element: Sendable>: Sendable {
    private struct State {
        var buffer = CircularBuffer<(element: Element, size: Int)>()
        var end: Result<Void, any Error>?
        var waiter: CheckedContinuation<Element?, any Error>?
        var unreportedBytes = 0
        var reportScheduled = false
        var cancelled = false
    }

    private enum Poll {
        case element(Element, report: Bool)
        case finished
        case failed(any Error)
        case empty
    }

    private let state = Mutex(State())
    private let report: @Sendable () -> Void
    private let onCancel: @Sendable () -> Void

    /// - Parameters:
    ///   - report: schedules, on the event loop, a call to `takeUnreportedBytes()`.
    ///   - onCancel: called once when the consuming task is cancelled while it waits.
    init(report: @escaping @Sendable () -> Void, onCancel: @escaping @Sendable () -> Void = {}) {
        self.report = report
        self.onCancel = onCancel
    }

    // MARK: Event loop side

    /// Adds a message of `size` payload bytes; hands it straight to a waiting consumer if any.
    func push(_ element: Element, size: Int) {
        let (waiter, needsReport) = state.withLock { state -> (CheckedContinuation<Element?, any Error>?, Bool) in
            guard state.end == nil else { return (nil, false) }
            if let waiter = state.waiter {
                state.waiter = nil
                return (waiter, Self.consumed(size, &state))
            }
            state.buffer.append((element, size))
            return (nil, false)
        }
        waiter?.resume(returning: element)
        if needsReport { report() }
    }

    /// Ends the queue: the buffered messages are still delivered, then nil (`.success`) or the
    /// error is; with `discardBuffered`, a failure is delivered at once.
    func finish(_ result: Result<Void, any Error>, discardBuffered: Bool = true) {
        let waiter = state.withLock { state -> CheckedContinuation<Element?, any Error>? in
            guard state.end == nil else { return nil }
            if case .failure = result, discardBuffered { state.buffer.removeAll() }
            state.end = result
            guard state.buffer.isEmpty else { return nil }
            defer { state.waiter = nil }
            return state.waiter
        }
        switch result {
        case .success: waiter?.resume(returning: nil)
        case .failure(let error): waiter?.resume(throwing: error)
        }
    }

    /// The bytes consumed since the last call; the next consumption schedules a new report.
    func takeUnreportedBytes() -> Int {
        state.withLock { state in
            let bytes = state.unreportedBytes
            state.unreportedBytes = 0
            state.reportScheduled = false
            return bytes
        }
    }

    // MARK: Consumer side

    /// The next message; nil at the end.
    ///
    /// - Throws: the error the queue was finished with, or `RPCStatus` CANCELLED when the task
    ///   is cancelled.
    func next() async throws -> Element? {
        switch poll(storing: nil) {
        case .element(let element, let needsReport):
            if needsReport { report() }
            return element
        case .finished: return nil
        case .failed(let error): throw error
        case .empty: break
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Element?, any Error>) in
                switch poll(storing: continuation) {
                case .element(let element, let needsReport):
                    continuation.resume(returning: element)
                    if needsReport { report() }
                case .finished: continuation.resume(returning: nil)
                case .failed(let error): continuation.resume(throwing: error)
                case .empty: break  // stored
                }
            }
        } onCancel: {
            cancel()
        }
    }

    private func poll(storing continuation: CheckedContinuation<Element?, any Error>?) -> Poll {
        state.withLock { state -> Poll in
            if let (element, size) = state.buffer.popFirst() {
                return .element(element, report: Self.consumed(size, &state))
            }
            if let end = state.end {
                switch end {
                case .success: return .finished
                case .failure(let error): return .failed(error)
                }
            }
            if state.cancelled { return .failed(Self.cancelledStatus) }
            if let continuation { state.waiter = continuation }
            return .empty
        }
    }

    private func cancel() {
        let waiter = state.withLock { state -> CheckedContinuation<Element?, any Error>? in
            state.cancelled = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(throwing: Self.cancelledStatus)
        onCancel()
    }

    private static var cancelledStatus: RPCStatus {
        RPCStatus(code: .cancelled, message: "the task reading the call's messages was cancelled")
    }

    /// Counts a consumption; true when a report must be scheduled.
    private static func consumed(_ size: Int, _ state: inout State) -> Bool {
        state.unreportedBytes += size
        // Once the queue has ended the stream is closed, and closing returned the credit of
        // everything received: a report would find no stream.
        guard size > 0, !state.reportScheduled, state.end == nil else { return false }
        state.reportScheduled = true
        return true
    }
}
