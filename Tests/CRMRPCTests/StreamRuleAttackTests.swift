import CRMRPC
import CRMTLS
import CRMWire
import NIOCore
import Synchronization
import Testing

/// Frames that break the stream rules, sent to a live server over TLS while a healthy client has calls
/// in flight on its own connection: the attacker's connection is closed with GOAWAY and the error docs/PROTOCOL.md
/// names (section 16.1), and every call of the healthy client succeeds.
@Suite("Stream-rule attacks on a live server")
struct StreamRuleAttackTests {
    enum Attack: String, CaseIterable, CustomTestStringConvertible {
        case evenStreamID = "HEADERS on an even stream id"
        case neverOpened = "a MESSAGE on a stream never opened"
        case clientTrailers = "TRAILERS from the client"
        case zeroStreamWindowUpdate = "a WINDOW_UPDATE of 0 on an open stream"

        var testDescription: String { rawValue }
    }

    @Test(arguments: Attack.allCases)
    func attack(_ attack: Attack) async throws {
        try await withHarness { harness in
            let healthy = try harness.client()
            // The healthy client's calls run through the whole attack.
            let calls = Task { () -> Int in
                var answered = 0
                for n in 0..<50 {
                    let answer = try await healthy.unary(Echo.unary, HealthCheckRequest(service: "healthy \(n)"))
                    if answer.service == "healthy \(n)" { answered += 1 }
                }
                return answered
            }
            let raw = try await RawConnection.connect(port: harness.port, context: try harness.rawClientContext())
            switch attack {
            case .evenStreamID:
                try await raw.sendHeaders(stream: 2, method: Echo.unary.path)
            case .neverOpened:
                try await raw.sendMessage(stream: 3, bytes: try HealthCheckRequest(service: "x").wireBytes())
            case .clientTrailers:
                try await raw.sendHeaders(stream: 1, method: Echo.collect.path)
                try await raw.send(.trailers, stream: 1, Trailers(statusCode: .ok, message: "", metadata: []))
            case .zeroStreamWindowUpdate:
                try await raw.sendHeaders(stream: 1, method: Echo.collect.path)
                try await raw.send(.windowUpdate, stream: 1, WindowUpdate(incrementBytes: 0))
            }
            let status = try #require(try await raw.closedWithGoAway(), "closed without GOAWAY")
            #expect(status.code == .internal, "\(status)")
            #expect(status.message.hasPrefix("PROTOCOL_ERROR: "), "\(status)")
            #expect(try await calls.value == 50)
            await healthy.close()
        }
    }
}
