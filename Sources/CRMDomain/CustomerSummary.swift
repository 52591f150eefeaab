/// What the read model keeps of one order: enough for the caller snapshot, the profile's recent orders, the
/// counters and the loyalty tier, without the lines or the tracking history.
public struct OrderDigest: Sendable, Hashable {
    /// The order number.
    public let orderNumber: OrderNumber
    /// When it was placed.
    public let placedAt: Int64
    /// The goods value (what tiers and spend count).
    public let subtotal: Int64
    /// What the customer owes in total.
    public let total: Int64
    /// How many lines the order has.
    public let lineCount: Int
    /// The status its tracking gives.
    public let status: TrackingStage
    /// The estimate in force, if any.
    public let estimatedDeliveryAt: Int64?

    /// The digest of an order's view.
    public init(_ view: OrderView) {
        self.init(
            orderNumber: view.orderNumber, placedAt: view.record.placedAt, subtotal: view.record.subtotal, total: view.record.total,
            lineCount: view.record.items.count, status: view.status, estimatedDeliveryAt: view.estimatedDeliveryAt)
    }

    /// Restores a digest (for example, read back from storage).
    public init(
        orderNumber: OrderNumber, placedAt: Int64, subtotal: Int64, total: Int64, lineCount: Int, status: TrackingStage,
        estimatedDeliveryAt: Int64?
    ) {
        self.orderNumber = orderNumber
        self.placedAt = placedAt
        self.subtotal = subtotal
        self.total = total
        self.lineCount = lineCount
        self.status = status
        self.estimatedDeliveryAt = estimatedDeliveryAt
    }

    /// Whether the goods are overdue at `now` (the rule of ``OrderView/isOverdue(now:)``).
    public func isOverdue(now: Int64) -> Bool {
        OrderTracking.isOverdue(estimate: estimatedDeliveryAt, status: status, now: now)
    }

    /// The order as the agent screen lists it at `now`.
    public func summary(now: Int64) -> OrderSummary {
        OrderSummary(
            orderNumber: orderNumber, placedAt: placedAt, total: total, status: status, estimatedDeliveryAt: estimatedDeliveryAt,
            isOverdue: isOverdue(now: now))
    }

    /// The read model's order: by placement time, then number.
    static func precedes(_ a: OrderDigest, _ b: OrderDigest) -> Bool { (a.placedAt, a.orderNumber) < (b.placedAt, b.orderNumber) }
}

/// What the read model keeps of one complaint: enough for the counts, the open complaints and their service-level
/// clocks, without the items, the decision's lines or the history.
public struct ComplaintDigest: Sendable, Hashable {
    /// The complaint.
    public let id: ComplaintID
    /// The order it is about.
    public let orderNumber: OrderNumber
    /// Its category.
    public let category: ComplaintCategory
    /// Its state.
    public let state: ComplaintState
    /// When it was opened.
    public let openedAt: Int64
    /// When it last changed (its last applied step, else its opening).
    public let lastChangedAt: Int64
    /// When staff first acted on it, if they did.
    public let firstResponseAt: Int64?
    /// When the customer was told the outcome, if they were.
    public let resolvedAt: Int64?
    /// The refund decided, in rupiah (0 before a decision).
    public let compensationTotal: Int64

    /// The digest of a complaint.
    public init(_ complaint: Complaint) {
        self.init(
            id: complaint.id, orderNumber: complaint.orderNumber, category: complaint.category, state: complaint.state,
            openedAt: complaint.openedAt, lastChangedAt: complaint.lastChangedAt, firstResponseAt: complaint.firstResponseAt,
            resolvedAt: complaint.resolvedAt, compensationTotal: complaint.compensationTotal)
    }

    /// Restores a digest (for example, read back from storage).
    public init(
        id: ComplaintID, orderNumber: OrderNumber, category: ComplaintCategory, state: ComplaintState, openedAt: Int64,
        lastChangedAt: Int64, firstResponseAt: Int64?, resolvedAt: Int64?, compensationTotal: Int64
    ) {
        self.id = id
        self.orderNumber = orderNumber
        self.category = category
        self.state = state
        self.openedAt = openedAt
        self.lastChangedAt = lastChangedAt
        self.firstResponseAt = firstResponseAt
        self.resolvedAt = resolvedAt
        self.compensationTotal = compensationTotal
    }

    /// Not closed (the rule of ``Complaint/isOpen``).
    public var isOpen: Bool { state.isOpen }

