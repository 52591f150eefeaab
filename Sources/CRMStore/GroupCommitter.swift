import CRMDomain
import Dispatch
import GRDB
import Synchronization

/// One caller's write, waiting for the transaction that will hold it.
package enum WriteOperation: Sendable {
    /// Facts, the index of each request's first fact, how to settle conflicts, the audit entries.
    case facts([PreparedFact], [Int], ConflictPolicy, [AppendAudit])
    case audit([AuditEntry])
    case saveToken(AccessTokenRecord)
    case revokeToken(digest: [UInt8], at: Int64)
    case recordNotice(id: String, subject: String, at: Int64)

    /// How much of a transaction's budget it uses.
    package var weight: Int {
        switch self {
        case let .facts(facts, _, _, audit): facts.count + audit.count
        case let .audit(entries): entries.count
        case .saveToken, .revokeToken, .recordNotice: 1
        }
    }
}

/// Counts of the group commit's work, for benchmarks and monitoring.
public struct WriterStatistics: Sendable, Hashable {
    /// Transactions run (committed or not).
    public var transactions = 0
    /// Writes (appends, audit writes, token changes) they carried.
    public var writes = 0
    /// Facts and audit entries they carried.
    public var items = 0
    /// The most writes one transaction carried.
    public var largestTransaction = 0

    /// Writes per transaction, on average.
    public var writesPerTransaction: Double { transactions == 0 ? 0 : Double(writes) / Double(transactions) }
}

/// What a committed write reports back.
package enum WriteResult: Sendable {
    case facts(AppendReceipt)
    case done
    case revoked(Bool)
    case recorded(Bool)
}

/// Group commit: every write waits in one queue; a single writer takes everything waiting (up to a budget), applies
/// it in one transaction, commits, and only then resumes the callers. Writes that arrive while a transaction commits
/// wait for the next one, so one `fsync` serves them all.
///
/// Each write is applied optimistically without a savepoint. If one fails (a constraint, a damaged stored fact), the
/// transaction is rolled back and the batch is replayed with one savepoint per write, so the failure reaches that
/// caller only and the others commit. An error that ends the transaction itself (I/O, disk full) or fails the
/// commit fails every write of the batch: nothing of it was stored.
///
/// The writer runs on its own dispatch queue, never on the Swift concurrency pool, because the database blocks it while
/// it writes and syncs. What a transaction is, is the database's (``BatchTransaction``).
package final class GroupCommitter: Sendable {
    private struct Pending: Sendable {
        let operation: WriteOperation
        let continuation: CheckedContinuation<WriteResult, any Error>
    }

    private struct State: Sendable {
        var pending: [Pending] = []
        var writerRunning = false
        var closed = false
        var statistics = WriterStatistics()
    }

    /// What the writer has done so far.
    package var statistics: WriterStatistics { state.withLock { $0.statistics } }

    private let state = Mutex(State())
    private let queue = DispatchQueue(label: "crm.store.group-commit", qos: .userInitiated)
    private let transaction: any BatchTransaction
    private let budget: Int

    /// A committer whose transactions carry at most `budget` facts and audit entries (one write at least).
    package init(budget: Int, transaction: any BatchTransaction) {
        self.transaction = transaction
        self.budget = max(1, budget)
    }

    /// Submits a write and returns once the transaction holding it has committed.
    package func submit(_ operation: WriteOperation) async throws -> WriteResult {
        try await withCheckedThrowingContinuation { continuation in
            let start = state.withLock { s -> Bool? in
                if s.closed { return nil }
                s.pending.append(Pending(operation: operation, continuation: continuation))
                if s.writerRunning { return false }
                s.writerRunning = true
                return true
            }
            switch start {
            case nil: continuation.resume(throwing: StoreError.closed)
            case true?: queue.async { self.drain() }
            case false?: break
            }
        }
    }

    /// Refuses new writes and waits until every accepted write has committed or failed.
    package func close() async {
        state.withLock { $0.closed = true }
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            // The queue is serial: this runs after any drain already scheduled, and a drain only stops when the
            // queue of pending writes is empty.
            queue.async { done.resume() }
        }
    }

    private func drain() {
        while true {
            let batch = state.withLock { s -> [Pending] in
                guard !s.pending.isEmpty else {
                    s.writerRunning = false
                    return []
                }
                var weight = 0
                var count = 0
                for p in s.pending {
                    if count > 0 && weight + p.operation.weight > budget { break }
                    weight += p.operation.weight
                    count += 1
                }
                let taken = Array(s.pending.prefix(count))
                s.pending.removeFirst(count)
                s.statistics.transactions += 1
                s.statistics.writes += count
                s.statistics.items += weight
                s.statistics.largestTransaction = max(s.statistics.largestTransaction, count)
                return taken
            }
            if batch.isEmpty { return }
            let results = commit(batch)
            for (p, result) in zip(batch, results) { p.continuation.resume(with: result) }
        }
    }

    private func commit(_ batch: [Pending]) -> [Result<WriteResult, any Error>] {
        let operations = batch.map(\.operation)
        do {
            return try transaction.apply(operations, isolated: false)
        } catch is OptimisticFailure {
            // One write failed and the transaction was rolled back: replay the batch, one savepoint per write.
        } catch {
            return batch.map { _ in .failure(transaction.storeError(error)) }
        }
        do {
            return try transaction.apply(operations, isolated: true)
        } catch {
            return batch.map { _ in .failure(transaction.storeError(error)) }
        }
    }
}

