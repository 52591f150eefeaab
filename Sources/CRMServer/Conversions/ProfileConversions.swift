import CRMDomain
import CRMMessages
import CRMStore

extension CRMDomain.ProfileField {
    /// Decision: the domain observes four fields (name, company, city, address); province, postal code, preferred
    /// language and preferred channel have no place in it and are refused with INVALID_ARGUMENT.
    init(wire: CRMMessages.ProfileField, field: String) throws(RequestFieldError) {
        switch wire {
        case .fullName: self = .name
        case .companyName: self = .company
        case .addressLine: self = .address
        case .city: self = .city
        case .province, .postalCode, .preferredLanguage, .preferredChannel:
            throw RequestFieldError(field, "\(wire.protoName) is not kept by this server; it keeps FULL_NAME, COMPANY_NAME, ADDRESS_LINE and CITY")
        case .unspecified: throw RequestFieldError(field, "is required: choose the profile field")
        case .unrecognized(let n): throw RequestFieldError(field, "is \(n), a profile field this server does not know")
        }
    }

    var wire: CRMMessages.ProfileField {
        switch self {
        case .name: .fullName
        case .company: .companyName
        case .address: .addressLine
        case .city: .city
        }
    }
}

extension FactSource {
    /// Decision: observation sources map to the domain's fact sources of the same priority order (agent, order
    /// system, self-service, channel adapter); the domain's bulk-import source reads back as channel adapter.
    init(wire: ObservationSource, field: String) throws(RequestFieldError) {
        switch wire {
        case .agent: self = .agent
        case .orderSystem: self = .orderSystem
        case .customer: self = .selfService
        case .channelAdapter: self = .channel
        case .unspecified: throw RequestFieldError(field, "is required: who observed the value")
        case .unrecognized(let n): throw RequestFieldError(field, "is \(n), an observation source this server does not know")
        }
    }

    var observationSource: ObservationSource {
        switch self {
        case .agent: .agent
        case .orderSystem: .orderSystem
        case .selfService: .customer
        case .channel, .bulkImport: .channelAdapter
        }
    }
}

extension CRMMessages.FieldObservation {
    init(field: CRMDomain.ProfileField, value: ObservedValue, subject: CRMDomain.Handle?) {
        self.init(
            factID: value.factID.rawValue, key: IdempotencyKey(factID: value.factID), subject: subject?.wire, field: field.wire,
            value: value.value, source: value.source.observationSource, observedMs: value.observedAt)
    }
}

extension CRMMessages.ProfileCounters {
    init(summary: CustomerSummary, snapshot: CRMDomain.CallerSnapshot) {
        self.init(
            interactionsTotal: UInt32(clamping: summary.interactionCount), ordersTotal: UInt32(clamping: summary.orders.count),
            spendTotalRupiah: summary.spend, complaintsTotal: UInt32(clamping: snapshot.complaints.allTime),
            complaintsLast90Days: UInt32(clamping: snapshot.complaints.recent),
            complaintsOpen: UInt32(clamping: summary.complaints.count(where: \.state.isAwaitingOutcome)),
            infoRequestsTotal: UInt32(clamping: snapshot.informationRequests.allTime),
            infoRequestsLast90Days: UInt32(clamping: snapshot.informationRequests.recent))
    }
}

extension ChannelLastContact {
    init(_ contact: LastContact) {
        self.init(
            channel: contact.channel.wire, interactionID: contact.factID.rawValue, occurredMs: contact.at,
            direction: contact.direction.wire, intent: contact.intent.wire, summary: contact.summary)
    }
}

extension CustomerSummary {
    /// Complaints the customer still waits on (neither closed nor rejected), oldest first, as the wire lists them.
    func wireOpenComplaints(priority: RoutingPriority, now: Int64) -> [CRMMessages.ComplaintSummary] {
        complaints.filter(\.state.isAwaitingOutcome).map { CRMMessages.ComplaintSummary($0, customerID: id.rawValue, priority: priority, now: now) }
    }

    /// The newest `limit` orders, newest first.
    func wireRecentOrders(limit: Int, now: Int64) -> [CRMMessages.OrderSummary] {
        orders.reversed().prefix(limit).map { CRMMessages.OrderSummary(digest: $0, now: now) }
    }
}

extension CRMMessages.CustomerProfile {
    /// The wire profile: the customer's read model and their newest interactions (`recent`, newest first).
    ///
    /// Decisions: the domain keeps normalised handles, not how they were first written, so `raw_value` is the
    /// normalised value; first/last seen and channels come from the interactions on each handle. The domain's
    /// profile does not carry the link facts that shaped it, so `links` is empty.
    init(summary: CustomerSummary, recent: [InteractionRecord], now: Int64) {
        let snapshot = CRMDomain.CallerSnapshot(summary: summary, now: now, problem: nil)
        let priority = snapshot.routing.priority.wire
        self.init()
        customerID = summary.id.rawValue
        displayName = summary.name ?? ""
        tier = snapshot.tier.wire
        isVvip = snapshot.isVVIP
        customerSinceMs = summary.customerSince ?? 0
        tenureDays = UInt32(clamping: snapshot.tenureDays)
        counters = CRMMessages.ProfileCounters(summary: summary, snapshot: snapshot)
        identities = summary.handles.map { activity in
            Identity(
                handle: activity.handle.wire, rawValue: activity.handle.value, firstSeenMs: activity.firstInteractionAt ?? summary.firstSeenAt,
                lastSeenMs: activity.lastInteractionAt ?? summary.firstSeenAt, channels: activity.channels.map(\.wire))
        }
        fields = CRMDomain.ProfileField.allCases.compactMap { field in
            summary.fields[field].map { CRMMessages.FieldObservation(field: field, value: $0, subject: nil) }
        }
        lastContacts = summary.lastContacts.map(ChannelLastContact.init)
        openComplaints = summary.wireOpenComplaints(priority: priority, now: now)
        recentOrders = summary.wireRecentOrders(limit: 10, now: now)
        recentInteractions = recent.map { CRMMessages.Interaction(record: $0, customerID: summary.id.rawValue) }
        asOfMs = now
    }
}

extension CRMMessages.CallerSnapshot {
    init(_ s: CRMDomain.CallerSnapshot, summary: CustomerSummary, matched: CRMDomain.Handle?, now: Int64) {
        self.init()
        customerID = s.customerID.rawValue
        displayName = s.name ?? ""
        tier = s.tier.wire
        isVvip = s.isVVIP
        customerSinceMs = s.customerSince ?? 0
        tenureDays = UInt32(clamping: s.tenureDays)
        counters = CRMMessages.ProfileCounters(summary: summary, snapshot: s)
        let priority = s.routing.priority.wire
        openComplaints = summary.wireOpenComplaints(priority: priority, now: now)
        recentOrders = summary.wireRecentOrders(limit: 5, now: now)
        lastContacts = s.lastContacts.map(ChannelLastContact.init)
        routingQueue = s.routing.queue.wire
        routingPriority = priority
        routingReason = s.routing.reason
        matchedHandle = matched?.wire
        asOfMs = now
    }
}

extension ProblemType {
    /// The problem a caller chose in the IVR, as the domain reads the intent; nil when not asked (or unknown).
    init?(intent: Intent) {
        guard intent != .unspecified, let known = try? InteractionIntent(wire: intent, field: "intent") else { return nil }
        self = known.problem
    }
}
