import Foundation
import Synchronization

/// A throwaway PostgreSQL server of a test's own: `initdb` in a new temporary directory, started on a free loopback
/// port with its socket in that directory, and stopped and removed by ``stop()``. PostgreSQL refuses to run as root,
/// so when the tests run as root its programs run as the `postgres` user that Debian's package creates (through
/// `runuser`). Nothing is skipped when PostgreSQL is missing: ``start(options:)`` throws and says how to install it.
public final class PostgresTestCluster: Sendable {
    /// The role the tests connect as: the cluster's superuser, trusted on loopback without a password.
    public static let user = "crm"
    /// The database made with the cluster.
    public static let database = "postgres"

    /// The directory holding the data directory, the socket and the server's log.
    public let directory: String
    /// The loopback port the server listens on.
    public let port: Int
    private let binaries: String
    /// The `-o` options the server was started with (`-c name=value` …), to start it again the same way.
    private let serverOptions: String

    private init(directory: String, port: Int, binaries: String, serverOptions: String) {
        self.directory = directory
        self.port = port
        self.binaries = binaries
        self.serverOptions = serverOptions
    }

    /// `postgres://crm@127.0.0.1:PORT/postgres`.
    public var url: String { "postgres://\(Self.user)@127.0.0.1:\(port)/\(Self.database)" }

