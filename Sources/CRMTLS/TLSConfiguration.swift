/// Everything a ``TLSContext`` is built from: which side of the connection we are, our certificate,
/// whom we trust, the versions, ciphers and ALPN protocols we accept, and the timeouts.
///
/// A value type: make one with `TLSConfiguration.server(…)` or `TLSConfiguration.client(…)`, adjust
/// fields, then build a ``TLSContext`` once and share it between connections.
public struct TLSConfiguration: Sendable, Hashable {
    /// Which end of the connection this configuration is for.
    public enum Role: String, Sendable, Hashable {
        /// Accepts connections; must have a certificate and key.
        case server
        /// Connects; verifies the server's certificate and name.
        case client
    }

    /// Whether a server asks clients for a certificate (mutual TLS).
    public enum ClientCertificateMode: String, Sendable, Hashable {
        /// Clients are not asked for a certificate.
        case none
        /// Clients are asked; one that sends a certificate must send a valid one, one that sends none is let in.
        case optional
        /// Clients must send a certificate issued by a CA in ``TLSConfiguration/trustRootsFile`` (mTLS).
        case required
    }

    /// A TLS protocol version.
    public enum Version: Int, Sendable, Hashable, Comparable, CustomStringConvertible {
        /// TLS 1.2 (RFC 5246).
        case tls12 = 12
        /// TLS 1.3 (RFC 8446), preferred whenever both sides allow it.
        case tls13 = 13

        /// Older versions sort first.
        public static func < (lhs: Version, rhs: Version) -> Bool { lhs.rawValue < rhs.rawValue }

        /// `TLS 1.2`, `TLS 1.3`.
        public var description: String {
            switch self {
            case .tls12: "TLS 1.2"
            case .tls13: "TLS 1.3"
            }
        }
    }

    /// The TLS 1.2 ciphers used unless ``cipherList`` is set: forward-secret AEAD suites only
    /// (Mozilla's "intermediate" list), for ECDSA and RSA certificates.
    public static let defaultCipherList =
        "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
        + "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
        + "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

    /// The TLS 1.3 ciphersuites used unless ``cipherSuites`` is set: all three of RFC 8446's
    /// mandatory and recommended suites.
    public static let defaultCipherSuites = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"

    /// The key exchange groups used unless ``groups`` is set.
    public static let defaultGroups = "X25519:P-256:P-384"

    /// Which end of the connection this is.
    public var role: Role
    /// PEM file with our certificate first, then any intermediates. Required for servers; for clients,
    /// the certificate they present when a server asks (mTLS).
    public var certificateChainFile: String?
    /// PEM file with the unencrypted private key of ``certificateChainFile``.
    public var privateKeyFile: String?
    /// PEM file of the CA certificates that peers' certificates must chain to. Clients without one use the
    /// system's trust store; servers need one when ``clientCertificateMode`` is not `.none`.
    public var trustRootsFile: String?
    /// The oldest TLS version accepted. TLS 1.2 by default.
    public var minimumVersion: Version = .tls12
    /// The newest TLS version offered. TLS 1.3 by default; lower it only to test TLS 1.2.
    public var maximumVersion: Version = .tls13
    /// The TLS 1.2 cipher list, in OpenSSL's syntax (`openssl ciphers -v 'LIST'` shows what it means).
    public var cipherList: String = TLSConfiguration.defaultCipherList
    /// The TLS 1.3 ciphersuites, colon-separated.
    public var cipherSuites: String = TLSConfiguration.defaultCipherSuites
    /// The key exchange groups (curves), colon-separated, most preferred first.
    public var groups: String = TLSConfiguration.defaultGroups
    /// The ALPN protocols, most preferred first (the RPC uses `["crm/1"]`). Empty: no ALPN.
    public var applicationProtocols: [String] = []
    /// When ``applicationProtocols`` is not empty, whether a connection without one of them is refused.
    /// A server then fails the handshake with a `no_application_protocol` alert; a client closes the
    /// connection after a handshake in which the server chose none. On by default.
    public var requiresApplicationProtocol: Bool = true
    /// Servers: whether clients must present a certificate (mTLS). Ignored by clients.
    public var clientCertificateMode: ClientCertificateMode = .none
    /// Clients: the DNS name or IP address the server's certificate must be for. DNS names are also sent
    /// as SNI. A ``TLSHandler`` may override it per connection. Ignored by servers.
    public var serverName: String?
    /// How long a handshake may take before the connection is closed with ``TLSError/Kind/handshakeTimedOut``.
    /// Bounds what a client that connects and sends nothing can hold. 10 seconds by default.
    public var handshakeTimeout: Duration = .seconds(10)
    /// How long to wait for the peer's `close_notify` after sending ours before closing anyway. 5 seconds by default.
    public var closeNotifyTimeout: Duration = .seconds(5)

    /// A configuration for `role`; set the other fields before building a ``TLSContext``.
    public init(role: Role) {
        self.role = role
    }

    /// A server configuration presenting `certificateChainFile` and `privateKeyFile`.
    ///
    /// - Parameters:
    ///   - clientCertificateMode: whether clients must present a certificate (mTLS).
    ///   - trustRootsFile: the CA bundle client certificates must chain to; needed unless the mode is `.none`.
    ///   - applicationProtocols: the ALPN protocols accepted, most preferred first; one is required.
    public static func server(
        certificateChainFile: String,
        privateKeyFile: String,
        clientCertificateMode: ClientCertificateMode = .none,
        trustRootsFile: String? = nil,
        applicationProtocols: [String] = []
    ) -> TLSConfiguration {
        var configuration = TLSConfiguration(role: .server)
        configuration.certificateChainFile = certificateChainFile
        configuration.privateKeyFile = privateKeyFile
        configuration.clientCertificateMode = clientCertificateMode
        configuration.trustRootsFile = trustRootsFile
        configuration.applicationProtocols = applicationProtocols
        return configuration
    }

    /// A client configuration that verifies the server against `trustRootsFile` (or the system's trust
    /// store when `nil`) and checks that its certificate is for `serverName`.
    ///
    /// - Parameters:
    ///   - certificateChainFile: the client certificate to present when the server asks (mTLS).
    ///   - privateKeyFile: its private key.
    ///   - applicationProtocols: the ALPN protocols offered, most preferred first.
    public static func client(
        serverName: String?,
        trustRootsFile: String?,
        certificateChainFile: String? = nil,
        privateKeyFile: String? = nil,
        applicationProtocols: [String] = []
    ) -> TLSConfiguration {
        var configuration = TLSConfiguration(role: .client)
        configuration.serverName = serverName
        configuration.trustRootsFile = trustRootsFile
        configuration.certificateChainFile = certificateChainFile
        configuration.privateKeyFile = privateKeyFile
        configuration.applicationProtocols = applicationProtocols
        return configuration
    }
}
