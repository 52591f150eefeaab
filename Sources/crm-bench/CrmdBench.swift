import ArgumentParser
import CRMClient
import CRMDataset
import CRMDomain
import CRMMessages
import CRMRPC
import CRMServer
import CRMStore
import CRMWire
import Foundation
import Histogram
import NIOCore
import NIOPosix
import Synchronization

// The end-to-end benchmarks: a real crmd child process, over TLS, with a real adapter token.
// docs/BENCHMARKS.md ("End to end through crmd") has the figures; tools/bench-crmd runs both.

// MARK: Shared

/// Where crmd is and how the clients connect to it.
struct CrmdOptions: ParsableArguments {
    @Option(help: "The crmd executable (default: the crmd beside this crm-bench).")
    var crmd: String?

    @Option(help: "A folder for the data directories of the run (default: a new temporary one, removed at the end).")
    var workDir: String?

    @Option(name: [.short, .long], help: "Connections (one CRMClient each).")
    var connections = 4

    @Option(name: [.short, .long], help: "Calls in flight per connection.")
    var inFlight = 16

    @Option(help: "Event loop threads of the clients (0: one per core).")
    var clientThreads = 0

    @Flag(help: "Run each caller loop on its client's event loop (RPCClient.executor): no thread hop between caller and connection.")
    var onEventLoop = false

    @Flag(help: "Also print each result as one JSON line (prefixed with RESULT).")
    var json = false

    var executable: String { crmd ?? CrmdProcess.defaultExecutable() }

    func validate() throws {
        guard connections >= 1, inFlight >= 1, connections * inFlight <= 10_000 else {
            throw ValidationError("--connections and --in-flight must be at least 1, and their product at most 10000")
        }
    }

    /// The work folder, and whether this run made it (and removes it).
    func makeWorkDirectory() throws -> (path: String, owned: Bool) {
        if let workDir {
            try FileManager.default.createDirectory(atPath: workDir, withIntermediateDirectories: true)
            return (workDir, false)
        }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("crm-bench-crmd-\(getpid())").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return (path, true)
    }

    /// One client per connection to `crmd`, each sending `token`.
    func makeClients(for crmd: CrmdProcess, token: String) throws -> [CRMClient] {
        try makeClients(for: [crmd], token: token)
    }

    /// One client per connection, the connections dealt to the `nodes` in turn, each sending `token`.
    func makeClients(for nodes: [CrmdProcess], token: String) throws -> [CRMClient] {
        let group: any EventLoopGroup =
            clientThreads > 0 ? MultiThreadedEventLoopGroup(numberOfThreads: clientThreads) : MultiThreadedEventLoopGroup.singleton
        return try (0..<connections).map { index in
            let crmd = nodes[index % nodes.count]
            let configuration = ClientConfiguration(
                host: "127.0.0.1", port: crmd.port, caFile: crmd.caFile, token: token, serverName: "localhost",
                defaultTimeout: .seconds(120))
            let rpc = try RPCClient(configuration: CRMClient.rpcConfiguration(configuration), eventLoopGroup: group)
            return CRMClient(configuration: configuration, rpc: rpc)
        }
    }
}

/// A counter shared by the loops of a run: each takes the next rows to send from it.
final class RowCursor: Sendable {
    private let next = Atomic<Int>(0)
    let count: Int

    init(count: Int) { self.count = count }

    /// The next index, counting on past `count` (for look-ups reused in turn).
    func nextIndex() -> Int { next.add(1, ordering: .relaxed).oldValue }

    /// The next `size` rows (fewer at the end), or nil when every row is taken.
    func take(_ size: Int) -> Range<Int>? {
        let start = next.add(size, ordering: .relaxed).oldValue
        guard start < count else { return nil }
        return start..<min(start + size, count)
    }
}

/// What one phase of a fixed-work run did: every row sent once.
struct PhaseResult: Sendable {
    var label: String
    var shape: String
    /// Rows stored as new (interactions acknowledged ACCEPTED).
    var rows: Int
    /// Calls (RPCs or store appends) that succeeded.
    var calls: Int
    var errors: Int
    var firstError: String?
    var seconds: Double
    /// Latency of each successful call, nanoseconds.
    var histogram: Histogram<UInt64>
    /// CPU seconds of crmd during the phase (nil for the store-only phase).
    var serverCPUSeconds: Double?
    /// CPU seconds of this process during the phase.
    var clientCPUSeconds: Double

