public import CRMRPC
import CRMWire
import Metrics
import Synchronization

/// Counts every call by method and status (`crm_rpc_calls_total`) and times it
/// (`crm_rpc_call_duration_seconds`), through swift-metrics; `crmd` exports them to Prometheus.
public struct CallMetricsInterceptor: RPCInterceptor {
    /// The counter's label.
    public static let callsLabel = "crm_rpc_calls_total"
    /// The timer's label.
    public static let durationLabel = "crm_rpc_call_duration_seconds"

    public init() {}

    /// The counter and timer of each method and status, made once: making them asks the metrics backend, which
    /// hashes the label and dimensions under a lock, on every call otherwise.
    private let instruments = Instruments()

    public func intercept(context: RPCContext, next: () async throws -> Void) async throws {
        let start = ContinuousClock.now
        let path = context.method.path
        do {
            try await next()
            record(path, code: .ok, since: start)
        } catch {
            record(path, code: CallStatus.code(of: error), since: start)
            throw error
        }
    }

    private func record(_ path: String, code: RPCStatus.Code, since start: ContinuousClock.Instant) {
        let (counter, timer) = instruments.get(path, code)
        counter.increment()
        timer.recordInterval(since: start)
    }
}

/// The interceptor's counters and timers by method path and status code.
private final class Instruments: Sendable {
    private struct Key: Hashable {
        let path: String
        let code: RPCStatus.Code
    }

    private let made = Mutex<[Key: (Counter, Timer)]>([:])

    func get(_ path: String, _ code: RPCStatus.Code) -> (Counter, Timer) {
        let key = Key(path: path, code: code)
        if let known = made.withLock({ $0[key] }) { return known }
        let pair = (
            Counter(label: CallMetricsInterceptor.callsLabel, dimensions: [("method", path), ("status", code.name)]),
            Timer(label: CallMetricsInterceptor.durationLabel, dimensions: [("method", path)], preferredDisplayUnit: .seconds))
        made.withLock { $0[key] = pair }
        return pair
    }
}

extension Timer {
    /// Records the time from `start` to now.
    func recordInterval(since start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        let (seconds, attoseconds) = elapsed.components
        recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}

/// How the server reports an error a handler threw.
enum CallStatus {
    static func code(of error: any Error) -> RPCStatus.Code {
        switch error {
        case let status as RPCStatus: status.code
        case is CancellationError: .cancelled
        default: .unknown
        }
    }
}
