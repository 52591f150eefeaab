public import CRMRPC

/// Where a client connects and how it proves who it is.
///
/// ```swift
/// var configuration = ClientConfiguration(host: "crm.example.id", port: 7443, caFile: "ca.pem", token: token)
/// configuration.clientCertificateFile = "adapter.pem"   // mTLS, when the server asks for it
/// configuration.clientKeyFile = "adapter.key"
/// configuration.defaultTimeout = .seconds(10)
/// ```
public struct ClientConfiguration: Sendable, Hashable {
    /// The server's host name or address.
    public var host: String
    /// The server's TCP port.
    public var port: Int
    /// The PEM file of the certificate authority that signed the server's certificate; nil trusts
    /// the system's store.
    public var caFile: String?
    /// A bearer token, sent with every call as `authorization: Bearer <token>`.
    public var token: String?
    /// The PEM file of the client's own certificate (then any intermediates), presented when the
    /// server asks for one (mutual TLS). Needs ``clientKeyFile``.
    public var clientCertificateFile: String?
    /// The PEM file of the unencrypted private key of ``clientCertificateFile``.
    public var clientKeyFile: String?
    /// The name the server's certificate must carry (and SNI); nil uses ``host``.
    public var serverName: String?
    /// How long a unary call may take unless its own options say otherwise; nil for no limit.
    /// Streaming calls (watches, imports, conversations) get no default deadline.
    public var defaultTimeout: Duration?

    /// A configuration; by default `127.0.0.1` on the protocol's port, with a 30-second timeout
    /// for unary calls.
    public init(
        host: String = "127.0.0.1", port: Int = RPCProtocol.defaultPort, caFile: String? = nil, token: String? = nil,
        clientCertificateFile: String? = nil, clientKeyFile: String? = nil, serverName: String? = nil,
        defaultTimeout: Duration? = .seconds(30)
    ) {
        self.host = host
        self.port = port
        self.caFile = caFile
        self.token = token
        self.clientCertificateFile = clientCertificateFile
        self.clientKeyFile = clientKeyFile
        self.serverName = serverName
        self.defaultTimeout = defaultTimeout
    }

    /// The options every call starts from: the token as `authorization` metadata and the
    /// default timeout.
    public var defaultCallOptions: CallOptions {
        var metadata = Metadata()
        if let token, !token.isEmpty { metadata.add("authorization", "Bearer \(token)") }
        return CallOptions(timeout: defaultTimeout, metadata: metadata)
    }
}

/// A configuration that cannot make a client, with what to change.
public struct ClientConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What is wrong and what to do.
    public var message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}
