import CRMDomain
import CRMMessages
import CRMRPC
import CRMServer
import CRMServerTesting
import CRMStore
import CRMWire
import Foundation
import Testing

/// Access control end to end: a real server over TLS, real tokens in a real SQLite store.
@Suite("Access control")
struct AccessControlTests {
    @Test("a call without credentials is UNAUTHENTICATED, saying what to send")
    func noCredentials() async throws {
        try await withTestServer(services: .probe) { server in
            let client = try server.rpcClient()
            defer { Task { await client.close() } }
            let outcome = await callStatus { _ = try await client.unary(ProfileService.getProfile, GetProfileRequest(), options: accessOptions(token: nil)) }
            #expect(outcome.code == .unauthenticated)
            #expect(outcome.message.contains("authorization: Bearer <token>"))
            #expect(outcome.message.contains("crmd token create"))
        }
    }

    @Test("unknown, malformed and revoked tokens are UNAUTHENTICATED")
    func badTokens() async throws {
        try await withTestServer(services: .probe) { server in
            let client = try server.rpcClient()
            defer { Task { await client.close() } }
            func call(_ token: String?) async -> RPCStatus {
                await callStatus { _ = try await client.unary(ProfileService.getProfile, GetProfileRequest(), options: accessOptions(token: token)) }
            }
            let unknown = await call(try AccessToken.generate())
            #expect(unknown.code == .unauthenticated)
            #expect(unknown.message.contains("unknown"))
            #expect(unknown.message.contains("crmd token create"))
            #expect(await call("not-a-token").code == .unauthenticated)

            var options = CallOptions(maxAttempts: 1)
            options.metadata.add("authorization", "Basic abc")
            let basic = await callStatus { _ = try await client.unary(ProfileService.getProfile, GetProfileRequest(), options: options) }
            #expect(basic.code == .unauthenticated)
            #expect(basic.message.contains("Bearer"))

            let issued = try await server.registry.create(role: .agent, name: "sari", team: .sales)
            #expect(await call(issued.token).isOK)
            _ = try await server.registry.revoke(idPrefix: issued.info.id)
            let revoked = await call(issued.token)
            #expect(revoked.code == .unauthenticated)
            #expect(revoked.message.contains("revoked"))
        }
    }

    @Test("an expired token is UNAUTHENTICATED")
    func expiredToken() async throws {
        try await withTestServer(services: .probe) { server in
            let store = try #require(server.app.store)
            let past = TokenRegistry(store: store, now: { unixMillisecondsNow() - 10 * 86_400_000 })
            let issued = try await past.create(role: .supervisor, name: "ana", expiresInDays: 1)
            let client = try server.rpcClient()
            defer { Task { await client.close() } }
            let outcome = await callStatus { _ = try await client.unary(ProfileService.getProfile, GetProfileRequest(), options: accessOptions(token: issued.token)) }
            #expect(outcome.code == .unauthenticated)
            #expect(outcome.message.contains("expired"))
        }
    }

    /// The representative method of each class of caller, and whether each role may call it.
    static let matrix: [(method: String, allowed: Set<CallerRole>)] = [
        (InteractionService.pushInteraction.path, [.adapter, .agent, .supervisor]),
        (ProfileService.getProfile.path, [.agent, .supervisor]),
        (ReportService.getRefundRecap.path, [.supervisor]),
        (ComplaintService.getComplaint.path, [.agent, .supervisor, .customer]),
        (ProfileService.unlinkIdentities.path, [.supervisor]),
    ]

