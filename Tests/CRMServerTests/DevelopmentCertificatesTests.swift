import CRMMessages
import CRMRPC
import CRMServer
import CRMServerTesting
import CRMTLS
import CRMWire
import Foundation
import Testing

@Suite("Development certificates")
struct DevelopmentCertificatesTests {
    @Test("made in <data>/certs on first run, reused afterwards, and they serve TLS and mTLS")
    func firstRunAndReuse() async throws {
        let directory = TestServer.temporaryDataDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let configuration = try TestServer.configuration(directory: directory, certificates: .development)

        let first = try CRMServerApp.resolveTLS(configuration)
        let development = try #require(first.development)
        #expect(first.developmentCreated)
        #expect(development.directory == directory + "/certs")
        let files = [development.caFile, development.caKeyFile, development.serverCertificateFile, development.serverKeyFile,
                     development.adapterCertificateFile, development.adapterKeyFile]
        let contents = try files.map { try Data(contentsOf: URL(fileURLWithPath: $0)) }
        for key in [development.caKeyFile, development.serverKeyFile, development.adapterKeyFile] {
            let permissions = try FileManager.default.attributesOfItem(atPath: key)[.posixPermissions] as? Int
            #expect(permissions == 0o600, "\(key)")
        }
        #expect(first.configuration.clientCertificateMode == .optional)
        #expect(first.configuration.trustRootsFile == development.caFile)

        let second = try CRMServerApp.resolveTLS(configuration)
        #expect(!second.developmentCreated)
        #expect(try files.map { try Data(contentsOf: URL(fileURLWithPath: $0)) } == contents)

        // A lost adapter certificate is remade by the same CA; the others stay.
        try FileManager.default.removeItem(atPath: development.adapterKeyFile)
        let third = try CRMServerApp.resolveTLS(configuration)
        #expect(third.developmentCreated)
        #expect(try Data(contentsOf: URL(fileURLWithPath: development.caFile)) == contents[0])
        #expect(try Data(contentsOf: URL(fileURLWithPath: development.serverCertificateFile)) == contents[2])

        // The server serves with them: a client trusting the development CA connects to
        // 127.0.0.1 as localhost, and the adapter certificate authenticates as an adapter.
        let server = try await TestServer.start(directory: directory, services: .probe, certificates: .development)
        func client(adapter: Bool, serverName: String) throws -> RPCClient {
            try server.rpcClient(
                certificate: adapter ? (development.adapterCertificateFile, development.adapterKeyFile) : nil,
                trusting: development.caFile, serverName: serverName)
        }
        for name in ["localhost", "127.0.0.1"] {
            let plain = try client(adapter: false, serverName: name)
            #expect(try await plain.unary(Health.check, HealthCheckRequest(), options: accessOptions(token: nil)).servingStatus == .serving)
            await plain.close()
        }
        let adapter = try client(adapter: true, serverName: "localhost")
        let response = try await adapter.unaryResponse(InteractionService.pushInteraction, .init(), options: accessOptions(token: nil))
        #expect(response.trailingMetadata.firstText("principal") == "adapter:\(DevelopmentCertificates.adapterCommonName)")
        await adapter.close()
        await server.stop()
    }
}
