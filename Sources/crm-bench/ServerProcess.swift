// A benchmark server run as a child process: the load generator and the server then have a
// process each (as wrk and nginx do), and the server's own CPU and memory can be read from /proc.
// Shared by `crm-bench` and the grpc-swift-2 peer (Benchmarks/grpc-peer links this file).

import Foundation

/// A server started as `<this executable> serve ... --port 0 --exit-on-stdin-eof`.
///
/// The child prints `LISTENING <port>` once bound; it exits when its standard input closes, so
/// it never outlives this process, and after its own `--max-seconds` at the latest.
final class ServerProcess: @unchecked Sendable {
    let process: Process
    let port: Int
    private let stdinPipe: Pipe

    var pid: Int32 { process.processIdentifier }

    /// Starts the child with `arguments` after `serve` and waits (up to 60 s) for its port.
    init(arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.ownExecutable())
        process.arguments = ["serve"] + arguments + ["--port", "0", "--exit-on-stdin-eof"]
        let output = Pipe()
        let input = Pipe()
        process.standardOutput = output
        process.standardInput = input
        process.standardError = FileHandle.standardError
        try process.run()
        self.process = process
        self.stdinPipe = input

        // Read lines until "LISTENING <port>".
        var buffer: [UInt8] = []
        let handle = output.fileHandleForReading
        let deadline = Date().addingTimeInterval(60)
        var found: Int?
        while found == nil && Date() < deadline {
            let chunk = handle.availableData
            if chunk.isEmpty { break }
            buffer.append(contentsOf: chunk)
            for line in String(decoding: buffer, as: UTF8.self).split(separator: "\n") where line.hasPrefix("LISTENING ") {
                found = Int(line.dropFirst("LISTENING ".count).trimmingCharacters(in: .whitespaces))
            }
        }
        guard let found else {
            process.terminate()
            throw ServerProcessError(message: "the server child did not report its port; it printed: \(String(decoding: buffer, as: UTF8.self))")
        }
        port = found
        // Keep draining the child's output so that it never blocks on a full pipe.
        Thread.detachNewThread {
            while !handle.availableData.isEmpty {}
        }
    }

    /// Stops the child (SIGTERM, then closing its stdin) and waits for it.
    func stop() {
        if process.isRunning { process.terminate() }
        try? stdinPipe.fileHandleForWriting.close()
        process.waitUntilExit()
    }

    /// The path of the running executable.
    static func ownExecutable() -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    /// In the child: exits the process when standard input reaches its end (the parent is gone).
    static func exitWhenStandardInputCloses() {
        Thread.detachNewThread {
            var byte: UInt8 = 0
            while read(0, &byte, 1) > 0 {}
            Foundation.exit(0)
        }
    }

    /// In the child: exits the process after `seconds`, whatever happens.
    static func scheduleExit(after seconds: Double) {
        Thread.detachNewThread {
            Thread.sleep(forTimeInterval: seconds)
            FileHandle.standardError.write("serve: --max-seconds \(seconds) reached, exiting\n".data(using: .utf8)!)
            Foundation.exit(0)
        }
    }
}

struct ServerProcessError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// Makes development certificates with the repository's tools/gen-certs in a new temporary folder.
func generateCertificates(script: String?) throws -> String {
    let candidates = [script, "tools/gen-certs", "../../tools/gen-certs"].compactMap { $0 }
        + [URL(fileURLWithPath: ServerProcess.ownExecutable()).deletingLastPathComponent()
            .appendingPathComponent("../../../tools/gen-certs").standardized.path]
    guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
        throw ServerProcessError(message: "cannot find tools/gen-certs; pass --certs DIR (made with tools/gen-certs DIR) or --gen-certs PATH")
    }
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("crm-bench-certs-\(getpid())").path
    let process = Process()
    process.executableURL = URL(fileURLWithPath: found)
    process.arguments = [directory]
    process.standardOutput = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw ServerProcessError(message: "\(found) \(directory) failed with status \(process.terminationStatus)")
    }
    return directory
}
