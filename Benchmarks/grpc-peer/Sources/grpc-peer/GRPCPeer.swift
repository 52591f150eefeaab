import ArgumentParser
import CRMWire
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import NIOPosix

/// The grpc-swift-2 peer of `crm-bench`: the same unary echo and server stream, the same
/// messages encoded by the same codec (CRMWire over protobuf-c), the same load loop and
/// histogram (LoadRun.swift is shared), over HTTP/2 + TLS (BoringSSL through swift-nio-ssl).
@main
struct GRPCPeer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grpc-peer",
        abstract: "Load generator for grpc-swift-2 over TLS on loopback, the peer of crm-bench.",
        subcommands: [Unary.self, StreamCommand.self, Serve.self],
        defaultSubcommand: Unary.self)
}

// MARK: The codec: CRMWire as grpc-swift-2's serializer

struct WireSerializer<Message: WireMessage>: MessageSerializer {
    func serialize<Bytes: GRPCContiguousBytes>(_ message: Message) throws -> Bytes {
        Bytes(try message.wireBytes())
    }
}

struct WireDeserializer<Message: WireMessage>: MessageDeserializer {
    func deserialize<Bytes: GRPCContiguousBytes>(_ serializedMessageBytes: Bytes) throws -> Message {
        try serializedMessageBytes.withUnsafeBytes { try Message(wireBytes: $0) }
    }
}

// MARK: The service

enum Bench {
    static let echo = MethodDescriptor(fullyQualifiedService: "crm.bench.Bench", method: "Echo")
    static let stream = MethodDescriptor(fullyQualifiedService: "crm.bench.Bench", method: "Stream")
}

struct BenchService: RegistrableRPCService {
    let streamMessage: HealthCheckRequest

    init(payloadSize: Int) {
        streamMessage = HealthCheckRequest(service: benchPayload(size: payloadSize))
    }

    func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        router.registerHandler(
            forMethod: Bench.echo, deserializer: WireDeserializer<HealthCheckRequest>(),
            serializer: WireSerializer<HealthCheckRequest>()
        ) { request, _ in
            let single = try await ServerRequest(stream: request)
            return StreamingServerResponse(single: ServerResponse(message: single.message))
        }
        let message = streamMessage
        router.registerHandler(
            forMethod: Bench.stream, deserializer: WireDeserializer<HealthCheckRequest>(),
            serializer: WireSerializer<HealthCheckRequest>()
        ) { request, _ in
            let single = try await ServerRequest(stream: request)
            let count = Int(single.message.service.prefix { $0 != ":" }) ?? 1
            return StreamingServerResponse { writer in
                for _ in 0..<max(0, min(count, 1_000_000)) { try await writer.write(message) }
                return [:]
            }
        }
    }
}

// MARK: Options

struct ServerOptions: ParsableArguments {
    @Option(help: "A folder made by tools/gen-certs (ca.pem, server.pem, server.key); default: a new one.")
    var certs: String?

    @Option(help: "The tools/gen-certs script to make certificates with when --certs is not given.")
    var genCerts: String?

    @Option(help: "Event loop threads of the server (0: one per core).")
    var serverThreads = 0

    @Option(help: "Payload bytes of each message.")
    var payload = 200

    func certificatesDirectory() throws -> String {
        if let certs { return certs }
        return try generateCertificates(script: genCerts)
    }

    func childArguments(certificates: String) -> [String] {
        ["--certs", certificates, "--server-threads", "\(serverThreads)", "--payload", "\(payload)"]
    }
}

struct LoadOptions: ParsableArguments {
    @Option(help: "The port of a running `grpc-peer serve`; without it a server child is started.")
    var port: Int?

    @Option(name: [.short, .long], help: "Connections (one GRPCClient each).")
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
    var label = "grpc-swift-2"

    @Flag(help: "Also print the result as one JSON line (prefixed with RESULT).")
    var json = false

    func validate() throws {
        guard connections >= 1, inFlight >= 1, connections * inFlight <= 100_000 else {
            throw ValidationError("--connections and --in-flight must be at least 1, and their product at most 100000")
        }
        guard duration > 0, duration <= 600, warmup >= 0, warmup <= 600 else {
            throw ValidationError("--duration must be in (0, 600] and --warmup in [0, 600] seconds")
        }
    }

    var shape: LoadShape { LoadShape(connections: connections, inFlight: inFlight, warmupSeconds: warmup, seconds: duration) }
}

// MARK: Server and clients

func serverTransport(_ options: ServerOptions, certificates: String, port: Int) -> HTTP2ServerTransport.Posix {
    let group =
        options.serverThreads > 0
        ? MultiThreadedEventLoopGroup(numberOfThreads: options.serverThreads) : MultiThreadedEventLoopGroup.singleton
    return HTTP2ServerTransport.Posix(
        address: .ipv4(host: "127.0.0.1", port: port),
        transportSecurity: .tls(
            certificateChain: [.file(path: "\(certificates)/server.pem", format: .pem)],
            privateKey: .file(path: "\(certificates)/server.key", format: .pem)),
        eventLoopGroup: group)
}

typealias PeerClient = GRPCClient<HTTP2ClientTransport.Posix>

