#if os(Linux)
import Glibc
import Synchronization

/// A port of 127.0.0.1 that nothing listens on, and that no other test can take meanwhile: a TCP
/// socket bound to it (with SO_REUSEADDR) but not listening. Connections to it are refused; a
/// server (which also sets SO_REUSEADDR) can still bind it and listen. Tests run in parallel, so a
/// port merely closed could be handed to another test's server before it is bound again.
final class ReservedPort: Sendable {
    let port: Int
    private let descriptor: Mutex<Int32?>

    init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw SocketFailure(call: "socket", code: errno) }
        var one: Int32 = 1
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size)) == 0
                    && bind(descriptor, address, length) == 0 && getsockname(descriptor, address, &length) == 0
            }
        }
        guard bound else {
            let code = errno
            Glibc.close(descriptor)
            throw SocketFailure(call: "bind", code: code)
        }
        self.descriptor = Mutex(descriptor)
        self.port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { release() }

    /// Lets the port go (once a server listens on it, it stays that server's).
    func release() {
        if let descriptor = descriptor.withLock({ $0.take() }) { Glibc.close(descriptor) }
    }

    struct SocketFailure: Error, CustomStringConvertible {
        var call: String
        var code: Int32
        var description: String { "\(call) failed with errno \(code)" }
    }
}
#endif
