import GRDB
import Synchronization

/// Read-only connections for the reads the store runs on the calling thread (profiles and caller snapshots).
///
/// They are kept apart from the `DatabasePool`'s readers on purpose. An `async` read of the pool returns its
/// connection only after its task resumes on the Swift concurrency pool; a thread blocked waiting for a pool reader
/// could therefore wait for a release that needs that very thread (with as few pool threads as cores, two blocked
/// threads are enough to stop everything). These connections are never waited for: a free one is taken, or a new
/// one is opened, so there are at most as many as threads that ever read at the same time.
final class CallingThreadReaders: Sendable {
    private let path: String
    private let configuration: Configuration
    private let idle = Mutex<[DatabaseQueue]>([])

    init(path: String, configuration: Configuration) {
        var configuration = configuration
        configuration.readonly = true
        configuration.label = "crm.store.reader"
        self.path = path
        self.configuration = configuration
    }

    /// Runs `body` in a read-only transaction (a consistent snapshot of committed data) on the calling thread.
    func read<T>(_ body: (Database) throws -> T) throws -> T {
        let connection = try idle.withLock { $0.popLast() } ?? DatabaseQueue(path: path, configuration: configuration)
        defer { idle.withLock { $0.append(connection) } }
        return try connection.read(body)
    }

    /// Runs `body`, which must run exactly one statement, outside an explicit transaction on the calling thread: the
    /// statement is its own read transaction, so it sees one consistent snapshot, without the `BEGIN` and `COMMIT`
    /// (two more statements and two more lock round trips) a point read would otherwise cost.
    func readOneStatement<T>(_ body: (Database) throws -> T) throws -> T {
        let connection = try idle.withLock { $0.popLast() } ?? DatabaseQueue(path: path, configuration: configuration)
        defer { idle.withLock { $0.append(connection) } }
        return try connection.inDatabase(body)
    }

    /// Closes the idle connections (every connection is idle once no read is running).
    func close() throws {
        for connection in idle.withLock({ connections in defer { connections = [] }; return connections }) {
            try connection.close()
        }
    }
}
