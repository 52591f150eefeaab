/// An interaction as it appears in a customer's timeline.
public struct InteractionRecord: Sendable, Hashable {
    /// The interaction.
    public let interaction: Interaction
    /// When it happened.
    public let at: Int64
    /// Who reported it.
    public let source: FactSource
    /// The fact it came from.
    public let factID: FactID

    /// An interaction as it appears in a timeline, rebuilt from its fact (for example by a store reading a page).
    public init(interaction: Interaction, at: Int64, source: FactSource, factID: FactID) {
        self.interaction = interaction
        self.at = at
        self.source = source
        self.factID = factID
    }
}

/// A rating as it appears in a profile.
public struct RatingRecord: Sendable, Hashable {
    /// The rating.
    public let rating: Rating
    /// When it was given.
    public let at: Int64
    /// The fact it came from.
    public let factID: FactID

    /// A rating as it appears in a profile, rebuilt from its fact.
    public init(rating: Rating, at: Int64, factID: FactID) {
        self.rating = rating
        self.at = at
        self.factID = factID
    }
}

/// Counts derived from a profile's facts; never incremented, always recomputed, so duplicates cannot inflate them.
public struct ProfileCounters: Sendable, Hashable {
    /// Interactions on any channel.
    public let interactions: Int
    /// Complaints opened.
    public let complaints: Int
    /// Inbound interactions whose intent was an information request.
    public let informationRequests: Int
    /// Orders not cancelled.
    public let orders: Int
    /// Goods value of the orders not cancelled, all time (saturating at `Int64.max`).
    public let spend: Int64
    /// Ratings given.
    public let ratings: Int
}

/// Everything known about one customer: a pure function of the set of facts about their handles.
///
/// Every list has a fixed order that depends only on the facts' contents (noted per property), so two profiles
/// built from the same set of facts are equal, and so are their ``canonicalDescription``s.
public struct CustomerProfile: Sendable, Hashable {
    /// The customer's id.
    public let id: CustomerID
    /// The handle the id derives from.
    public let anchor: Handle
    /// All handles, ascending.
    public let handles: [Handle]
    /// The winning observation of each field; a field whose newest observation is empty is absent.
    public let fields: [ProfileField: ObservedValue]
    /// The earliest time of a fact naming one of the handles.
    public let firstSeenAt: Int64
    /// The latest time of a fact naming one of the handles.
    public let lastSeenAt: Int64
    /// The cross-channel timeline, by time then fact id.
    public let timeline: [InteractionRecord]
    /// Orders, by placed time then order number.
    public let orders: [OrderView]
    /// Complaints, by opening time then id.
    public let complaints: [Complaint]
    /// Ratings, by time then fact id.
    public let ratings: [RatingRecord]
    /// Delay notices already sent, ascending.
    public let sentDelayNotices: [DelayNoticeID]
    /// Derived counts.
    public let counters: ProfileCounters
    /// The read model of the same facts: what the caller snapshot and the profile's header are computed from.
    public let summary: CustomerSummary

    init(
        summary: CustomerSummary, timeline: [InteractionRecord], orders: [OrderView], complaints: [Complaint], ratings: [RatingRecord],
        sentDelayNotices: [DelayNoticeID]
    ) {
        id = summary.id
        anchor = summary.anchor
        handles = summary.handles.map(\.handle)
        fields = summary.fields
        firstSeenAt = summary.firstSeenAt
        lastSeenAt = summary.lastSeenAt
        self.summary = summary
        self.timeline = timeline
        self.orders = orders
        self.complaints = complaints
        self.ratings = ratings
        self.sentDelayNotices = sentDelayNotices
        counters = ProfileCounters(
            interactions: summary.interactionCount,
            complaints: summary.complaints.count,
            informationRequests: summary.informationRequestCount,
            orders: summary.liveOrderCount,
            spend: summary.spend,
            ratings: summary.ratingCount)
    }

    /// The customer's name, if known.
    public var name: String? { fields[.name]?.value }
    /// Their company, if known.
    public var company: String? { fields[.company]?.value }
    /// Their city, if known.
    public var city: String? { fields[.city]?.value }
    /// Their address, if known.
    public var address: String? { fields[.address]?.value }

    /// The tier at `now`.
    public func tier(now: Int64, policy: LoyaltyPolicy = .standard) -> LoyaltyTier {
        policy.tier(for: orders, now: now)
    }

    /// Complaints not closed.
    public var openComplaints: [Complaint] { complaints.filter(\.isOpen) }

    /// The latest interaction on each channel used, in ``Channel`` order.
    public var lastInteractionPerChannel: [InteractionRecord] {
        var last: [Channel: InteractionRecord] = [:]
        // The timeline is sorted by (time, fact id), so the last one seen per channel is the latest.
        for record in timeline { last[record.interaction.channel] = record }
        return last.values.sorted { $0.interaction.channel < $1.interaction.channel }
    }

    /// The delay notices due at `now` and not yet sent.
    public func pendingDelayNotices(now: Int64) -> [DelayNotice] {
        DelayNotice.pending(for: orders, alreadySent: Set(sentDelayNotices), now: now)
    }
}
