import CRMDataset
import CRMDomain
import CRMTestSupport
import Foundation
import Testing
@testable import CRMPostgresStore
@testable import CRMStore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where `crm-store-tool` was built: beside the test bundle (`swift build --build-tests` builds every product into
/// the same folder), or `nil` when it was not built.
let storeToolPath: String? = {
    var candidates: [String] = []
    if let executable = Bundle.main.executablePath { candidates.append(executable) }
    candidates.append(CommandLine.arguments[0])
    for start in candidates {
        var dir = URL(fileURLWithPath: start).deletingLastPathComponent()
        for _ in 0..<4 {
            let tool = dir.appendingPathComponent("crm-store-tool").path
            if FileManager.default.isExecutableFile(atPath: tool) { return tool }
            dir = dir.deletingLastPathComponent()
        }
    }
    return nil
}()

@Suite("Surviving a kill")
struct KillTests {
    /// One run of `crm-store-tool ingest`, killed with SIGKILL: the facts it acknowledged (printed after each commit).
    struct KilledRun {
        var acked: [String]
        var sawDone: Bool
        var killedBySignal: Bool
    }

    /// Runs `crm-store-tool ingest` on `store` (`--db FILE` or `--database URL`) with `arguments` and kills it with SIGKILL once it has acknowledged
    /// `killAfter` facts, or, with `afterCheckpoint`, at the first forced WAL checkpoint after that.
    static func ingestAndKill(tool: String, store: [String], arguments: [String], killAfter: Int, afterCheckpoint: Bool) async throws -> KilledRun {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = ["ingest"] + store + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let reading = output.fileHandleForReading
        let pid = process.processIdentifier
        let (acked, sawDone) = await withCheckedContinuation { (continuation: CheckedContinuation<([String], Bool), Never>) in
            DispatchQueue.global().async {
                var acked: [String] = []
                var sawDone = false
                var buffer = Data()
                var killed = false
                while true {
                    let chunk = reading.availableData
                    if chunk.isEmpty { break }  // end of file: the child is gone
                    buffer.append(chunk)
                    while let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                        let line = String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self)
                        buffer.removeSubrange(buffer.startIndex...newline)
                        let parts = line.split(separator: " ")
                        if parts.count == 3 && parts[0] == "ack" { acked.append(String(parts[1])) }
                        if line == "done" { sawDone = true }
                        if !killed, acked.count >= killAfter, !afterCheckpoint || line == "checkpoint" {
                            kill(pid, SIGKILL)
                            killed = true
                        }
                    }
                }
                continuation.resume(returning: (acked, sawDone))
            }
        }
        process.waitUntilExit()
        return KilledRun(acked: acked, sawDone: sawDone, killedBySignal: process.terminationReason == .uncaughtSignal)
    }

    /// The first fact ids of the appends (`batch` facts of one customer each, in order) of which `store` holds some
    /// facts but not all.
    static func appendsStoredInPart(_ customers: [[Fact]], batch: Int, in store: any InspectableStore) async throws -> [String] {
        var torn: [String] = []
        for facts in customers {
            for start in stride(from: 0, to: facts.count, by: batch) {
                let append = facts[start..<min(start + batch, facts.count)]
                var present = 0
                for fact in append where try await store.storedFactCount(id: fact.id) == 1 { present += 1 }
                if present != 0 && present != append.count { torn.append(append.first!.id.rawValue) }
            }
        }
        return torn
    }

    /// Four runs of `crm-store-tool ingest` of one dataset on one file, each killed with SIGKILL at a random point
    /// further than the one before (two of them just after a forced WAL checkpoint): each run acknowledges again, as
    /// duplicates, what the runs before stored, then goes on. After each kill the file is reopened and checked:
    /// every fact acknowledged so far is stored exactly once with the content acknowledged, each append (4 facts of
    /// one customer, one transaction) is there whole or not at all, and the derived tables and read model agree with
    /// the facts.
    @Test(
        "every acknowledged fact is present exactly once, as acknowledged, after SIGKILL at random points and around checkpoints",
        .timeLimit(.minutes(10)))
    func killDuringIngest() async throws {
        let tool = try #require(storeToolPath)
        let dir = try TemporaryDirectory()
        let db = dir.file("killed.sqlite")
        let seed = UInt64.random(in: 1...UInt64.max)
        // The kill points come from this seed, named in every failure, so a failing run can be replayed.
        var random = SplitMix64(seed: seed)
        let batch = 4
        let workers = 16
        var acknowledged: [String: Fact] = [:]
        let datasetSeed: UInt64 = 7
        var killAfter = 0
        for round in 0..<4 {
            killAfter += Int.random(in: 500...4_000, using: &random)
            let aroundCheckpoint = round % 2 == 1
            let context = "round \(round), kill after \(killAfter) acks\(aroundCheckpoint ? " at a checkpoint" : ""), test seed \(seed)"
            var arguments = ["--customers", "20000", "--appenders", "\(workers)", "--per-append", "\(batch)", "--seed", "\(datasetSeed)"]
            if aroundCheckpoint { arguments += ["--checkpoint-every", "25"] }
            let run = try await Self.ingestAndKill(
                tool: tool, store: ["--db", db], arguments: arguments, killAfter: killAfter, afterCheckpoint: aroundCheckpoint)
            #expect(!run.sawDone, "the ingest finished before it was killed; raise --customers (\(context))")
            #expect(run.killedBySignal, "\(context)")
            try #require(run.acked.count >= killAfter, "only \(run.acked.count) facts were acknowledged before the kill (\(context))")

            // What the generator made, by fact id and by append, for the customers the run can have reached: each
            // appender takes every 16th customer, so none went beyond the last acknowledged one by more than 16.
            let generator = DatasetGenerator(seed: datasetSeed)
            var indexOf: [String: Int] = [:]
            var customers: [[Fact]] = []
            var index = 0
            let ackedThisRound = Set(run.acked)
            var lastAcked = 0
            while index <= lastAcked + workers {
                let facts = generator.customer(index).facts
                customers.append(facts)
                for fact in facts {
                    indexOf[fact.id.rawValue] = index
                    if ackedThisRound.contains(fact.id.rawValue) { lastAcked = max(lastAcked, index) }
                    acknowledged[fact.id.rawValue] = ackedThisRound.contains(fact.id.rawValue) ? fact : acknowledged[fact.id.rawValue]
                }
                index += 1
            }
            #expect(run.acked.allSatisfy { indexOf[$0] != nil }, "an acknowledged id the generator did not make (\(context))")

            let store = try SQLiteStore(path: db)
            #expect(try await store.integrityCheck() == "ok", "\(context)")
            var wrong: [String] = []
            for (id, fact) in acknowledged {
                let stored = try await store.storedFact(id: FactID(id))
                let count = try await store.storedFactCount(id: FactID(id))
                if stored != fact || count != 1 { wrong.append(id) }
            }
            #expect(wrong.isEmpty, "\(wrong.count) acknowledged facts are missing or differ, e.g. \(wrong.prefix(5)) (\(context))")
            let torn = try await Self.appendsStoredInPart(customers, batch: batch, in: store)
            #expect(torn.isEmpty, "appends stored in part: \(torn.prefix(5)) (\(context))")
            #expect(try await store.verifyDerivedState() == [], "\(context)")
            // The read model is written in the same transactions as the facts: what survived the kill matches them.
            #expect(try await store.verifyReadModel().differences == [], "\(context)")
            try await store.close()
        }
    }

    /// The same on PostgreSQL: three runs of `crm-store-tool ingest --database` on one database, each SIGKILLed at a
    /// random point further than the one before. A kill takes the client away mid-transaction; the server rolls back
    /// what was not committed. After each kill every fact acknowledged so far is stored exactly once with the content
    /// acknowledged, each append is whole or absent, and every read model agrees with the facts.
    @Test("on PostgreSQL too, every acknowledged fact is present exactly once, as acknowledged, after SIGKILL at random points",
          .timeLimit(.minutes(10)))
    func killDuringIngestOnPostgres() async throws {
        let tool = try #require(storeToolPath)
        let url = try PostgresTestCluster.shared().createDatabase()
        let seed = UInt64.random(in: 1...UInt64.max)
        var random = SplitMix64(seed: seed)
        let (batch, workers, datasetSeed) = (4, 16, UInt64(11))
        var acknowledged: [String: Fact] = [:]
        var killAfter = 0
        for round in 0..<3 {
            killAfter += Int.random(in: 300...1_500, using: &random)
            let context = "round \(round), kill after \(killAfter) acks, test seed \(seed)"
            let run = try await Self.ingestAndKill(
                tool: tool, store: ["--database", url],
                arguments: ["--customers", "20000", "--appenders", "\(workers)", "--per-append", "\(batch)", "--seed", "\(datasetSeed)"],
                killAfter: killAfter, afterCheckpoint: false)
            #expect(!run.sawDone, "the ingest finished before it was killed (\(context))")
            #expect(run.killedBySignal, "\(context)")
            try #require(run.acked.count >= killAfter, "only \(run.acked.count) facts were acknowledged before the kill (\(context))")

            let generator = DatasetGenerator(seed: datasetSeed)
            let ackedThisRound = Set(run.acked)
            var customers: [[Fact]] = []
            var (index, lastAcked) = (0, 0)
            while index <= lastAcked + workers {
                let facts = generator.customer(index).facts
                customers.append(facts)
                for fact in facts where ackedThisRound.contains(fact.id.rawValue) {
                    lastAcked = max(lastAcked, index)
                    acknowledged[fact.id.rawValue] = fact
                }
                index += 1
            }
            let store = try await PostgresStore.open(PostgresLocation(url: url))
            var wrong: [String] = []
            for (id, fact) in acknowledged {
                let stored = try await store.read(oneStatement: true) { reads in try reads.tables.storedFact(id: id).map { try $0.decoded() } }
                if stored != fact { wrong.append(id) }
            }
            #expect(wrong.isEmpty, "\(wrong.count) acknowledged facts are missing or differ, e.g. \(wrong.prefix(5)) (\(context))")
            let torn = try await Self.appendsStoredInPart(customers, batch: batch, in: store)
            #expect(torn.isEmpty, "appends stored in part: \(torn.prefix(5)) (\(context))")
            #expect(try await store.verifyReadModel().differences == [], "\(context)")
            await store.close()
        }
    }
}
