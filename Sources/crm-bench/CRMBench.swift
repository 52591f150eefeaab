import ArgumentParser
import CRMRPC
import CRMTLS
import CRMWire
import Foundation
import NIOCore
import NIOPosix

/// The crm/1 RPC load generator: calls/s and latency percentiles of a unary echo and a server
/// stream over TLS on loopback, and the memory of idle TLS connections. docs/BENCHMARKS.md
/// ("RPC (crm/1)") has the figures; tools/bench-rpc runs it beside grpc-swift-2 and nginx.
/// `crmd-push` and `crmd-snapshot` measure a real crmd end to end ("End to end through crmd";
/// tools/bench-crmd).
@main
struct CRMBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crm-bench",
        abstract: "Load generator for the crm/1 RPC runtime over TLS on loopback.",
        discussion: """
            Each load subcommand starts a benchmark server in a child process (\"crm-bench serve\") \
            unless --port names a running one, opens --connections clients with --in-flight calls \
            each, and reports calls/s and p50/p99/p99.9 latency (HdrHistogram) over --duration seconds.
            """,
        subcommands: [Unary.self, StreamCommand.self, Idle.self, Serve.self, CrmdPush.self, CrmdSnapshot.self, CrmdSoak.self, FailoverLoad.self],
        defaultSubcommand: Unary.self)
}

// MARK: Options

/// Where the certificates come from, and how the benchmark server is set up.
struct ServerOptions: ParsableArguments {
    @Option(help: "A folder made by tools/gen-certs (ca.pem, server.pem, server.key); default: a new one.")
    var certs: String?

    @Option(help: "The tools/gen-certs script to make certificates with when --certs is not given.")
    var genCerts: String?

    @Option(help: "Event loop threads of the server (0: one per core).")
    var serverThreads = 0

    @Option(help: "The server's limit of concurrent streams per connection.")
    var maxConcurrentStreams = 100

    @Option(help: "The server's limit of connections.")
    var maxConnections = 20_000

    @Option(help: "Payload bytes of each message.")
    var payload = 200

    func certificatesDirectory() throws -> String {
        if let certs { return certs }
        return try generateCertificates(script: genCerts)
    }

    /// The arguments that give a `serve` child these options.
    func childArguments(certificates: String) -> [String] {
        [
            "--certs", certificates, "--server-threads", "\(serverThreads)",
            "--max-concurrent-streams", "\(maxConcurrentStreams)", "--max-connections", "\(maxConnections)",
            "--payload", "\(payload)",
        ]
    }
}

/// N, M and T, and where the server is.
struct LoadOptions: ParsableArguments {
    @Option(help: "The server's address (loopback only).")
    var host = "127.0.0.1"

    @Option(help: "The port of a running `crm-bench serve`; without it a server child is started.")
    var port: Int?

    @Flag(help: "Run the server in this process instead of a child (for profiling one process).")
    var inProcess = false

    @Option(name: [.short, .long], help: "Connections (one RPCClient each).")
    var connections = 4

    @Option(name: [.short, .long], help: "Calls in flight per connection.")
    var inFlight = 16

    @Option(name: [.short, .long], help: "Seconds measured.")
    var duration = 10.0

    @Option(help: "Seconds of load before the measured window.")
    var warmup = 2.0

    @Option(help: "Event loop threads of the clients (0: one per core).")
    var clientThreads = 0

    @Option(help: "The label of the result.")
    var label = "crm/1"

    @Flag(help: "Run each caller loop on its client's event loop (RPCClient.executor): no thread hop between caller and connection.")
    var onEventLoop = false

    @Flag(help: "Also print the result as one JSON line (prefixed with RESULT).")
    var json = false

