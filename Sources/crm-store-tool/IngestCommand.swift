import ArgumentParser
import Foundation
import CRMDataset
import CRMDomain
import CRMPostgresStore
import CRMStore

/// `crm-store-tool ingest --db PATH`: appends a generated dataset and prints one line per acknowledged fact, only
/// after the store returned (so after the commit): `ack <fact id> inserted|duplicate|conflict`. The kill test reads
/// these lines, kills the process and checks every acknowledged fact is in the file (or, with `--database`, in the
/// PostgreSQL database).
struct IngestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Append a generated dataset, printing `ack <fact id> <outcome>` for each fact once its commit is durable.")

    @Option(help: "The SQLite database file (created if absent).")
    var db: String?

    @Option(help: ArgumentHelp("A PostgreSQL database instead of --db (postgres://USER@HOST:PORT/DB; the password from PGPASSWORD).", valueName: "url"))
    var database: String?

    @Option(help: "How many customers' facts to append.")
    var customers: Int = 100_000

    @Option(help: "The dataset's random seed.")
    var seed: UInt64 = 7

    @Option(help: "Concurrent appenders.")
    var appenders: Int = 16

    @Option(help: "Facts per append call.")
    var perAppend: Int = 4

    @Option(help: "Force a WAL checkpoint after every this many appends of the first appender, printing `checkpoint` after each (0: never).")
    var checkpointEvery: Int = 0

    func validate() throws {
        guard customers > 0, appenders > 0, perAppend > 0 else { throw ValidationError("--customers, --appenders and --per-append must be at least 1.") }
        guard checkpointEvery >= 0 else { throw ValidationError("--checkpoint-every must be 0 (never) or more.") }
        guard (db == nil) != (database == nil) else { throw ValidationError("Give either --db FILE or --database URL.") }
        guard database == nil || checkpointEvery == 0 else { throw ValidationError("--checkpoint-every is for the SQLite file only.") }
    }

    func run() async throws {
        let store: any Store
        let close: @Sendable () async throws -> Void
        if let database {
            let postgres = try await PostgresStore.open(try PostgresLocation(url: database, environment: ProcessInfo.processInfo.environment))
            (store, close) = (postgres, { await postgres.close() })
        } else {
            let sqlite = try SQLiteStore(path: db!)
            (store, close) = (sqlite, { try await sqlite.close() })
        }
        let generator = DatasetGenerator(seed: seed)
        let out = LineWriter.standardOutput
        let (workers, batch, count, checkpointEvery) = (appenders, perAppend, customers, checkpointEvery)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<workers {
                group.addTask {
                    var appends = 0
                    for index in stride(from: worker, to: count, by: workers) {
                        let facts = generator.customer(index).facts
                        for start in stride(from: 0, to: facts.count, by: batch) {
                            let slice = Array(facts[start..<min(start + batch, facts.count)])
                            let outcomes = try await store.append(slice)
                            out.write(zip(slice, outcomes).map { "ack \($0.id.rawValue) \(Self.word($1))" })
                            appends += 1
                            if worker == 0, checkpointEvery > 0, appends % checkpointEvery == 0, let sqlite = store as? SQLiteStore {
                                try await sqlite.checkpoint()
                                out.write(["checkpoint"])
                            }
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        try await close()
        out.write("done")
    }

    static func word(_ outcome: IngestOutcome) -> String {
        switch outcome {
        case .inserted: "inserted"
        case .duplicate: "duplicate"
        case .conflict: "conflict"
        }
    }
}
