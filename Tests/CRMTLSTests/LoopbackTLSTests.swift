import CRMTLS
import NIOCore
import Testing

/// Real TLS between a NIOPosix server and client on 127.0.0.1: the paths that must work.
@Suite("TLS over loopback")
struct LoopbackTLSTests {
    let contexts: Contexts

    init() throws {
        contexts = try Contexts()
    }

    @Test("handshake with ALPN crm/1, mTLS, and data both ways; writes made before the handshake wait for it")
    func handshakeAndEchoBothWays() async throws {
        let server = try await LoopbackServer.start(
            context: try contexts.server(clientCertificates: .required),
            behaviour: .init(echo: true, greeting: "welcome\n")
        )
        let client = try await LoopbackClient.connect(port: server.port, context: try contexts.client())
        // Sent at once, almost certainly before the handshake has completed: it must be held, then sent.
        try await client.send("ping")

        let handshake = try await client.handshake()
        #expect(handshake.alpn == "crm/1")
        #expect(handshake.protocolVersion == "TLSv1.3")
        #expect(handshake.cipherSuite.hasPrefix("TLS_"))
        #expect(handshake.peerCertificateSubject == "CN=localhost,O=CRM development")
        #expect(handshake.peerCertificate?.issuer == "CN=CRM development CA,O=CRM development")
        #expect(handshake.peerCertificateSANs == [.dnsName("localhost"), .ipAddress("127.0.0.1"), .ipAddress("::1")])

        let received = try await client.recorder.wait(for: "greeting and echo") {
            $0.received.readableBytes >= "welcome\nping".utf8.count
        }
        #expect(String(buffer: received.received) == "welcome\nping")

        let serverSide = try await server.connection(0).wait(for: "the server handshake") { $0.handshake != nil }
        #expect(serverSide.handshake?.alpn == "crm/1")
        #expect(serverSide.handshake?.protocolVersion == "TLSv1.3")

        try await client.channel.close()
        #expect(try await server.closedConnection(0).tlsErrors.isEmpty)
        #expect(client.recorder.snapshot.tlsErrors.isEmpty)
        try await server.stop()
    }

    @Test("the server sees the verified client certificate's subject, common name and SANs")
    func peerCertificateSubjectIsExposedOnTheServer() async throws {
        let server = try await LoopbackServer.start(context: try contexts.server(clientCertificates: .required))
        let agent = try await LoopbackClient.connect(
            port: server.port,
            context: try contexts.client(identity: "client-agent")
        )
        try await agent.handshake()
        let adapter = try await LoopbackClient.connect(
            port: server.port,
            context: try contexts.client(identity: "client-adapter")
        )
        try await adapter.handshake()

        let first = try await server.connection(0).wait(for: "handshake 1") { $0.handshake != nil }
        let second = try await server.connection(1).wait(for: "handshake 2") { $0.handshake != nil }
        let subjects = Set([first, second].compactMap { $0.handshake?.peerCertificateSubject })
        #expect(subjects == ["CN=agent,O=CRM development", "CN=adapter-whatsapp,O=CRM development"])
        let commonNames = Set([first, second].compactMap { $0.handshake?.peerCertificate?.commonName })
        #expect(commonNames == ["agent", "adapter-whatsapp"])
        #expect(
            [first, second].allSatisfy {
                $0.handshake?.peerCertificate?.issuer == "CN=CRM development CA,O=CRM development"
            }
        )

