@testable import CRMRPC
import CRMTLS
import CRMWire
import Foundation
import NIOCore
import NIOEmbedded
import Testing

/// The server's connection handler, without TLS or sockets, answers the client bytes of the
/// worked example in docs/PROTOCOL.md section 17 with exactly the documented server bytes.
@Suite("Worked example against the server's connection handler")
struct WorkedExampleServerTests {
    @Test("the server's bytes are those of section 17.2")
    func workedExample() async throws {
        let clientBytes = try Self.documentedBytes("client-bytes")
        let serverBytes = try Self.documentedBytes("server-bytes")
        let health = HealthService()
        health.setStatus(.serving, forService: Health.name)
        var router = MethodRouter()
        router.register(health)
        let routes = router
        let channel = NIOAsyncTestingChannel()
        try await channel.testingEventLoop.executeInContext {
            try channel.pipeline.syncOperations.addHandlers([
                ByteToMessageHandler(FrameDecoder(role: .server)),
                ServerConnectionHandler(limits: .default, router: routes, interceptors: []),
            ])
        }
        try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 7443))
        // What the TLS handler fires once the handshake is done.
        channel.pipeline.fireUserInboundEventTriggered(
            TLSHandshakeCompleted(alpn: "crm/1", protocolVersion: "TLSv1.3", cipherSuite: "TLS_AES_128_GCM_SHA256", peerCertificate: nil))
        try await channel.writeInbound(ByteBuffer(bytes: clientBytes))

        // The answer comes from the handler's task: read until all of it is there.
        var received: [UInt8] = []
        _ = try? await poll {
            await channel.testingEventLoop.run()
            while let buffer = try await channel.readOutbound(as: ByteBuffer.self) {
                received += buffer.readableBytesView
            }
            return received.count >= serverBytes.count ? true : nil
        } failure: {
            "the server's bytes"
        }
        #expect(Self.hex(received) == Self.hex(serverBytes))
        _ = try? await channel.finish()
    }

    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String(format: "%02X", $0) }.joined(separator: " ")
    }

    /// The hex in the fenced block right after `<!-- worked-example:NAME -->` in docs/PROTOCOL.md.
    static func documentedBytes(_ name: String) throws -> [UInt8] {
        let repository = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let text = try String(contentsOf: repository.appendingPathComponent("docs/PROTOCOL.md"), encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard let marker = lines.firstIndex(where: { $0.contains("<!-- worked-example:\(name) -->") }),
            let open = lines[(marker + 1)...].firstIndex(where: { $0.hasPrefix("```") }),
            let close = lines[(open + 1)...].firstIndex(where: { $0.hasPrefix("```") })
        else { throw TimedOut(what: "the worked example \(name) in docs/PROTOCOL.md") }
        return lines[(open + 1)..<close].flatMap { $0.split(separator: " ") }.compactMap { UInt8($0, radix: 16) }
    }
}
