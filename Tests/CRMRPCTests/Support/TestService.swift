import CRMRPC
import CRMWire
import NIOPosix
import Synchronization

/// Methods of a test service built from the protocol's own message types: `HealthCheckRequest`
/// carries a command or a payload in its `service` string.
enum Echo {
    static let name = "test.Echo"
    /// Echoes the request; commands: `fail:CODE:message`, `throw`, `peer`, `metadata`, `deadline`.
    static let unary = WireMethod<HealthCheckRequest, HealthCheckRequest>(service: name, method: "Unary", kind: .unary)
    /// Waits until cancelled (records that), or for `sleep:MS`.
    static let block = WireMethod<HealthCheckRequest, HealthCheckRequest>(service: name, method: "Block", kind: .unary)
    /// `COUNT:SIZE` writes COUNT messages of SIZE bytes; `forever:SIZE` writes until the call ends.
    static let expand = WireMethod<HealthCheckRequest, HealthCheckRequest>(
        service: name, method: "Expand", kind: .serverStreaming)
    /// Answers the requests joined with commas.
    static let collect = WireMethod<HealthCheckRequest, HealthCheckRequest>(
        service: name, method: "Collect", kind: .clientStreaming)
    /// Reads none of its requests and waits until cancelled: what it is sent fills its window.
    static let ignore = WireMethod<HealthCheckRequest, HealthCheckRequest>(
        service: name, method: "Ignore", kind: .clientStreaming)
    /// Echoes each request as it arrives.
    static let chat = WireMethod<HealthCheckRequest, HealthCheckRequest>(
        service: name, method: "Chat", kind: .bidirectionalStreaming)
    /// Registered to run on the connection's event loop: answers `loop` when it did, `pool` when not.
    static let onLoop = WireMethod<HealthCheckRequest, HealthCheckRequest>(service: name, method: "OnLoop", kind: .unary)
    /// Like `collect`, registered to run on the connection's event loop.
    static let collectOnLoop = WireMethod<HealthCheckRequest, HealthCheckRequest>(
        service: name, method: "CollectOnLoop", kind: .clientStreaming)
    /// A method no server registers.
    static let missing = WireMethod<HealthCheckRequest, HealthCheckRequest>(
        service: "test.Nowhere", method: "Nothing", kind: .unary)
}

/// What the test service's handlers saw, for the tests to wait on.
final class Probe: Sendable {
    struct State: Sendable {
        var started = 0
        var cancelled = 0
        var finished = 0
        var writesStarted = 0
        var writesCompleted = 0
        var lastPeer: String?
        var lastDeadline: ContinuousClock.Instant?
    }

    private let state = Mutex(State())

    var snapshot: State { state.withLock { $0 } }

    func update(_ body: (inout State) -> Void) { state.withLock { body(&$0) } }

    /// Waits until `condition` holds; `limit` is only an upper bound against hangs (see `poll`).
    @discardableResult
    func wait(
        for what: String, limit: Duration = .seconds(60), until condition: (State) -> Bool
    ) async throws -> State {
        try await poll(limit: limit) {
            let current = snapshot
            return condition(current) ? current : nil
        } failure: {
            "\(what); saw \(snapshot)"
        }
    }
}

/// Checks `check` every 5 ms until it gives a value. `limit` only guards against hangs, and is
/// counted in checks (one per 5 ms of it), not on the clock: on a loaded machine this task, and
/// the handlers it waits for, may not run for many seconds at a time (the cooperative pool is busy
/// with other suites), and that time must not count against what it waits for.
func poll<Value>(
    limit: Duration = .seconds(60), _ check: () async throws -> Value?, failure: () -> String
) async throws -> Value {
    let interval = Duration.milliseconds(5)
    let checks = max(1, Int(limit / interval))
    for _ in 0..<checks {
        if let value = try await check() { return value }
        try await Task.sleep(for: interval)
    }
    if let value = try await check() { return value }
    throw TimedOut(what: failure())
}

struct TimedOut: Error, CustomStringConvertible {
    var what: String
    var description: String { "timed out waiting for \(what)" }
}

