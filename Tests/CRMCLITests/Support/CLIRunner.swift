import Foundation

/// Runs the built `crm` binary as a child process, with its own settings file, and collects
/// what it printed and its exit status.
struct CLIRunner: Sendable {
    struct Result: Sendable, CustomStringConvertible {
        var status: Int32
        var stdout: String
        var stderr: String

        var description: String { "exit \(status)\n--- stdout\n\(stdout)\n--- stderr\n\(stderr)" }
    }

    /// The folder of this run's files (settings, CSV inputs); removed by `cleanUp()`.
    let directory: String
    /// Variables every run gets (on top of PATH and HOME); CRM_* from the test's own environment are never passed.
    var environment: [String: String]

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("crm-cli-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        environment = [
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
            "HOME": directory,
            "CRM_CONFIG": directory + "/config.json",
        ]
    }

    func cleanUp() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Writes `text` to `name` in the run's folder and returns its path.
    func file(_ name: String, _ text: String) throws -> String {
        let path = directory + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// The `crm` executable built beside the test bundle.
    static var binary: String {
        get throws {
            var candidates: [URL] = [Bundle.main.bundleURL, Bundle.main.bundleURL.deletingLastPathComponent()]
            candidates += Bundle.allBundles.map { $0.bundleURL.deletingLastPathComponent() }
            candidates.append(URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent())
            for directory in candidates {
                let path = directory.appendingPathComponent("crm").path
                var isDirectory: ObjCBool = false
                if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
                    FileManager.default.isExecutableFile(atPath: path)
                {
                    return path
                }
            }
            throw BinaryMissing(searched: candidates.map(\.path))
        }
    }

    struct BinaryMissing: Error, CustomStringConvertible {
        var searched: [String]
        var description: String {
            "the crm executable is not built beside the tests (looked in \(searched.joined(separator: ", "))); run `swift build --build-tests` first"
        }
    }

    /// Runs `crm arguments…` with `extra` variables and returns when it exits (or kills it after `timeout`).
    func run(
        _ arguments: [String], environment extra: [String: String] = [:], stdin: String? = nil, timeout: Duration = .seconds(60)
    ) async throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try Self.binary)
        process.arguments = arguments
        process.environment = environment.merging(extra) { $1 }
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        if let stdin {
            let input = try file("stdin-\(UUID().uuidString).txt", stdin)
            process.standardInput = try FileHandle(forReadingFrom: URL(fileURLWithPath: input))
        } else {
            process.standardInput = FileHandle.nullDevice
        }
        try process.run()
        let box = Unchecked(process)
        return await withCheckedContinuation { continuation in
            // Read both pipes and wait off the cooperative pool, so an in-process server keeps running.
            DispatchQueue.global().async {
                let process = box.value
                let killer = DispatchWorkItem { if box.value.isRunning { box.value.interrupt() } }
                DispatchQueue.global().asyncAfter(deadline: .now() + Double(timeout.components.seconds), execute: killer)
                let stdoutData = Unchecked(Data())
                let group = DispatchGroup()
                group.enter()
                DispatchQueue.global().async {
                    stdoutData.value = out.fileHandleForReading.readDataToEndOfFile()
                    group.leave()
                }
                let stderrData = err.fileHandleForReading.readDataToEndOfFile()
                group.wait()
                process.waitUntilExit()
                killer.cancel()
                continuation.resume(returning: Result(
                    status: process.terminationStatus, stdout: String(decoding: stdoutData.value, as: UTF8.self),
                    stderr: String(decoding: stderrData, as: UTF8.self)))
            }
        }
    }

    /// Starts `crm arguments…` and returns the process and its output pipe, for streams that
    /// run until interrupted.
    func start(_ arguments: [String], environment extra: [String: String] = [:]) throws -> (Process, Pipe) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try Self.binary)
        process.arguments = arguments
        process.environment = environment.merging(extra) { $1 }
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return (process, out)
    }
}

/// Reads lines from a pipe until `count` lines arrived or `timeout` passed; then interrupts `process`
/// (which closes the pipe), so a stream that prints nothing cannot hang the test.
func readLines(_ pipe: Pipe, count: Int, timeout: Duration = .seconds(20), orStop process: Process? = nil) async -> [String] {
    let box = process.map(Unchecked.init)
    DispatchQueue.global().asyncAfter(deadline: .now() + Double(timeout.components.seconds)) {
        if let process = box?.value, process.isRunning { process.interrupt() }
    }
    return await withCheckedContinuation { continuation in
        DispatchQueue.global().async {
            let handle = pipe.fileHandleForReading
            var buffer = Data()
            let deadline = Date().addingTimeInterval(Double(timeout.components.seconds))
            while Date() < deadline {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                buffer.append(chunk)
                let lines = String(decoding: buffer, as: UTF8.self).split(separator: "\n").map(String.init)
                if lines.count >= count {
                    continuation.resume(returning: lines)
                    return
                }
            }
            continuation.resume(returning: String(decoding: buffer, as: UTF8.self).split(separator: "\n").map(String.init))
        }
    }
}

/// A value handed between dispatch queues by hand (the tests wait for each hand-over).
final class Unchecked<Value>: @unchecked Sendable {
    var value: Value
    init(_ value: Value) { self.value = value }
}