    func validate() throws {
        guard host == "127.0.0.1" || host == "localhost" || host == "::1" else {
            throw ValidationError("the benchmark runs on loopback only: --host 127.0.0.1, localhost or ::1")
        }
        guard connections >= 1, inFlight >= 1, connections * inFlight <= 100_000 else {
            throw ValidationError("--connections and --in-flight must be at least 1, and their product at most 100000")
        }
        guard duration > 0, duration <= 600, warmup >= 0, warmup <= 600 else {
            throw ValidationError("--duration must be in (0, 600] and --warmup in [0, 600] seconds")
        }
    }

    var shape: LoadShape { LoadShape(connections: connections, inFlight: inFlight, warmupSeconds: warmup, seconds: duration) }
}

// MARK: The server and its clients

/// A running benchmark server: a child process, one in this process, or someone else's.
final class BenchServer: Sendable {
    let port: Int
    let child: ServerProcess?
    let local: RPCServer?

    private init(port: Int, child: ServerProcess?, local: RPCServer?) {
        self.port = port
        self.child = child
        self.local = local
    }

    static func start(_ load: LoadOptions, _ server: ServerOptions, certificates: String) async throws -> BenchServer {
        if let port = load.port { return BenchServer(port: port, child: nil, local: nil) }
        if load.inProcess {
            let local = try makeServer(server, certificates: certificates, port: 0)
            try await local.start()
            return BenchServer(port: local.localAddress?.port ?? 0, child: nil, local: local)
        }
        let child = try ServerProcess(arguments: server.childArguments(certificates: certificates))
        return BenchServer(port: child.port, child: child, local: nil)
    }

    /// Server and client CPU seconds so far (the server's only when it is a child).
    var cpuSample: @Sendable () -> (server: Double?, client: Double?) {
        let pid = child?.pid
        return { (pid.flatMap { processCPUSeconds(pid: $0) }, ownCPUSeconds()) }
    }

    func stop() async {
        child?.stop()
        await local?.shutdown(gracePeriod: .seconds(1))
    }
}

func makeServer(_ options: ServerOptions, certificates: String, host: String = "127.0.0.1", port: Int) throws -> RPCServer {
    let tls = TLSConfiguration.server(
        certificateChainFile: "\(certificates)/server.pem", privateKeyFile: "\(certificates)/server.key")
    let limits = ProtocolLimits(
        maxConcurrentStreams: options.maxConcurrentStreams, maxConnections: options.maxConnections)
    let group: any EventLoopGroup =
        options.serverThreads > 0
        ? MultiThreadedEventLoopGroup(numberOfThreads: options.serverThreads) : MultiThreadedEventLoopGroup.singleton
    return try RPCServer(
        configuration: .init(host: host, port: port, tls: tls, limits: limits),
        services: [BenchService(payloadSize: options.payload)], eventLoopGroup: group)
}

func makeClients(count: Int, host: String, port: Int, certificates: String, threads: Int) throws -> [RPCClient] {
    let tls = TLSConfiguration.client(serverName: "localhost", trustRootsFile: "\(certificates)/ca.pem")
    let group: any EventLoopGroup =
        threads > 0 ? MultiThreadedEventLoopGroup(numberOfThreads: threads) : MultiThreadedEventLoopGroup.singleton
    return try (0..<count).map { _ in
        try RPCClient(
            configuration: .init(host: host, port: port, tls: tls, serverName: "localhost"), eventLoopGroup: group)
    }
}

// MARK: unary

struct Unary: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Unary echo of a ~200-byte message.")

    @OptionGroup var load: LoadOptions
    @OptionGroup var server: ServerOptions

    func run() async throws {
        let certificates = try server.certificatesDirectory()
        let running = try await BenchServer.start(load, server, certificates: certificates)
        let clients = try makeClients(
            count: load.connections, host: load.host, port: running.port, certificates: certificates,
            threads: load.clientThreads)
        let request = HealthCheckRequest(service: benchPayload(size: server.payload))
        // Connect every client, and check the echo once.
        for client in clients {
            let answer = try await client.unary(Bench.echo, request)
            guard answer == request else { throw ValidationError("the server did not echo the request") }
        }
        let onEventLoop = load.onEventLoop
        let result = await runLoad(
            label: load.label, clients: clients, shape: load.shape, cpuSample: running.cpuSample,
            executor: { onEventLoop ? $0.executor : nil }
        ) { client in
            _ = try await client.unary(Bench.echo, request)
            return 1
        }
        print(result.text)
        if load.json { print(result.jsonLine) }
        for client in clients { await client.close() }
        await running.stop()
    }
}