    /// Its service-level clocks at `now`.
    public func serviceLevel(now: Int64, policy: ServiceLevelPolicy = .standard) -> ServiceLevelStatus {
        ServiceLevelStatus(
            openedAt: openedAt, firstResponseAt: firstResponseAt, resolvedAt: resolvedAt, category: category, now: now, policy: policy)
    }

    /// The read model's order: by opening time, then id.
    static func precedes(_ a: ComplaintDigest, _ b: ComplaintDigest) -> Bool { (a.openedAt, a.id) < (b.openedAt, b.id) }
}

/// What the read model keeps of one handle: when interactions from it were first and last seen, on which channels.
public struct HandleActivity: Sendable, Hashable {
    /// The handle.
    public let handle: Handle
    /// The earliest interaction from it, if any.
    public private(set) var firstInteractionAt: Int64?
    /// The latest interaction from it, if any.
    public private(set) var lastInteractionAt: Int64?
    /// The channels its interactions came on, in ``Channel`` order.
    public private(set) var channels: [Channel]

    /// Restores an activity record (for example, read back from storage); `channels` is sorted and deduplicated.
    public init(handle: Handle, firstInteractionAt: Int64? = nil, lastInteractionAt: Int64? = nil, channels: [Channel] = []) {
        self.handle = handle
        self.firstInteractionAt = firstInteractionAt
        self.lastInteractionAt = lastInteractionAt
        self.channels = Array(Set(channels)).sorted()
    }

    mutating func record(_ channel: Channel, at: Int64) {
        firstInteractionAt = Swift.min(firstInteractionAt ?? .max, at)
        lastInteractionAt = Swift.max(lastInteractionAt ?? .min, at)
        if let index = channels.firstIndex(where: { $0 >= channel }) {
            if channels[index] != channel { channels.insert(channel, at: index) }
        } else {
            channels.append(channel)
        }
    }
}

/// The per-customer read model: everything the caller snapshot and the profile's header need, kept current as facts
/// arrive, so that the caller's screen is one indexed read and a small computation at `now`.
///
/// It is a pure function of the set of the customer's facts, like ``CustomerProfile`` (whose ``CustomerProfile/summary``
/// it is): each part is either a fold that does not depend on the order facts arrive in — counts of distinct facts,
/// minima and maxima, the winner by ``FactPrecedence``, the newest contact per channel by (time, fact id), a sorted
/// list of information-request times — or a digest of an order or complaint, which the order's or complaint's own
/// facts determine. So folding each new fact once (``fold(_:)``) and replacing the digests of the orders and
/// complaints a write touched (``place(_:)-swift.method``, ``removeOrder(_:)``) gives exactly the summary a
/// projection of all the facts gives.
///
/// What depends on the clock — the tier over the rolling window, the 90-day counts, tenure, overdue orders and
/// service-level clocks — is not stored: ``CallerSnapshot/init(summary:now:problem:loyalty:serviceLevel:recentOrderLimit:)``
/// computes it at `now` from the stored inputs (order placement times and values, opening times, request times).
///
/// A fold cannot be exact where a fact changes who the customer is: a link that merges customers, an unlink that
/// splits them, a back-dated fact that moves the anchor, or a conflicting fact that replaces another. There the
/// summary is rebuilt from the facts (``ProfileProjection``).
public struct CustomerSummary: Sendable, Hashable {
    /// The customer's id.
    public let id: CustomerID
    /// The handle the id derives from.
    public let anchor: Handle
    /// Every handle, ascending, with its interaction activity.
    public private(set) var handles: [HandleActivity]
    /// The winning observation of each field, an empty (cleared) winner included: a later, older observation must
    /// not bring back a value that a newer empty one cleared.
    public private(set) var fieldWinners: [ProfileField: ObservedValue]
    /// The earliest time of a fact naming one of the handles (`Int64.max` before any).
    public private(set) var firstSeenAt: Int64
    /// The latest time of a fact naming one of the handles (`Int64.min` before any).
    public private(set) var lastSeenAt: Int64
    /// Interactions on any channel.
    public private(set) var interactionCount: Int
    /// Ratings given.
    public private(set) var ratingCount: Int
    /// The times of the newest inbound information requests, ascending (one entry per interaction), at most
    /// ``requestTimeLimit`` of them.
    public private(set) var informationRequestTimes: [Int64]
    /// Inbound information requests older than every time kept in ``informationRequestTimes``: counted, not kept.
    public private(set) var olderInformationRequests: Int
    /// The newest interaction per channel, by (time, fact id), in ``Channel`` order.
    public private(set) var lastContacts: [LastContact]
    /// The customer's orders, by placement time then number.
    public private(set) var orders: [OrderDigest]
    /// The customer's complaints, by opening time then id.
    public private(set) var complaints: [ComplaintDigest]

