/// What the caller says the call is about (the IVR menu choice or the agent's first question).
public enum ProblemType: Sendable, Hashable {
    /// Something went wrong with an order; the category when the caller chose one.
    case complaint(ComplaintCategory?)
    /// "Where is my order?"
    case orderStatus
    /// Placing an order.
    case newOrder
    /// A question about products, prices or promotions.
    case informationRequest
    /// Anything else.
    case other
}

/// The agent groups calls are distributed to, each competent for one kind of problem.
public enum ServiceQueue: String, Sendable, Hashable, CaseIterable {
    /// New orders and product questions.
    case sales
    /// Delivery status of orders.
    case orderTracking
    /// Complaints about missing stock and broken goods.
    case afterSales
    /// Lost-at-customs complaints, which need agents who work with the China team and the forwarder.
    case customsAndSupplier
    /// Returns: pick-up, quality check, refund of local shipping.
    case returns
    /// Everything else.
    case general
}

/// How far ahead in its queue a call goes.
public enum QueuePriority: String, Sendable, Hashable, CaseIterable, Comparable {
    /// First come, first served.
    case standard
    /// Ahead of standard calls: Gold customers.
    case priority
    /// No queue: Diamond customers, the VVIP.
    case vvip

    /// standard < priority < vvip.
    public static func < (lhs: QueuePriority, rhs: QueuePriority) -> Bool {
        let rank: (QueuePriority) -> Int = { $0 == .standard ? 0 : $0 == .priority ? 1 : 2 }
        return rank(lhs) < rank(rhs)
    }
}

/// Where a call goes and why.
public struct RoutingDecision: Sendable, Hashable {
    /// The agent group.
    public let queue: ServiceQueue
    /// The place in it.
    public let priority: QueuePriority
    /// A sentence for the agent's screen.
    public let reason: String
}

/// Routes calls by problem type to a competent group, with priority by tier.
public enum CallRouting: Sendable {
    /// The routing of a call.
    ///
    /// Without a stated problem, a caller with an open complaint most likely calls about it, so they go to
    /// After-Sales; otherwise to the general queue.
    public static func route(problem: ProblemType?, tier: LoyaltyTier, hasOpenComplaint: Bool) -> RoutingDecision {
        let queue: ServiceQueue
        let why: String
        switch problem {
        case .complaint(.lostAtCustoms):
            (queue, why) = (.customsAndSupplier, "a Lost at Customs complaint")
        case .complaint(.customerReturn):
            (queue, why) = (.returns, "a return")
        case .complaint(.outOfStock), .complaint(.broken), .complaint(nil):
            (queue, why) = (.afterSales, "a complaint")
        case .orderStatus:
            (queue, why) = (.orderTracking, "an order's status")
        case .newOrder, .informationRequest:
            (queue, why) = (.sales, "a new order or a question")
        case .other:
            (queue, why) = (.general, "another matter")
        case nil:
            (queue, why) = hasOpenComplaint ? (.afterSales, "no stated problem, but an open complaint") : (.general, "no stated problem")
        }
        let priority: QueuePriority = switch tier {
        case .diamond: .vvip
        case .gold: .priority
        case .silver: .standard
        }
        let tierText = tier == .diamond ? "Diamond (VVIP), no queue" : tier == .gold ? "Gold, priority" : "Silver"
        return RoutingDecision(queue: queue, priority: priority, reason: "Call about \(why); \(tierText).")
    }
}
