import CRMDomain
import CRMMessages
import CRMRPC
import CRMStore
import CRMWire

/// crm.v1.InteractionService: ingests interactions (one at a time, in bulk, and in agent sessions), streams them
/// to queue watchers, and serves the cross-channel timeline.
struct InteractionServiceProvider: RPCService {
    let env: ServiceEnvironment

    init(env: ServiceEnvironment) { self.env = env }

    func registerMethods(with router: inout MethodRouter) {
        router.register(CRMMessages.InteractionService.pushInteraction) { request, _ in
            try await pushOne(request)
        }
        router.registerClientStreaming(CRMMessages.InteractionService.pushInteractions) { requests, _ in
            try await pushMany(requests)
        }
        router.registerServerStreaming(CRMMessages.InteractionService.watchInteractions, idempotent: true) { request, writer, _ in
            try await watch(request, writer)
        }
        router.register(CRMMessages.InteractionService.getTimeline, idempotent: true) { request, _ in
            try await timeline(request)
        }
        router.registerBidirectional(CRMMessages.InteractionService.converse) { requests, writer, _ in
            try await converse(requests, writer)
        }
    }

    // MARK: Push

    func pushOne(_ request: PushInteractionRequest) async throws -> PushInteractionResponse {
        let submission = try validated {
            try InteractionSubmission(wire: request.interaction, field: "interaction", source: env.factSource)
        }
        let (outcome, customer) = try await store(submission, method: "PushInteraction")
        return PushInteractionResponse(outcome: outcome, interactionID: submission.fact.id.rawValue, customerID: customer)
    }

    /// Stores one validated interaction with its stated links and its audit entry in one append, then publishes it.
    func store(_ submission: InteractionSubmission, method: String) async throws -> (ItemOutcome, String) {
        let receipt = try await env.write(
            [submission.fact] + submission.statedLinks, audit: method, subject: .customerOfFact(0),
            "interaction \(submission.fact.id) on \(submission.interaction.channel.rawValue)")
        let outcome = receipt.outcomes[0].wire
        let customer = receipt.customers[0]?.rawValue ?? ""
        if outcome == .accepted { await publish([(submission, customer)]) }
        return (outcome, customer)
    }

    /// Items appended together while a bulk push's stream is still open: the stream is consumed as it arrives, so a
    /// long stream holds at most one chunk of requests in memory, and every chunk appended before a failure stays
    /// stored (its items answer DUPLICATE when sent again).
    static let chunkSize = 1_000

    func pushMany(_ requests: RequestStream<PushInteractionsRequest>) async throws -> PushInteractionsResponse {
        var results = BulkResults<PushInteractionResult>()
        var pending: [(index: Int, submission: InteractionSubmission)] = []
        var rejected: [PushInteractionResult] = []
        var index = 0
        let source = env.factSource
        for try await request in requests {
            defer { index += 1 }
            do throws(RequestFieldError) {
                let submission = try InteractionSubmission(wire: request.interaction, field: "interaction", source: source)
                pending.append((index, submission))
            } catch {
                rejected.append(PushInteractionResult(
                    index: UInt64(index), key: request.interaction?.key, outcome: .rejected, violations: [error.violation]))
            }
            if pending.count + rejected.count == Self.chunkSize {
                try await pushChunk(pending, rejected: rejected, into: &results, items: index + 1)
                pending.removeAll(keepingCapacity: true)
                rejected.removeAll(keepingCapacity: true)
            }
        }
        try await pushChunk(pending, rejected: rejected, into: &results, items: index)
        var response = PushInteractionsResponse(results: results.inStreamOrder)
        response.acceptedCount = UInt64(response.results.count { $0.outcome == .accepted })
        response.duplicateCount = UInt64(response.results.count { $0.outcome == .duplicate })
        response.rejectedCount = UInt64(response.results.count { $0.outcome == .rejected })
        return response
    }

    /// Appends one chunk of a bulk push with its audit entry, publishes the new interactions, then records every
    /// item's result, the ones refused before the append included: when the results outgrow one response, everything
    /// the stream carried up to here is stored (and published) before the call ends.
    private func pushChunk(
        _ chunk: [(index: Int, submission: InteractionSubmission)], rejected: [PushInteractionResult],
        into results: inout BulkResults<PushInteractionResult>, items: Int
    ) async throws {
        var chunkResults = rejected
        if let first = chunk.first, let last = chunk.last {
            let outcomes = try await env.writeChunk(
                chunk.map { ($0.index, [$0.submission.fact] + $0.submission.statedLinks) }, audit: "PushInteractions", subject: "interactions",
                "\(chunk.count) interactions, items \(first.index)–\(last.index) of the stream"
            ) { position in "item \(position) of the stream" }
            var accepted: [(InteractionSubmission, String)] = []
            for item in chunk {
                switch outcomes[item.index]! {
                case .success(let (outcome, customer)):
                    chunkResults.append(PushInteractionResult(
                        index: UInt64(item.index), key: item.submission.key, outcome: outcome,
                        interactionID: item.submission.fact.id.rawValue, customerID: customer))
                    if outcome == .accepted { accepted.append((item.submission, customer)) }
                case .failure(let status):
                    chunkResults.append(PushInteractionResult(
                        index: UInt64(item.index), key: item.submission.key, outcome: .rejected,
                        violations: [CRMMessages.FieldViolation(field: "interaction", reason: status.message)]))
                }
            }
            await publish(accepted)
        }
        for result in chunkResults { try results.add(result, at: Int(result.index), items: items) }
    }

