/// Constants of the `crm/1` wire protocol that both ends must agree on (docs/PROTOCOL.md).
public enum RPCProtocol {
    /// The ALPN protocol name a TLS connection must negotiate.
    public static let alpn = "crm/1"
    /// The TCP port the server listens on unless told otherwise.
    public static let defaultPort = 7443
}