    var rowsPerSecond: Double { Double(rows) / seconds }
    var callsPerSecond: Double { Double(calls) / seconds }

    func microseconds(atPercentile percentile: Double) -> Double {
        guard histogram.totalCount > 0 else { return .nan }
        return Double(histogram.valueAtPercentile(percentile)) / 1000
    }

    var text: String {
        var lines = [
            "\(label): \(shape), \(rows) rows in \(formatted(seconds, 2)) s",
            "  rows/s    \(formatted(rowsPerSecond, 0))   calls/s \(formatted(callsPerSecond, 0))   (\(calls) calls, \(errors) errors)",
            "  latency   p50 \(formatted(microseconds(atPercentile: 50), 1)) µs   p99 \(formatted(microseconds(atPercentile: 99), 1)) µs   p99.9 \(formatted(microseconds(atPercentile: 99.9), 1)) µs   max \(formatted(Double(histogram.max) / 1000, 1)) µs (per call)",
        ]
        if rows > 0 {
            let server = serverCPUSeconds.map { "crmd \(formatted($0 * 1e6 / Double(rows), 1)) µs, " } ?? ""
            lines.append("  CPU/row   \(server)\(serverCPUSeconds == nil ? "this process (the store)" : "load generator") \(formatted(clientCPUSeconds * 1e6 / Double(rows), 1)) µs")
        }
        if let firstError { lines.append("  first error: \(firstError)") }
        return lines.joined(separator: "\n")
    }

    var jsonLine: String {
        func number(_ value: Double?) -> String { value.map { $0.isFinite ? formatted($0, 3) : "null" } ?? "null" }
        let fields: [(String, String)] = [
            ("label", "\"\(label)\""), ("shape", "\"\(shape)\""), ("rows", "\(rows)"), ("calls", "\(calls)"),
            ("errors", "\(errors)"), ("seconds", number(seconds)), ("rows_per_s", number(rowsPerSecond)),
            ("calls_per_s", number(callsPerSecond)), ("p50_us", number(microseconds(atPercentile: 50))),
            ("p99_us", number(microseconds(atPercentile: 99))), ("p999_us", number(microseconds(atPercentile: 99.9))),
            ("max_us", number(Double(histogram.max) / 1000)),
            ("server_cpu_us_per_row", number(serverCPUSeconds.map { rows > 0 ? $0 * 1e6 / Double(rows) : .nan })),
            ("client_cpu_us_per_row", number(rows > 0 ? clientCPUSeconds * 1e6 / Double(rows) : .nan)),
        ]
        return "RESULT {" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}"
    }
}

/// Sends every row once from `slots` concurrent loops over `clients`: each loop takes the next
/// `rowsPerCall` rows and makes one call with them, until none are left or `maxSeconds` passed.
func runFixedWork(
    label: String, shape: String, clients: [CRMClient], inFlight: Int, rows: Int, rowsPerCall: Int, maxSeconds: Double,
    serverPID: Int32?, call: @escaping @Sendable (CRMClient, Range<Int>) async throws -> Int
) async -> PhaseResult {
    let cursor = RowCursor(count: rows)
    let serverBefore = serverPID.flatMap { processCPUSeconds(pid: $0) }
    let clientBefore = ownCPUSeconds()
    let start = monotonicNanoseconds()
    let stopAt = start + UInt64(maxSeconds * 1e9)
    struct Slot: Sendable {
        var histogram = makeLatencyHistogram()
        var rows = 0
        var calls = 0
        var errors = 0
        var firstError: String?
    }
    var total = Slot()
    await withTaskGroup(of: Slot.self) { group in
        for client in clients {
            for _ in 0..<inFlight {
                group.addTask {
                    var slot = Slot()
                    while monotonicNanoseconds() < stopAt, let range = cursor.take(rowsPerCall) {
                        let begin = monotonicNanoseconds()
                        do {
                            slot.rows += try await call(client, range)
                            slot.histogram.record(monotonicNanoseconds() - begin)
                            slot.calls += 1
                        } catch {
                            slot.errors += 1
                            if slot.firstError == nil { slot.firstError = "\(error)" }
                            if slot.errors > 100 { break }
                        }
                    }
                    return slot
                }
            }
        }
        for await slot in group {
            total.histogram.add(slot.histogram)
            total.rows += slot.rows
            total.calls += slot.calls
            total.errors += slot.errors
            if total.firstError == nil { total.firstError = slot.firstError }
        }
    }
    let seconds = Double(monotonicNanoseconds() - start) / 1e9
    let serverAfter = serverPID.flatMap { processCPUSeconds(pid: $0) }
    var firstError = total.firstError
    if cursor.take(0) != nil && total.errors == 0 {
        firstError = "stopped after --max-seconds \(formatted(maxSeconds, 0)) before every row was sent"
    }
    return PhaseResult(
        label: label, shape: shape, rows: total.rows, calls: total.calls, errors: total.errors, firstError: firstError,
        seconds: seconds, histogram: total.histogram,
        serverCPUSeconds: serverBefore.flatMap { before in serverAfter.map { $0 - before } },
        clientCPUSeconds: ownCPUSeconds() - clientBefore)
}

