/// Why a store operation failed. Every case says what went wrong and what the caller can do.
public enum StoreError: Error, Sendable, CustomStringConvertible {
    /// A fact of an append was refused before anything was written; no fact of that append was stored.
    case invalidFact(index: Int, id: String, reason: String)
    /// The append holds more facts than one call may carry.
    case tooManyFacts(count: Int, maximum: Int)
    /// The database could not be opened or migrated.
    case openFailed(path: String, reason: String)
    /// A database server's store could not be opened: `reason` says what failed and what to do (start the server,
    /// fix the user or password, create the database, run a newer crmd).
    case databaseOpenFailed(url: String, reason: String)
    /// The transaction holding this write failed; nothing of it was stored.
    case writeFailed(reason: String)
    /// The disk holding the database file is full: nothing of this write was stored. Reads go on; writes succeed
    /// again, without a restart, once there is room.
    case diskFull(reason: String)
    /// A read failed.
    case readFailed(reason: String)
    /// A stored fact could not be decoded.
    case corruptFact(id: String, reason: String)
    /// A customer's stored read model could not be decoded (the next write about the customer rebuilds it from the
    /// facts; `crmd verify --repair` rebuilds every damaged one).
    case corruptSummary(customer: String, reason: String)
    /// The store was closed.
    case closed
    /// An argument is out of range (the text says which and what is allowed).
    case invalidArgument(String)
    /// The database server cannot be reached (the connection was lost, or the server is down or restarting). The same
    /// call can be retried: the store reconnects by itself, and a write whose commit was in doubt is recognised by its
    /// fact ids when it comes again.
    case unavailable(reason: String)

    /// A stable, machine-readable identifier, for logs and RPC status mapping.
    public var code: String {
        switch self {
        case .invalidFact: "store.invalid_fact"
        case .tooManyFacts: "store.too_many_facts"
        case .openFailed, .databaseOpenFailed: "store.open_failed"
        case .writeFailed: "store.write_failed"
        case .diskFull: "store.disk_full"
        case .readFailed: "store.read_failed"
        case .corruptFact: "store.corrupt_fact"
        case .corruptSummary: "store.corrupt_summary"
        case .closed: "store.closed"
        case .invalidArgument: "store.invalid_argument"
        case .unavailable: "store.unavailable"
        }
    }

    /// What went wrong and what to do.
    public var description: String {
        switch self {
        case let .invalidFact(index, id, reason):
            return "Fact \(index) (\(id)) was refused: \(reason). Nothing of this append was stored; fix or drop that fact and append again."
        case let .tooManyFacts(count, maximum):
            return "An append of \(count) facts exceeds the limit of \(maximum); split it into smaller appends."
        case let .openFailed(path, reason):
            return "Could not open the store at \(path): \(reason). Check that the directory exists and is writable, and that no newer build migrated the file."
        case let .databaseOpenFailed(url, reason):
            return "Could not open the database \(url): \(reason)."
        case let .writeFailed(reason):
            return "The write failed and nothing of it was stored: \(reason). Appends are idempotent: retry the same facts."
        case let .diskFull(reason):
            return "The disk holding the database file is full, so nothing of this write was stored (\(reason)). "
                + "Free space on that disk; writes succeed again without a restart, and the same facts can be retried."
        case let .readFailed(reason):
            return "A read from the store failed: \(reason). Retry; if it persists, check the database file with `PRAGMA integrity_check`."
        case let .corruptFact(id, reason):
            return "Stored fact \(id) cannot be read: \(reason)"
        case let .corruptSummary(customer, reason):
            return "The stored read model of \(customer) cannot be read: \(reason) Run `crmd verify --repair` to rebuild it from the facts."
        case .closed:
            return "The store is closed; open a new one to continue."
        case let .invalidArgument(text):
            return text
        case let .unavailable(reason):
            return "The database cannot be reached: \(reason). Retry the same call: the store reconnects by itself, and "
                + "facts that reached the database before the connection broke are known by their ids and not stored twice."
        }
    }
}

/// Limits that keep one call from monopolising the single writer.
public struct StoreLimits: Sendable, Hashable {
    /// The most facts one append may carry.
    public var maximumFactsPerAppend: Int
    /// The largest encoded fact, in bytes.
    public var maximumFactBytes: Int
    /// The most facts one group-commit transaction takes; more waiting appends go to the next one.
    public var maximumFactsPerTransaction: Int

    /// 10,000 facts per append, 256 KiB per fact, 20,000 facts per transaction.
    public static let standard = StoreLimits(maximumFactsPerAppend: 10_000, maximumFactBytes: 256 * 1024, maximumFactsPerTransaction: 20_000)

    /// Creates limits.
    public init(maximumFactsPerAppend: Int, maximumFactBytes: Int, maximumFactsPerTransaction: Int) {
        self.maximumFactsPerAppend = maximumFactsPerAppend
        self.maximumFactBytes = maximumFactBytes
        self.maximumFactsPerTransaction = maximumFactsPerTransaction
    }
}
