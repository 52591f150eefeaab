import ArgumentParser
import CRMDataset
import CRMDomain
import CRMStore
import Foundation
import Synchronization

/// `crmd seed`: fills an empty data directory with realistic demo customers, so that a first `crm caller` shows
/// something.
struct SeedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seed",
        abstract: "Fill the data directory with realistic demo customers to explore (default 1,000).",
        discussion: """
            Each customer has an Indonesian name, a mobile number written the ways people write it, two to four linked \
            handles (WhatsApp, e-mail, Instagram, an order-system id), about ten interactions across channels, orders \
            with tracking, complaints in the four categories at every step of their workflow, and ratings, all in the \
            three years up to now, so `crm report … --period this-year` has figures. The same --seed makes the same \
            customers. It runs once per data directory (a second run is refused, as the customers are there already), \
            and may run while crmd serves the same directory: SQLite takes the writes one at a time, though open watch \
            streams do not show the seeded history.
            Example: crmd seed --customers 1000, then crm caller phone:+6281100000000
            """
    )

    @Option(help: "How many customers to make.")
    var customers: Int = 1000

    @Option(help: "The dataset's random seed; the same seed makes the same customers.")
    var seed: UInt64 = 2024

    @OptionGroup var data: DataOptions

    func validate() throws {
        guard (1...10_000_000).contains(customers) else { throw ValidationError("--customers must be 1 to 10000000, e.g. --customers 1000") }
    }

    func run() async throws {
        let configuration = try data.resolve().configuration
        if configuration.database == nil {
            try FileManager.default.createDirectory(atPath: configuration.store.directory, withIntermediateDirectories: true)
        }
        let progress = TerminalProgress()
        let store = try await StoreOpening.openForCommand(configuration, progress: progress)
        // Facts end at the start of this minute: a whole dataset, and the same one for every run within the minute.
        let now = Int64(Date().timeIntervalSince1970 / 60) * 60_000
        let generator = DatasetGenerator(seed: seed, now: now)
        do {
            let first = generator.customer(0)
            if let fact = first.facts.first, try await store.containsFact(fact.id) {
                throw CommandFailure(
                    "\(store.whereabouts) holds demo customers already; crmd seed fills a store once. "
                        + "To seed afresh, stop crmd and give an empty --data-dir (or an empty --database).")
            }
            let done = Mutex(0)
            let seeder = Seeder(generator: generator, appenders: 2, customersPerAppend: 100)
            let started = ContinuousClock.now
            let facts = try await seeder.seed(store, range: 0..<customers, progress: false) { [report = progress.report, customers] count in
                let total = done.withLock { done in
                    done += count
                    return done
                }
                report("seeding", total, customers)
            }
            progress.finish()
            try await store.close()
            let seconds = (ContinuousClock.now - started).seconds
            print("seeded \(customers) customers (\(facts) facts) into \(store.whereabouts) in \(String(format: "%.1f", seconds)) s")
            print("try, with a token from `crmd token create`:")
            for index in [0, 1, 2].filter({ $0 < customers }) {
                print("  crm caller phone:\(generator.customer(index).phone.value)")
            }
            let name = first.facts.lazy.compactMap { fact -> String? in
                guard case let .fieldObservation(o) = fact.payload, o.field == .name else { return nil }
                return o.value.split(separator: " ").first.map(String.init)
            }.first
            if let name { print("  crm profile search \(name)") }
            print("  crm report volume --period this-year --by month")
        } catch {
            progress.finish()
            try? await store.close()
            throw error
        }
    }
}
