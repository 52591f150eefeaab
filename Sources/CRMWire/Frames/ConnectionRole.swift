/// Which end of a connection this code is: the side that opens streams, or the side that
/// answers them. The frames each side may send differ (only a server sends TRAILERS, only a
/// client sends the connection preface).
public enum ConnectionRole: Sendable, Hashable, CustomStringConvertible {
    /// Opens streams, one per call.
    case client
    /// Accepts streams and answers them.
    case server

    /// The other end.
    public var peer: ConnectionRole {
        switch self {
        case .client: .server
        case .server: .client
        }
    }

    public var description: String {
        switch self {
        case .client: "client"
        case .server: "server"
        }
    }
}