    /// Publishes new interactions to watchers (and the hub's replay buffer). The customer's name and priority are
    /// looked up only while someone is watching, to keep ingestion fast; a replayed event published while nobody
    /// watched carries NORMAL priority and no name.
    func publish(_ items: [(InteractionSubmission, String)]) async {
        let lookUp = await env.events.subscriberCount > 0
        let now = env.now()
        for (submission, customer) in items {
            var event = WatchInteractionsResponse()
            let record = InteractionRecord(
                interaction: submission.interaction, at: submission.fact.observedAt, source: submission.fact.source,
                factID: submission.fact.id)
            event.interaction = CRMMessages.Interaction(record: record, customerID: customer)
            event.priority = .normal
            if lookUp, let snapshot = try? await env.store.callerSnapshot(for: submission.interaction.handle, now: now, problem: nil) {
                event.priority = snapshot.routing.priority.wire
                event.customerDisplayName = snapshot.name ?? ""
            }
            await env.events.publish(.interaction(event, customerID: customer), at: now)
        }
    }

    // MARK: Watch

    func watch(_ request: WatchInteractionsRequest, _ writer: ResponseWriter<WatchInteractionsResponse>) async throws {
        let channels = try validated { try CRMDomain.Channel.filter(request.channels, field: "channels") }
        let since = try validated { try Check.time(request.sinceMs, "since_ms") }
        switch request.queue {
        case .unrecognized(let n): throw RPCStatus.invalidArgument("queue", "is \(n), a queue this server does not know")
        default: break
        }
        let wireChannels = channels.map { Set($0.map(\.wire)) }
        func matches(_ event: WatchInteractionsResponse) -> Bool {
            guard let interaction = event.interaction else { return false }
            if request.queue != .unspecified && interaction.queue != request.queue { return false }
            if let wireChannels, !wireChannels.contains(interaction.channel) { return false }
            return true
        }
        let replay = WatchReplay(store: env.store, events: env.events)
        try await replay.run(
            since: since,
            history: { through, send in
                try await replay.facts(.interactions, since: since, through: through) { positioned in
                    guard case .interaction(let interaction) = positioned.fact.payload else { return }
                    let event = try await replayedEvent(interaction, fact: positioned.fact)
                    if matches(event) { try await send(positioned.fact.id.rawValue, .interaction(event, customerID: event.interaction?.customerID ?? "")) }
                }
            },
            id: { event in
                guard case .interaction(let e, _) = event else { return nil }
                return e.interaction?.interactionID
            },
            deliver: { event in
                if case .interaction(let e, _) = event, matches(e) { try await writer.write(e) }
            })
    }

    /// A stored interaction as its watch event: the customer it belongs to now, with the name and priority they have
    /// now.
    func replayedEvent(_ interaction: CRMDomain.Interaction, fact: Fact) async throws -> WatchInteractionsResponse {
        let customer = try await env.store.customerID(for: interaction.handle)?.rawValue ?? ""
        var event = WatchInteractionsResponse()
        event.interaction = CRMMessages.Interaction(
            record: InteractionRecord(interaction: interaction, at: fact.observedAt, source: fact.source, factID: fact.id), customerID: customer)
        event.priority = .normal
        if let snapshot = try await env.store.callerSnapshot(for: interaction.handle, now: env.now(), problem: nil) {
            event.priority = snapshot.routing.priority.wire
            event.customerDisplayName = snapshot.name ?? ""
        }
        return event
    }

    // MARK: Timeline

