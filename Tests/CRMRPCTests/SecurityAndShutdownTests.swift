import CRMRPC
import CRMTLS
import CRMWire
import Testing

/// Refuses calls without a `token` metadata entry and counts what it saw.
struct TokenInterceptor: RPCInterceptor {
    let probe: Probe

    func intercept(context: RPCContext, next: () async throws -> Void) async throws {
        guard context.method.service != Echo.name || context.requestMetadata.firstText("token") == "secret" else {
            throw RPCStatus(code: .unauthenticated, message: "send the token metadata")
        }
        try await next()
        probe.update { $0.finished += 1 }
    }
}

@Suite("mTLS, interceptors and shutdown")
struct SecurityAndShutdownTests {
    @Test("with mTLS the handler sees the client certificate's subject")
    func mutualTLS() async throws {
        try await withHarness(clientCertificates: .required) { harness in
            let client = try harness.client(identity: "client-adapter")
            let answer = try await client.unary(Echo.unary, HealthCheckRequest(service: "peer"))
            #expect(answer.service.contains("CN=adapter-whatsapp"))
            await client.close()

            // Without a certificate, no connection.
            let anonymous = try harness.client()
            try await expectStatus(.unavailable) {
                _ = try await anonymous.unary(Echo.unary, HealthCheckRequest(service: "peer"))
            }
            await anonymous.close()
        }
    }

    @Test("an interceptor refuses a call before the handler runs, and sees the outcome of the others")
    func interceptor() async throws {
        let probe = Probe()
        try await withHarness(interceptors: [TokenInterceptor(probe: probe)]) { harness in
            let client = try harness.client()
            try await expectStatus(.unauthenticated, "send the token metadata") {
                _ = try await client.unary(Echo.unary, HealthCheckRequest(service: "x"))
            }
            let answer = try await client.unary(
                Echo.unary, HealthCheckRequest(service: "x"), options: CallOptions(metadata: Metadata(["token": "secret"])))
            #expect(answer.service == "x")
            #expect(probe.snapshot.finished == 1)
            await client.close()
        }
    }

    @Test("graceful shutdown: the call in flight completes, a new call gets UNAVAILABLE")
    func gracefulShutdown() async throws {
        let harness = try await Harness.start()
        let client = try harness.client()
        _ = try await client.unary(Echo.unary, HealthCheckRequest(service: "warm up"))
        let inFlight = Task { try await client.unary(Echo.block, HealthCheckRequest(service: "sleep:300")) }
        try await harness.probe.wait(for: "the call to start") { $0.started == 1 }
        // The grace period only bounds a hang: the handler's task may wait long for a thread on a
        // loaded machine, and shutdown returns as soon as the call is done.
        let shutdown = Task { await harness.server.shutdown(gracePeriod: .seconds(300)) }
        let answer = try await inFlight.value
        #expect(answer.service == "sleep:300")
        await shutdown.value
        try await expectStatus(.unavailable) {
            _ = try await client.unary(Echo.unary, HealthCheckRequest(service: "too late"))
        }
        await client.close()
    }

    @Test("after the grace period, calls still open are reset with UNAVAILABLE")
    func gracePeriodExpires() async throws {
        let harness = try await Harness.start()
        let client = try harness.client()
        let inFlight = Task { try await client.unary(Echo.block, HealthCheckRequest()) }
        try await harness.probe.wait(for: "the call to start") { $0.started == 1 }
        await harness.server.shutdown(gracePeriod: .milliseconds(100))
        try await expectStatus(.unavailable, "server shut down before the call finished") { _ = try await inFlight.value }
        try await harness.probe.wait(for: "the handler to be cancelled") { $0.cancelled == 1 }
        await client.close()
    }

    @Test("after a failed attempt the client waits out the backoff, then connects again")
    func reconnectAfterBackoff() async throws {
        #if os(Linux)
        let reserved = try ReservedPort()
        defer { reserved.release() }
        let port = reserved.port
        #else
        let first = try await Harness.start()
        let port = first.port
        await first.server.shutdown(gracePeriod: .seconds(1))
        #endif
        let client = try Harness.client(port: port, backoff: Backoff(initial: .milliseconds(300), jitter: 0, maximum: .seconds(10)))
        let once = CallOptions(maxAttempts: 1)
        let prefix = "not processed: cannot connect to 127.0.0.1:\(port)"
        // Nothing listens: the attempt fails, and the backoff starts.
        let refused = try await expectStatus(.unavailable) {
            _ = try await client.unary(Echo.unary, HealthCheckRequest(service: "nobody"), options: once)
        }
        #expect(refused.message.hasPrefix(prefix + ": "), "\(refused)")
        // Within the backoff a call fails at once without an attempt, saying when the next one is. (A
        // call that this task, held up on a loaded machine, makes only after the backoff is a new attempt
        // that fails the same way and starts a 1.6 times longer backoff: one soon lands inside one.)
        var waiting = refused
        var calls = 0
        while !waiting.message.contains("; the next attempt is in "), calls < 30 {
            calls += 1
            waiting = try await expectStatus(.unavailable) {
                _ = try await client.unary(Echo.unary, HealthCheckRequest(service: "nobody"), options: once)
            }
            #expect(waiting.message.hasPrefix(prefix), "\(waiting)")
        }
        #expect(waiting.message.hasPrefix(prefix + " (") && waiting.message.contains("; the next attempt is in "), "\(waiting)")
        // The server comes up. Until the backoff is over the client still makes no attempt (one would
        // succeed now); then its next call connects.
        let second = try await Harness.start(port: port)
        #if os(Linux)
        reserved.release()
        #endif
        let answer = try await poll {
            do {
                return try await client.unary(Echo.unary, HealthCheckRequest(service: "back"), options: once)
            } catch let status as RPCStatus {
                guard status.code == .unavailable, status.message.hasPrefix(prefix + " ("),
                    status.message.contains("; the next attempt is in ")
                else { throw UnexpectedStatus(expected: "UNAVAILABLE within the backoff, or an answer", got: status) }
                return nil
            }
        } failure: {
            "the backoff to end"
        }
        #expect(answer.service == "back")
        await client.close()
        await second.stop()
    }

    @Test("the client reconnects after the server closed its connection")
    func reconnect() async throws {
        let limits = ProtocolLimits(idleTimeout: .milliseconds(200))
        try await withHarness(limits: limits) { harness in
            let client = try harness.client()
            let one = try await Self.answer(client, "one")
            #expect(one.service == "one")
            // The server closes the idle connection (GOAWAY OK); the next call opens a new one.
            try await harness.probe.wait(for: "the server to close the idle connection") { _ in
                harness.server.connectionCount == 0
            }
            let two = try await Self.answer(client, "two")
            #expect(two.service == "two")
            await client.close()
        }
    }

    /// An echo of `text`. The call opens a connection, and the server's 200 ms idle timer starts on
    /// it before the call's task has sent anything: should that task be held up that long on a loaded
    /// machine, the server closes the connection first (GOAWAY OK) and the call fails UNAVAILABLE, not
    /// processed, however often the client retries. Call until one gets through.
    private static func answer(_ client: RPCClient, _ text: String) async throws -> HealthCheckRequest {
        try await poll {
            do {
                return try await client.unary(Echo.unary, HealthCheckRequest(service: text))
            } catch let status as RPCStatus where status.code == .unavailable && status.message.hasPrefix("not processed: ") {
                return nil
            }
        } failure: {
            "an answer to \(text)"
        }
    }
}
