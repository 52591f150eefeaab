import ArgumentParser
import CRMDataset
import CRMDomain
import CRMStore

/// `crm-store-tool seed --customers N --db PATH`
struct SeedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seed",
        abstract: "Fill a store with a realistic dataset (Indonesian names, phone forms, several handles, ~10 interactions, orders, complaints, ratings).")

    @Option(help: "How many customers to generate.")
    var customers: Int

    @Option(help: "The SQLite database file (created if absent). Seeding again with the same options changes nothing: facts are idempotent.")
    var db: String

    @Option(help: "The dataset's random seed; the same seed gives the same dataset.")
    var seed: UInt64 = 2024

    @Option(help: "About how many interactions per customer.")
    var interactions: Int = 10

    @Option(help: "Concurrent appenders.")
    var appenders: Int = 4

    @Option(help: "Customers per append call.")
    var chunk: Int = 100

    func validate() throws {
        guard customers > 0 else { throw ValidationError("--customers must be at least 1.") }
        guard appenders > 0, chunk > 0 else { throw ValidationError("--appenders and --chunk must be at least 1.") }
    }

    func run() async throws {
        let store = try SQLiteStore(path: db)
        let seeder = Seeder(generator: DatasetGenerator(seed: seed, interactionsPerCustomer: interactions), appenders: appenders, customersPerAppend: chunk)
        let clock = ContinuousClock()
        let start = clock.now
        let facts = try await seeder.seed(store, range: 0..<customers)
        let elapsed = (clock.now - start).seconds
        try await store.close()
        report("Seeded \(customers) customers, \(facts) facts, in \(String(format: "%.1f", elapsed)) s (\(Int(Double(facts) / elapsed)) facts/s) into \(db).")
    }
}
