import CRMRPC
import CRMWire
import Testing

/// Each timer fires on a peer that gives it cause; the timeouts are still seconds, since the same
/// server also serves a healthy client (and the raw connection's own TLS handshake) that must not
/// hit them on a loaded machine.
@Suite("Handshake timeout and keepalive")
struct TimerTests {
    @Test("a client that completes TLS but sends no preface is closed with GOAWAY HANDSHAKE_TIMEOUT")
    func handshakeTimeout() async throws {
        try await withHarness(limits: ProtocolLimits(handshakeTimeout: .seconds(5))) { harness in
            let raw = try await RawConnection.connect(
                port: harness.port, context: try harness.rawClientContext(), start: false)
            let status = try await raw.closedWithGoAway()
            #expect(raw.snapshot.handshake != nil)
            #expect(
                status
                    == RPCStatus(
                        code: .unavailable,
                        message: "HANDSHAKE_TIMEOUT: the client did not complete the TLS handshake, preface and first "
                            + "SETTINGS within 5000 ms of connecting; a client sends them right after the handshake"))
            try await harness.expectServed()
        }
    }

    @Test("a peer that does not answer keepalive PINGs is closed with GOAWAY KEEPALIVE_TIMEOUT; a client that does stays")
    func keepaliveTimeout() async throws {
        // PINGs after 200 ms of quiet, so the client answers many while the raw connection's wait runs out.
        let limits = ProtocolLimits(keepaliveInterval: .milliseconds(200), keepaliveTimeout: .seconds(5))
        try await withHarness(limits: limits) { harness in
            let client = try harness.client()
            _ = try await client.unary(Echo.unary, HealthCheckRequest(service: "before"))
            let raw = try await RawConnection.connect(
                port: harness.port, context: try harness.rawClientContext(), answerPings: false)
            let status = try await raw.closedWithGoAway()
            #expect(
                status
                    == RPCStatus(
                        code: .unavailable,
                        message: "KEEPALIVE_TIMEOUT: the client did not acknowledge a PING within 5000 ms; "
                            + "the connection is presumed dead"))
            #expect(raw.snapshot.frames.contains { $0.type == .ping })
            // The RPCClient answered its PINGs all along: its connection is still open, and serves.
            try await harness.probe.wait(for: "the raw connection to be gone") { _ in harness.server.connectionCount == 1 }
            let answer = try await client.unary(Echo.unary, HealthCheckRequest(service: "after"))
            #expect(answer.service == "after")
            #expect(harness.server.connectionCount == 1)
            await client.close()
        }
    }
}