struct TestFailure: Error {}

/// The handlers of `Echo`.
struct EchoService: RPCService {
    let probe: Probe

    func registerMethods(with router: inout MethodRouter) {
        let probe = self.probe
        router.register(Echo.unary) { request, context in
            let command = request.service
            if command.hasPrefix("fail:") {
                let parts = command.split(separator: ":", maxSplits: 2).map(String.init)
                let code = RPCStatus.Code(name: parts.count > 1 ? parts[1] : "") ?? .unknown
                throw RPCStatus(code: code, message: parts.count > 2 ? parts[2] : "")
            }
            switch command {
            case "throw":
                throw TestFailure()
            case "peer":
                return HealthCheckRequest(service: context.peerCertificateSubject ?? "none")
            case "metadata":
                try context.addResponseMetadata(context.requestMetadata)
                context.addTrailingMetadata(Metadata(["trailer-count": String(context.requestMetadata.count)]))
                return request
            case "deadline":
                probe.update { $0.lastDeadline = context.deadline }
                return HealthCheckRequest(service: context.deadline == nil ? "none" : "set")
            default:
                return request
            }
        }
        router.register(Echo.block) { request, _ in
            probe.update { $0.started += 1 }
            if request.service.hasPrefix("sleep:"), let ms = Int(request.service.dropFirst(6)) {
                try await Task.sleep(for: .milliseconds(ms))
                probe.update { $0.finished += 1 }
                return request
            }
            do {
                while true { try await Task.sleep(for: .seconds(60)) }
            } catch {
                probe.update { $0.cancelled += 1 }
                throw error
            }
        }
        router.registerServerStreaming(Echo.expand) { request, writer, _ in
            probe.update { $0.started += 1 }
            if request.service == "silent" {  // writes nothing until cancelled, like a watch with nothing to show
                do {
                    while true { try await Task.sleep(for: .seconds(60)) }
                } catch {
                    probe.update { $0.cancelled += 1 }
                    throw error
                }
            }
            let parts = request.service.split(separator: ":").map(String.init)
            let size = parts.count > 1 ? Int(parts[1]) ?? 1 : 1
            let count = parts.first.flatMap { Int($0) } ?? Int.max
            let payload = String(repeating: "x", count: size)
            do {
                var written = 0
                while written < count {
                    probe.update { $0.writesStarted += 1 }
                    try await writer.write(HealthCheckRequest(service: payload))
                    probe.update { $0.writesCompleted += 1 }
                    written += 1
                }
            } catch {
                probe.update { $0.cancelled += 1 }
                throw error
            }
        }
        router.registerClientStreaming(Echo.collect) { requests, _ in
            var all: [String] = []
            var bytes = 0
            for try await request in requests {
                all.append(request.service)
                bytes += request.service.utf8.count
            }
            guard bytes <= 1 << 20 else { return HealthCheckRequest(service: "\(all.count) requests, \(bytes) bytes") }
            return HealthCheckRequest(service: all.joined(separator: ","))
        }
        router.registerClientStreaming(Echo.ignore) { _, _ in
            probe.update { $0.started += 1 }
            do {
                while true { try await Task.sleep(for: .seconds(60)) }
            } catch {
                probe.update { $0.cancelled += 1 }
                throw error
            }
        }
        router.register(Echo.onLoop, runsOnEventLoop: true) { _, _ in
            HealthCheckRequest(service: MultiThreadedEventLoopGroup.currentEventLoop == nil ? "pool" : "loop")
        }
        router.registerClientStreaming(Echo.collectOnLoop, runsOnEventLoop: true) { requests, _ in
            var all: [String] = []
            for try await request in requests { all.append(request.service) }
            all.append(MultiThreadedEventLoopGroup.currentEventLoop == nil ? "pool" : "loop")
            return HealthCheckRequest(service: all.joined(separator: ","))
        }
        router.registerBidirectional(Echo.chat) { requests, writer, _ in
            for try await request in requests {
                try await writer.write(HealthCheckRequest(service: "echo:" + request.service))
            }
        }
    }
}