/// N clients, each with its own connection, each running its connections in a task.
func makeClients(count: Int, port: Int, certificates: String, threads: Int) throws -> [PeerClient] {
    let group: MultiThreadedEventLoopGroup =
        threads > 0 ? MultiThreadedEventLoopGroup(numberOfThreads: threads) : MultiThreadedEventLoopGroup.singleton
    return try (0..<count).map { _ in
        let transport = try HTTP2ClientTransport.Posix(
            target: .ipv4(address: "127.0.0.1", port: port),
            transportSecurity: .tls { tls in
                tls.trustRoots = .certificates([.file(path: "\(certificates)/ca.pem", format: .pem)])
            },
            config: .defaults { config in config.http2.authority = "localhost" },
            eventLoopGroup: group)
        let client = GRPCClient(transport: transport)
        Task { try await client.runConnections() }
        return client
    }
}

func withServer<Result>(
    _ load: LoadOptions, _ server: ServerOptions, certificates: String,
    _ body: (Int, @escaping @Sendable () -> (server: Double?, client: Double?)) async throws -> Result
) async throws -> Result {
    if let port = load.port {
        return try await body(port, { (nil, ownCPUSeconds()) })
    }
    let child = try ServerProcess(arguments: server.childArguments(certificates: certificates))
    defer { child.stop() }
    let pid = child.pid
    return try await body(child.port, { (processCPUSeconds(pid: pid), ownCPUSeconds()) })
}

// MARK: unary

struct Unary: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Unary echo of a ~200-byte message.")

    @OptionGroup var load: LoadOptions
    @OptionGroup var server: ServerOptions

    func run() async throws {
        let certificates = try server.certificatesDirectory()
        try await withServer(load, server, certificates: certificates) { port, cpuSample in
            let clients = try makeClients(
                count: load.connections, port: port, certificates: certificates, threads: load.clientThreads)
            let request = HealthCheckRequest(service: benchPayload(size: server.payload))
            @Sendable func echo(_ client: PeerClient) async throws -> HealthCheckRequest {
                try await client.unary(
                    request: ClientRequest(message: request), descriptor: Bench.echo,
                    serializer: WireSerializer<HealthCheckRequest>(), deserializer: WireDeserializer<HealthCheckRequest>(),
                    options: .defaults
                ) { try $0.message }
            }
            for client in clients {
                guard try await echo(client) == request else { throw ValidationError("the server did not echo the request") }
            }
            let result = await runLoad(label: load.label, clients: clients, shape: load.shape, cpuSample: cpuSample) {
                client in
                _ = try await echo(client)
                return 1
            }
            print(result.text)
            if load.json { print(result.jsonLine) }
            for client in clients { client.beginGracefulShutdown() }
        }
    }
}

// MARK: stream

struct StreamCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stream", abstract: "Server stream: each call asks for --messages messages of ~200 bytes.")

    @OptionGroup var load: LoadOptions
    @OptionGroup var server: ServerOptions

    @Option(help: "Messages per streaming call.")
    var messages = 100

    func run() async throws {
        let certificates = try server.certificatesDirectory()
        try await withServer(load, server, certificates: certificates) { port, cpuSample in
            let clients = try makeClients(
                count: load.connections, port: port, certificates: certificates, threads: load.clientThreads)
            let request = HealthCheckRequest(service: "\(messages):" + String(repeating: "-", count: 16))
            let expected = messages
            let result = await runLoad(
                label: load.label + " stream", clients: clients, shape: load.shape, cpuSample: cpuSample
            ) { client in
                let received = try await client.serverStreaming(
                    request: ClientRequest(message: request), descriptor: Bench.stream,
                    serializer: WireSerializer<HealthCheckRequest>(), deserializer: WireDeserializer<HealthCheckRequest>(),
                    options: .defaults
                ) { response in
                    var count = 0
                    for try await _ in response.messages { count += 1 }
                    return count
                }
                guard received == expected else {
                    throw RPCError(code: .internalError, message: "got \(received) of \(expected) messages")
                }
                return received
            }
            print(result.text)
            if load.json { print(result.jsonLine) }
            for client in clients { client.beginGracefulShutdown() }
        }
    }
}

// MARK: serve

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Runs the grpc-swift-2 benchmark server and prints LISTENING <port>.")

    @OptionGroup var server: ServerOptions

    @Option(help: "The port (0: a free one).")
    var port = 0

    @Option(help: "Exit after this many seconds at the latest.")
    var maxSeconds = 3600.0

    @Flag(help: "Exit when standard input closes (set by the load subcommands for their child).")
    var exitOnStdinEof = false

    func run() async throws {
        if exitOnStdinEof { ServerProcess.exitWhenStandardInputCloses() }
        ServerProcess.scheduleExit(after: maxSeconds)
        let certificates = try server.certificatesDirectory()
        let transport = serverTransport(server, certificates: certificates, port: port)
        let grpcServer = GRPCServer(transport: transport, services: [BenchService(payloadSize: server.payload)])
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await grpcServer.serve() }
            let address = try await transport.listeningAddress
            FileHandle.standardOutput.write("LISTENING \(address.ipv4?.port ?? port)\n".data(using: .utf8)!)
            try await group.next()
        }
    }
}