    /// When the customer's history begins in business time: the earliest first contact on any handle, order placed
    /// or complaint opened; `nil` when the facts state none (a customer known only from a name or a link). Tenure counts
    /// from here. It never depends on when a fact reached the store: an order placed 300 days ago and imported today
    /// makes a customer of 300 days, and a link or field observation recorded today moves nothing.
    public var customerSince: Int64? {
        let times = handles.compactMap(\.firstInteractionAt) + orders.map(\.placedAt) + complaints.map(\.openedAt)
        return times.min()
    }

    /// How many information-request times a summary keeps: enough for every real customer's 90-day window, while a
    /// handle that sends requests without end (a bot, a loop in an adapter) cannot make its summary, rewritten at
    /// each of its messages, grow without bound. The newest are kept, so the set kept does not depend on the order
    /// requests arrive in, and the 90-day count is exact unless more than this many requests fall within 90 days.
    public static let requestTimeLimit = 10_000

    /// The summary of a customer no fact has been folded into yet.
    public init(component: IdentityComponent) {
        self.init(
            id: component.id, anchor: component.anchor, handles: component.handles.map { HandleActivity(handle: $0) }, fieldWinners: [:],
            firstSeenAt: .max, lastSeenAt: .min, interactionCount: 0, ratingCount: 0, informationRequestTimes: [],
            olderInformationRequests: 0, lastContacts: [], orders: [], complaints: [])
    }

    /// Restores a summary (for example, read back from storage). The lists are put in the summary's orders.
    public init(
        id: CustomerID, anchor: Handle, handles: [HandleActivity], fieldWinners: [ProfileField: ObservedValue], firstSeenAt: Int64,
        lastSeenAt: Int64, interactionCount: Int, ratingCount: Int, informationRequestTimes: [Int64], olderInformationRequests: Int,
        lastContacts: [LastContact], orders: [OrderDigest], complaints: [ComplaintDigest]
    ) {
        self.id = id
        self.anchor = anchor
        self.handles = handles.sorted { $0.handle < $1.handle }
        self.fieldWinners = fieldWinners
        self.firstSeenAt = firstSeenAt
        self.lastSeenAt = lastSeenAt
        self.interactionCount = interactionCount
        self.ratingCount = ratingCount
        self.informationRequestTimes = informationRequestTimes.sorted()
        self.olderInformationRequests = olderInformationRequests
        self.lastContacts = lastContacts.sorted { $0.channel < $1.channel }
        self.orders = orders.sorted(by: OrderDigest.precedes)
        self.complaints = complaints.sorted(by: ComplaintDigest.precedes)
    }

    // MARK: Folding

    /// Folds in one fact naming at least one of the customer's handles. Call it once per distinct fact: the
    /// counts count folds (the store folds a fact only when it was stored as new).
    ///
    /// Orders and complaints are not folded from their facts: their digests depend on every fact of the order or
    /// complaint, wherever it is filed, so the caller places them (``place(_:)-swift.method``).
    public mutating func fold(_ fact: Fact) {
        firstSeenAt = Swift.min(firstSeenAt, fact.observedAt)
        lastSeenAt = Swift.max(lastSeenAt, fact.observedAt)
        switch fact.payload {
        case let .interaction(i):
            interactionCount += 1
            if i.intent == .informationRequest && i.direction == .inbound {
                informationRequestTimes.insert(fact.observedAt, at: Self.insertionPoint(of: fact.observedAt, in: informationRequestTimes))
                if informationRequestTimes.count > Self.requestTimeLimit {
                    informationRequestTimes.removeFirst()
                    olderInformationRequests += 1
                }
            }
            let contact = LastContact(
                channel: i.channel, at: fact.observedAt, factID: fact.id, direction: i.direction, intent: i.intent, summary: i.summary)
            if let index = lastContacts.firstIndex(where: { $0.channel >= i.channel }) {
                if lastContacts[index].channel != i.channel {
                    lastContacts.insert(contact, at: index)
                } else if (lastContacts[index].at, lastContacts[index].factID) < (contact.at, contact.factID) {
                    lastContacts[index] = contact
                }
            } else {
                lastContacts.append(contact)
            }
            if let index = handles.firstIndex(where: { $0.handle == i.handle }) { handles[index].record(i.channel, at: fact.observedAt) }
        case let .fieldObservation(o):
            if fieldWinners[o.field].map({ $0.precedence < fact.precedence }) ?? true {
                fieldWinners[o.field] = ObservedValue(value: o.value, observedAt: fact.observedAt, source: fact.source, factID: fact.id)
            }
        case let .rating(r):
            if r.handle != nil { ratingCount += 1 }
        case .identityLink, .identityUnlink, .order, .tracking, .complaintOpened, .complaintTransition, .delayNoticeSent,
            .returnInspection:
            break
        }
    }

