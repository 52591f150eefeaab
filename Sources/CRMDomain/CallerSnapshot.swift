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
    /// Which way.
    public let direction: Direction
    /// About what.
    public let intent: InteractionIntent
    /// The summary.
    public let summary: String
}

/// Everything the IVR and the agent screen show the moment a customer calls.
///
/// The seed's operator targets calls under 2.5 minutes, which only works if this appears at once: it is computed
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
    /// When they first made contact (the earliest fact about them): tenure counts from here.
    public let customerSince: Int64
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
        let recentStart = Milliseconds.between(Self.recentWindow, now)
        func isRecent(_ t: Int64) -> Bool { t > recentStart && t <= now }
        let tier = profile.tier(now: now, policy: loyalty)
        let requests = profile.timeline.filter { $0.interaction.intent == .informationRequest && $0.interaction.direction == .inbound }
        let open = profile.openComplaints

        customerID = profile.id
        name = profile.name
        company = profile.company
        self.tier = tier
        isVVIP = tier.isVVIP
        customerSince = profile.firstSeenAt
        tenureDays = max(0, Milliseconds.between(profile.firstSeenAt, now)) / Milliseconds.day
        complaints = CountWindow(allTime: profile.complaints.count, recent: profile.complaints.count(where: { isRecent($0.openedAt) }))
        informationRequests = CountWindow(allTime: requests.count, recent: requests.count(where: { isRecent($0.at) }))
        openComplaints = open.map {
            OpenComplaintSummary(
                id: $0.id, category: $0.category, state: $0.state, orderNumber: $0.orderNumber, openedAt: $0.openedAt,
                serviceLevel: ServiceLevelStatus(complaint: $0, now: now, policy: serviceLevel))
        }
        recentOrders = profile.orders.reversed().prefix(max(0, recentOrderLimit)).map {
            OrderSummary(
                orderNumber: $0.orderNumber, placedAt: $0.record.placedAt, total: $0.record.total, status: $0.status,
                estimatedDeliveryAt: $0.estimatedDeliveryAt, isOverdue: $0.isOverdue(now: now))
        }
        lastContacts = profile.lastInteractionPerChannel.map {
            LastContact(channel: $0.interaction.channel, at: $0.at, direction: $0.interaction.direction, intent: $0.interaction.intent, summary: $0.interaction.summary)
        }
        routing = CallRouting.route(problem: problem, tier: tier, hasOpenComplaint: !open.isEmpty)
    }
}
