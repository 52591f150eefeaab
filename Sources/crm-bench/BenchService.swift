import CRMRPC
import CRMWire

/// The benchmark's methods, built from the protocol's own message types so that no new .proto
/// is needed: a `HealthCheckRequest` carries the payload in its `service` string.
enum Bench {
    static let name = "crm.bench.Bench"

    /// Answers the request as it came: a ~200-byte message each way.
    static let echo = WireMethod<HealthCheckRequest, HealthCheckRequest>(service: name, method: "Echo", kind: .unary)

    /// The request's `service` is `COUNT:` then padding; the answer is COUNT messages, each with
    /// the server's payload.
    static let stream = WireMethod<HealthCheckRequest, HealthCheckRequest>(
        service: name, method: "Stream", kind: .serverStreaming)
}

/// The benchmark service a `crm-bench serve` server runs (beside the built-in health and
/// reflection services, as crmd's server would).
struct BenchService: RPCService {
    /// What each message of a stream carries.
    let streamMessage: HealthCheckRequest

    init(payloadSize: Int) {
        streamMessage = HealthCheckRequest(service: benchPayload(size: payloadSize))
    }

    func registerMethods(with router: inout MethodRouter) {
        // The echo handler never blocks: run it on the connection's event loop.
        router.register(Bench.echo, runsOnEventLoop: true) { request, _ in request }
        let message = streamMessage
        router.registerServerStreaming(Bench.stream) { request, writer, _ in
            let count = Int(request.service.prefix { $0 != ":" }) ?? 1
            for _ in 0..<max(0, min(count, 1_000_000)) {
                try await writer.write(message)
            }
        }
    }
}
