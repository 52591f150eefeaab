import CRMRPC
import CRMTLS
import CRMWire
import NIOCore
import Synchronization
import Testing

/// Frames that break the stream or flow-control rules, sent to a live server over TLS while a healthy client has calls
/// in flight on its own connection: the attacker's connection is closed with GOAWAY and the error docs/PROTOCOL.md
/// names (sections 12 and 16.1), and every call of the healthy client succeeds.
@Suite("Stream-rule attacks on a live server")
struct StreamRuleAttackTests {
    enum Attack: String, CaseIterable, CustomTestStringConvertible {
        case evenStreamID = "HEADERS on an even stream id"
        case neverOpened = "a MESSAGE on a stream never opened"
        case clientTrailers = "TRAILERS from the client"
        case zeroStreamWindowUpdate = "a WINDOW_UPDATE of 0 on an open stream"
        case streamWindowOverrun = "MESSAGEs past a stream's window while its handler reads none"
        case connectionWindowOverrun = "MESSAGEs on two streams past the connection's window, each within its own"
        case connectionWindowOverflow = "a WINDOW_UPDATE taking the connection window over 2^31-1"
        case streamWindowOverflow = "a WINDOW_UPDATE taking a stream's window over 2^31-1"

        var testDescription: String { rawValue }

        /// The connection error the server must close with.
        var error: String {
            switch self {
            case .evenStreamID, .neverOpened, .clientTrailers, .zeroStreamWindowUpdate: "PROTOCOL_ERROR"
            case .streamWindowOverrun, .connectionWindowOverrun, .connectionWindowOverflow, .streamWindowOverflow:
                "FLOW_CONTROL_ERROR"
            }
        }
    }

    /// Small windows, so that a few messages overrun them: 64 KiB each, messages of at most 16 KiB.
    static let limits = ProtocolLimits(initialStreamWindowSize: 64 << 10, connectionWindowSize: 64 << 10, maxMessageSize: 16 << 10)

    /// A request of about 15 KiB: four fit in a 64 KiB window, five do not.
    static let large = try! HealthCheckRequest(service: String(repeating: "w", count: 15 << 10)).wireBytes()

    @Test(arguments: Attack.allCases)
    func attack(_ attack: Attack) async throws {
        try await withHarness(limits: Self.limits) { harness in
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
            case .streamWindowOverrun:
                // Sent in one write: nothing the handler does could return credit in between, and it reads nothing.
                var frames = [try RawConnection.headers(stream: 1, method: Echo.ignore.path)]
                for _ in 0..<5 { frames.append(RawConnection.message(stream: 1, bytes: Self.large, endStream: false)) }
                try await raw.send(frames)
            case .connectionWindowOverrun:
                var frames = [
                    try RawConnection.headers(stream: 1, method: Echo.ignore.path),
                    try RawConnection.headers(stream: 3, method: Echo.ignore.path),
                ]
                for n in 0..<5 { frames.append(RawConnection.message(stream: n < 3 ? 1 : 3, bytes: Self.large, endStream: false)) }
                try await raw.send(frames)
            case .connectionWindowOverflow:
                try await raw.send(.windowUpdate, stream: 0, WindowUpdate(incrementBytes: UInt32(Int32.max)))
            case .streamWindowOverflow:
                try await raw.sendHeaders(stream: 1, method: Echo.ignore.path)
                try await raw.send(.windowUpdate, stream: 1, WindowUpdate(incrementBytes: UInt32(Int32.max)))
            }
            let status = try #require(try await raw.closedWithGoAway(), "closed without GOAWAY")
            #expect(status.code == .internal, "\(status)")
            #expect(status.message.hasPrefix(attack.error + ": "), "\(status)")
            #expect(try await calls.value == 50)
            await healthy.close()
        }
    }
}
