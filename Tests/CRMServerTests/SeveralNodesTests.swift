import CRMDataset
import CRMDomain
import CRMMessages
import CRMRPC
import CRMStore
import CRMTLS
import CRMTestSupport
import CRMWire
import Foundation
import Synchronization
import Testing

@testable import CRMServer

/// Several `crmd serve --database` processes on one PostgreSQL database behave as one server: the same facts pushed
/// through all of them at once, with duplicates, links and an unlink racing, leave every node answering every profile
/// with the same bytes, those of a SQLite crmd given the same facts, and the caller snapshot the domain projects from
/// the whole set; a watch on one node sees what another stored; a token revoked on one node is refused by the others;
/// a database lost while serving answers UNAVAILABLE and crmd reconnects by itself.
@Suite("Several crmd nodes on one PostgreSQL", .serialized)
struct SeveralNodesTests {
    @Test("three nodes given one fact set concurrently, with duplicates, links and an unlink, answer as one server and as SQLite does")
    func oneTruth() async throws {
        let cluster = try PostgresTestCluster.shared()
        let url = try cluster.createDatabase()
        let shared = try TemporaryDirectory()
        let embedded = try TemporaryDirectory()
        let seed = UInt64.random(in: 0...UInt64(UInt32.max))
        var random = SplitMix64(seed: seed)
        let label = "seed \(seed)"
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let calls = try Self.calls(seed: seed, now: now, &random)

        // Node 1 migrates the database and makes the development certificates; nodes 2 and 3 then share both.
        var nodes = [try await CRMDNode.start(database: url, dataDirectory: shared.path)]
        defer { for node in nodes { node.stop() } }
        nodes.append(try await CRMDNode.start(database: url, dataDirectory: shared.path))
        nodes.append(try await CRMDNode.start(database: url, dataDirectory: shared.path))
        let sqlite = try await CRMDNode.start(database: nil, dataDirectory: embedded.path)
        defer { sqlite.stop() }

        let adapter = try await nodes[0].token(role: "adapter", name: "gw")
        let supervisor = try await nodes[0].token(role: "supervisor", name: "sari")
        let clients = try nodes.map { try $0.client() }
        let reference = try sqlite.client()
        let referenceAdapter = try await sqlite.token(role: "adapter", name: "gw")
        let referenceSupervisor = try await sqlite.token(role: "supervisor", name: "sari")

        // Every call goes to a random node, a fifth of them to a second node at the same moment too; the reference
        // gets each once, in order.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, call) in calls.enumerated() {
                let first = Int(random.next() % 3)
                let second = random.next() % 5 == 0 ? (first + 1) % 3 : nil
                for node in [first] + (second.map { [$0] } ?? []) {
                    let client = clients[node]
                    group.addTask {
                        try await call.send(client, adapter: adapter, supervisor: supervisor, label: "\(label), call \(index) via node \(node + 1)")
                    }
                }
                if index % 16 == 15 { try await group.next() }
            }
            try await group.waitForAll()
        }
        for (index, call) in calls.enumerated() {
            try await call.send(reference, adapter: referenceAdapter, supervisor: referenceSupervisor, label: "\(label), reference call \(index)")
        }

        let facts = calls.map(\.fact)
        let oracle = ProfileProjection(facts: facts)
        let handles = Set(facts.flatMap(\.mentionedHandles)).sorted { $0.canonical < $1.canonical }
        var known = 0
        for handle in handles {
            let selector = CustomerSelector(target: .handle(handle.wire))
            let profileRequest = GetProfileRequest(customer: selector, interactionLimit: 200)
            guard let expected = oracle.profile(for: handle) else { continue }
            known += 1
            // The profile says when it was read (as_of_ms); the rest must be equal byte for byte.
            var referenceProfile = try await reference.unary(ProfileService.getProfile, profileRequest, options: .bearer(referenceSupervisor))
            referenceProfile.profile?.asOfMs = 0
            #expect(referenceProfile.profile?.customerID == expected.id.rawValue, "\(label), \(handle): SQLite names another customer")
            for (n, client) in clients.enumerated() {
                var profile = try await client.unary(ProfileService.getProfile, profileRequest, options: .bearer(supervisor))
                profile.profile?.asOfMs = 0
                #expect(
                    try profile.wireBytes() == referenceProfile.wireBytes(),
                    "\(label), \(handle): node \(n + 1)'s profile differs from SQLite's: \(profile) against \(referenceProfile)")
                let before = Int64(Date().timeIntervalSince1970 * 1000)
                var snapshot = try await client.unary(
                    ProfileService.getCallerSnapshot, GetCallerSnapshotRequest(customer: selector, channel: .phoneCall), options: .bearer(supervisor))
                let after = Int64(Date().timeIntervalSince1970 * 1000)
                snapshot.snapshot?.asOfMs = 0
                // The server's clock read falls between the two (a day boundary between them changes the tenure); the
                // time the snapshot was read (as_of_ms) is left out.
                let projected = try [before, after].map { at in
                    var response = GetCallerSnapshotResponse(
                        known: true,
                        snapshot: CRMMessages.CallerSnapshot(
                            CRMDomain.CallerSnapshot(summary: expected.summary, now: at, problem: ProblemType(intent: .unspecified)),
                            summary: expected.summary, matched: handle, now: at))
                    response.snapshot?.asOfMs = 0
                    return try response.wireBytes()
                }
                let domain = try GetCallerSnapshotResponse(wireBytes: projected[0])
                #expect(
                    projected.contains(try snapshot.wireBytes()),
                    "\(label), \(handle): node \(n + 1)'s snapshot is not the domain's: \(snapshot) against \(domain)")
            }
        }
        #expect(known > 10, "\(label): only \(known) handles have a customer; the case tests little")
        for client in clients { await client.close() }
        await reference.close()
    }

    @Test("a watch on one node sees an interaction pushed through another; a token revoked on one node is refused by the others")
    func watchesAndTokens() async throws {
        let cluster = try PostgresTestCluster.shared()
        let url = try cluster.createDatabase()
        let shared = try TemporaryDirectory()
        let first = try await CRMDNode.start(database: url, dataDirectory: shared.path)
        defer { first.stop() }
        let second = try await CRMDNode.start(database: url, dataDirectory: shared.path)
        defer { second.stop() }
        let adapter = try await first.token(role: "adapter", name: "gw")
        let supervisor = try await second.token(role: "supervisor", name: "sari")
        let pusher = try first.client()
        let watcher = try second.client()

        let interaction = CRMMessages.Interaction(
            key: IdempotencyKey(adapterID: "gw", externalID: "across-nodes"), channel: .whatsapp, direction: .inbound,
            handle: CRMMessages.Handle(kind: .phone, value: "0812-7777-0001"), occurredMs: Int64(Date().timeIntervalSince1970 * 1000),
            summary: "pushed through node 1")
        // Push until the event shows on node 2 (a push before the watch began is history, which a watch from now does
        // not replay).
        let seen = Mutex<String?>(nil)
        try await withTimeLimit(.seconds(30), progress: { "no event on node 2" }) {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    var n = 0
                    while !Task.isCancelled {
                        var item = interaction
                        item.key = IdempotencyKey(adapterID: "gw", externalID: "across-nodes-\(n)")
                        let pushed = try await pusher.unary(
                            InteractionService.pushInteraction, PushInteractionRequest(interaction: item), options: .bearer(adapter))
                        #expect(pushed.outcome == .accepted)
                        n += 1
                        try await Task.sleep(for: .milliseconds(300))
                    }
                }
                // The response headers may wait for the first event: the watch is opened while the pushes go on.
                let stream = try await watcher.serverStreaming(
                    InteractionService.watchInteractions, WatchInteractionsRequest(), options: .bearer(supervisor))
                for try await event in stream {
                    seen.withLock { $0 = event.interaction?.interactionID }
                    break
                }
                group.cancelAll()
            }
        }
        #expect(seen.withLock { $0 }?.hasPrefix("gw/across-nodes-") == true)

        // Revoked through node 1's command line, refused by node 2.
        let listed = try await CRMDBinary.run(["token", "list", "--database", url, "--data-dir", shared.path])
        let id = try #require(listed.stdout.split(separator: "\n").first { $0.contains("sari") }?.split(separator: " ").first)
        let revoked = try await CRMDBinary.run(["token", "revoke", String(id), "--database", url, "--data-dir", shared.path])
        #expect(revoked.status == 0, "\(revoked)")
        let refused = try await withRetriesUntil(seconds: 10) { () async throws -> RPCStatus? in
            do {
                _ = try await watcher.unary(
                    ProfileService.searchProfiles, SearchProfilesRequest(nameQuery: "budi"), options: .bearer(supervisor))
                return nil
            } catch let status as RPCStatus where status.code == .unauthenticated {
                return status
            }
        }
        #expect(refused != nil, "node 2 still accepts the token node 1's database revoked")
        await pusher.close()
        await watcher.close()
    }

    @Test("a database lost while serving answers UNAVAILABLE, and crmd serves again once it is back")
    func databaseLost() async throws {
        let cluster = try PostgresTestCluster.start()
        defer { cluster.stop() }
        let url = try cluster.createDatabase()
        let directory = try TemporaryDirectory()
        let node = try await CRMDNode.start(database: url, dataDirectory: directory.path)
        defer { node.stop() }
        let adapter = try await node.token(role: "adapter", name: "gw")
        let client = try node.client()
        func push(_ n: Int) async throws -> PushInteractionResponse {
            let interaction = CRMMessages.Interaction(
                key: IdempotencyKey(adapterID: "gw", externalID: "lost-\(n)"), channel: .sms, direction: .inbound,
                handle: CRMMessages.Handle(kind: .phone, value: "0812-7777-0002"), occurredMs: 1_704_042_000_000 + Int64(n), summary: "sms \(n)")
            var options = CallOptions.bearer(adapter)
            options.maxAttempts = 1
            return try await client.unary(InteractionService.pushInteraction, PushInteractionRequest(interaction: interaction), options: options)
        }
        #expect(try await push(1).outcome == .accepted)
        try cluster.halt()
        await #expect {
            _ = try await push(2)
        } throws: { error in
            (error as? RPCStatus)?.code == .unavailable
        }
        try cluster.resume()
        let back = try await withRetriesUntil(seconds: 30) { () async -> PushInteractionResponse? in try? await push(2) }
        #expect(back?.outcome == .accepted)
        #expect(try await push(1).outcome == .duplicate, "the write acknowledged before the loss is still there")
        await client.close()
    }

    // MARK: The fact set as calls

    /// One call that stores one fact, and the fact the server stores for it.
    struct Call: Sendable {
        let fact: Fact
        let send: @Sendable (RPCClient, _ adapter: String, _ supervisor: String) async throws -> ItemOutcome

        func send(_ client: RPCClient, adapter: String, supervisor: String, label: String) async throws {
            let outcome = try await send(client, adapter, supervisor)
            #expect([.accepted, .duplicate].contains(outcome), "\(label): \(outcome)")
        }
    }

    /// The interactions and field observations of ten generated customers, links joining some of them, an unlink of
    /// one of those links, and a fifth of the calls again.
    static func calls(seed: UInt64, now: Int64, _ random: inout SplitMix64) throws -> [Call] {
        let generator = DatasetGenerator(seed: seed, now: now - Milliseconds.day, interactionsPerCustomer: 6)
        let customers = (0..<10).map(generator.customer)
        var calls: [Call] = []
        for fact in customers.flatMap(\.facts) {
            switch fact.payload {
            case .interaction(let interaction):
                let stored = Fact(id: fact.id, observedAt: fact.observedAt, source: .channel, payload: fact.payload)
                let wire = CRMMessages.Interaction(record: InteractionRecord(interaction: interaction, at: fact.observedAt, source: .channel, factID: fact.id), customerID: "")
                calls.append(Call(fact: stored) { client, adapter, _ in
                    try await client.unary(InteractionService.pushInteraction, PushInteractionRequest(interaction: wire), options: .bearer(adapter)).outcome
                })
            case .fieldObservation(let observation):
                let source = try FactSource(wire: fact.source.observationSource, field: "source")
                let stored = Fact(id: fact.id, observedAt: fact.observedAt, source: source, payload: fact.payload)
                let wire = CRMMessages.FieldObservation(
                    key: IdempotencyKey(factID: fact.id), subject: observation.handle.wire, field: observation.field.wire,
                    value: observation.value, source: fact.source.observationSource, observedMs: fact.observedAt)
                calls.append(Call(fact: stored) { client, adapter, _ in
                    try await client.unary(
                        ProfileService.observeProfileField, ObserveProfileFieldRequest(observation: wire), options: .bearer(adapter)).outcome
                })
            default:
                continue
            }
        }
        var linked: [HandlePair] = []
        for n in 0..<6 {
            let first = customers[Int(random.next() % 10)], second = customers[Int(random.next() % 10)]
            guard first.index != second.index, let other = second.handles.last else { continue }
            let pair = try HandlePair(first.phone, other)
            linked.append(pair)
            let at = now - Int64(10 - n) * Milliseconds.hour
            let id = try FactID("gw/link-\(n)")
            calls.append(Call(fact: Fact(id: id, observedAt: at, source: .agent, payload: .identityLink(pair))) { client, _, supervisor in
                try await client.unary(
                    ProfileService.linkIdentities,
                    LinkIdentitiesRequest(
                        key: IdempotencyKey(factID: id), firstHandle: pair.first.wire, secondHandle: pair.second.wire, evidence: .agentAsserted,
                        observedMs: at),
                    options: .bearer(supervisor)).outcome
            })
        }
        if let pair = linked.first {
            let at = now - Milliseconds.hour
            let id = try FactID("gw/unlink")
            calls.append(Call(fact: Fact(id: id, observedAt: at, source: .agent, payload: .identityUnlink(pair))) { client, _, supervisor in
                try await client.unary(
                    ProfileService.unlinkIdentities,
                    UnlinkIdentitiesRequest(
                        key: IdempotencyKey(factID: id), firstHandle: pair.first.wire, secondHandle: pair.second.wire, note: "two people",
                        observedMs: at),
                    options: .bearer(supervisor)).outcome
            })
        }
        calls.shuffle(using: &random)
        calls += (0..<(calls.count / 5)).map { _ in calls[Int(random.next() % UInt64(calls.count))] }
        return calls
    }
}

