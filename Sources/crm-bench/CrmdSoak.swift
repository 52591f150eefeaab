import ArgumentParser
import CRMClient
import CRMMessages
import CRMRPC
import CRMWire
import Foundation
import Histogram
import Synchronization

// The soak: mixed load through a real crmd for minutes, sampling what the server holds. docs/RELIABILITY.md has the
// figures of the last run.

/// `crm-bench crmd-soak`: pushes, caller snapshots, watches that come and go and order imports against one crmd, with
/// its resident memory, open descriptors and the calls' p99 sampled at intervals.
struct CrmdSoak: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crmd-soak",
        abstract: "Mixed load through crmd for --minutes; RSS, descriptors and p99 sampled every --sample-seconds.",
        discussion: """
            Starts crmd on a new data directory and runs, until the time is up: --connections × --in-flight loops \
            split between unary PushInteraction (an adapter token, keys new to the run, --callers callers in turn, a \
            quarter of the messages information requests) and GetCallerSnapshot of callers already pushed (an agent token); two loops that open WatchInteractions, read what comes \
            for up to two seconds and cancel; and one loop importing 20 orders a second (each of a caller, with that caller's own order-system account). Every \
            --sample-seconds it prints crmd's VmRSS and its two parts, anonymous memory (heap and stacks) and mapped \
            files (the database, which SQLite reads through a memory map), the store's size on disk, the open \
            descriptors, and the calls and their p99 in the interval. At the end it stops the load, closes the \
            clients, and passes when the anonymous memory grew less than --max-rss-growth percent from the end of the \
            first interval (the warm-up) to the last, and crmd then holds no more descriptors than at the end of the \
            warm-up less the clients' connections (the store's pool of readers grows to its size in the warm-up and \
            stays open). The mapped part grows with the database and is the kernel's to reclaim, so it is reported, \
            not judged.
            """)

    @OptionGroup var crmd: CrmdOptions

    @Option(help: "Minutes of load.")
    var minutes = 10.0

    @Option(help: "Seconds between samples.")
    var sampleSeconds = 60.0

    @Option(help: "The largest growth of crmd's anonymous memory (heap and stacks) after the first interval that passes, in percent.")
    var maxRssGrowth = 10.0

    @Option(help: "How many customers call and write (each a phone number); pushes go to them in turn.")
    var callers = 100_000

    func validate() throws {
        guard minutes > 0, sampleSeconds > 0, sampleSeconds * 2 <= minutes * 60 else {
            throw ValidationError("--minutes and --sample-seconds must be positive, with at least two samples in the run")
        }
        guard (1...1_000_000).contains(callers) else { throw ValidationError("--callers must be 1 to 1,000,000") }
    }

    /// What the load loops record, read and reset at each sample.
    final class Interval: Sendable {
        private struct State {
            var histogram = makeLatencyHistogram()
            var calls = 0
            var errors: [String] = []
        }

        private let state = Mutex(State())

        func record(nanoseconds: UInt64) {
            state.withLock {
                $0.calls += 1
                _ = $0.histogram.record(max(1, nanoseconds / 1_000))
            }
        }

        func fail(_ error: any Error) {
            state.withLock { if $0.errors.count < 20 { $0.errors.append("\(error)") } }
        }

        /// The calls, their p99 in microseconds and the errors since the last take.
        func take() -> (calls: Int, p99: UInt64, errors: [String]) {
            state.withLock { state in
                defer { state = State() }
                return (state.calls, state.histogram.valueAtPercentile(99), state.errors)
            }
        }
    }

    func run() async throws {
        let (work, owned) = try crmd.makeWorkDirectory()
        defer { if owned { try? FileManager.default.removeItem(atPath: work) } }
        let directory = work + "/soak-\(getpid())"
        let adapterToken = try CrmdProcess.createToken(executable: crmd.executable, dataDirectory: directory, role: "adapter", name: "soak-adapter")
        let agentToken = try CrmdProcess.createToken(
            executable: crmd.executable, dataDirectory: directory, role: "agent", name: "soak-agent", team: "after-sales")
        report("crmd-soak: starting crmd on \(directory)…")
        let server = try CrmdProcess(executable: crmd.executable, dataDirectory: directory)
        defer { server.stop() }
        let adapters = try crmd.makeClients(for: server, token: adapterToken)
        let agents = try crmd.makeClients(for: server, token: agentToken)
        for client in adapters + agents { _ = try await client.health.check(HealthCheckRequest()) }
        let pid = "\(server.pid)"
        guard let descriptorsBefore = Self.openDescriptors(pid: pid) else { throw ValidationError("cannot list /proc/\(pid)/fd") }

        let interval = Interval()
        let flags = Flags()
        let run = Int64(Date().timeIntervalSince1970 * 1000)
        let (minutes, sampleSeconds, callers) = (self.minutes, self.sampleSeconds, self.callers)
        let loopsPerKind = max(1, crmd.connections * crmd.inFlight / 2)
        print("crmd-soak: \(loopsPerKind) pushing and \(loopsPerKind) snapshot loops, 2 watch loops, 1 import loop; "
            + "\(formatted(minutes, 1)) min, a sample every \(formatted(sampleSeconds, 0)) s; crmd held \(descriptorsBefore) descriptors")
        print("minute  rss_MiB  anon_MiB  file_MiB  store_MiB  descriptors  calls  p99_ms  errors")

        try await withThrowingTaskGroup(of: Void.self) { group in
            for loop in 0..<loopsPerKind {
                let adapter = adapters[loop % adapters.count]
                let agent = agents[loop % agents.count]
                group.addTask {
                    while !flags.stop.load(ordering: .relaxed) {
                        let n = flags.counter.add(1, ordering: .relaxed).oldValue
                        await Self.timed(interval) {
                            let pushed = try await adapter.interactions.pushInteraction(
                                PushInteractionRequest(interaction: Self.interaction(run: run, n: n, callers: callers)))
                            guard pushed.outcome == .accepted else { throw RPCStatus(code: .internal, message: "push \(n): \(pushed.outcome)") }
                        }
                    }
                }
                group.addTask {
                    while !flags.stop.load(ordering: .relaxed) {
                        // A caller who has written before: the screen an agent sees when that customer calls.
                        let pushed = flags.counter.load(ordering: .relaxed)
                        let caller = Self.caller(Int.random(in: 0..<max(1, min(pushed, callers))), of: callers)
                        await Self.timed(interval) {
                            _ = try await agent.profiles.getCallerSnapshot(
                                GetCallerSnapshotRequest(customer: CustomerSelector(target: .handle(caller)), channel: .phoneCall))
                        }
                    }
                }
            }
            for watcher in 0..<2 {
                let agent = agents[watcher % agents.count]
                group.addTask {
                    while !flags.stop.load(ordering: .relaxed) {
                        await Self.watchBriefly(agent, interval: interval)
                    }
                }
            }
            let importer = adapters[0]
            group.addTask {
                var batch = 0
                while !flags.stop.load(ordering: .relaxed) {
                    batch += 1
                    let number = batch
                    await Self.timed(interval) {
                        let response = try await importer.orders.importOrders { writer in
                            for row in 0..<20 {
                                try await writer.write(Self.orderRow(run: run, batch: number, row: row, callers: callers))
                            }
                        }
                        _ = response
                    }
                    try? await Task.sleep(for: .seconds(1))
                }
            }
            group.addTask {
                let started = ContinuousClock.now
                var samples: [Sample] = []
                let end = started + .seconds(minutes * 60)
                var next = started + .seconds(sampleSeconds)
                while next <= end + .seconds(1) {
                    try await Task.sleep(until: next, clock: .continuous)
                    let rss = residentKiB(pid: pid) ?? 0
                    let anonymous = statusKiB(pid: pid, field: "RssAnon") ?? 0
                    let mapped = statusKiB(pid: pid, field: "RssFile") ?? 0
                    let store = Self.bytes(in: directory)
                    let descriptors = Self.openDescriptors(pid: pid) ?? -1
                    let (calls, p99, errors) = interval.take()
                    samples.append(Sample(rss: rss, anonymous: anonymous, mapped: mapped, descriptors: descriptors))
                    let elapsed = Double((ContinuousClock.now - started).components.seconds) / 60
                    print(
                        "\(formatted(elapsed, 1).padding(toLength: 6, withPad: " ", startingAt: 0))  "
                            + "\(formatted(Double(rss) / 1024, 1).padding(toLength: 7, withPad: " ", startingAt: 0))  "
                            + "\(formatted(Double(anonymous) / 1024, 1).padding(toLength: 8, withPad: " ", startingAt: 0))  "
                            + "\(formatted(Double(mapped) / 1024, 1).padding(toLength: 8, withPad: " ", startingAt: 0))  "
                            + "\(formatted(Double(store) / 1_048_576, 1).padding(toLength: 9, withPad: " ", startingAt: 0))  "
                            + "\(String(descriptors).padding(toLength: 11, withPad: " ", startingAt: 0))  "
                            + "\(String(calls).padding(toLength: 5, withPad: " ", startingAt: 0))  "
                            + "\(formatted(Double(p99) / 1000, 2).padding(toLength: 6, withPad: " ", startingAt: 0))  \(errors.count)")
                    for error in errors.prefix(3) { print("  error: \(error)") }
                    fflush(nil)  // each sample as it is taken, also when the output goes to a file
                    next = next + .seconds(sampleSeconds)
                }
                flags.stop.store(true, ordering: .relaxed)
                Self.samples.withLock { $0 = samples }
            }
            try await group.waitForAll()
        }
        for client in adapters + agents { await client.close() }
        // The server closes the connections' descriptors once it sees the clients go.
        try await Task.sleep(for: .seconds(3))
        let descriptorsAfter = Self.openDescriptors(pid: pid) ?? -1
        let samples = Self.samples.withLock { $0 }
        guard let first = samples.first, let last = samples.last, samples.count >= 2 else {
            throw ValidationError("fewer than two samples were taken")
        }
        func growth(_ from: Int, _ to: Int) -> String {
            let percent = Double(to - from) / Double(max(from, 1)) * 100
            return "\(formatted(Double(from) / 1024, 1)) → \(formatted(Double(to) / 1024, 1)) MiB (\(percent >= 0 ? "+" : "")\(formatted(percent, 1)) %)"
        }
        let anonymousGrowth = Double(last.anonymous - first.anonymous) / Double(max(first.anonymous, 1)) * 100
        let baseline = first.descriptors - adapters.count - agents.count
        let passed = anonymousGrowth < maxRssGrowth && descriptorsAfter <= baseline
        print(
            "after the warm-up to the end: anonymous memory \(growth(first.anonymous, last.anonymous)), limit \(formatted(maxRssGrowth, 0)) %; "
                + "the mapped database \(growth(first.mapped, last.mapped)); VmRSS \(growth(first.rss, last.rss)); descriptors: "
                + "\(descriptorsBefore) before the load, \(baseline) after the warm-up without the clients' \(adapters.count + agents.count) "
                + "connections, \(descriptorsAfter) once they closed: \(passed ? "PASS" : "FAIL")")
        if !passed { throw ExitCode(1) }
    }

    /// What one sample saw of crmd, sizes in KiB.
    struct Sample: Sendable {
        /// VmRSS: all resident memory.
        var rss: Int
        /// RssAnon: the heap and stacks, what crmd itself holds.
        var anonymous: Int
        /// RssFile: mapped files, mostly the database SQLite reads through its memory map.
        var mapped: Int
        var descriptors: Int
    }

    /// The samples of the run.
    private static let samples = Mutex<[Sample]>([])

    /// Shared by the loops: when to stop, and the next push's number.
    final class Flags: Sendable {
        let stop = Atomic<Bool>(false)
        let counter = Atomic<Int>(0)
    }

    /// Runs `call`, recording its latency, or its error.
    private static func timed(_ interval: Interval, _ call: () async throws -> Void) async {
        let start = monotonicNanoseconds()
        do {
            try await call()
            interval.record(nanoseconds: monotonicNanoseconds() - start)
        } catch {
            interval.fail(error)
        }
    }

    /// Opens WatchInteractions, reads what comes for up to two seconds, and cancels.
    private static func watchBriefly(_ client: CRMClient, interval: Interval) async {
        do {
            let stream = try await client.interactions.watchInteractions(WatchInteractionsRequest())
            let reader = Task {
                for try await _ in stream {}
            }
            try? await Task.sleep(for: .seconds(2))
            stream.cancel()
            reader.cancel()
            _ = await reader.result
        } catch {
            interval.fail(error)
            try? await Task.sleep(for: .seconds(1))
        }
    }

    /// Caller `n` of `callers` (at most 1,000,000): a phone number of its own.
    static func caller(_ n: Int, of callers: Int) -> CRMMessages.Handle {
        let index = n % callers
        return CRMMessages.Handle(kind: .phone, value: "0812-7\(String(format: "%03d", index / 10_000))-\(String(format: "%04d", index % 10_000))")
    }

    /// Push `n`: to the callers in turn, one message in four an information request.
    static func interaction(run: Int64, n: Int, callers: Int) -> CRMMessages.Interaction {
        var i = CRMMessages.Interaction()
        i.key = IdempotencyKey(adapterID: "soak", externalID: "soak-\(run)-\(n)")
        i.channel = .whatsapp
        i.direction = .inbound
        i.handle = caller(n, of: callers)
        i.occurredMs = Int64(Date().timeIntervalSince1970 * 1000)
        i.body = "Halo, pesanan saya kapan sampai? (\(n))"
        i.intent = [.informationRequest, .order, .complaint, .feedback][n % 4]
        return i
    }

    /// Row `row` of import `batch`: an order of the caller the row names, whose order-system account is that
    /// caller's own (the contact joins the two, as a shop's export does).
    static func orderRow(run: Int64, batch: Int, row: Int, callers: Int) -> ImportOrdersRequest {
        let buyer = (batch * 20 + row) % callers
        var order = CRMMessages.Order()
        order.orderNumber = "SOAK-\(run)-\(batch)-\(row)"
        order.customerHandle = CRMMessages.Handle(kind: .orderSystemID, value: "SOAK-\(buyer)")
        order.contactHandles = [caller(buyer, of: callers)]
        order.items = [CRMMessages.OrderItem(sku: "SKU-\(row)", name: "Barang \(row)", quantity: 1 + Int64(row % 3), unitPriceRupiah: 45_000)]
        order.placedMs = Int64(Date().timeIntervalSince1970 * 1000) - 86_400_000
        var request = ImportOrdersRequest()
        request.rowNumber = UInt64(row + 1)
        request.key = IdempotencyKey(adapterID: "soak-oms", externalID: "SOAK-\(run)-\(batch)-\(row)")
        request.order = order
        return request
    }

    /// The bytes of the regular files directly in `directory` (the store's database and its write-ahead log).
    static func bytes(in directory: String) -> Int {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.reduce(0) { total, name in
            let attributes = try? FileManager.default.attributesOfItem(atPath: directory + "/" + name)
            guard attributes?[.type] as? FileAttributeType == .typeRegular else { return total }
            return total + ((attributes?[.size] as? NSNumber)?.intValue ?? 0)
        }
    }

    /// How many descriptors process `pid` holds open.
    static func openDescriptors(pid: String) -> Int? {
        try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count
    }
}