/// Progress for people, on standard error (standard output carries the results).
func report(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

// MARK: crmd-push

struct CrmdPush: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crmd-push",
        abstract: "Durable interaction pushes through crmd over TLS, against the store-only ingest of the same rows.",
        discussion: """
            Generates --interactions follow-up messages (WhatsApp, SMS, e-mail, IVR, Instagram, … from the \
            handles of the first --customers customers of the dataset, unique idempotency keys, shuffled: the \
            rows of `crm-store-tool bench ingest`), then, each phase on a fresh copy of --seeded: \
            (1) store-only: the rows appended straight to a SQLiteStore by --store-appenders tasks, one fact per \
            append, and again in appends of --batch facts from --streams tasks; (2) a crmd child process with an \
            adapter token from `crmd token create`: unary PushInteraction at --connections × --in-flight; \
            (3) another crmd: client-streaming PushInteractions, --streams streams at a time of --batch \
            interactions each. Every acknowledgement is checked (ACCEPTED). Prints rows/s, per-call p50/p99 \
            and the ratios to the store-only figures.
            """)

    @OptionGroup var crmd: CrmdOptions

    @Option(help: "A store seeded with `crm-store-tool seed --customers <customers>` (and the same --seed); each phase starts from a copy.")
    var seeded: String

    @Option(help: "Customers in --seeded (their handles send the interactions).")
    var customers = 10_000

    @Option(help: "Interactions pushed in each phase.")
    var interactions = 100_000

    @Option(help: "The dataset's random seed (the one --seeded was made with).")
    var seed: UInt64 = 2024

    @Option(help: "Store-only appenders, one fact per append (64 matches the unary phase's calls in flight).")
    var storeAppenders = 64

    @Option(help: "Interactions per client stream of the bulk phase (and facts per append of the batched store-only phase).")
    var batch = 1_000

    @Option(help: "Client streams at a time in the bulk phase (spread over the connections).")
    var streams = 4

    @Option(help: "Seconds after which a phase stops even if rows are left.")
    var maxSeconds = 120.0

    @Option(help: "Only these phases, comma-separated: store, store-batch, unary, bulk.")
    var phases = "store,store-batch,unary,bulk"

    func validate() throws {
        guard customers > 0, interactions > 0, storeAppenders > 0, batch > 0, streams > 0, maxSeconds > 0 else {
            throw ValidationError("--customers, --interactions, --store-appenders, --batch, --streams and --max-seconds must be positive")
        }
        guard batch <= 20_000 else { throw ValidationError("--batch must be at most 20000 (the response carries one result per item)") }
    }

    func run() async throws {
        let wanted = Set(phases.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        let (work, owned) = try crmd.makeWorkDirectory()
        defer { if owned { try? FileManager.default.removeItem(atPath: work) } }

        let generator = DatasetGenerator(seed: seed)
        let rows = generator.ingestWorkload(customers: customers, interactions: interactions, shuffleSeed: seed ^ 0xBE7C4)
        let requests = try rows.map { try WireInteraction.make($0) }
        report("crmd-push: \(rows.count) interactions from \(customers) customers; starting store: \(seeded)")
        var results: [String: PhaseResult] = [:]

        for (phase, appenders, perAppend) in [("store", storeAppenders, 1), ("store-batch", streams, batch)] where wanted.contains(phase) {
            let directory = try makeDataDirectory(from: seeded, link: false, under: work, name: phase)
            let store = try SQLiteStore(location: StoreLocation(directory: directory))
            report("\(phase): \(appenders) appenders × \(perAppend) per append…")
            let cpuBefore = ownCPUSeconds()
            let outcome = try await StoreIngest(appenders: appenders, perAppend: perAppend).run(rows, into: store)
            let cpu = ownCPUSeconds() - cpuBefore
            try await store.close()
            var histogram = makeLatencyHistogram()
            for nanoseconds in outcome.appendNanoseconds { histogram.record(nanoseconds) }
            let result = PhaseResult(
                label: phase == "store" ? "store-only" : "store-only batched", shape: "\(appenders) appenders × \(perAppend) per append",
                rows: outcome.inserted, calls: outcome.appendNanoseconds.count, errors: 0,
                firstError: outcome.inserted == rows.count ? nil : "only \(outcome.inserted) of \(rows.count) rows were new: --seeded already holds some",
                seconds: outcome.seconds, histogram: histogram, serverCPUSeconds: nil, clientCPUSeconds: cpu)
            results[phase] = result
            print(result.text)
            if crmd.json { print(result.jsonLine) }
            try? FileManager.default.removeItem(atPath: directory)
        }

        if wanted.contains("unary") {
            let result = try await withCrmd(work: work, name: "unary") { server, clients in
                await runFixedWork(
                    label: "crmd unary PushInteraction", shape: "\(crmd.connections) conn × \(crmd.inFlight) in flight",
                    clients: clients, inFlight: crmd.inFlight, rows: requests.count, rowsPerCall: 1, maxSeconds: maxSeconds,
                    serverPID: server.pid
                ) { client, range in
                    let response = try await client.interactions.pushInteraction(PushInteractionRequest(interaction: requests[range.lowerBound]))
                    guard response.outcome == .accepted else {
                        throw RPCStatus(code: .internal, message: "row \(range.lowerBound) came back \(response.outcome), not ACCEPTED")
                    }
                    return 1
                }
            }
            results["unary"] = result
            print(result.text)
            if crmd.json { print(result.jsonLine) }
        }

        if wanted.contains("bulk") {
            let perConnection = max(1, (streams + crmd.connections - 1) / crmd.connections)
            let connections = min(crmd.connections, streams)
            var options = crmd
            options.connections = connections
            let result = try await withCrmd(work: work, name: "bulk", options: options) { server, clients in
                await runFixedWork(
                    label: "crmd bulk PushInteractions", shape: "\(streams) streams × \(batch) per stream",
                    clients: clients, inFlight: perConnection, rows: requests.count, rowsPerCall: batch, maxSeconds: maxSeconds,
                    serverPID: server.pid
                ) { client, range in
                    let response = try await client.interactions.pushInteractions { writer in
                        for index in range { try await writer.write(PushInteractionsRequest(interaction: requests[index])) }
                    }
                    guard response.acceptedCount == UInt64(range.count) else {
                        let first = response.results.first { $0.outcome != .accepted }
                        throw RPCStatus(
                            code: .internal,
                            message: "\(response.acceptedCount) of \(range.count) accepted; first other: \(first.map { "\($0.outcome) \($0.violations)" } ?? "none")")
                    }
                    return range.count
                }
            }
            results["bulk"] = result
            print(result.text)
            if crmd.json { print(result.jsonLine) }
        }

        print("")
        print("ratios (rows/s through crmd ÷ rows/s store-only, same rows, same starting store):")
        func ratio(_ a: String, _ b: String) -> Double? {
            guard let x = results[a], let y = results[b], y.rowsPerSecond > 0 else { return nil }
            return x.rowsPerSecond / y.rowsPerSecond
        }
        if let r = ratio("unary", "store") { print("  unary ÷ store-only (64 × 1):            \(formatted(r, 2))") }
        if let r = ratio("bulk", "store") {
            print("  bulk ÷ store-only (64 × 1):             \(formatted(r, 2))  (target ≥ 0.70) \(r >= 0.7 ? "MET" : "NOT MET")")
        }
        if let r = ratio("bulk", "store-batch") {
            print("  bulk ÷ store-only batched (same batches): \(formatted(r, 2))  (target ≥ 0.70) \(r >= 0.7 ? "MET" : "NOT MET")")
        }
    }

    /// Runs `body` against a crmd on a fresh copy of --seeded, with an adapter token.
    private func withCrmd(
        work: String, name: String, options: CrmdOptions? = nil,
        _ body: (CrmdProcess, [CRMClient]) async throws -> PhaseResult
    ) async throws -> PhaseResult {
        let options = options ?? crmd
        let directory = try makeDataDirectory(from: seeded, link: false, under: work, name: name)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let token = try CrmdProcess.createToken(executable: options.executable, dataDirectory: directory, role: "adapter", name: "bench-adapter")
        let server = try CrmdProcess(executable: options.executable, dataDirectory: directory)
        defer { server.stop() }
        let clients = try options.makeClients(for: server, token: token)
        for client in clients { _ = try await client.health.check(HealthCheckRequest()) }
        report("\(name): crmd pid \(server.pid) on port \(server.port)…")
        let result = try await body(server, clients)
        for client in clients { await client.close() }
        return result
    }
}

