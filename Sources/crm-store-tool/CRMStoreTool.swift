import ArgumentParser

/// Tools around the embedded store: a realistic dataset, an ingest that reports each acknowledged fact (for the
/// kill test), and the store's benchmarks.
@main
struct CRMStoreTool: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crm-store-tool",
        abstract: "Seed, ingest into and benchmark the CRM's embedded SQLite store.",
        subcommands: [SeedCommand.self, IngestCommand.self, BenchCommand.self])
}

/// The benchmarks of docs/BENCHMARKS.md, section "Store (CRMStore on SQLite)".
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks of the store (build with -c release).",
        subcommands: [IngestBenchCommand.self, SnapshotBenchCommand.self])
}
