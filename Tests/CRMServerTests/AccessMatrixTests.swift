import CRMMessages
import CRMRPC
import CRMServer
import CRMServerTesting
import CRMWire
import Testing

/// Every method the real server serves (as its reflection lists them) × every kind of caller, against
/// `AccessPolicy`'s table: where the table refuses, the exact refusal (UNAUTHENTICATED without credentials,
/// PERMISSION_DENIED naming the roles the method needs); where it lets the caller through, no refusal by the gate
/// (the service may still answer INVALID_ARGUMENT to the empty request, or refuse by its own rules: the complaint
/// workflow's teams, a customer's scope, which `RoleBoundaryTests` checks row by row).
@Suite("Access matrix")
struct AccessMatrixTests {
    static let callers: [TestCaller] = [.anonymous, .adapter, .sales, .afterSales, .chinaTeam, .warehouse, .supervisor, .customer("own")]

    /// What the gate must do for `caller` on a method with `rule`.
    enum Expected: Equatable {
        case allowed
        case unauthenticated
        case denied(needs: String)

        init(rule: AccessRule?, caller: TestCaller) {
            guard let rule else {
                self = .denied(needs: "")
                return
            }
            if case .open = rule {
                self = .allowed
            } else if let grant = caller.grant {
                self = rule.allows(grant.role) ? .allowed : .denied(needs: "needs the role \(rule)")
            } else {
                self = .unauthenticated
            }
        }
    }

    @Test("the methods served are exactly the methods of Protos/, and every one is in the policy")
    func servedMethodsAreThePolicysMethods() async throws {
        try await withTestServer { h in
            let served = try await h.rpc.unary(Reflection.listMethods, ListMethodsRequest()).methods.map(\.name)
            #expect(Set(served) == Set(AccessPolicy.protoMethods.map(\.path)))
            #expect(AccessPolicy.unlistedMethods(in: AccessPolicy.protoMethods) == [])
        }
    }

    @Test("each caller on each method served gets what AccessPolicy's table says, and the table has a row for each")
    func everyMethodEveryCaller() async throws {
        try await withTestServer { h in
            let own = try await h.seedOrder()
            let served = try await h.rpc.unary(Reflection.listMethods, ListMethodsRequest()).methods
            #expect(served.count >= 35)
            for info in served {
                let rule = AccessPolicy.rule(for: info.name)
                #expect(rule != nil, "\(info.name) is served but not in AccessPolicy")
                // The callers of one method at once: an allowed watch waits out its deadline.
                let outcomes = try await withThrowingTaskGroup(of: (Int, RPCStatus).self) { group in
                    for (index, caller) in Self.callers.enumerated() {
                        let who: TestCaller = caller == .customer("own") ? .customer(own) : caller
                        group.addTask { (index, try await Self.call(info, as: who, server: h)) }
                    }
                    var outcomes: [Int: RPCStatus] = [:]
                    for try await (index, status) in group { outcomes[index] = status }
                    return outcomes
                }
                for (index, caller) in Self.callers.enumerated() {
                    let status = try #require(outcomes[index])
                    let expected = Expected(rule: rule, caller: caller)
                    let what = "\(info.name) as \(caller): \(status)"
                    switch expected {
                    case .allowed:
                        #expect(status.code != .unauthenticated, "\(what)")
                        if status.code == .permissionDenied {
                            #expect(!status.message.contains("needs the role"), "\(what): refused by the gate")
                            #expect(!status.message.contains("access policy"), "\(what): refused by the gate")
                        }
                    case .unauthenticated:
                        #expect(status.code == .unauthenticated, "\(what)")
                    case .denied(let needs):
                        #expect(status.code == .permissionDenied, "\(what)")
                        #expect(status.message.contains(needs), "\(what): expected the message to say \(needs)")
                    }
                }
            }
        }
    }

    /// Calls the method at `info.name` with an empty request (or one empty request message on a stream) as `who`, and
    /// returns how it ended: the call's status, or OK once a stream is open and answering.
    static func call(_ info: MethodInfo, as who: TestCaller, server h: TestServer) async throws -> RPCStatus {
        let parts = info.name.split(separator: "/").map(String.init)
        guard parts.count == 2 else { return RPCStatus(code: .internal, message: "bad method name \(info.name)") }
        // The empty request encodes to nothing, so it is the empty request of every method; the response is not
        // looked at (decoding it as another type may fail on the client, which is no refusal by the gate).
        typealias Empty = HealthCheckRequest
        var options = try await h.options(who)
        options.timeout = .seconds(3)
        do {
            switch info.callKind {
            case .unspecified, .unrecognized:
                return RPCStatus(code: .internal, message: "reflection gave \(info.name) no call kind")
            case .unary:
                let method = WireMethod<Empty, Empty>(service: parts[0], method: parts[1], kind: .unary)
                _ = try await h.rpc.unary(method, Empty(), options: options)
            case .serverStreaming:
                let method = WireMethod<Empty, Empty>(service: parts[0], method: parts[1], kind: .serverStreaming)
                let stream = try await h.rpc.serverStreaming(method, Empty(), options: options)
                defer { stream.cancel() }
                var iterator = stream.makeAsyncIterator()
                _ = try await iterator.next()
            case .clientStreaming:
                let method = WireMethod<Empty, Empty>(service: parts[0], method: parts[1], kind: .clientStreaming)
                _ = try await h.rpc.clientStreaming(method, options: options) { writer in
                    try await writer.write(Empty())
                }
            case .bidirectionalStreaming:
                let method = WireMethod<Empty, Empty>(service: parts[0], method: parts[1], kind: .bidirectionalStreaming)
                let call = try await h.rpc.bidirectional(method, options: options)
                defer { call.responses.cancel() }
                try await call.requests.write(Empty())
                call.requests.finish()
                var iterator = call.responses.makeAsyncIterator()
                _ = try await iterator.next()
            }
            return .ok
        } catch let status as RPCStatus {
            return status
        }
    }
}