    @Test("each role against a method of each class: allowed, or PERMISSION_DENIED naming the role needed",
          arguments: CallerRole.allCases)
    func roles(role: CallerRole) async throws {
        try await withTestServer(services: .probe) { server in
            let issued = try await server.registry.create(
                role: role, name: "\(role.rawValue)-1", team: role == .agent ? .afterSales : nil,
                customerID: role == .customer ? try CustomerID("cus_00000000000000000000000000000001") : nil)
            let client = try server.rpcClient()
            defer { Task { await client.close() } }
            let options = accessOptions(token: issued.token)
            for (path, allowed) in Self.matrix {
                let outcome: RPCStatus
                var trailers = Metadata()
                switch path {
                case InteractionService.pushInteraction.path:
                    outcome = await callStatus { trailers = try await client.unaryResponse(InteractionService.pushInteraction, .init(), options: options).trailingMetadata }
                case ProfileService.getProfile.path:
                    outcome = await callStatus { trailers = try await client.unaryResponse(ProfileService.getProfile, .init(), options: options).trailingMetadata }
                case ReportService.getRefundRecap.path:
                    outcome = await callStatus { trailers = try await client.unaryResponse(ReportService.getRefundRecap, .init(), options: options).trailingMetadata }
                case ComplaintService.getComplaint.path:
                    outcome = await callStatus { trailers = try await client.unaryResponse(ComplaintService.getComplaint, .init(), options: options).trailingMetadata }
                default:
                    outcome = await callStatus { trailers = try await client.unaryResponse(ProfileService.unlinkIdentities, .init(), options: options).trailingMetadata }
                }
                if allowed.contains(role) {
                    #expect(outcome.isOK, "\(role) on \(path): \(outcome)")
                    #expect(trailers.firstText("principal") == "\(role.rawValue):\(role.rawValue)-1")
                    if role == .customer { #expect(trailers.firstText("principal-customer") == "cus_00000000000000000000000000000001") }
                    if role == .agent { #expect(trailers.firstText("principal-team") == "after-sales") }
                } else {
                    #expect(outcome.code == .permissionDenied, "\(role) on \(path): \(outcome)")
                    #expect(outcome.message.contains("needs the role"))
                    #expect(outcome.message.contains(CallerRole.allCases.first { allowed.contains($0) }!.rawValue))
                    #expect(outcome.message.contains(role.rawValue))
                }
            }
        }
    }

    @Test("the policy table agrees with the matrix of the end-to-end test")
    func policyMatchesMatrix() {
        for (path, allowed) in Self.matrix {
            for role in CallerRole.allCases {
                #expect(AccessPolicy.rule(for: path)?.allows(role) == allowed.contains(role), "\(role) on \(path)")
            }
        }
        // The customer's own methods.
        for method in [ComplaintService.getComplaint.info, ComplaintService.listComplaints.info, ComplaintService.watchMyNotices.info,
                       FeedbackService.submitRating.info, LoyaltyService.getLoyaltyStatus.info] {
            #expect(AccessPolicy.rule(for: method.path)?.allows(.customer) == true, "\(method.path)")
        }
        // Every report is for supervisors only.
        for method in ReportService.methods {
            #expect(AccessPolicy.rule(for: method.path) == .roles([.supervisor]))
        }
        // Supervisors may do everything an agent may.
        for (path, rule) in AccessPolicy.rules where rule.allows(.agent) {
            #expect(rule.allows(.supervisor), "\(path)")
        }
    }

    @Test("an mTLS client certificate signed by the server's CA, without a token, is an adapter named by its CN")
    func mutualTLSAdapter() async throws {
        try await withTestServer(services: .probe) { server in
            let client = try server.rpcClient(certificate: server.testCertificates.identity("client-adapter"))
            defer { Task { await client.close() } }
            let response = try await client.unaryResponse(InteractionService.pushInteraction, .init(), options: accessOptions(token: nil))
            #expect(response.trailingMetadata.firstText("principal") == "adapter:adapter-whatsapp")
            let denied = await callStatus { _ = try await client.unary(ProfileService.getProfile, .init(), options: accessOptions(token: nil)) }
            #expect(denied.code == .permissionDenied)
            #expect(denied.message.contains("adapter"))

            // A token wins over the certificate.
            let issued = try await server.registry.create(role: .supervisor, name: "ana")
            let withToken = try await client.unaryResponse(ReportService.getRefundRecap, .init(), options: accessOptions(token: issued.token))
            #expect(withToken.trailingMetadata.firstText("principal") == "supervisor:ana")
        }
    }

    @Test("a client certificate from another CA is refused during the handshake")
    func untrustedCertificate() async throws {
        try await withTestServer(services: .probe) { server in
            let client = try server.rpcClient(certificate: server.testCertificates.identity("untrusted-client"))
            defer { Task { await client.close() } }
            let outcome = await callStatus { _ = try await client.unary(InteractionService.pushInteraction, .init(), options: accessOptions(token: nil)) }
            #expect(outcome.code == .unavailable)
            #expect(outcome.message.contains("certificateRejectedByPeer") && outcome.message.contains("unknown ca"), "\(outcome)")
        }
    }

    @Test("health and reflection need no credentials")
    func openMethods() async throws {
        try await withTestServer(services: .probe) { server in
            let client = try server.rpcClient()
            defer { Task { await client.close() } }
            let health = try await client.unary(Health.check, HealthCheckRequest(service: ""), options: accessOptions(token: nil))
            #expect(health.servingStatus == .serving)
            let methods = try await client.unary(Reflection.listMethods, ListMethodsRequest(), options: accessOptions(token: nil))
            #expect(methods.methods.contains { $0.name == ProfileService.getProfile.path })
            // Every method the server serves is in the policy.
            #expect(methods.methods.map(\.name).filter { AccessPolicy.rule(for: $0) == nil } == [])
        }
    }

    @Test("the policy lists every method of every service in Protos/, and a missing one is reported")
    func policyCoversEveryMethod() {
        #expect(AccessPolicy.unlistedMethods(in: AccessPolicy.protoMethods) == [])
        #expect(AccessPolicy.rules.count == AccessPolicy.protoMethods.count)
        #expect(AccessPolicy.unlistedMethods(in: [ProbeService()]) == [])
        let bogus = WireMethodInfo(service: "crm.v1.Bogus", method: "Leak", kind: .unary)
        #expect(AccessPolicy.unlistedMethods(in: AccessPolicy.protoMethods + [bogus]) == ["/crm.v1.Bogus/Leak"])
        #expect(AccessPolicy.unlistedMethods(in: [UnlistedService()]) == ["/crm.v1.Bogus/Leak"])
    }

    @Test("a method missing from the policy is PERMISSION_DENIED to everyone")
    func unlistedMethodRefused() async throws {
        try await withTestServer(services: .custom([ProbeService(), UnlistedService()])) { server in
            let issued = try await server.registry.create(role: .supervisor, name: "ana")
            let client = try server.rpcClient()
            defer { Task { await client.close() } }
            let outcome = await callStatus { _ = try await client.unary(UnlistedService.leak, HealthCheckRequest(), options: accessOptions(token: issued.token)) }
            #expect(outcome.code == .permissionDenied)
            #expect(outcome.message.contains("access policy"))
        }
    }

    @Test("a shutdown lets a call in flight finish, then refuses new ones")
    func gracefulShutdownFinishesCallInFlight() async throws {
        let server = try await TestServer.start(services: .probe)
        let issued = try await server.registry.create(role: .agent, name: "sari", team: .sales)
        let client = try server.rpcClient()
        let started = ContinuousClock.now
        let before = slowCallsStarted.value
        async let slow = client.unaryResponse(ProfileService.searchProfiles, .init(), options: accessOptions(token: issued.token))
        // Shut down once the handler runs (a generous wait: the suite shares two cores).
        let deadline = ContinuousClock.now + .seconds(120)
        while slowCallsStarted.value == before, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        await server.app.shutdown(gracePeriod: .seconds(5))
        let response = try await slow
        #expect(response.trailingMetadata.firstText("principal") == "agent:sari")
        #expect(ContinuousClock.now - started >= ProbeService.slowCall)
        let after = await callStatus { _ = try await client.unary(ProfileService.getProfile, .init(), options: accessOptions(token: issued.token)) }
        #expect(after.code == .unavailable)
        await client.close()
        // The store was closed after its last commit and opens again with the token in it.
        let reopened = try SQLiteStore(location: server.app.configuration.store)
        #expect(try await TokenRegistry(store: reopened).list().map(\.id) == [issued.info.id])
        try await reopened.close()
        await server.stop()
    }

    @Test("require-client-cert refuses a client without a certificate")
    func requiredClientCertificate() async throws {
        try await withTestServer(services: .probe, certificates: .test(requireClientCertificate: true)) { server in
            let issued = try await server.registry.create(role: .agent, name: "sari", team: .sales)
            let plain = try server.rpcClient()
            let refused = await callStatus { _ = try await plain.unary(ProfileService.getProfile, .init(), options: accessOptions(token: issued.token)) }
            #expect(refused.code == .unavailable)
            #expect(refused.message.contains("certificateRequired"), "\(refused)")
            await plain.close()
            let withCertificate = try server.rpcClient(certificate: server.testCertificates.identity("client-agent"))
            let response = try await withCertificate.unaryResponse(ProfileService.getProfile, .init(), options: accessOptions(token: issued.token))
            #expect(response.trailingMetadata.firstText("principal") == "agent:sari")
            await withCertificate.close()
        }
    }
}

/// A service with a method the policy does not list.
struct UnlistedService: RPCService {
    static let leak = WireMethod<HealthCheckRequest, HealthCheckResponse>(service: "crm.v1.Bogus", method: "Leak", kind: .unary)

    func registerMethods(with router: inout MethodRouter) {
        router.register(Self.leak) { _, _ in HealthCheckResponse(servingStatus: .serving) }
    }
}