/// `crmd serve` as a child process, on a free port.
final class CRMDNode: Sendable {
    let process: ChildProcess
    let port: Int
    let dataDirectory: String
    let database: String?

    private init(process: ChildProcess, port: Int, dataDirectory: String, database: String?) {
        self.process = process
        self.port = port
        self.dataDirectory = dataDirectory
        self.database = database
    }

    /// Starts crmd on `database` (nil: SQLite in the data directory) and waits until it listens.
    static func start(database: String?, dataDirectory: String) async throws -> CRMDNode {
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: try #require(CRMDBinary.path))
        process.arguments = ["serve", "--port", "0", "--metrics-port", "off", "--data-dir", dataDirectory, "--log-level", "warning"]
            + (database.map { ["--database", $0] } ?? [])
        process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("CRMD_") }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        let collected = CollectedOutput()
        output.fileHandleForReading.readabilityHandler = { handle in collected.append(handle.availableData) }
        try process.run()
        let deadline = ContinuousClock.now + .seconds(60)
        while !collected.text.contains("Stop with"), ContinuousClock.now < deadline, process.isRunning {
            try await Task.sleep(for: .milliseconds(50))
        }
        output.fileHandleForReading.readabilityHandler = nil
        let line = CRMDProcessTests.value(after: "listen:   127.0.0.1:", in: collected.text)
        guard let port = line.flatMap({ Int($0.prefix { $0.isNumber }) }) else {
            process.terminate()
            throw NodeStartError(description: "crmd did not start: \(collected.text)")
        }
        return CRMDNode(process: process, port: port, dataDirectory: dataDirectory, database: database)
    }

    struct NodeStartError: Error, CustomStringConvertible {
        let description: String
    }

    /// A new token from `crmd token create` on this node's store.
    func token(role: String, name: String) async throws -> String {
        let created = try await CRMDBinary.run(
            ["token", "create", "--role", role, "--name", name, "--data-dir", dataDirectory] + (database.map { ["--database", $0] } ?? []))
        #expect(created.status == 0, "\(created)")
        return created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A client trusting the data directory's development CA.
    func client() throws -> RPCClient {
        let tls = TLSConfiguration.client(serverName: "localhost", trustRootsFile: "\(dataDirectory)/certs/ca.pem")
        return try RPCClient(configuration: .init(host: "127.0.0.1", port: port, tls: tls, serverName: "localhost"))
    }

    /// SIGTERM, then waits for the exit (SIGKILL after 30 s).
    func stop() {
        process.terminate()
        let deadline = ContinuousClock.now + .seconds(30)
        while process.isRunning, ContinuousClock.now < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}

/// Tries `body` every 100 ms until it gives a value or `seconds` have passed.
func withRetriesUntil<T>(seconds: Int, _ body: () async throws -> T?) async throws -> T? {
    let deadline = ContinuousClock.now + .seconds(seconds)
    while ContinuousClock.now < deadline {
        if let value = try await body() { return value }
        try await Task.sleep(for: .milliseconds(100))
    }
    return nil
}

extension CallOptions {
    /// Options carrying `authorization: Bearer <token>`.
    static func bearer(_ token: String) -> CallOptions {
        var options = CallOptions()
        options.metadata.add("authorization", "Bearer \(token)")
        return options
    }
}
