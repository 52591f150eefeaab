import CRMRPC

/// Where a client connects and how it proves who it is.
public struct ClientConfiguration: Sendable, Hashable {
    /// The server's host name or address.
    public var host: String
    /// The server's TCP port.
    public var port: Int
    /// The PEM file of the certificate authority that signed the server's certificate.
    public var caFile: String?
    /// A bearer token, sent as request metadata.
    public var token: String?

    public init(host: String = "127.0.0.1", port: Int = RPCProtocol.defaultPort, caFile: String? = nil, token: String? = nil) {
        self.host = host
        self.port = port
        self.caFile = caFile
        self.token = token
    }
}