        try await agent.channel.close()
        try await adapter.channel.close()
        try await server.stop()
    }

    @Test("with optional client certificates, a client without one is let in and has no peer certificate")
    func optionalClientCertificate() async throws {
        let server = try await LoopbackServer.start(context: try contexts.server(clientCertificates: .optional))
        let client = try await LoopbackClient.connect(port: server.port, context: try contexts.client(identity: nil))
        try await client.handshake()
        try await client.send("anonymous")
        try await client.recorder.wait(for: "the echo") { $0.received.readableBytes == "anonymous".utf8.count }
        let serverSide = try await server.connection(0).wait(for: "the server handshake") { $0.handshake != nil }
        #expect(serverSide.handshake?.peerCertificate == nil)
        #expect(serverSide.handshake?.peerCertificateSubject == nil)
        try await client.channel.close()
        try await server.stop()
    }

    @Test("several MiB each way arrive complete and in order")
    func largePayloadsBothWays() async throws {
        let server = try await LoopbackServer.start(context: try contexts.server())
        let client = try await LoopbackClient.connect(port: server.port, context: try contexts.client())
        try await client.handshake()

        // One 6 MiB write (larger than any record, BIO chunk or socket buffer) and many smaller ones.
        let big = payload(count: 6 * 1024 * 1024)
        var smalls = payload(count: 2 * 1024 * 1024, seed: 7)
        var expected = big
        expected.writeImmutableBuffer(smalls)
        client.channel.write(big, promise: nil)
        while smalls.readableBytes > 0, let slice = smalls.readSlice(length: min(smalls.readableBytes, 10_000)) {
            client.channel.write(slice, promise: nil)
        }
        try await client.channel.writeAndFlush(ByteBuffer())

        let received = try await client.recorder.wait(for: "the echo of 8 MiB", limit: .seconds(120)) {
            $0.received.readableBytes >= expected.readableBytes || $0.inactive
        }
        #expect(received.received.readableBytes == expected.readableBytes)
        #expect(received.received == expected)
        #expect(try await server.connection(0).snapshot.received.readableBytes == expected.readableBytes)

        try await client.channel.close()
        #expect(try await server.closedConnection(0).tlsErrors.isEmpty)
        try await server.stop()
    }

    @Test("TLS 1.2 works when the client offers nothing newer", arguments: ["localhost", "127.0.0.1"])
    func tls12(serverName: String) async throws {
        let server = try await LoopbackServer.start(context: try contexts.server())
        let context = try contexts.client(serverName: serverName) { $0.maximumVersion = .tls12 }
        let client = try await LoopbackClient.connect(port: server.port, context: context)
        let handshake = try await client.handshake()
        #expect(handshake.protocolVersion == "TLSv1.2")
        #expect(handshake.alpn == "crm/1")
        #expect(handshake.cipherSuite == "ECDHE-ECDSA-AES128-GCM-SHA256")
        try await client.send("over 1.2")
        try await client.recorder.wait(for: "the echo") { $0.received.readableBytes == "over 1.2".utf8.count }
        let serverSide = try await server.connection(0).wait(for: "server handshake") { $0.handshake != nil }
        #expect(serverSide.handshake?.peerCertificateSubject == "CN=adapter-whatsapp,O=CRM development")
        try await client.channel.close()
        try await server.stop()
    }

    @Test("the client checks the server's IP SAN when it connects by address", arguments: ["127.0.0.1", "localhost"])
    func serverNameAsDNSNameOrIPAddress(serverName: String) async throws {
        let server = try await LoopbackServer.start(context: try contexts.server())
        try await expectGoodClientServed(by: server, contexts: contexts, serverName: serverName)
        try await server.stop()
    }

    @Test("close initiated by the client: close_notify both ways, no error on either side")
    func cleanCloseFromClient() async throws {
        let server = try await LoopbackServer.start(context: try contexts.server())
        let client = try await LoopbackClient.connect(port: server.port, context: try contexts.client())
        try await client.handshake()
        try await client.send("bye")
        try await client.recorder.wait(for: "the echo") { $0.received.readableBytes == 3 }

        try await client.channel.close()
        let clientSide = try await client.recorder.waitUntilClosed()
        #expect(clientSide.shutdownCompleted)
        #expect(clientSide.tlsErrors.isEmpty)
        #expect(clientSide.otherErrors.isEmpty)

        let serverSide = try await server.closedConnection(0)
        #expect(serverSide.shutdownCompleted)
        #expect(serverSide.tlsErrors.isEmpty)
        #expect(serverSide.otherErrors.isEmpty)
        try await server.stop()
    }

    @Test("close initiated by the server: the client answers close_notify, no error on either side")
    func cleanCloseFromServer() async throws {
        let server = try await LoopbackServer.start(
            context: try contexts.server(),
            behaviour: .init(greeting: "closing now", closeAfterHandshake: true)
        )
        let client = try await LoopbackClient.connect(port: server.port, context: try contexts.client())
        let clientSide = try await client.recorder.waitUntilClosed()
        #expect(clientSide.handshake?.alpn == "crm/1")
        #expect(String(buffer: clientSide.received) == "closing now")
        #expect(clientSide.shutdownCompleted)
        #expect(clientSide.tlsErrors.isEmpty)

        let serverSide = try await server.closedConnection(0)
        #expect(serverSide.shutdownCompleted)
        #expect(serverSide.tlsErrors.isEmpty)
        try await server.stop()
    }
}
