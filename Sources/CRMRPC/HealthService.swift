public import CRMWire
import Synchronization

/// The built-in `crm.v1.Health` service: `Check` answers a service's serving status at once,
/// `Watch` streams it and then every change until the caller cancels.
///
/// The empty service name stands for the server as a whole and starts SERVING; other services
/// are unknown until `setStatus` names them. A server shutting down marks everything NOT_SERVING.
public final class HealthService: RPCService, Sendable {
    private struct State {
        var statuses: [String: ServingStatus] = ["": .serving]
        var watchers: [Int: (service: String, continuation: AsyncStream<ServingStatus>.Continuation)] = [:]
        var nextWatcher = 0
    }

    private let state = Mutex(State())

    /// A health service with the server SERVING.
    public init() {}

    /// Sets the status of `service` (the empty name: the whole server) and tells its watchers.
    public func setStatus(_ status: ServingStatus, forService service: String) {
        let watchers = state.withLock { state -> [AsyncStream<ServingStatus>.Continuation] in
            guard state.statuses[service] != status else { return [] }
            state.statuses[service] = status
            return state.watchers.values.filter { $0.service == service }.map(\.continuation)
        }
        for watcher in watchers { watcher.yield(status) }
    }

    /// The status of `service`, or nil when it is unknown.
    public func status(ofService service: String) -> ServingStatus? {
        state.withLock { $0.statuses[service] }
    }

    /// Marks every known service NOT_SERVING.
    func markAllNotServing() {
        let services = state.withLock { Array($0.statuses.keys) }
        for service in services { setStatus(.notServing, forService: service) }
    }

    public func registerMethods(with router: inout MethodRouter) {
        router.register(Health.check, idempotent: true) { [self] request, _ in
            guard let status = status(ofService: request.service) else {
                throw RPCStatus(
                    code: .notFound,
                    message: "no health status for service \"\(request.service)\"; ask for a service the server serves, or \"\" for the server")
            }
            return HealthCheckResponse(servingStatus: status)
        }
        router.registerServerStreaming(Health.watch, idempotent: true) { [self] request, writer, _ in
            try await watch(request.service, writer: writer)
        }
    }

    private func watch(_ service: String, writer: ResponseWriter<HealthWatchResponse>) async throws {
        let (stream, continuation) = AsyncStream.makeStream(of: ServingStatus.self, bufferingPolicy: .bufferingNewest(1))
        let id = state.withLock { state -> Int in
            let id = state.nextWatcher
            state.nextWatcher += 1
            state.watchers[id] = (service, continuation)
            continuation.yield(state.statuses[service] ?? .serviceUnknown)
            return id
        }
        defer { _ = state.withLock { $0.watchers.removeValue(forKey: id) } }
        for await status in stream {
            try await writer.write(HealthWatchResponse(servingStatus: status))
        }
        try Task.checkCancellation()
    }
}
