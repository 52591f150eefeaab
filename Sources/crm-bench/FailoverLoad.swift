import ArgumentParser
import CRMClient
import CRMMessages
import CRMRPC
import CRMWire
import Foundation
import NIOPosix
import Synchronization

/// `crm-bench failover-load`: channel adapters push interactions through several crmd nodes while the database fails
/// over underneath, each write retried (on another node) after UNAVAILABLE until it is acknowledged; then every write
/// is looked for through the nodes and counted. `tools/failover` runs it around a killed primary.
struct FailoverLoad: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "failover-load",
        abstract: "Push interactions through crmd nodes across a failover, retrying on UNAVAILABLE; then count lost and duplicated writes.",
        discussion: """
            Each of --writers adapters pushes interactions for a phone number of its own, one at a time, with a key \
            new to the run, for --duration seconds. A write that fails with UNAVAILABLE, DEADLINE_EXCEEDED or a broken \
            connection is sent again with the same key, to the next node, until it is acknowledged (or --give-up \
            seconds pass). Any other failure is a wrong answer. Afterwards every writer's timeline is read through the \
            nodes and each write's text counted: acknowledged, present exactly once, lost (acknowledged but absent) and \
            duplicates (present more than once). With --kill-mark, the file whoever killed the primary wrote the kill \
            time into (milliseconds since 1970), the RTO is the time from the kill to the first acknowledged attempt \
            sent after it (a retry of an earlier write counts). Also printed: acknowledged pushes per second and each \
            acknowledged attempt's latency. The last line reads `acknowledged: N, lost: L, duplicates: D, RTO: R ms` \
            (`RTO: not measured (no --kill-mark)` without it); the exit status is 1 when a write was lost or \
            duplicated, an answer was wrong, nothing was acknowledged, or no write succeeded after the kill. The nodes' \
            certificates must name localhost (crmd's development certificates do).
            """)

    @Option(name: .customLong("node"), help: ArgumentHelp("A crmd node to push through; repeat for each node.", valueName: "host:port"))
    var nodes: [String] = []

    @Option(help: "The CA that signed the nodes' certificates.")
    var caFile: String

    @Option(help: "A file holding an adapter token (from `crmd token create --role adapter`).")
    var tokenFile: String

    @Option(help: "A file holding a supervisor's token (from `crmd token create --role supervisor`): it opens and moves the complaints and reads everything back.")
    var supervisorTokenFile: String

    @Option(help: "Agents moving complaints at once (each one complaint, through its states, one move at a time); 0 for none.")
    var agents = 4

    @Option(help: "Adapters pushing at once.")
    var writers = 16

    @Option(help: "Seconds of pushing.")
    var duration: Double = 30

    @Option(help: "Seconds after which one write is no longer retried (it then counts as given up, not acknowledged).")
    var giveUp: Double = 60

    @Option(help: "A file holding the time the primary was killed, in milliseconds since 1970 (read at the end); without it, a load with no failover (throughput and latency).")
    var killMark: String?

    @Option(help: "A name for the run, part of every key and text (default: the time it starts).")
    var run: String?

    func validate() throws {
        guard !nodes.isEmpty else { throw ValidationError("name at least one crmd node with --node HOST:PORT") }
        for node in nodes where Self.address(node) == nil {
            throw ValidationError("--node \(node) is not HOST:PORT with a port from 1 to 65535")
        }
        guard (1...1_000).contains(writers) else { throw ValidationError("--writers must be from 1 to 1000") }
        guard (0...100).contains(agents) else { throw ValidationError("--agents must be from 0 to 100") }
        guard duration > 0, giveUp > 0 else { throw ValidationError("--duration and --give-up must be above 0") }
    }

    static func address(_ node: String) -> (host: String, port: Int)? {
        guard let colon = node.lastIndex(of: ":"), let port = Int(node[node.index(after: colon)...]), (1...65_535).contains(port),
            colon > node.startIndex
        else { return nil }
        return (String(node[..<colon]), port)
    }

    func run() async throws {
        let clients = try makeClients(tokenFile: tokenFile)
        let supervisors = try makeClients(tokenFile: supervisorTokenFile)
        let run = self.run ?? String(Int64(Date().timeIntervalSince1970 * 1000))
        let tally = FailoverTally()
        let end = ContinuousClock.now + .seconds(duration)
        let giveUp = Duration.seconds(giveUp)
        let complaints = ComplaintIDs()
        let writers = self.writers
        await withTaskGroup(of: Void.self) { group in
            for writer in 0..<writers {
                group.addTask {
                    await Self.push(writer: writer, run: run, clients: clients, until: end, giveUp: giveUp, tally: tally)
                }
            }
            for agent in 0..<agents {
                group.addTask {
                    let mover = ComplaintMover(
                        agent: agent, run: run, phone: Self.phone(writers + agent), adapters: clients, supervisors: supervisors,
                        giveUp: giveUp, tally: tally)
                    await mover.move(until: end, complaints: complaints)
                }
            }
        }
        let pushed = tally.snapshot()
        print(
            "failover-load: \(writers) writers through \(nodes.count) node(s) for \(duration) s: \(pushed.acknowledged.count) acknowledged, "
                + "\(pushed.retries) answers retried (UNAVAILABLE or connection lost), \(pushed.givenUp) given up, \(pushed.wrong.count) wrong answers")
        let latencies = pushed.latencyMicroseconds.sorted()
        if !latencies.isEmpty {
            func percentile(_ p: Double) -> String {
                String(format: "%.2f", Double(latencies[min(latencies.count - 1, Int(Double(latencies.count) * p / 100))]) / 1000)
            }
            print(
                "failover-load: pushes acknowledged: \(String(format: "%.0f", Double(latencies.count) / duration))/s at \(writers) in flight; "
                    + "acknowledged attempt's latency p50 \(percentile(50)) ms, p99 \(percentile(99)) ms, max \(percentile(100)) ms")
        }
        for wrong in pushed.wrong.prefix(5) { print("failover-load: wrong answer: \(wrong)") }

        // Every writer's timeline and every complaint with its moves, through whichever node answers.
        var seen: [String: Int] = [:]
        for writer in 0..<writers {
            for text in try await Self.timelineTexts(phone: Self.phone(writer), clients: supervisors) where text.hasPrefix("failover \(run) ") {
                seen[text, default: 0] += 1
            }
        }
        for id in complaints.all {
            for text in try await ComplaintMover.texts(of: id, run: run, clients: supervisors) where text.hasPrefix("failover \(run) ") {
                seen[text, default: 0] += 1
            }
        }
        for agent in 0..<agents where try await ComplaintMover.orderStored(agent: agent, run: run, clients: supervisors) {
            seen[ComplaintMover.orderText(agent: agent, run: run), default: 0] += 1
        }
        print("failover-load: \(complaints.all.count) complaints opened by \(agents) agents, \(pushed.moves) moves acknowledged")
        let lost = pushed.acknowledged.keys.filter { seen[$0] == nil }.sorted()
        let duplicates = seen.values.reduce(0) { $0 + max(0, $1 - 1) }
        let presentOnce = pushed.acknowledged.keys.filter { seen[$0] == 1 }.count
        let extra = seen.keys.filter { pushed.acknowledged[$0] == nil }.count
        for text in lost.prefix(5) { print("failover-load: lost: \(text)") }
        print("failover-load: \(presentOnce) acknowledged writes present exactly once; \(extra) writes never acknowledged are present (allowed)")

        var rto = "not measured (no --kill-mark)"
        var recovered = true
        if let killMark {
            let text = try String(contentsOfFile: killMark, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            guard let killedAt = Int64(text) else { throw ValidationError("--kill-mark \(killMark) holds \(text), not milliseconds") }
            let after = pushed.acknowledged.values.filter { $0.sentMs >= killedAt }.map(\.acknowledgedMs).min()
            if let after {
                rto = "\(after - killedAt) ms"
            } else {
                rto = "none (no write sent after the kill was acknowledged)"
                recovered = false
            }
        }
        for client in clients + supervisors { await client.close() }
        print("acknowledged: \(pushed.acknowledged.count), lost: \(lost.count), duplicates: \(duplicates), RTO: \(rto)")
        if !lost.isEmpty || duplicates > 0 || !pushed.wrong.isEmpty || !recovered || pushed.acknowledged.isEmpty { throw ExitCode(1) }
    }

    /// A client per node, sending the token in `tokenFile`.
    func makeClients(tokenFile: String) throws -> [CRMClient] {
        let token = try String(contentsOfFile: tokenFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        return try nodes.map { node in
            let (host, port) = Self.address(node)!
            // A call outlives a failover's wait by no more than this: it is then sent again.
            let configuration = ClientConfiguration(
                host: host, port: port, caFile: caFile, token: token, serverName: "localhost", defaultTimeout: .seconds(10))
            return try CRMClient(configuration: configuration)
        }
    }

    /// The phone number writer `writer` pushes for.
    static func phone(_ writer: Int) -> String { String(format: "08127%03d%04d", writer / 10_000, writer % 10_000) }

    /// One adapter: a write at a time, each sent until acknowledged.
    static func push(
        writer: Int, run: String, clients: [CRMClient], until end: ContinuousClock.Instant, giveUp: Duration, tally: FailoverTally
    ) async {
        var sequence = 0
        var node = writer % clients.count
        while ContinuousClock.now < end {
            let text = "failover \(run) w\(writer)-\(sequence)"
            var interaction = CRMMessages.Interaction()
            interaction.key = IdempotencyKey(adapterID: "failover-\(run)", externalID: "w\(writer)-\(sequence)")
            interaction.channel = .whatsapp
            interaction.direction = .inbound
            interaction.handle = Handle(kind: .phone, value: phone(writer))
            interaction.occurredMs = Int64(Date().timeIntervalSince1970 * 1000)
            interaction.intent = .informationRequest
            interaction.summary = text
            _ = await Self.untilAcknowledged(text, clients: clients, node: &node, giveUp: giveUp, tally: tally) { client in
                try await client.interactions.pushInteraction(PushInteractionRequest(interaction: interaction)).outcome
            }
            sequence += 1
        }
    }

    /// Sends one write until it is acknowledged (ACCEPTED or DUPLICATE): after UNAVAILABLE, a deadline or a broken
    /// connection, the same request again through the next node. Records the acknowledgement of `text` (with its
    /// attempt's sending time and latency), a wrong answer, or a write given up after `giveUp`; returns whether it was
    /// acknowledged.
    static func untilAcknowledged(
        _ text: String, clients: [CRMClient], node: inout Int, giveUp: Duration, tally: FailoverTally,
        _ send: (CRMClient) async throws -> ItemOutcome
    ) async -> Bool {
        await untilAcknowledged(text, clients: clients, node: &node, giveUp: giveUp, tally: tally) { client in
            (try await send(client), text)
        }
    }

    /// As ``untilAcknowledged(_:clients:node:giveUp:tally:_:)``, for a write whose text is known only from its answer
    /// (`send` returns the outcome and the text to record).
    static func untilAcknowledged(
        _ text: String, clients: [CRMClient], node: inout Int, giveUp: Duration, tally: FailoverTally,
        _ send: (CRMClient) async throws -> (ItemOutcome, String)
    ) async -> Bool {
        let firstSent = ContinuousClock.now
        while true {
            let sentMs = Int64(Date().timeIntervalSince1970 * 1000)
            let sent = ContinuousClock.now
            do {
                let (outcome, text) = try await send(clients[node])
                guard outcome == .accepted || outcome == .duplicate else {
                    tally.wrong("\(text): \(outcome)")
                    return false
                }
                let took = ContinuousClock.now - sent
                tally.acknowledged(
                    text, sentMs: sentMs, acknowledgedMs: Int64(Date().timeIntervalSince1970 * 1000),
                    microseconds: Int(took.components.seconds * 1_000_000 + took.components.attoseconds / 1_000_000_000_000))
                return true
            } catch let status as RPCStatus where ![.unavailable, .deadlineExceeded].contains(status.code) {
                tally.wrong("\(text): \(status.code) \(status.message)")
                return false
            } catch {
                // UNAVAILABLE, a deadline or a broken connection: the same request again, through the next node.
                tally.retried()
                node = (node + 1) % clients.count
                if ContinuousClock.now - firstSent > giveUp {
                    tally.gaveUp()
                    return false
                }
                try? await Task.sleep(for: .milliseconds(50))
            }
        }
    }

    /// The summaries of every interaction in `phone`'s timeline, read page by page through the first node that answers.
    static func timelineTexts(phone: String, clients: [CRMClient]) async throws -> [String] {
        var texts: [String] = []
        var request = GetTimelineRequest()
        request.customer = CustomerSelector(target: .handle(Handle(kind: .phone, value: phone)))
        request.page = PageRequest(pageSize: 500, pageToken: "")
        while let page = try await readThroughAnyNode(clients, { try await $0.interactions.getTimeline(request) }) {
            texts += page.interactions.map(\.summary)
            guard let next = page.page?.nextPageToken, !next.isEmpty else { break }
            request.page = PageRequest(pageSize: 500, pageToken: next)
        }
        return texts
    }

    /// Runs a read through the nodes in turn until one answers (up to 600 tries, 100 ms apart: the cluster may still
    /// be settling after the failover); nil when the answer is NOT_FOUND.
    static func readThroughAnyNode<T: Sendable>(_ clients: [CRMClient], _ read: (CRMClient) async throws -> T) async throws -> T? {
        var attempt = 0
        while true {
            do {
                return try await read(clients[attempt % clients.count])
            } catch let status as RPCStatus where status.code == .notFound {
                return nil
            } catch {
                attempt += 1
                guard attempt < 600 else { throw error }
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }
}

/// What the adapters of a failover run saw, shared by them.
final class FailoverTally: Sendable {
    struct Acknowledgement: Sendable {
        /// When the attempt that was acknowledged was sent.
        var sentMs: Int64
        var acknowledgedMs: Int64
    }

    struct Counts: Sendable {
        var acknowledged: [String: Acknowledgement] = [:]
        /// How long each acknowledged attempt took, from its sending.
        var latencyMicroseconds: [Int] = []
        var retries = 0
        /// Complaint moves acknowledged.
        var moves = 0
        var givenUp = 0
        var wrong: [String] = []
    }

    private let counts = Mutex(Counts())

    func acknowledged(_ text: String, sentMs: Int64, acknowledgedMs: Int64, microseconds: Int) {
        counts.withLock {
            $0.acknowledged[text] = Acknowledgement(sentMs: sentMs, acknowledgedMs: acknowledgedMs)
            $0.latencyMicroseconds.append(microseconds)
        }
    }

    func retried() { counts.withLock { $0.retries += 1 } }
    func moved() { counts.withLock { $0.moves += 1 } }
    func gaveUp() { counts.withLock { $0.givenUp += 1 } }
    func wrong(_ what: String) { counts.withLock { $0.wrong.append(what) } }
    func snapshot() -> Counts { counts.withLock { $0 } }
}

/// The complaints the agents of a run opened.
final class ComplaintIDs: Sendable {
    private let ids = Mutex<[String]>([])
    func add(_ id: String) { ids.withLock { $0.append(id) } }
    var all: [String] { ids.withLock { $0 } }
}

/// One agent of a failover run: an order for a customer of its own (through the adapters' clients, as the order
/// system would send it), a complaint about it, then moves back and forth between IN_REVIEW and WAITING_ON_SUPPLIER,
/// one at a time, each sent until acknowledged. Every write is counted by a text of its own (the complaint's summary, each
/// move's fact id, from its acknowledgement), counted afterwards in the complaint as stored.
struct ComplaintMover: Sendable {
    let agent: Int
    let run: String
    let phone: String
    let adapters: [CRMClient]
    let supervisors: [CRMClient]
    let giveUp: Duration
    let tally: FailoverTally

    func move(until end: ContinuousClock.Instant, complaints: ComplaintIDs) async {
        var node = agent % supervisors.count
        let number = Self.orderNumber(agent: agent, run: run)
        var order = CRMMessages.Order()
        order.orderNumber = number
        order.customerHandle = Handle(kind: .phone, value: phone)
        order.items = [CRMMessages.OrderItem(sku: "SKU-1", name: "Lampu LED", quantity: 10, unitPriceRupiah: 45_000)]
        let placed = Int64(Date().timeIntervalSince1970 * 1000) - 86_400_000
        order.placedMs = placed
        order.revisionMs = placed
        var address = DeliveryAddress()
        address.city = "Kota Bekasi"
        order.deliveryAddress = address
        let orderKey = IdempotencyKey(adapterID: "failover-oms-\(run)", externalID: "order-\(agent)")
        let ordered = await FailoverLoad.untilAcknowledged(
            Self.orderText(agent: agent, run: run), clients: adapters, node: &node, giveUp: giveUp, tally: tally
        ) { client in
            try await client.orders.upsertOrder(UpsertOrderRequest(key: orderKey, order: order)).outcome
        }
        guard ordered else { return }

        var opening = OpenComplaintRequest()
        opening.key = IdempotencyKey(adapterID: "failover-sales-\(run)", externalID: "complaint-\(agent)")
        opening.customer = CustomerSelector(target: .handle(Handle(kind: .phone, value: phone)))
        opening.orderNumber = number
        opening.category = .lostAtCustoms
        opening.summary = "failover \(run) complaint \(agent)"
        let id = Mutex<String?>(nil)
        let opened = await FailoverLoad.untilAcknowledged(opening.summary, clients: supervisors, node: &node, giveUp: giveUp, tally: tally) {
            client in
            let response = try await client.complaints.openComplaint(opening)
            id.withLock { $0 = response.complaint?.complaintID }
            return response.outcome
        }
        guard opened, let complaintID = id.withLock({ $0 }) else { return }
        complaints.add(complaintID)

        var state = CRMMessages.ComplaintState.opened
        var sequence = 0
        while ContinuousClock.now < end {
            let target: CRMMessages.ComplaintState = state == .inReview ? .waitingOnSupplier : .inReview
            var request = TransitionComplaintRequest()
            request.key = IdempotencyKey(adapterID: "failover-agent-\(run)", externalID: "a\(agent)-m\(sequence)")
            request.complaintID = complaintID
            request.toState = target
            request.expectedState = state
            // A move to IN_REVIEW carries no note (the domain keeps none for it): each move is known by the id the
            // server derives from its key, which the acknowledgement gives.
            if target == .waitingOnSupplier { request.note = "failover \(run) a\(agent)-m\(sequence)" }
            let moved = await FailoverLoad.untilAcknowledged(
                "failover \(run) a\(agent)-m\(sequence)", clients: supervisors, node: &node, giveUp: giveUp, tally: tally
            ) { client in
                let response = try await client.complaints.transitionComplaint(request)
                return (response.outcome, Self.moveText(run: run, factID: response.transition?.factID ?? "?"))
            }
            guard moved else { return }
            tally.moved()
            state = target
            sequence += 1
        }
    }

    static func orderNumber(agent: Int, run: String) -> String { "FO-\(run)-\(agent)" }
    static func orderText(agent: Int, run: String) -> String { "failover \(run) order \(agent)" }

    /// Whether agent `agent`'s order is stored, asked through the first node that answers.
    static func orderStored(agent: Int, run: String, clients: [CRMClient]) async throws -> Bool {
        let request = GetOrderRequest(orderNumber: orderNumber(agent: agent, run: run))
        return try await FailoverLoad.readThroughAnyNode(clients, { try await $0.orders.getOrder(request) })?.order != nil
    }

    /// How a move is counted: by the id of its fact.
    static func moveText(run: String, factID: String) -> String { "failover \(run) move \(factID)" }

    /// The complaint's summary and every move, read through the first node that answers.
    static func texts(of id: String, run: String, clients: [CRMClient]) async throws -> [String] {
        let request = GetComplaintRequest(complaintID: id)
        guard let complaint = try await FailoverLoad.readThroughAnyNode(clients, { try await $0.complaints.getComplaint(request) })?.complaint
        else { return [] }
        return [complaint.summary] + complaint.transitions.map { moveText(run: run, factID: $0.factID) }
    }
}
