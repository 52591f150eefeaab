import CRMDataset
import CRMDomain
@testable import CRMStore
import Foundation
import Synchronization
import Testing

/// `crmd backup` while the store takes writes, then `crmd restore`: the restored database is one consistent
/// snapshot — every write acknowledged before the backup began, no append half there, every customer equal to a
/// store built from exactly the appends the snapshot holds.
@Suite("crmd backup and restore")
struct BackupRestoreTests {
    static let customersPerAppend = 20

    func temporaryDirectory() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("crmd-\(UUID().uuidString)").path
    }

    @Test("a backup taken under load restores to a consistent snapshot holding every acknowledged write")
    func backupUnderLoadRestoresEveryCustomer() async throws {
        let source = temporaryDirectory(), restored = temporaryDirectory(), rebuilt = temporaryDirectory()
        let backupFile = temporaryDirectory() + ".sqlite"
        defer { for path in [source, restored, rebuilt, backupFile] { try? FileManager.default.removeItem(atPath: path) } }
        let generator = DatasetGenerator(seed: 7)
        func chunk(_ n: Int) -> [Fact] {
            (n * Self.customersPerAppend..<(n + 1) * Self.customersPerAppend).flatMap { generator.customer($0).facts }
        }

        // One appender, one append per chunk of customers, each all-or-nothing: a snapshot holds a prefix of chunks.
        let store = try SQLiteStore(location: StoreLocation(directory: source))
        let acknowledged = Mutex(0)
        let stop = Mutex(false)
        let load = Task {
            var n = 0
            while !stop.withLock({ $0 }) {
                _ = try await store.append(chunk(n))
                n += 1
                acknowledged.withLock { $0 = n }
            }
            return n
        }
        while acknowledged.withLock({ $0 }) < 10 { try await Task.sleep(for: .milliseconds(10)) }
        let acknowledgedBefore = acknowledged.withLock { $0 }
        let backup = try await CRMDBinary.run(["backup", "--data-dir", source, "--to", backupFile])
        let acknowledgedAfter = acknowledged.withLock { $0 }
        stop.withLock { $0 = true }
        let appended = try await load.value
        try await store.close()
        #expect(backup.status == 0, "\(backup)")
        #expect(backup.stdout.hasPrefix("backed up "), "\(backup)")

        let restore = try await CRMDBinary.run(["restore", "--from", backupFile, "--data-dir", restored])
        #expect(restore.status == 0, "\(restore)")
        let verify = try await CRMDBinary.run(["verify", "--derived-tables", "--data-dir", restored])
        #expect(verify.status == 0, "read models and derived tables agree with the restored facts: \(verify)")

        let copy = try SQLiteStore(location: StoreLocation(directory: restored))
        var held = 0
        while held < appended, try await copy.containsFact(chunk(held)[0].id) { held += 1 }
        #expect(held >= acknowledgedBefore, "every append acknowledged before the backup began is in it")
        #expect(held <= acknowledgedAfter)
        // No append half there: the chunk after the last whole one has no fact at all.
        if held < appended {
            for fact in chunk(held) { #expect(try await !copy.containsFact(fact.id), "\(fact.id) of an append the snapshot does not hold") }
        }

        // Every customer equals the one a store built from exactly those appends has.
        let reference = try SQLiteStore(location: StoreLocation(directory: rebuilt))
        for n in 0..<held { _ = try await reference.append(chunk(n)) }
        var compared = 0
        for index in 0..<(held * Self.customersPerAppend) {
            let phone = generator.customer(index).phone
            let expected = try #require(try await reference.summary(for: phone))
            #expect(try await copy.summary(for: phone) == expected, "customer \(index)")
            compared += 1
        }
        #expect(compared >= 10 * Self.customersPerAppend)
        try await reference.close()
        try await copy.close()
    }

    @Test("restore refuses a damaged or foreign file and a directory crmd serves, and keeps the database it replaces")
    func restoreRefusesWhatItCannotRestore() async throws {
        let directory = temporaryDirectory(), other = temporaryDirectory()
        let junk = temporaryDirectory() + ".sqlite", backupFile = temporaryDirectory() + ".sqlite"
        defer { for path in [directory, other, junk, backupFile] { try? FileManager.default.removeItem(atPath: path) } }
        let store = try SQLiteStore(location: StoreLocation(directory: directory))
        _ = try await store.append(DatasetGenerator(seed: 3).customer(0).facts)
        try await store.close()
        #expect(try await CRMDBinary.run(["backup", "--data-dir", directory, "--to", backupFile]).status == 0)
        let again = try await CRMDBinary.run(["backup", "--data-dir", directory, "--to", backupFile])
        #expect(again.status == 1 && again.stderr.contains("never overwrites"), "\(again)")

        try Data("not a database".utf8).write(to: URL(fileURLWithPath: junk))
        let foreign = try await CRMDBinary.run(["restore", "--from", junk, "--data-dir", other])
        #expect(foreign.status == 1 && foreign.stderr.contains("cannot be read as a database"), "\(foreign)")
        let missing = try await CRMDBinary.run(["restore", "--from", junk + ".absent", "--data-dir", other])
        #expect(missing.status == 1 && missing.stderr.contains("does not exist"), "\(missing)")

        // A server's shared lock on the directory keeps the restore out, for as long as it is held.
        try await {
            let held = try #require(try DataDirectoryLock(StoreLocation(directory: other), exclusive: false))
            let refused = try await CRMDBinary.run(["restore", "--from", backupFile, "--data-dir", other])
            #expect(refused.status == 1 && refused.stderr.contains("stop it"), "\(refused)")
            withExtendedLifetime(held) {}
        }()

        let first = try await CRMDBinary.run(["restore", "--from", backupFile, "--data-dir", other])
        #expect(first.status == 0, "\(first)")
        let second = try await CRMDBinary.run(["restore", "--from", backupFile, "--data-dir", other])
        #expect(second.stdout.contains("the database it replaced is kept as"), "\(second)")
        let kept = try FileManager.default.contentsOfDirectory(atPath: other).filter { $0.hasPrefix("crm.sqlite.replaced-") && !$0.hasSuffix("-wal") && !$0.hasSuffix("-shm") }
        #expect(kept.count == 1, "\(kept)")
    }
}
