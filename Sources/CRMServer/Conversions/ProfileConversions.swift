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
    init(profile: CRMDomain.CustomerProfile, snapshot: CRMDomain.CallerSnapshot) {
        self.init(
            interactionsTotal: UInt32(clamping: profile.counters.interactions), ordersTotal: UInt32(clamping: profile.orders.count),
            spendTotalRupiah: profile.counters.spend, complaintsTotal: UInt32(clamping: snapshot.complaints.allTime),
            complaintsLast90Days: UInt32(clamping: snapshot.complaints.recent),
            complaintsOpen: UInt32(clamping: profile.complaints.count(where: \.isOpenForCustomer)),
            infoRequestsTotal: UInt32(clamping: snapshot.informationRequests.allTime),
            infoRequestsLast90Days: UInt32(clamping: snapshot.informationRequests.recent))
    }
}

extension ChannelLastContact {
    init(_ record: InteractionRecord) {
        self.init(
            channel: record.interaction.channel.wire, interactionID: record.factID.rawValue, occurredMs: record.at,
            direction: record.interaction.direction.wire, intent: record.interaction.intent.wire, summary: record.interaction.summary)
    }
}

extension CRMMessages.CustomerProfile {
    /// The wire profile.
    ///
    /// Decisions: the domain keeps normalised handles, not how they were first written, so `raw_value` is the
    /// normalised value; first/last seen and channels come from the interactions on each handle. The domain's
    /// profile does not carry the link facts that shaped it, so `links` is empty.
    init(_ p: CRMDomain.CustomerProfile, now: Int64, interactionLimit: Int) {
        let snapshot = CRMDomain.CallerSnapshot(profile: p, now: now, problem: nil)
        let priority = snapshot.routing.priority.wire
        self.init()
        customerID = p.id.rawValue
        displayName = p.name ?? ""
        tier = snapshot.tier.wire
        isVvip = snapshot.isVVIP
        customerSinceMs = p.firstSeenAt
        tenureDays = UInt32(clamping: snapshot.tenureDays)
        counters = CRMMessages.ProfileCounters(profile: p, snapshot: snapshot)
        identities = p.handles.sorted().map { handle in
            let on = p.timeline.filter { $0.interaction.handle == handle }
            let channels = Set(on.map(\.interaction.channel)).sorted()
            return Identity(
                handle: handle.wire, rawValue: handle.value, firstSeenMs: on.first?.at ?? p.firstSeenAt,
                lastSeenMs: on.last?.at ?? p.firstSeenAt, channels: channels.map(\.wire))
        }
        fields = CRMDomain.ProfileField.allCases.compactMap { field in
            p.fields[field].map { CRMMessages.FieldObservation(field: field, value: $0, subject: nil) }
        }
        lastContacts = p.lastInteractionPerChannel.map(ChannelLastContact.init)
        openComplaints = p.complaints.filter(\.isOpenForCustomer).sorted { $0.openedAt < $1.openedAt }.map {
            CRMMessages.ComplaintSummary($0, customerID: p.id.rawValue, priority: priority, now: now)
        }
        recentOrders = p.orders.sorted { ($0.record.placedAt, $1.orderNumber) > ($1.record.placedAt, $0.orderNumber) }.prefix(10).map {
            CRMMessages.OrderSummary(view: $0, now: now)
        }
        recentInteractions = p.timeline.sorted { ($0.at, $1.factID) > ($1.at, $0.factID) }.prefix(interactionLimit).map {
            CRMMessages.Interaction(record: $0, customerID: p.id.rawValue)
        }
        asOfMs = now
    }
}

extension CRMMessages.CallerSnapshot {
    init(_ s: CRMDomain.CallerSnapshot, profile: CRMDomain.CustomerProfile, matched: CRMDomain.Handle?, now: Int64) {
        self.init()
        customerID = s.customerID.rawValue
        displayName = s.name ?? ""
        tier = s.tier.wire
        isVvip = s.isVVIP
        customerSinceMs = s.customerSince
        tenureDays = UInt32(clamping: s.tenureDays)
        counters = CRMMessages.ProfileCounters(profile: profile, snapshot: s)
        let priority = s.routing.priority.wire
        openComplaints = profile.complaints.filter(\.isOpenForCustomer).sorted { $0.openedAt < $1.openedAt }.map {
            CRMMessages.ComplaintSummary($0, customerID: s.customerID.rawValue, priority: priority, now: now)
        }
        recentOrders = profile.orders.sorted { ($0.record.placedAt, $1.orderNumber) > ($1.record.placedAt, $0.orderNumber) }.prefix(5).map {
            CRMMessages.OrderSummary(view: $0, now: now)
        }
        lastContacts = profile.lastInteractionPerChannel.map(ChannelLastContact.init)
        routingQueue = s.routing.queue.wire
        routingPriority = priority
        routingReason = s.routing.reason
        matchedHandle = matched?.wire
        asOfMs = now
    }
}

extension ProblemType {
    /// The problem a caller chose in the IVR; nil when not asked. Decision: ORDER means a new or changed order,
    /// FEEDBACK and OTHER route as "another matter".
    init?(intent: Intent) {
        switch intent {
        case .complaint: self = .complaint(nil)
        case .order: self = .newOrder
        case .informationRequest: self = .informationRequest
        case .feedback, .other: self = .other
        case .unspecified, .unrecognized: return nil
        }
    }
}