/// Raised by a ``BatchTransaction`` to abandon an optimistic attempt after one write failed (it rolled back).
package struct OptimisticFailure: Error {
    package init() {}
}

/// How one database runs a group commit's batch.
package protocol BatchTransaction: Sendable {
    /// Applies the writes of `batch` in one transaction and commits it; returns each write's result in order.
    ///
    /// Not `isolated`, the writes are applied without savepoints, and the first that fails rolls the transaction
    /// back and throws ``OptimisticFailure``. `isolated`, each write is applied in a savepoint of its own, so a
    /// failed write's result is its error and the others commit. An error that ends the transaction itself (the disk,
    /// the connection) is thrown: nothing of the batch was stored.
    func apply(_ batch: [WriteOperation], isolated: Bool) throws -> [Result<WriteResult, any Error>]
    /// The store's error for a failed write or transaction.
    func storeError(_ error: any Error) -> StoreError
}

/// ``BatchTransaction`` on the SQLite file's one writer connection.
struct SQLiteBatchTransaction: BatchTransaction {
    let pool: DatabasePool
    let apply: @Sendable (Database, WriteOperation) throws -> WriteResult

    /// A full disk is told apart, since freeing space is what helps.
    func storeError(_ error: any Error) -> StoreError {
        if let error = error as? StoreError { return error }
        if let error = error as? DatabaseError, error.resultCode == .SQLITE_FULL {
            return .diskFull(reason: "\(error)")
        }
        return .writeFailed(reason: "\(error)")
    }

    func apply(_ batch: [WriteOperation], isolated: Bool) throws -> [Result<WriteResult, any Error>] {
        var results: [Result<WriteResult, any Error>] = []
        results.reserveCapacity(batch.count)
        try pool.writeWithoutTransaction { db in
            try db.inTransaction(.immediate) {
                for operation in batch {
                    if !isolated {
                        do {
                            results.append(.success(try apply(db, operation)))
                        } catch {
                            throw OptimisticFailure()
                        }
                        continue
                    }
                    var outcome: WriteResult?
                    do {
                        try db.inSavepoint {
                            outcome = try apply(db, operation)
                            return .commit
                        }
                        results.append(.success(outcome ?? .done))
                    } catch {
                        // Disk full or an I/O error ends the whole transaction: nothing of the batch can commit.
                        guard db.isInsideTransaction else { throw error }
                        results.append(.failure(storeError(error)))
                    }
                }
                return .commit
            }
        }
        return results
    }
}
