import CRMDomain
import CRMRPC
@testable import CRMStore
import CRMTLS
import CRMWire
import Foundation
import Synchronization
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The built `crmd` binary run as a child process.
/// A missing binary fails each test (`#require`) rather than skipping it: `swift build --build-tests` builds it.
@Suite("crmd process")
struct CRMDProcessTests {
    @Test("serve starts, prints where it listens and where the development CA is, and exits 0 on SIGTERM and on SIGINT",
          arguments: [SIGTERM, SIGINT])
    func serveAndStop(signal: Int32) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("crmd-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(CRMDBinary.path))
        process.arguments = ["serve", "--port", "0", "--metrics-port", "0", "--data-dir", directory, "--log-level", "warning"]
        process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("CRMD_") }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        // Read on the file handle's own queue, never blocking a thread of the test's concurrency pool.
        let collected = CollectedOutput()
        output.fileHandleForReading.readabilityHandler = { handle in collected.append(handle.availableData) }
        try process.run()
        let deadline = ContinuousClock.now + .seconds(30)
        while !(collected.text.contains("Stop with") && collected.text.contains("metrics:")), ContinuousClock.now < deadline, process.isRunning {
            try await Task.sleep(for: .milliseconds(50))
        }
        let text = collected.text
        #expect(text.contains("listen:   127.0.0.1:"))
        #expect(text.contains("\(directory)/certs/ca.pem"))
        #expect(FileManager.default.fileExists(atPath: "\(directory)/certs/server.pem"))