    func timeline(_ request: GetTimelineRequest) async throws -> GetTimelineResponse {
        let (channels, window, size) = try validated {
            let channels = try CRMDomain.Channel.filter(request.channels, field: "channels")
            let window = try Check.timeRange(request.window, "window")
            let requested = Int(request.page?.pageSize ?? 0)
            return (channels, window, requested == 0 ? Page.defaultSize : min(requested, Page.maximumSize))
        }
        var cursor: TimelineCursor?
        if let token = request.page?.pageToken, !token.isEmpty {
            do {
                cursor = try TimelineCursor(token: token)
            } catch {
                throw RPCStatus.invalidArgument("page.page_token", "'\(token)' is not a token this server issued: \(error)")
            }
        }
        let customer = try await env.resolve(request.customer, field: "customer")
        var found: [InteractionRecord] = []
        var exhausted = false
        scan: while found.count < size {
            let page = try await env.store.timeline(of: customer, before: cursor, limit: max(size, 100))
            for record in page.records {
                cursor = TimelineCursor(at: record.at, factID: record.factID)
                if let window {
                    if record.at >= window.end { continue }
                    if record.at < window.start { exhausted = true; break scan }
                }
                if let channels, !channels.contains(record.interaction.channel) { continue }
                found.append(record)
                if found.count == size { break scan }
            }
            if page.next == nil { exhausted = true; break }
        }
        var response = GetTimelineResponse(customerID: customer.rawValue)
        response.interactions = found.map { CRMMessages.Interaction(record: $0, customerID: customer.rawValue) }
        response.page = PageInfo(nextPageToken: (!exhausted && found.count == size) ? (cursor?.token ?? "") : "")
        return response
    }

    // MARK: Converse

    /// Stores one outbound interaction of a conversation and says what happened to it.
    func receive(_ wire: CRMMessages.Interaction, customer: CustomerID, source: FactSource) async throws -> ConverseReceipt {
        var receipt = ConverseReceipt(key: wire.key)
        do {
            let submission = try InteractionSubmission(wire: wire, field: "outbound", source: source)
            if let resolved = try await env.store.customerID(for: submission.interaction.handle), resolved != customer {
                throw RequestFieldError("outbound.handle", "belongs to another customer than this conversation's \(customer)")
            }
            let (outcome, _) = try await store(submission, method: "Converse")
            receipt.outcome = outcome
            receipt.interactionID = submission.fact.id.rawValue
        } catch let error as RequestFieldError {
            receipt.outcome = .rejected
            receipt.violations = [error.violation]
        } catch let status as RPCStatus where status.code == .invalidArgument {
            receipt.outcome = .rejected
            receipt.violations = [CRMMessages.FieldViolation(field: "outbound", reason: status.message)]
        }
        return receipt
    }

    func converse(_ requests: RequestStream<ConverseRequest>, _ writer: ResponseWriter<ConverseResponse>) async throws {
        var iterator = requests.makeAsyncIterator()
        guard let first = try await iterator.next() else { return }
        guard case .start(let start)? = first.action else {
            throw RPCStatus.invalidArgument("action", "the first message of a conversation must be start")
        }
        let channels = try validated { try CRMDomain.Channel.filter(start.channels, field: "start.channels") }
        let customer = try await env.resolve(start.customer, field: "start.customer")
        let wireChannels = channels.map { Set($0.map(\.wire)) }
        // Subscribe before reading history so nothing stored in between is missed.
        let (_, live) = await env.events.subscribe()
        var started = ConverseStarted(customerID: customer.rawValue)
        if let summary = try await env.store.summary(of: customer) {
            started.customerDisplayName = summary.name ?? ""
        }
        if start.historyLimit > 0 {
            let page = try await env.store.timeline(of: customer, before: nil, limit: Int(min(start.historyLimit, 200)))
            started.history = page.records
                .filter { wireChannels == nil || wireChannels!.contains($0.interaction.channel.wire) }
                .map { CRMMessages.Interaction(record: $0, customerID: customer.rawValue) }
        }
        try await writer.write(ConverseResponse(event: .started(started)))

        let (outbox, outboxWriter) = AsyncStream<ConverseResponse>.makeStream()
        let source = env.factSource
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                defer { outboxWriter.finish() }
                // The iterators share one queue: this one continues after the start message.
                var rest = requests.makeAsyncIterator()
                while let message = try await rest.next() {
                    guard case .outbound(let wire)? = message.action else {
                        throw RPCStatus.invalidArgument("action", "start may be sent only once, as the first message; send outbound interactions after it")
                    }
                    outboxWriter.yield(ConverseResponse(event: .receipt(try await receive(wire, customer: customer, source: source))))
                }
            }
            group.addTask {
                for await case .interaction(let event, let id) in live where id == customer.rawValue {
                    guard let interaction = event.interaction else { continue }
                    if let wireChannels, !wireChannels.contains(interaction.channel) { continue }
                    outboxWriter.yield(ConverseResponse(event: .interaction(interaction)))
                }
            }
            for await message in outbox { try await writer.write(message) }
            group.cancelAll()
        }
    }
}
