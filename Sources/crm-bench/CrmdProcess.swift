// A real crmd, run as a child process on a data directory, for the end-to-end benchmarks.

import Foundation

/// `crmd serve` on `dataDirectory`, bound to a free port on 127.0.0.1.
///
/// Started with the development certificates crmd makes in `<data-dir>/certs`, and the Prometheus
/// endpoint on a free port, as `crmd serve` runs by default. Stopped with SIGTERM (crmd's graceful
/// shutdown); killed if it has not exited 30 s later.
final class CrmdProcess: @unchecked Sendable {
    let process: Process
    let port: Int
    let dataDirectory: String

    var pid: Int32 { process.processIdentifier }

    /// The CA of the development certificates, which clients trust.
    var caFile: String { dataDirectory + "/certs/ca.pem" }

    /// Starts `executable serve` and waits (up to 120 s: opening a large store can take a while)
    /// for its `listen:` line. With `database`, crmd serves that PostgreSQL database and the data
    /// directory holds only its certificates.
    init(executable: String, dataDirectory: String, database: String? = nil) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = [
            "serve", "--data-dir", dataDirectory, "--host", "127.0.0.1", "--port", "0", "--metrics-port", "0",
        ] + (database.map { ["--database", $0] } ?? [])
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.standardError
        try process.run()
        self.process = process
        self.dataDirectory = dataDirectory

        // crmd prints `listen:   127.0.0.1:<port> (TLS, ALPN crm/1)` once it serves.
        var buffer: [UInt8] = []
        let handle = output.fileHandleForReading
        let deadline = Date().addingTimeInterval(120)
        var found: Int?
        while found == nil && Date() < deadline {
            let chunk = handle.availableData
            if chunk.isEmpty { break }
            buffer.append(contentsOf: chunk)
            for line in String(decoding: buffer, as: UTF8.self).split(separator: "\n") where line.hasPrefix("listen:") {
                let address = line.dropFirst("listen:".count).trimmingCharacters(in: .whitespaces).split(separator: " ").first ?? ""
                found = address.split(separator: ":").last.flatMap { Int($0) }
            }
        }
        guard let found else {
            if process.isRunning { process.terminate() }
            throw ServerProcessError(message: "crmd did not report its port; it printed: \(String(decoding: buffer, as: UTF8.self))")
        }
        port = found
        // Keep draining crmd's output so that it never blocks on a full pipe.
        Thread.detachNewThread {
            while !handle.availableData.isEmpty {}
        }
    }

    /// Stops crmd gracefully and waits for it.
    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = Date().addingTimeInterval(30)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// Issues a token with `crmd token create` (run before `serve`, on the same data directory or
    /// database) and returns it.
    static func createToken(
        executable: String, dataDirectory: String, database: String? = nil, role: String, name: String, team: String? = nil
    ) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["token", "create", "--role", role, "--name", name, "--data-dir", dataDirectory] + (team.map { ["--team", $0] } ?? [])
            + (database.map { ["--database", $0] } ?? [])
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let token = String(decoding: data, as: UTF8.self).split(separator: "\n").first.map(String.init) ?? ""
        guard process.terminationStatus == 0, !token.isEmpty else {
            throw ServerProcessError(
                message: "`crmd token create --role \(role)` on \(dataDirectory) failed (status \(process.terminationStatus))")
        }
        return token
    }

    /// The crmd beside this executable (both are products of the same package).
    static func defaultExecutable() -> String {
        URL(fileURLWithPath: ServerProcess.ownExecutable()).deletingLastPathComponent().appendingPathComponent("crmd").path
    }
}

/// A fresh data directory holding a database: a copy of `database` (and its -wal), or, with
/// `link`, a symbolic link to it (SQLite follows the link, so its -wal and -shm stay beside the
/// original, which then takes crmd's migrations and tokens).
func makeDataDirectory(from database: String, link: Bool, under parent: String, name: String) throws -> String {
    let files = FileManager.default
    let directory = parent + "/" + name
    try? files.removeItem(atPath: directory)
    try files.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let target = directory + "/crm.sqlite"
    guard files.fileExists(atPath: database) else {
        throw ServerProcessError(message: "no database at \(database): seed one with `crm-store-tool seed` or `crm-store-tool bench snapshot`")
    }
    if link {
        let absolute = URL(fileURLWithPath: database).standardizedFileURL.path
        try files.createSymbolicLink(atPath: target, withDestinationPath: absolute)
    } else {
        for suffix in ["", "-wal"] where files.fileExists(atPath: database + suffix) {
            try files.copyItem(atPath: database + suffix, toPath: target + suffix)
        }
    }
    return directory
}

/// The CPU seconds (user + system) of every process of this user's or another's whose command is `name` (for
/// example all of a PostgreSQL server's backends, which come and go): 0 when there is none.
func processesCPUSeconds(named name: String) -> Double {
    guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return 0 }
    var total = 0.0
    for entry in entries {
        guard let pid = Int32(entry), let command = readSmallFile("/proc/\(pid)/comm"),
            command.trimmingCharacters(in: .whitespacesAndNewlines) == name
        else { continue }
        total += processCPUSeconds(pid: pid) ?? 0
    }
    return total
}
