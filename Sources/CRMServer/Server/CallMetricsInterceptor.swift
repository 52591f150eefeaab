import CRMRPC
import CRMWire
import Metrics

/// Counts every call by method and status (`crm_rpc_calls_total`) and times it
/// (`crm_rpc_call_duration_seconds`), through swift-metrics; `crmd` exports them to Prometheus.
public struct CallMetricsInterceptor: RPCInterceptor {
    /// The counter's label.
    public static let callsLabel = "crm_rpc_calls_total"
    /// The timer's label.
    public static let durationLabel = "crm_rpc_call_duration_seconds"

    public init() {}

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
        Counter(label: Self.callsLabel, dimensions: [("method", path), ("status", code.name)]).increment()
        Timer(label: Self.durationLabel, dimensions: [("method", path)], preferredDisplayUnit: .seconds)
            .recordInterval(since: start)
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
