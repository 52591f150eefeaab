import CRMTLS
import Foundation
import Testing
import CRMTestSupport

/// Loading a configuration: each mistake gets its own error kind and a message naming the file and
/// what to do.
@Suite("TLSContext configuration errors")
struct TLSContextTests {
    let certificates: TestCertificates

    init() throws {
        certificates = try TestCertificates.shared()
    }

    private func serverConfiguration(
        certificate: String? = nil,
        key: String? = nil
    ) -> TLSConfiguration {
        .server(
            certificateChainFile: certificate ?? certificates.serverCertificate,
            privateKeyFile: key ?? certificates.serverKey,
            applicationProtocols: ["crm/1"]
        )
    }

    private func error(_ configuration: TLSConfiguration) -> TLSError? {
        do {
            _ = try TLSContext(configuration: configuration)
            return nil
        } catch {
            return error
        }
    }

    @Test("a good server and client configuration load")
    func goodConfigurationsLoad() throws {
        _ = try TLSContext(configuration: serverConfiguration())
        _ = try TLSContext(
            configuration: .client(
                serverName: "localhost",
                trustRootsFile: certificates.caFile,
                applicationProtocols: ["crm/1"]
            )
        )
        // No CA bundle: the system trust store.
        _ = try TLSContext(configuration: .client(serverName: "localhost", trustRootsFile: nil))
    }

    @Test("a missing private key file")
    func missingKey() {
        let missing = certificates.path("nope.key")
        let error = error(serverConfiguration(key: missing))
        #expect(error?.kind == .privateKeyUnreadable)
        #expect(error?.message.contains("cannot read private key \(missing)") == true)
        #expect(error?.message.contains("check the path") == true)
        #expect(error?.openSSLErrors.isEmpty == false)
    }

    @Test("a missing certificate file")
    func missingCertificate() {
        let missing = certificates.path("nope.pem")
        let error = error(serverConfiguration(certificate: missing))
        #expect(error?.kind == .certificateUnreadable)
        #expect(error?.message.contains(missing) == true)
    }

    @Test("a file that is not PEM where the certificate should be")
    func certificateNotPEM() throws {
        let bogus = certificates.path("bogus.pem")
        try "not a certificate\n".write(toFile: bogus, atomically: true, encoding: .utf8)
        #expect(error(serverConfiguration(certificate: bogus))?.kind == .certificateUnreadable)
    }

    @Test("a private key that does not belong to the certificate")
    func keyMismatch() {
        let error = error(serverConfiguration(key: certificates.identity("client-agent").key))
        #expect(error?.kind == .privateKeyMismatch)
        #expect(error?.message.contains("does not match certificate") == true)
    }

    @Test("an encrypted private key fails with a reason instead of prompting for a passphrase")
    func encryptedKey() throws {
        let encrypted = certificates.path("encrypted-\(UUID().uuidString).key")
        try TestCertificates.runTool(
            script: "/usr/bin/env",
            arguments: [
                "openssl", "pkey", "-in", certificates.serverKey, "-aes256", "-passout", "pass:secret", "-out",
                encrypted,
            ]
        )
        #expect(error(serverConfiguration(key: encrypted))?.kind == .privateKeyUnreadable)
    }

    @Test("a missing CA bundle")
    func missingCABundle() {
        let missing = certificates.path("nope-ca.pem")
        let error = error(.client(serverName: "localhost", trustRootsFile: missing))
        #expect(error?.kind == .trustRootsUnreadable)
        #expect(error?.message.contains(missing) == true)
    }

    @Test("inconsistent configurations are rejected before any file is read")
    func invalidConfigurations() {
        #expect(error(TLSConfiguration(role: .server))?.kind == .invalidConfiguration)

        var mTLSWithoutCA = serverConfiguration()
        mTLSWithoutCA.clientCertificateMode = .required
        #expect(error(mTLSWithoutCA)?.kind == .invalidConfiguration)

        var keyWithoutCertificate = TLSConfiguration.client(
            serverName: "localhost",
            trustRootsFile: certificates.caFile
        )
        keyWithoutCertificate.privateKeyFile = certificates.serverKey
        #expect(error(keyWithoutCertificate)?.kind == .invalidConfiguration)

        var emptyALPN = serverConfiguration()
        emptyALPN.applicationProtocols = ["crm/1", ""]
        #expect(error(emptyALPN)?.kind == .invalidConfiguration)

        var longALPN = serverConfiguration()
        longALPN.applicationProtocols = [String(repeating: "x", count: 256)]
        #expect(error(longALPN)?.kind == .invalidConfiguration)

        var versions = serverConfiguration()
        versions.minimumVersion = .tls13
        versions.maximumVersion = .tls12
        #expect(error(versions)?.kind == .invalidConfiguration)

        var timeout = serverConfiguration()
        timeout.handshakeTimeout = .zero
        #expect(error(timeout)?.kind == .invalidConfiguration)
    }

    @Test("cipher lists OpenSSL cannot use")
    func badCiphers() {
        var tls12 = serverConfiguration()
        tls12.cipherList = "NOT-A-CIPHER"
        #expect(error(tls12)?.kind == .invalidCipherList)

        var tls13 = serverConfiguration()
        tls13.cipherSuites = "TLS_NOT_A_SUITE"
        #expect(error(tls13)?.kind == .invalidCipherList)
    }

    @Test("a client handler needs a server name to verify against")
    func clientWithoutServerName() throws {
        let context = try TLSContext(configuration: .client(serverName: nil, trustRootsFile: certificates.caFile))
        #expect(throws: TLSError.self) { _ = try TLSHandler(context: context) }
        do {
            _ = try TLSHandler(context: context)
        } catch {
            #expect(error.kind == .invalidConfiguration)
        }
        // Given per connection, it is enough.
        _ = try TLSHandler(context: context, serverName: "localhost")
    }

    @Test("the error description names the kind and carries the advice")
    func description() {
        let error = TLSError(.handshakeTimedOut, "the handshake took too long; check the peer")
        #expect(error.description == "TLS handshakeTimedOut: the handshake took too long; check the peer")
    }
}