/// Wire interactions from the generator's facts, as a channel adapter would send them, in the server's own mapping.
enum WireInteraction {
    static func make(_ fact: Fact) throws -> CRMMessages.Interaction {
        guard case .interaction(let interaction) = fact.payload else {
            throw ValidationError("fact \(fact.id) is not an interaction")
        }
        var wire = CRMMessages.Interaction()
        wire.key = IdempotencyKey(factID: fact.id)
        wire.channel = interaction.channel.wire
        wire.direction = interaction.direction.wire
        wire.handle = interaction.handle.wire
        wire.occurredMs = fact.observedAt
        wire.summary = interaction.summary
        wire.intent = interaction.intent.wire
        return wire
    }
}

// MARK: crmd-snapshot

struct CrmdSnapshot: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crmd-snapshot",
        abstract: "GetCallerSnapshot by phone number through crmd over TLS, on a seeded store.",
        discussion: """
            Starts crmd on a data directory holding a store seeded with `crm-store-tool seed` (or `bench \
            snapshot`), issues an agent token (team after-sales), and calls GetCallerSnapshot with --connections × --in-flight \
            calls in flight for --duration seconds after --warmup, each for a random customer of the store \
            by one of the written forms of their mobile number (`0812-…`, `62812…`, `+62 (0)812 …`). Every \
            answer must say the customer is known. With --ivr each call is the IVR's flow instead: push a phone call \
            from that number (PushInteraction, a new key each time, which must be ACCEPTED), then get the caller's \
            snapshot; the latency is the pair's.
            With --database, crmd serves that PostgreSQL database instead (seeded by `crmd store copy` from a seeded \
            store), --nodes crmd processes on it share the connections in turn, and the PostgreSQL server's CPU is \
            reported beside crmd's.
            """)

    @OptionGroup var crmd: CrmdOptions

    @Option(help: "A seeded store, copied into a new data directory (or linked, with --link).")
    var store: String?

    @Flag(help: "Link --store into the data directory instead of copying it: crmd's migrations and the token then change the original.")
    var link = false

    @Option(help: "A data directory used as it is (its crm.sqlite a seeded store), instead of --store.")
    var dataDir: String?

    @Option(help: "Customers in the store (numbers are drawn from customers 0..<N).")
    var customers: Int

    @Option(help: "Random look-ups prepared (then reused in turn).")
    var distinct = 50_000

    @Option(name: [.short, .long], help: "Seconds measured.")
    var duration = 10.0

    @Option(help: "Seconds of load before the measured window.")
    var warmup = 2.0

    @Option(help: "The random seed of the look-ups.")
    var seed: UInt64 = 7

    @Option(help: "The p99 target in milliseconds (default 2, or 5 with --ivr or --database).")
    var targetP99: Double?

    @Option(help: "The label of the result.")
    var label: String?

    @Flag(help: "Push a phone call from the caller before each snapshot (the IVR's flow); time the pair.")
    var ivr = false

    @Option(help: "Serve this seeded PostgreSQL database (postgres://USER@HOST:PORT/DB) instead of a SQLite store.")
    var database: String?

    @Option(help: "With --database: crmd nodes on it, the connections dealt to them in turn.")
    var nodes = 1

    func validate() throws {
        if database != nil {
            guard store == nil, nodes >= 1 else { throw ValidationError("with --database give no --store, and --nodes of at least 1") }
        } else {
            guard (store == nil) != (dataDir == nil) else { throw ValidationError("give either --store FILE or --data-dir DIR (or --database URL)") }
            guard nodes == 1 else { throw ValidationError("--nodes needs --database: nodes share a PostgreSQL database") }
        }
        guard customers > 0, distinct > 0, duration > 0, warmup >= 0 else {
            throw ValidationError("--customers and --distinct must be positive, --duration positive, --warmup not negative")
        }
    }

    func run() async throws {
        let (work, owned) = try crmd.makeWorkDirectory()
        defer { if owned { try? FileManager.default.removeItem(atPath: work) } }
        let directory: String
        if let dataDir {
            directory = dataDir
        } else if let store {
            directory = try makeDataDirectory(from: store, link: link, under: work, name: "snapshot")
        } else {
            // PostgreSQL holds the store; the directory holds the nodes' development certificates.
            directory = work + "/certificates"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        defer { if dataDir == nil { try? FileManager.default.removeItem(atPath: directory) } }

        var rng = SplitMix64(seed: seed)
        let requests = (0..<distinct).map { _ -> GetCallerSnapshotRequest in
            let forms = DatasetGenerator.phoneWrittenForms(Int.random(in: 0..<customers, using: &rng))
            let written = forms.randomElement(using: &rng) ?? forms[0]
            return GetCallerSnapshotRequest(
                customer: CustomerSelector(target: .handle(CRMMessages.Handle(kind: .phone, value: written))), channel: .phoneCall)
        }

        let token = try CrmdProcess.createToken(
            executable: crmd.executable, dataDirectory: directory, database: database, role: "agent", name: "bench-agent", team: "after-sales")
        report("crmd-snapshot: starting \(nodes) crmd on \(database ?? directory)…")
        var servers: [CrmdProcess] = []
        defer { for server in servers { server.stop() } }
        for _ in 0..<nodes { servers.append(try CrmdProcess(executable: crmd.executable, dataDirectory: directory, database: database)) }
        let clients = try crmd.makeClients(for: servers, token: token)
        for client in clients { _ = try await client.health.check(HealthCheckRequest()) }
        let cursor = RowCursor(count: requests.count)
        let calls = RowCursor(count: .max)
        let shape = LoadShape(connections: crmd.connections, inFlight: crmd.inFlight, warmupSeconds: warmup, seconds: duration)
        let pids = servers.map(\.pid)
        let databaseCPUAtStart = database.map { _ in processesCPUSeconds(named: "postgres") }
        let started = ContinuousClock.now
        // Keys new to every run, so that runs on the same data directory each push new calls.
        let (ivr, run) = (ivr, Int64(Date().timeIntervalSince1970 * 1000))
        let label = label ?? (ivr ? "crmd IVR flow (PushInteraction + GetCallerSnapshot)" : "crmd GetCallerSnapshot")
        let targetP99 = targetP99 ?? (ivr || database != nil ? 5 : 2)
        let onEventLoop = crmd.onEventLoop
        let result = await runLoad(
            label: "\(label) (\(customers) customers)", clients: clients, shape: shape,
            cpuSample: { (pids.compactMap { processCPUSeconds(pid: $0) }.reduce(0, +), ownCPUSeconds()) },
            executor: { onEventLoop ? $0.rpc.executor : nil }
        ) { client in
            let request = requests[cursor.nextIndex() % requests.count]
            if ivr, case .handle(let handle)? = request.customer?.target {
                var call = CRMMessages.Interaction()
                call.key = IdempotencyKey(adapterID: "ivr-bench", externalID: "call-\(run)-\(calls.nextIndex())")
                call.channel = .phoneCall
                call.direction = .inbound
                call.handle = handle
                call.occurredMs = Int64(Date().timeIntervalSince1970 * 1000)
                call.intent = .informationRequest
                call.summary = "IVR: caller chose order status"
                let pushed = try await client.interactions.pushInteraction(PushInteractionRequest(interaction: call))
                guard pushed.outcome == .accepted else {
                    throw RPCStatus(code: .internal, message: "the call from \(handle.value) came back \(pushed.outcome), not ACCEPTED")
                }
            }
            let response = try await client.profiles.getCallerSnapshot(request)
            guard response.known else {
                throw RPCStatus(code: .notFound, message: "no customer for \(request.customer.map { "\($0)" } ?? "?")")
            }
            return 1
        }
        print(result.text)
        if let databaseCPUAtStart {
            let seconds = (ContinuousClock.now - started).seconds
            let used = processesCPUSeconds(named: "postgres") - databaseCPUAtStart
            print("PostgreSQL server CPU: \(formatted(used / seconds, 2)) cores on average over the warm-up and the measured window (\(nodes) crmd node(s))")
        }
        if crmd.json { print(result.jsonLine) }
        let p99 = result.microseconds(atPercentile: 99) / 1000
        print("p99 \(formatted(p99, 2)) ms at \(crmd.connections * crmd.inFlight) in flight (target < \(formatted(targetP99, 1)) ms) \(p99 < targetP99 && result.errors == 0 ? "MET" : "NOT MET")")
        for client in clients { await client.close() }
    }
}
