/// A count over all time and over the recent window.
public struct CountWindow: Sendable, Hashable {
    /// Since the first fact.
    public let allTime: Int
    /// Within the last ``CallerSnapshot/recentWindow``.
    public let recent: Int
}

/// An open complaint as the agent screen lists it.
public struct OpenComplaintSummary: Sendable, Hashable {
    /// The complaint.
    public let id: ComplaintID
    /// Its category.
    public let category: ComplaintCategory
    /// Its state.
    public let state: ComplaintState
    /// The order it is about.
    public let orderNumber: OrderNumber
    /// When it was opened.
    public let openedAt: Int64
    /// Its service-level clocks now.
    public let serviceLevel: ServiceLevelStatus
}

/// An order as the agent screen lists it.
public struct OrderSummary: Sendable, Hashable {
    /// The order number.
    public let orderNumber: OrderNumber
    /// When it was placed.
    public let placedAt: Int64
    /// Its total.
    public let total: Int64
    /// Its derived status.
    public let status: TrackingStage
    /// The promised delivery in force, if any.
    public let estimatedDeliveryAt: Int64?
    /// Whether it is past the estimate and not delivered.
    public let isOverdue: Bool
}

/// The latest contact on one channel.
public struct LastContact: Sendable, Hashable {
    /// The channel.
    public let channel: Channel
    /// When.
    public let at: Int64
    /// The interaction's fact.
    public let factID: FactID
    /// Which way.
    public let direction: Direction
    /// About what.
    public let intent: InteractionIntent
    /// The summary.
    public let summary: String

    /// Restores a contact (for example, read back from storage).
    public init(channel: Channel, at: Int64, factID: FactID, direction: Direction, intent: InteractionIntent, summary: String) {
        self.channel = channel
        self.at = at
        self.factID = factID
        self.direction = direction
        self.intent = intent
        self.summary = summary
    }
}

/// Everything the IVR and the agent screen show the moment a customer calls.
///
/// The business's operator targets calls under 2.5 minutes, which only works if this appears at once: it is computed
/// from one profile in one pass, with no further look-ups.
public struct CallerSnapshot: Sendable, Hashable {
    /// "Recent" means the last 90 days.
    public static let recentWindow = Milliseconds.days(90)

    /// The customer's id.
    public let customerID: CustomerID
    /// Their name, if known.
    public let name: String?
    /// Their company, if known.
    public let company: String?
    /// Their tier now.
    public let tier: LoyaltyTier
    /// Diamond: announce as VVIP.
    public let isVVIP: Bool
    /// When their history begins in business time (``CustomerSummary/customerSince``); `nil` when no fact states it.
    public let customerSince: Int64?
    /// Whole days since ``customerSince``.
    public let tenureDays: Int64
    /// Complaints opened.
    public let complaints: CountWindow
    /// Inbound information requests.
    public let informationRequests: CountWindow
    /// Complaints not closed, oldest first.
    public let openComplaints: [OpenComplaintSummary]
    /// The most recent orders, newest first.
    public let recentOrders: [OrderSummary]
    /// The latest contact per channel, in channel order.
    public let lastContacts: [LastContact]
    /// Where the call goes.
    public let routing: RoutingDecision

    /// The snapshot of `profile` at `now` for a call about `problem` (nil when the caller chose nothing).
    public init(
        profile: CustomerProfile, now: Int64, problem: ProblemType?, loyalty: LoyaltyPolicy = .standard,
        serviceLevel: ServiceLevelPolicy = .standard, recentOrderLimit: Int = 5
    ) {
        self.init(
            summary: profile.summary, now: now, problem: problem, loyalty: loyalty, serviceLevel: serviceLevel,
            recentOrderLimit: recentOrderLimit)
    }

    /// The snapshot of a customer's read model at `now` for a call about `problem` (nil when the caller chose
    /// nothing): everything that depends on the clock is computed here, from the summary's stored inputs.
    public init(
        summary: CustomerSummary, now: Int64, problem: ProblemType?, loyalty: LoyaltyPolicy = .standard,
        serviceLevel: ServiceLevelPolicy = .standard, recentOrderLimit: Int = 5
    ) {
        let recentStart = Milliseconds.between(Self.recentWindow, now)
        func isRecent(_ t: Int64) -> Bool { t > recentStart && t <= now }
        let tier = summary.tier(now: now, policy: loyalty)
        let open = summary.openComplaints

        customerID = summary.id
        name = summary.name
        company = summary.company
        self.tier = tier
        isVVIP = tier.isVVIP
        customerSince = summary.customerSince
        tenureDays = summary.customerSince.map { max(0, Milliseconds.between($0, now)) / Milliseconds.day } ?? 0
        complaints = CountWindow(allTime: summary.complaints.count, recent: summary.complaints.count(where: { isRecent($0.openedAt) }))
        informationRequests = CountWindow(
            allTime: summary.informationRequestCount, recent: summary.informationRequests(after: recentStart, upTo: now))
        openComplaints = open.map {
            OpenComplaintSummary(
                id: $0.id, category: $0.category, state: $0.state, orderNumber: $0.orderNumber, openedAt: $0.openedAt,
                serviceLevel: $0.serviceLevel(now: now, policy: serviceLevel))
        }
        recentOrders = summary.orders.reversed().prefix(max(0, recentOrderLimit)).map { $0.summary(now: now) }
        lastContacts = summary.lastContacts
        routing = CallRouting.route(problem: problem, tier: tier, hasOpenComplaint: !open.isEmpty)
    }
}