        // A health check through the development CA, then the call is counted on the metrics endpoint.
        let port = try #require(Self.value(after: "listen:   127.0.0.1:", in: text).flatMap { Int($0.prefix { $0.isNumber }) })
        let tls = TLSConfiguration.client(serverName: "localhost", trustRootsFile: "\(directory)/certs/ca.pem")
        let client = try RPCClient(configuration: .init(host: "127.0.0.1", port: port, tls: tls, serverName: "localhost"))
        let health = try await client.unary(Health.check, HealthCheckRequest())
        #expect(health.servingStatus == .serving)
        await client.close()
        let metricsURL = try #require(Self.value(after: "metrics:  ", in: text))
        let metrics = try await Self.fetch(metricsURL)
        let line = metrics.split(separator: "\n").first { $0.hasPrefix("crm_rpc_calls_total{") && $0.contains("/crm.v1.Health/Check") }
        #expect(line?.contains("status=\"OK\"") == true, "\(metrics)")
        #expect(line?.hasSuffix(" 1") == true)
        #expect(metrics.contains("crm_rpc_call_duration_seconds"))
        #expect(metrics.contains("crm_rpc_open_connections"))
        kill(process.processIdentifier, signal)
        let stopDeadline = ContinuousClock.now + .seconds(20)
        while process.isRunning, ContinuousClock.now < stopDeadline { try await Task.sleep(for: .milliseconds(50)) }
        if process.isRunning { process.terminate() }
        while process.isRunning { try await Task.sleep(for: .milliseconds(50)) }
        output.fileHandleForReading.readabilityHandler = nil
        #expect(process.terminationReason == .exit)
        #expect(process.terminationStatus == 0)
    }

    /// The rest of the line after `prefix`.
    static func value(after prefix: String, in text: String) -> String? {
        text.split(separator: "\n").first { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }
    }

    /// GET `url`'s body as text.
    static func fetch(_ url: String) async throws -> String {
        let request = URLRequest(url: try #require(URL(string: url)), timeoutInterval: 10)
        return try await withCheckedThrowingContinuation { continuation in
            URLSession.shared.dataTask(with: request) { data, _, error in
                if let error {
                    continuation.resume(throwing: error)
                } else {
                    continuation.resume(returning: String(decoding: data ?? Data(), as: UTF8.self))
                }
            }.resume()
        }
    }

    @Test("token create, list and revoke on the same data directory")
    func tokens() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("crmd-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let created = try await CRMDBinary.run(["token", "create", "--role", "agent", "--team", "sales", "--name", "sari", "--data-dir", directory])
        #expect(created.status == 0)
        let token = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(token.hasPrefix("crm_"))
        let listed = try await CRMDBinary.run(["token", "list", "--data-dir", directory])
        #expect(listed.stdout.contains("sari"))
        #expect(listed.stdout.contains("active"))
        #expect(!listed.stdout.contains(token))
        let id = try #require(listed.stdout.split(separator: "\n").dropFirst().first?.split(separator: " ").first)
        let revoked = try await CRMDBinary.run(["token", "revoke", String(id), "--data-dir", directory])
        #expect(revoked.status == 0)
        #expect(try await CRMDBinary.run(["token", "list", "--data-dir", directory]).stdout.contains("revoked"))
        let refused = try await CRMDBinary.run(["token", "create", "--role", "agent", "--name", "x", "--data-dir", directory])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("--team"))
    }

    @Test("seed fills an empty data directory with customers to explore, consistent with their facts, and only once")
    func seed() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("crmd-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let seeded = try await CRMDBinary.run(["seed", "--customers", "40", "--data-dir", directory])
        #expect(seeded.status == 0, "\(seeded)")
        #expect(seeded.stdout.contains("seeded 40 customers ("), "\(seeded)")
        let caller = try #require(seeded.stdout.split(separator: "\n").first { $0.contains("crm caller phone:") }, "\(seeded)")
        let phone = String(try #require(caller.split(separator: ":").last))

        let store = try SQLiteStore(location: StoreLocation(directory: directory))
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let snapshot = try #require(try await store.callerSnapshot(for: try CRMDomain.Handle.phone(phone), now: now, problem: nil), "\(phone)")
        #expect(snapshot.name != nil && snapshot.tenureDays > 0, "a named customer with a history: \(snapshot)")
        let thisYear = try CRMDomain.TimeRange(start: now - 365 * 86_400_000, end: now + 1)
        #expect(try await !store.reportData(for: thisYear).complaints.isEmpty, "history reaches up to now")
        try await store.close()

        let verified = try await CRMDBinary.run(["verify", "--derived-tables", "--data-dir", directory])
        #expect(verified.status == 0, "\(verified)")
        let again = try await CRMDBinary.run(["seed", "--data-dir", directory])
        #expect(again.status == 1 && again.stderr.contains("holds demo customers already"), "\(again)")
    }

    @Test("verify reports a read model that differs from its facts, exits 1, and repairs it with --repair")
    func verify() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("crmd-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let location = StoreLocation(directory: directory)
        let store = try SQLiteStore(location: location)
        let handle = try CRMDomain.Handle.phone("0812-1111-2222")
        let receipt = try await store.append(
            [[Fact(id: try FactID("wa/1"), observedAt: 1_704_042_000_000, source: .channel, payload: .interaction(
                try Interaction(channel: .whatsApp, direction: .inbound, handle: handle, intent: .other, summary: "halo")))]],
            conflicts: .convergent, audit: [])
        let customer = try #require(receipt.customers[0])
        try await store.close()

        let clean = try await CRMDBinary.run(["verify", "--derived-tables", "--data-dir", directory])
        #expect(clean.status == 0)
        #expect(clean.stdout == "")
        #expect(clean.stderr.contains("checked 1 customers: 0 read models differ from their facts; derived tables: 0 differences"))

        let damaged = try SQLiteStore(location: location)
        try await damaged.executeRaw("UPDATE customer_summaries SET summary = x'01'")
        try await damaged.close()
        let found = try await CRMDBinary.run(["verify", "--data-dir", directory])
        #expect(found.status == 1)
        #expect(found.stdout.hasPrefix("customer \(customer): the stored read model differs from its facts in damaged"))
        #expect(found.stderr.contains("checked 1 customers: 1 read models differ from their facts"))
        let repaired = try await CRMDBinary.run(["verify", "--repair", "--data-dir", directory])
        #expect(repaired.status == 0)
        #expect(repaired.stderr.contains("1 rewritten"))
        #expect(try await CRMDBinary.run(["verify", "--data-dir", directory]).status == 0)
    }
}

enum CRMDBinary {
    /// `crmd` next to the test bundle (the build's products folder), if built.
    static let path: String? = {
        var candidates: [URL] = []
        if let executable = Bundle.main.executableURL {
            var folder = executable.deletingLastPathComponent()
            // On macOS the test runner sits inside the .xctest bundle.
            for _ in 0..<4 {
                candidates.append(folder.appendingPathComponent("crmd"))
                folder = folder.deletingLastPathComponent()
            }
        }
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        candidates.append(repository.appendingPathComponent(".build/debug/crmd"))
        return candidates.map(\.path).first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    /// Runs crmd with `arguments` to its end, on a thread of its own (the waiting blocks).
    static func run(_ arguments: [String]) async throws -> (status: Int32, stdout: String, stderr: String) {
        let path = try #require(path)
        return try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result { try runBlocking(path: path, arguments) })
            }
        }
    }

    private static func runBlocking(path: String, _ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("CRMD_") }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, stdout, stderr)
    }
}

/// Output gathered from a child process as it arrives.
final class CollectedOutput: Sendable {
    private let data = Mutex(Data())

    func append(_ chunk: Data) {
        data.withLock { $0.append(chunk) }
    }

    var text: String { data.withLock { String(decoding: $0, as: UTF8.self) } }
}
