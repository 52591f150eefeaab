import CRMRPC
import CRMStore

/// Everything `crmd serve` needs to start: where to listen and where the data lives.
public struct ServerConfiguration: Sendable, Hashable {
    /// The address to listen on; loopback unless told otherwise.
    public var host: String
    /// The TCP port to listen on.
    public var port: Int
    /// Where the embedded store and the development certificates live.
    public var store: StoreLocation

    public init(host: String = "127.0.0.1", port: Int = RPCProtocol.defaultPort, dataDirectory: String = "crmd-data") {
        self.host = host
        self.port = port
        self.store = StoreLocation(directory: dataDirectory)
    }
}
