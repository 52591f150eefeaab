import ArgumentParser
import CRMDataset
import CRMDomain
import CRMPostgresStore
import CRMStore
import Foundation

/// `crm-store-tool bench ingest`: interactions per second through the store, each acknowledged after its commit,
/// from many concurrent appenders, divided by the raw limit of the same rows inserted by plain prepared
/// statements in one transaction, in the same run, on a copy of the same starting database.
struct IngestBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Ingest throughput with acknowledgement after commit, as a ratio to plain prepared-statement inserts of the same rows.")

    @Option(help: "Customers seeded before the measurement (their handles are the senders).")
    var customers: Int = 20_000

    @Option(help: "Interactions appended in the measurement.")
    var interactions: Int = 200_000

    @Option(help: "Concurrent appenders (adapters), each waiting for its acknowledgement before its next append.")
    var appenders: Int = 64

    @Option(help: "Facts per append call (1: one message per call, as a webhook delivers them).")
    var perAppend: Int = 1

    @Option(help: "A directory for the database files (replaced).")
    var dir: String = "/tmp/crm-store-bench"

    @Option(help: "Start from a copy of this database, seeded earlier with `seed --customers <customers>` and the same --seed, instead of seeding.")
    var seeded: String?

    @Option(help: "The dataset's random seed.")
    var seed: UInt64 = 2024

    @Option(help: ArgumentHelp(
        "Measure the PostgreSQL store in this empty database instead of SQLite (postgres://USER@HOST:PORT/DB; the password from PGPASSWORD).",
        valueName: "url"))
    var database: String?

    @Option(help: ArgumentHelp("With --database: another empty database on the same server, for the raw-insert baseline.", valueName: "url"))
    var baselineDatabase: String?

    func validate() throws {
        guard (database == nil) == (baselineDatabase == nil) else {
            throw ValidationError("--database and --baseline-database go together: two empty databases on one server, e.g. made by createdb.")
        }
        guard customers > 0, interactions > 0, appenders > 0, perAppend > 0 else {
            throw ValidationError("--customers, --interactions, --appenders and --per-append must be at least 1.")
        }
    }

    func run() async throws {
        if let database, let baselineDatabase {
            return try await runOnPostgres(database: database, baseline: baselineDatabase)
        }
        let files = FileManager.default
        try files.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let storePath = dir + "/ingest-store.sqlite"
        let baselinePath = dir + "/ingest-baseline.sqlite"
        for path in [storePath, baselinePath] {
            for suffix in ["", "-wal", "-shm"] { try? files.removeItem(atPath: path + suffix) }
        }

        let generator = DatasetGenerator(seed: seed)
        if let seeded {
            report("Copying \(seeded) (not timed)…")
            for suffix in ["", "-wal"] where files.fileExists(atPath: seeded + suffix) {
                try files.copyItem(atPath: seeded + suffix, toPath: storePath + suffix)
            }
        } else {
            report("Seeding \(customers) customers (not timed)…")
            let seeding = try SQLiteStore(path: storePath)
            _ = try await Seeder(generator: generator, appenders: 2, customersPerAppend: 200).seed(seeding, range: 0..<customers, progress: false)
            try await seeding.close()
        }
        for suffix in ["", "-wal"] where files.fileExists(atPath: storePath + suffix) {
            try files.copyItem(atPath: storePath + suffix, toPath: baselinePath + suffix)
        }

        // The same interactions for both runs: follow-up messages from the seeded customers, in a shuffled order.
        let all = generator.ingestWorkload(customers: customers, interactions: interactions, shuffleSeed: seed ^ 0xBE7C4)

        report("Store: \(all.count) interactions, \(appenders) appenders, \(perAppend) per append…")
        let store = try SQLiteStore(path: storePath)
        let cpuBefore = processCPUSeconds()
        let outcome = try await StoreIngest(appenders: appenders, perAppend: perAppend).run(all, into: store)
        let inserted = outcome.inserted
        let storeTime = outcome.seconds
        let storeCPU = processCPUSeconds() - cpuBefore
        let stats = store.writerStatistics
        try await store.close()
        guard inserted == all.count else { throw ValidationError("Only \(inserted) of \(all.count) interactions were new; the benchmark's data is wrong.") }

        report("Baseline: the same rows by plain prepared statements in one transaction…")
        let baselineTime = try RawInsertBaseline.measure(facts: all, path: baselinePath).seconds

        let storeRate = Double(all.count) / storeTime
        let baselineRate = Double(all.count) / baselineTime
        print("""
            ingest: \(all.count) interactions, \(customers) customers seeded, \(appenders) appenders, \(perAppend) fact(s) per append
              store (ack after commit):   \(Int(storeRate)) interactions/s  (\(String(format: "%.2f", storeTime)) s, CPU \(String(format: "%.2f", storeCPU)) s, \(stats.transactions) transactions, \(String(format: "%.1f", stats.writesPerTransaction)) appends per transaction on average, largest \(stats.largestTransaction))
              raw prepared inserts, 1 tx: \(Int(baselineRate)) interactions/s  (\(String(format: "%.2f", baselineTime)) s)
              ratio: \(String(format: "%.2f", storeRate / baselineRate))
            """)
    }

    /// The same measurement on PostgreSQL: both databases are seeded with the same customers (not timed), then the
    /// store ingests the interactions and the baseline inserts the same rows.
    private func runOnPostgres(database: String, baseline: String) async throws {
        let environment = ProcessInfo.processInfo.environment
        let storeLocation = try PostgresLocation(url: database, environment: environment)
        let baselineLocation = try PostgresLocation(url: baseline, environment: environment)
        let generator = DatasetGenerator(seed: seed)
        for location in [storeLocation, baselineLocation] {
            report("Seeding \(customers) customers into \(location) (not timed)…")
            let seeding = try await PostgresStore.open(location)
            if try await seeding.lastFactPosition() > 0 {
                await seeding.close()
                throw ValidationError("\(location) is not empty; give two empty databases (createdb).")
            }
            _ = try await Seeder(generator: generator, appenders: 4, customersPerAppend: 200).seed(seeding, range: 0..<customers, progress: false)
            await seeding.close()
        }
        let all = generator.ingestWorkload(customers: customers, interactions: interactions, shuffleSeed: seed ^ 0xBE7C4)

        report("Store: \(all.count) interactions, \(appenders) appenders, \(perAppend) per append…")
        let store = try await PostgresStore.open(storeLocation)
        let cpuBefore = processCPUSeconds()
        let outcome = try await StoreIngest(appenders: appenders, perAppend: perAppend).run(all, into: store)
        let storeCPU = processCPUSeconds() - cpuBefore
        let stats = store.writerStatistics
        await store.close()
        guard outcome.inserted == all.count else { throw ValidationError("Only \(outcome.inserted) of \(all.count) interactions were new; the benchmark's data is wrong.") }

        report("Baseline: the same rows by the store's prepared statements in one transaction…")
        let baselineTime = try await PostgresRawInsertBaseline.measure(facts: all, location: baselineLocation).seconds

        let storeRate = Double(all.count) / outcome.seconds
        let baselineRate = Double(all.count) / baselineTime
        print("""
            ingest on PostgreSQL: \(all.count) interactions, \(customers) customers seeded, \(appenders) appenders, \(perAppend) fact(s) per append
              store (ack after commit):   \(Int(storeRate)) interactions/s  (\(String(format: "%.2f", outcome.seconds)) s, CPU of this process \(String(format: "%.2f", storeCPU)) s, \(stats.transactions) transactions, \(String(format: "%.1f", stats.writesPerTransaction)) appends per transaction on average, largest \(stats.largestTransaction))
              raw prepared inserts, 1 tx: \(Int(baselineRate)) interactions/s  (\(String(format: "%.2f", baselineTime)) s)
              ratio: \(String(format: "%.2f", storeRate / baselineRate))
            """)
    }
}