    /// Makes and starts a cluster; `options` are extra server settings (`-c name=value`). With `tls` (a certificate
    /// file and its key), the server also speaks TLS with them (`ssl=on`); clients may still connect without.
    ///
    /// - Throws: ``PostgresTestClusterError`` when PostgreSQL is not installed or a step fails, with its output.
    public static func start(options: [String: String] = [:], tls: (certificate: String, key: String)? = nil) throws -> PostgresTestCluster {
        let binaries = try findBinaries()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("crm-pg-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        if getuid() == 0 { try handToPostgresUser(directory) }
        let data = "\(directory)/data"
        do {
            try run(
                "\(binaries)/initdb",
                ["-D", data, "-U", user, "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"], in: directory)
            let port = try freePort()
            // Room for every store and crmd node a test process runs at once, each with its pool of connections.
            var settings = [
                "listen_addresses": "127.0.0.1", "port": "\(port)", "unix_socket_directories": directory, "max_connections": "500",
            ]
            if let tls {
                // The server reads them as the postgres user, and refuses a key others may read.
                for (source, name, mode) in [(tls.certificate, "server.crt", 0o644), (tls.key, "server.key", 0o600)] {
                    let target = "\(directory)/\(name)"
                    try FileManager.default.copyItem(atPath: source, toPath: target)
                    guard chmod(target, mode_t(mode)) == 0 else { throw PostgresTestClusterError("cannot chmod \(target)") }
                    if getuid() == 0 { try handToPostgresUser(target) }
                }
                settings["ssl"] = "on"
                settings["ssl_cert_file"] = "\(directory)/server.crt"
                settings["ssl_key_file"] = "\(directory)/server.key"
            }
            settings.merge(options) { _, new in new }
            let serverOptions = settings.sorted { $0.key < $1.key }.map { "-c \($0.key)=\($0.value)" }.joined(separator: " ")
            try run(
                "\(binaries)/pg_ctl", ["-D", data, "-l", "\(directory)/server.log", "-w", "-t", "60", "-o", serverOptions, "start"],
                in: directory)
            return PostgresTestCluster(directory: directory, port: port, binaries: binaries, serverOptions: serverOptions)
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
    }

    /// One cluster for the whole test process, started by the first caller; it stops when the process ends, however
    /// it ends (a watchdog started with it waits for the process to exit, then stops the server and removes it).
    /// Tests that share it each make a database of their own (``createDatabase()``).
    public static func shared() throws -> PostgresTestCluster {
        try sharedCluster.withLock { cluster in
            if let cluster { return cluster }
            let started = try start()
            try started.stopWhenProcessEnds()
            cluster = started
            return started
        }
    }

    private static let sharedCluster = Mutex<PostgresTestCluster?>(nil)

    /// Makes a new empty database in the cluster; returns its URL.
    public func createDatabase() throws -> String {
        let name = "crm_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        try Self.run("\(binaries)/createdb", ["-h", directory, "-p", "\(port)", "-U", Self.user, name], in: directory)
        return "postgres://\(Self.user)@127.0.0.1:\(port)/\(name)"
    }

    /// Starts a watchdog that stops the server and removes its directory once this process has exited. An exited
    /// process the runner has not reaped yet (a zombie) counts as exited: the runner may wait for the server's end of
    /// its output pipes before it reaps.
    private func stopWhenProcessEnds() throws {
        let pid = getpid()
        let script = """
            while [ -e /proc/\(pid) ] && ! grep -q '^State:[[:space:]]*Z' /proc/\(pid)/status 2>/dev/null; do sleep 1; done
            \(binaries)/pg_ctl -D '\(directory)/data' -m immediate -w stop >/dev/null 2>&1
            rm -rf '\(directory)'
            """
        let watchdog = ChildProcess()
        if getuid() == 0 {
            // As the postgres user, which may stop the server and owns its directory.
            watchdog.executableURL = URL(fileURLWithPath: "/usr/sbin/runuser")
            watchdog.arguments = ["-u", "postgres", "--", "/bin/sh", "-c", script]
        } else {
            watchdog.executableURL = URL(fileURLWithPath: "/bin/sh")
            watchdog.arguments = ["-c", script]
        }
        watchdog.standardOutput = FileHandle.nullDevice
        watchdog.standardError = FileHandle.nullDevice
        try watchdog.run()
    }

    /// Stops the server at once (no checkpoint: the data is thrown away) and removes its directory.
    public func stop() {
        try? Self.run("\(binaries)/pg_ctl", ["-D", "\(directory)/data", "-m", "immediate", "-w", "stop"], in: directory)
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Stops the server at once, as a crash would (`-m immediate`), keeping its data for ``resume()``.
    public func halt() throws {
        try Self.run("\(binaries)/pg_ctl", ["-D", "\(directory)/data", "-m", "immediate", "-w", "stop"], in: directory)
    }

    /// Starts a halted server again on the same port, with the same settings; it recovers from its WAL.
    public func resume() throws {
        try Self.run(
            "\(binaries)/pg_ctl", ["-D", "\(directory)/data", "-l", "\(directory)/server.log", "-w", "-t", "60", "-o", serverOptions, "start"],
            in: directory)
    }

    /// Makes a streaming-replication standby of this server (`pg_basebackup -R`) in a directory of its own on another
    /// free port, named `name` to the primary (its `cluster_name`, which the standby's WAL receiver gives as its
    /// `application_name`), and starts it. With `synchronous`, this server then waits for it at every commit
    /// (`synchronous_standby_names`), so that what was committed here is on the standby too.
    public func startStandby(name: String = "standby", synchronous: Bool) throws -> PostgresTestCluster {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("crm-pg-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        if getuid() == 0 { try Self.handToPostgresUser(directory) }
        do {
            try Self.run(
                "\(binaries)/pg_basebackup",
                ["-h", "127.0.0.1", "-p", "\(port)", "-U", Self.user, "-D", "\(directory)/data", "-R", "-X", "stream", "-c", "fast", "--no-sync"],
                in: directory)
            let port = try Self.freePort()
            // The primary's settings, but its own port, socket and name.
            let options = serverOptions.replacingOccurrences(of: "-c port=\(self.port)", with: "-c port=\(port)")
                .replacingOccurrences(of: "-c unix_socket_directories=\(self.directory)", with: "-c unix_socket_directories=\(directory)")
                + " -c cluster_name=\(name) -c hot_standby=on"
            try Self.run(
                "\(binaries)/pg_ctl", ["-D", "\(directory)/data", "-l", "\(directory)/server.log", "-w", "-t", "60", "-o", options, "start"],
                in: directory)
            let standby = PostgresTestCluster(directory: directory, port: port, binaries: binaries, serverOptions: options)
            if synchronous {
                try sql("ALTER SYSTEM SET synchronous_standby_names = '\(name)'")
                try sql("SELECT pg_reload_conf()")
            }
            return standby
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
    }

    /// Promotes this standby to a primary that accepts writes (`pg_ctl promote`, waiting for it).
    public func promote() throws {
        try Self.run("\(binaries)/pg_ctl", ["-D", "\(directory)/data", "-w", "-t", "60", "promote"], in: directory)
    }

    /// Runs one SQL statement as the superuser in `database` (`psql`); throws with its output when it fails.
    public func sql(_ statement: String, database: String = PostgresTestCluster.database) throws {
        try Self.run(
            "\(binaries)/psql", ["-h", directory, "-p", "\(port)", "-U", Self.user, "-d", database, "-v", "ON_ERROR_STOP=1", "-c", statement],
            in: directory)
    }

    /// The server's log so far, for a failing test's message.
    public var log: String {
        (try? String(contentsOfFile: "\(directory)/server.log", encoding: .utf8)) ?? ""
    }

    // MARK: Steps

    /// The newest installed PostgreSQL's programs (Debian keeps them in /usr/lib/postgresql/VERSION/bin).
    private static func findBinaries() throws -> String {
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [])
            .compactMap(Int.init).sorted(by: >)
        for version in versions where FileManager.default.isExecutableFile(atPath: "\(root)/\(version)/bin/initdb") {
            return "\(root)/\(version)/bin"
        }
        throw PostgresTestClusterError(
            "PostgreSQL is not installed (no \(root)/VERSION/bin/initdb): run tools/install-deps, which installs Debian's "
                + "postgresql package, or apt-get install -y postgresql")
    }

    /// Gives `directory` (or a file) to the `postgres` user, which the server runs as when the tests run as root.
    private static func handToPostgresUser(_ directory: String) throws {
        guard let account = getpwnam("postgres") else {
            throw PostgresTestClusterError(
                "the tests run as root and there is no postgres user to run PostgreSQL as: install Debian's postgresql "
                    + "package (tools/install-deps), which creates it")
        }
        guard chown(directory, account.pointee.pw_uid, account.pointee.pw_gid) == 0 else {
            throw PostgresTestClusterError("cannot give \(directory) to the postgres user: \(String(cString: strerror(errno)))")
        }
    }

    /// Runs a PostgreSQL program to its end (as the postgres user when root); throws with its output when it fails.
    private static func run(_ program: String, _ arguments: [String], in directory: String) throws {
        let process = ChildProcess()
        if getuid() == 0 {
            process.executableURL = URL(fileURLWithPath: "/usr/sbin/runuser")
            process.arguments = ["-u", "postgres", "--", program] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: program)
            process.arguments = arguments
        }
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            throw PostgresTestClusterError(
                "\((program as NSString).lastPathComponent) \(arguments.joined(separator: " ")) failed: \(text)")
        }
    }

    /// A loopback port nothing listens on now (the kernel's choice for a socket bound to port 0).
    private static func freePort() throws -> Int {
        let socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw PostgresTestClusterError("cannot open a socket to find a free port") }
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                bind(socket, address, length) == 0 && getsockname(socket, address, &length) == 0
            }
        }
        guard bound else { throw PostgresTestClusterError("cannot bind a socket to find a free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// Why a test's PostgreSQL cluster could not be made or started, and what to do.
public struct PostgresTestClusterError: Error, CustomStringConvertible {
    public let description: String

    init(_ description: String) {
        self.description = description
    }
}