    /// Puts an order's current digest in place of its earlier one (or adds it).
    public mutating func place(_ order: OrderDigest) {
        removeOrder(order.orderNumber)
        orders.insert(order, at: orders.firstIndex { OrderDigest.precedes(order, $0) } ?? orders.endIndex)
    }

    /// Removes an order (it now belongs to someone else, or no longer exists).
    public mutating func removeOrder(_ number: OrderNumber) {
        orders.removeAll { $0.orderNumber == number }
    }

    /// Puts a complaint's current digest in place of its earlier one (or adds it).
    public mutating func place(_ complaint: ComplaintDigest) {
        removeComplaint(complaint.id)
        complaints.insert(complaint, at: complaints.firstIndex { ComplaintDigest.precedes(complaint, $0) } ?? complaints.endIndex)
    }

    /// Removes a complaint (it now belongs to someone else, or no longer exists).
    public mutating func removeComplaint(_ id: ComplaintID) {
        complaints.removeAll { $0.id == id }
    }

    /// The index of the first element greater than `value` in an ascending array.
    private static func insertionPoint(of value: Int64, in sorted: [Int64]) -> Int {
        var low = 0, high = sorted.count
        while low < high {
            let mid = (low + high) / 2
            if sorted[mid] <= value { low = mid + 1 } else { high = mid }
        }
        return low
    }

    // MARK: Reading

    /// The customer's name, if known.
    public var name: String? { value(of: .name) }
    /// Their company, if known.
    public var company: String? { value(of: .company) }
    /// Their city, if known.
    public var city: String? { value(of: .city) }

    /// The winning value of `field`, or nil when it is unknown or its newest observation cleared it.
    public func value(of field: ProfileField) -> String? {
        guard let winner = fieldWinners[field], !winner.value.isEmpty else { return nil }
        return winner.value
    }

    /// The known fields (cleared ones left out), as ``CustomerProfile/fields`` has them.
    public var fields: [ProfileField: ObservedValue] { fieldWinners.filter { !$0.value.value.isEmpty } }

    /// The tier at `now`.
    public func tier(now: Int64, policy: LoyaltyPolicy = .standard) -> LoyaltyTier {
        policy.tier(for: orders, now: now)
    }

    /// Complaints not closed.
    public var openComplaints: [ComplaintDigest] { complaints.filter(\.isOpen) }

    /// Orders not cancelled.
    public var liveOrderCount: Int { orders.count { $0.status != .cancelled } }

    /// The goods value of the orders not cancelled, all time (saturating at `Int64.max`).
    public var spend: Int64 {
        orders.reduce(0) { $1.status == .cancelled ? $0 : Rupiah.saturatingAdd($0, $1.subtotal) }
    }

    /// The newest contact on any channel, if any.
    public var lastContactAt: Int64? { lastContacts.map(\.at).max() }

    /// Inbound information requests, all time.
    public var informationRequestCount: Int { informationRequestTimes.count + olderInformationRequests }

    /// How many information requests fall in `(start, end]` (of those whose times are kept).
    public func informationRequests(after start: Int64, upTo end: Int64) -> Int {
        guard start < end else { return 0 }
        return Self.insertionPoint(of: end, in: informationRequestTimes) - Self.insertionPoint(of: start, in: informationRequestTimes)
    }
}

extension ComplaintState {
    /// Not closed: still part of someone's work.
    public var isOpen: Bool { self != .closed }

    /// Neither closed nor rejected: the customer is still waiting for an outcome they accept.
    public var isAwaitingOutcome: Bool { self != .closed && self != .rejected }
}

extension Complaint {
    /// The refund decided, in rupiah (0 before a decision).
    public var compensationTotal: Int64 { decision?.refund.total ?? 0 }
}
