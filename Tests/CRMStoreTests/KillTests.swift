import CRMDomain
import Foundation
import Testing
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
    /// Runs `crm-store-tool ingest` as a child process, reads the facts it acknowledged, kills it with SIGKILL in the
    /// middle of the ingest, reopens the file, and checks that every acknowledged fact is there exactly once and that
    /// the derived tables agree with the facts.
    @Test(
        "every acknowledged fact is present exactly once after SIGKILL mid-ingest",
        .timeLimit(.minutes(5)))
    func killDuringIngest() async throws {
        let tool = try #require(storeToolPath)
        let dir = try TemporaryDirectory()
        let db = dir.file("killed.sqlite")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = ["ingest", "--db", db, "--customers", "20000", "--appenders", "16", "--per-append", "4"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()

        let killAfter = 15_000
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
                    }
                    if !killed && acked.count >= killAfter {
                        kill(pid, SIGKILL)
                        killed = true
                    }
                }
                continuation.resume(returning: (acked, sawDone))
            }
        }
        process.waitUntilExit()
        #expect(!sawDone, "the ingest finished before it was killed; raise --customers")
        #expect(process.terminationReason == .uncaughtSignal)
        #expect(acked.count >= killAfter)

        let store = try SQLiteStore(path: db)
        #expect(try await store.integrityCheck() == "ok")
        var missing: [String] = []
        for id in acked where try await store.storedFactCount(id: FactID(id)) != 1 { missing.append(id) }
        #expect(missing.isEmpty, "\(missing.count) acknowledged facts are missing, e.g. \(missing.prefix(5))")
        #expect(try await store.verifyDerivedState() == [])
        // The read model was written in the same transactions as the facts: what survived the kill matches them.
        #expect(try await store.verifyReadModel().differences == [])
        try await store.close()
    }
}
