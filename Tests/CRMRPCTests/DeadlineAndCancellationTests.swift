import CRMRPC
import CRMWire
import Testing

@Suite("Deadlines and cancellation")
struct DeadlineAndCancellationTests {
    @Test("the client's deadline fails the call with DEADLINE_EXCEEDED and cancels the handler")
    func clientDeadline() async throws {
        try await withHarness { harness in
            let client = try harness.client()
            _ = try await client.unary(Echo.unary, HealthCheckRequest(service: "connect first"))
            var timeout = Duration.milliseconds(500)
            var status = try await Self.blockUntilDeadline(client, timeout: timeout)
            // Only a call that reached the server can have its handler cancelled. Should this machine
            // be too loaded to send it within the deadline, try again with a longer one.
            while status.message == "the deadline passed before the call was sent", timeout < .seconds(60) {
                timeout *= 2
                status = try await Self.blockUntilDeadline(client, timeout: timeout)
            }
            // The client's own timer normally fires first: it fails the call and resets the stream. The
            // server's deadline, counted from when it read the HEADERS, passes a little later; should the
            // client's event loop be held up just then, the server's TRAILERS may be read before the
            // client's timer runs (docs/PROTOCOL.md, section 11). The call ends DEADLINE_EXCEEDED either way.
            #expect(
                status.message == "the deadline passed before the server answered"
                    || (status.message.hasPrefix("deadline of ") && status.message.hasSuffix(" ms exceeded")),
                "\(status)")
            // Cancelled by the client's RST_STREAM or by the server's own deadline, whichever came first;
            // a handler that had not run yet sees the cancellation when it does.
            try await harness.probe.wait(for: "the handler to be cancelled") { $0.cancelled == 1 }
            await client.close()
        }
    }

    @Test("the server cancels the handler at the deadline it was given and answers DEADLINE_EXCEEDED")
    func serverDeadline() async throws {
        try await withHarness { harness in
            let raw = try await RawConnection.connect(port: harness.port, context: try harness.rawClientContext())
            // HEADERS and the request in one write: the deadline starts when the server reads the
            // HEADERS, and must not pass before the request that starts the handler has arrived.
            try await raw.send([
                try RawConnection.headers(stream: 1, method: Echo.block.path, timeoutMs: 100),
                RawConnection.message(stream: 1, bytes: try HealthCheckRequest(service: "wait").wireBytes()),
            ])
            let status = try await raw.trailers(on: 1)
            #expect(status == RPCStatus(code: .deadlineExceeded, message: "deadline of 100 ms exceeded"))
            // The handler's task may not have run by the deadline; it is cancelled all the same, and
            // records that as soon as it runs.
            try await harness.probe.wait(for: "the handler to be cancelled") { $0.cancelled == 1 }
            await raw.close()
        }
    }

    @Test("the handler sees the deadline the client set")
    func handlerSeesDeadline() async throws {
        try await withHarness { harness in
            let client = try harness.client()
            let with = try await client.unary(
                Echo.unary, HealthCheckRequest(service: "deadline"), options: CallOptions(timeout: .seconds(3600)))
            #expect(with.service == "set")
            let without = try await client.unary(Echo.unary, HealthCheckRequest(service: "deadline"))
            #expect(without.service == "none")
            await client.close()
        }
    }

    @Test("a deadline already past fails at once and sends nothing")
    func deadlineAlreadyPast() async throws {
        try await withHarness { harness in
            let client = try harness.client()
            try await expectStatus(.deadlineExceeded, "the deadline passed before the call was sent") {
                _ = try await client.unary(
                    Echo.block, HealthCheckRequest(), options: CallOptions(deadline: .now - .seconds(1)))
            }
            #expect(harness.probe.snapshot.started == 0)
            try await harness.expectServed()
            await client.close()
        }
    }

    @Test("a negative timeout_ms is answered DEADLINE_EXCEEDED without running the handler")
    func negativeTimeout() async throws {
        try await withHarness { harness in
            let raw = try await RawConnection.connect(port: harness.port, context: try harness.rawClientContext())
            try await raw.sendHeaders(stream: 1, method: Echo.block.path, timeoutMs: -5)
            let status = try await raw.trailers(on: 1)
            #expect(status == RPCStatus(code: .deadlineExceeded, message: "deadline of -5 ms exceeded before the call started"))
            #expect(harness.probe.snapshot.started == 0)
            try await harness.expectServed()
            await raw.close()
        }
    }

    @Test("cancelling the calling task sends RST_STREAM and cancels the handler")
    func clientCancellation() async throws {
        try await withHarness { harness in
            let client = try harness.client()
            let call = Task { try await client.unary(Echo.block, HealthCheckRequest()) }
            try await harness.probe.wait(for: "the handler to start") { $0.started == 1 }
            call.cancel()
            try await expectStatus(.cancelled, "the call was cancelled by the caller") { _ = try await call.value }
            try await harness.probe.wait(for: "the handler to be cancelled") { $0.cancelled == 1 }
            // The connection still serves.
            let answer = try await client.unary(Echo.unary, HealthCheckRequest(service: "after"))
            #expect(answer.service == "after")
            await client.close()
        }
    }

    @Test("a client's RST_STREAM cancels a streaming handler")
    func resetCancelsStreamingHandler() async throws {
        try await withHarness { harness in
            let client = try harness.client()
            let stream = try await client.serverStreaming(Echo.expand, HealthCheckRequest(service: "forever:10"))
            var iterator = stream.makeAsyncIterator()
            _ = try await iterator.next()
            stream.cancel()
            try await harness.probe.wait(for: "the handler to be cancelled") { $0.cancelled == 1 }
            await client.close()
        }
    }

    /// Calls `Echo.block`, which never answers, with `timeout`; returns the DEADLINE_EXCEEDED status.
    private static func blockUntilDeadline(_ client: RPCClient, timeout: Duration) async throws -> RPCStatus {
        try await expectStatus(.deadlineExceeded) {
            _ = try await client.unary(Echo.block, HealthCheckRequest(), options: CallOptions(timeout: timeout))
        }
    }
}
