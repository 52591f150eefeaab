import ArgumentParser
import CRMDataset
import CRMDomain
import CRMStore
import Foundation
import Histogram

/// `crm-store-tool bench snapshot`: caller-snapshot latency (p50, p99) at several store sizes, looking customers up
/// by a phone number as written by the caller's system and normalised through the domain.
struct SnapshotBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshot",
        abstract: "Caller snapshot latency by phone number at several store sizes (~10 interactions per customer).")

    @Option(help: "Store sizes in customers, comma-separated.")
    var sizes: String = "10000,100000,1000000"

    @Option(help: "Timed look-ups per size.")
    var samples: Int = 20_000

    @Option(help: "Untimed look-ups before measuring.")
    var warmup: Int = 2_000

    @Option(help: "A directory for the seeded databases; each is kept and reused unless --fresh.")
    var dir: String = "/tmp/crm-store-bench"

    @Flag(help: "Seed the databases again even when they exist.")
    var fresh = false

    @Option(help: "The dataset's random seed.")
    var seed: UInt64 = 2024

    func run() async throws {
        let counts = sizes.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !counts.isEmpty, counts.allSatisfy({ $0 > 0 }) else { throw ValidationError("--sizes must list positive numbers, e.g. 10000,100000.") }
        let files = FileManager.default
        try files.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let generator = DatasetGenerator(seed: seed)
        var lines: [String] = []
        for size in counts {
            let path = "\(dir)/snapshot-\(size).sqlite"
            let marker = path + ".seeded"
            if fresh || !files.fileExists(atPath: marker) {
                for suffix in ["", "-wal", "-shm", ".seeded"] { try? files.removeItem(atPath: path + suffix) }
                report("Seeding \(size) customers into \(path)…")
                let store = try SQLiteStore(path: path)
                let clock = ContinuousClock()
                let start = clock.now
                let facts = try await Seeder(generator: generator, appenders: 2, customersPerAppend: 200).seed(store, range: 0..<size)
                try await store.close()
                report("  \(facts) facts in \(Int((clock.now - start).seconds)) s")
                _ = files.createFile(atPath: marker, contents: Data("\(facts)\n".utf8))
            }
            lines.append(try await measure(size: size, path: path, generator: generator))
        }
        print("caller snapshot by phone number (normalised), \(samples) look-ups per size after \(warmup) warm-up:")
        for line in lines { print(line) }
    }

    private func measure(size: Int, path: String, generator: DatasetGenerator) async throws -> String {
        let store = try SQLiteStore(path: path)
        var rng = SplitMix64(seed: seed ^ UInt64(size))
        let written = (0..<(samples + warmup)).map { _ in generator.customer(Int.random(in: 0..<size, using: &rng)).phoneAsWritten }
        var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
        let clock = ContinuousClock()
        var found = 0
        var cpuAtStart = processCPUSeconds()
        for (n, raw) in written.enumerated() {
            if n == warmup { cpuAtStart = processCPUSeconds() }
            let start = clock.now
            let snapshot = try await store.callerSnapshot(for: try Handle.phone(raw), now: generator.now, problem: nil)
            let elapsed = clock.now - start
            if snapshot != nil { found += 1 }
            if n >= warmup { _ = histogram.record(UInt64(elapsed.seconds * 1e9)) }
        }
        let cpuPerLookup = (processCPUSeconds() - cpuAtStart) / Double(max(1, samples)) * 1e6
        try await store.close()
        guard found == written.count else { throw ValidationError("\(written.count - found) look-ups found no customer; the database at \(path) is incomplete: rerun with --fresh.") }
        func us(_ p: Double) -> String { String(format: "%.0f", Double(histogram.valueAtPercentile(p)) / 1000) }
        return "  \(size) customers: p50 \(us(50)) µs, p90 \(us(90)) µs, p99 \(us(99)) µs, p99.9 \(us(99.9)) µs, max \(String(format: "%.0f", Double(histogram.max) / 1000)) µs; CPU \(String(format: "%.0f", cpuPerLookup)) µs per look-up"
    }
}
