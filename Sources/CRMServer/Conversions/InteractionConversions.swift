package import CRMDomain
import CRMMessages
import CRMStore

/// A validated interaction push: the interaction fact plus the link facts of the handles it states.
struct InteractionSubmission: Sendable {
    let fact: Fact
    let interaction: CRMDomain.Interaction
    let statedLinks: [Fact]
    let key: IdempotencyKey
}

extension InteractionSubmission {
    /// Validates a wire interaction.
    ///
    /// Decisions, where the proto says more than the domain keeps:
    /// - the domain's text of an interaction is the summary when one is given, otherwise the subject and body
    ///   joined by a new line. When both a summary and a body are given, both are kept: the subject and body read
    ///   back as the body (joined by a new line), the summary as the summary.
    /// - `attachments` and `call_duration_ms` have no place in the domain; a push carrying them is refused with
    ///   INVALID_ARGUMENT rather than stored without them.
    /// - `author` is not stored: the audit trail records which principal pushed the interaction.
    /// - each of `stated_handles` becomes an identity-link fact (evidence: stated in the interaction), id
    ///   `<interaction id>/stated/<n>`, so the customer's handles join as the proto promises.
    /// - `interaction_id`, `customer_id` and `queue` are derived and ignored on input.
    init(wire: CRMMessages.Interaction?, field: String, source: FactSource) throws(RequestFieldError) {
        let wire = try Check.present(wire, field)
        let id = try Check.key(wire.key, field + ".key")
        let channel = try CRMDomain.Channel(wire: wire.channel, field: field + ".channel")
        let direction = try CRMDomain.Direction(wire: wire.direction, field: field + ".direction")
        let handle = try CRMDomain.Handle(wire: wire.handle, field: field + ".handle")
        let occurred = try Check.requiredTime(wire.occurredMs, field + ".occurred_ms")
        let intent = try InteractionIntent(wire: wire.intent, field: field + ".intent")
        if !wire.attachments.isEmpty {
            throw RequestFieldError(field + ".attachments", "attachments are not stored by this server; put the file's uri in the body instead")
        }
        if wire.callDurationMs != nil {
            throw RequestFieldError(field + ".call_duration_ms", "call durations are not stored by this server; leave it out or mention it in the summary")
        }
        let order = try wire.orderNumber.map { v throws(RequestFieldError) in try Check.orderNumber(v.value, field + ".order_number.value") }
        let complaint = try wire.complaintID.map { v throws(RequestFieldError) in try Check.complaintID(v.value, field + ".complaint_id.value") }
        let text: String
        var body = ""
        let message = [wire.subject, wire.body].filter { !$0.trimmingWhitespace.isEmpty }.joined(separator: "\n")
        if !wire.summary.trimmingWhitespace.isEmpty {
            text = wire.summary
            body = message
            _ = try Check.bounded(text, field + ".summary", maximum: 64 * 1024)
            _ = try Check.bounded(body, field + ".body", maximum: 64 * 1024)
        } else {
            text = message
            _ = try Check.bounded(text, field + ".body", maximum: 64 * 1024)
        }
        let interaction: CRMDomain.Interaction
        do {
            interaction = try CRMDomain.Interaction(
                channel: channel, direction: direction, handle: handle, intent: intent, summary: text,
                orderNumber: order, complaintID: complaint, body: body)
        } catch {
            throw RequestFieldError(field + ".handle.kind", error.description)
        }
        var links: [Fact] = []
        for (i, statedWire) in wire.statedHandles.enumerated() {
            let stated = try CRMDomain.Handle(wire: statedWire, field: "\(field).stated_handles[\(i)]")
            guard stated != handle else { continue }
            do {
                let pair = try HandlePair(handle, stated)
                let linkID = try FactID("\(id.rawValue)/stated/\(i)")
                links.append(Fact(id: linkID, observedAt: occurred, source: source, payload: .identityLink(pair)))
            } catch {
                throw RequestFieldError("\(field).stated_handles[\(i)]", "\(error)")
            }
        }
        self.fact = Fact(id: id, observedAt: occurred, source: source, payload: .interaction(interaction))
        self.interaction = interaction
        self.statedLinks = links
        self.key = wire.key ?? IdempotencyKey()
    }
}

extension IdempotencyKey {
    /// The key a fact id was made from (`adapter/external`, split at the first `/`).
    package init(factID: FactID) {
        let raw = factID.rawValue
        if let slash = raw.firstIndex(of: "/") {
            self.init(adapterID: String(raw[..<slash]), externalID: String(raw[raw.index(after: slash)...]))
        } else {
            self.init(adapterID: "", externalID: raw)
        }
    }
}

extension CRMMessages.Interaction {
    /// The wire form of a stored interaction; the stored text is returned as the summary and a body kept beside a
    /// summary as the body (see ``InteractionSubmission``).
    init(record: InteractionRecord, customerID: String) {
        let i = record.interaction
        self.init()
        interactionID = record.factID.rawValue
        key = IdempotencyKey(factID: record.factID)
        channel = i.channel.wire
        direction = i.direction.wire
        handle = i.handle.wire
        self.customerID = customerID
        occurredMs = record.at
        summary = i.summary
        body = i.body
        intent = i.intent.wire
        orderNumber = i.orderNumber.map { StringValue(value: $0.rawValue) }
        complaintID = i.complaintID.map { StringValue(value: $0.rawValue) }
        queue = CallRouting.queue(for: i.intent).wire
    }
}