// MARK: stream

struct StreamCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stream",
        abstract: "Server stream: each call asks for --messages messages of ~200 bytes.")

    @OptionGroup var load: LoadOptions
    @OptionGroup var server: ServerOptions

    @Option(help: "Messages per streaming call.")
    var messages = 100

    func run() async throws {
        let certificates = try server.certificatesDirectory()
        let running = try await BenchServer.start(load, server, certificates: certificates)
        let clients = try makeClients(
            count: load.connections, host: load.host, port: running.port, certificates: certificates,
            threads: load.clientThreads)
        let request = HealthCheckRequest(service: "\(messages):" + String(repeating: "-", count: 16))
        let expected = messages
        let result = await runLoad(
            label: load.label + " stream", clients: clients, shape: load.shape, cpuSample: running.cpuSample
        ) { client in
            var received = 0
            for try await _ in try await client.serverStreaming(Bench.stream, request) { received += 1 }
            guard received == expected else {
                throw RPCStatus(code: .internal, message: "got \(received) of \(expected) messages")
            }
            return received
        }
        print(result.text)
        if load.json { print(result.jsonLine) }
        for client in clients { await client.close() }
        await running.stop()
    }
}

// MARK: idle

struct Idle: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Resident memory per idle TLS connection, in the server (and in this client process).",
        discussion: """
            Starts a server child, reads its VmRSS (/proc/PID/status) and this process's, opens \
            connections (TLS handshake, SETTINGS, one health check each) up to each count in turn, \
            waits --settle seconds, and reads both again.
            """)

    @OptionGroup var server: ServerOptions

    @Option(help: "Connection counts to measure at, ascending, comma-separated.")
    var counts = "1000,10000"

    @Option(help: "Connections being opened at once.")
    var openConcurrency = 32

    @Option(help: "Seconds to wait after opening before reading memory.")
    var settle = 3.0

    @Option(help: "Event loop threads of the clients (0: one per core).")
    var clientThreads = 0

    @Flag(help: "Also print each result as one JSON line (prefixed with IDLE).")
    var json = false

    func run() async throws {
        let targets = counts.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }.sorted()
        guard let largest = targets.last, targets.first! > 0 else { throw ValidationError("--counts needs positive numbers") }
        let limit = raiseOpenFileLimit(to: largest + 1024)
        print("open files: soft limit \(limit), hard limit \(hardOpenFileLimit())")
        let certificates = try server.certificatesDirectory()
        var serverOptions = server
        serverOptions.maxConnections = max(server.maxConnections, largest + 100)
        let child = try ServerProcess(arguments: serverOptions.childArguments(certificates: certificates))
        defer { child.stop() }
        let pid = "\(child.pid)"

        // One client made and used first, so that the client's one-time costs (thread pool,
        // OpenSSL tables) are in the baseline.
        let first = try makeClients(count: 1, host: "127.0.0.1", port: child.port, certificates: certificates, threads: clientThreads)
        _ = try await first[0].unary(Health.check, HealthCheckRequest())
        try await Task.sleep(for: .seconds(settle))
        guard let serverBase = residentKiB(pid: pid), let clientBase = residentKiB() else {
            throw ValidationError("cannot read VmRSS from /proc")
        }
        print("baseline (1 connection): server VmRSS \(serverBase) KiB, client VmRSS \(clientBase) KiB")

        var clients = first
        var failure: String?
        for target in targets {
            // Each connection takes a descriptor here and one in the server (whose limit the child raised).
            if target + 64 > limit {
                failure = "cannot open \(target) connections: this process may hold \(limit) files (hard limit \(hardOpenFileLimit()))"
                print(failure!)
                break
            }
            let wanted = target - clients.count
            if wanted > 0 {
                let more = try makeClients(
                    count: wanted, host: "127.0.0.1", port: child.port, certificates: certificates, threads: clientThreads)
                let opened = await connectAll(more, concurrency: openConcurrency)
                clients.append(contentsOf: more)
                if let error = opened.firstError {
                    failure = "\(opened.failed) of \(wanted) connections failed; first: \(error)"
                    print(failure!)
                }
            }
            try await Task.sleep(for: .seconds(settle))
            let serverNow = residentKiB(pid: pid) ?? 0
            let clientNow = residentKiB() ?? 0
            let connections = clients.count
            let added = connections - 1
            let serverPer = Double(serverNow - serverBase) * 1024 / Double(added)
            let clientPer = Double(clientNow - clientBase) * 1024 / Double(added)
            print(
                "\(connections) idle connections: server VmRSS \(serverNow) KiB (+\(serverNow - serverBase)), "
                    + "\(formatted(serverPer / 1024, 1)) KiB per connection; client VmRSS \(clientNow) KiB, "
                    + "\(formatted(clientPer / 1024, 1)) KiB per connection")
            if json {
                print(
                    "IDLE {\"connections\": \(connections), \"server_rss_kib\": \(serverNow), \"server_base_kib\": \(serverBase), "
                        + "\"server_bytes_per_conn\": \(formatted(serverPer, 0)), \"client_bytes_per_conn\": \(formatted(clientPer, 0))"
                        + (failure.map { ", \"error\": \"\($0.replacingOccurrences(of: "\"", with: "'"))\"" } ?? "") + "}")
            }
            if failure != nil { break }
        }
        // Closing 10,000 clients gracefully takes long; the child is killed instead.
        child.stop()
        _ = clients
    }

    /// Makes one call on each client, `concurrency` at a time.
    private func connectAll(_ clients: [RPCClient], concurrency: Int) async -> (failed: Int, firstError: String?) {
        await withTaskGroup(of: String?.self) { group in
            var failed = 0
            var firstError: String?
            var next = 0
            func add() {
                let client = clients[next]
                next += 1
                group.addTask {
                    do {
                        _ = try await client.unary(Health.check, HealthCheckRequest(), options: .init(timeout: .seconds(30)))
                        return nil
                    } catch {
                        return "\(error)"
                    }
                }
            }
            while next < min(concurrency, clients.count) { add() }
            for await error in group {
                if let error {
                    failed += 1
                    if firstError == nil { firstError = error }
                }
                if next < clients.count { add() }
            }
            return (failed, firstError)
        }
    }
}

// MARK: serve

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Runs the benchmark server (echo, stream, health, reflection) and prints LISTENING <port>.")

    @OptionGroup var server: ServerOptions

    @Option(help: "The address to bind (loopback only).")
    var host = "127.0.0.1"

    @Option(help: "The port (0: a free one).")
    var port = 0

    @Option(help: "Exit after this many seconds at the latest.")
    var maxSeconds = 3600.0

    @Flag(help: "Exit when standard input closes (set by the load subcommands for their child).")
    var exitOnStdinEof = false

    func run() async throws {
        guard host == "127.0.0.1" || host == "localhost" || host == "::1" else {
            throw ValidationError("the benchmark server binds loopback only")
        }
        raiseOpenFileLimit(to: server.maxConnections + 1024)
        if exitOnStdinEof { ServerProcess.exitWhenStandardInputCloses() }
        ServerProcess.scheduleExit(after: maxSeconds)
        let certificates = try server.certificatesDirectory()
        let rpc = try makeServer(server, certificates: certificates, host: host, port: port)
        try await rpc.start()
        FileHandle.standardOutput.write("LISTENING \(rpc.localAddress?.port ?? port)\n".data(using: .utf8)!)
        try await Task.sleep(for: .seconds(maxSeconds))
    }
}
