/// What the caller says the call is about (the IVR menu choice or the agent's first question).
public enum ProblemType: Sendable, Hashable {
    /// Something went wrong with an order; the category when the caller chose one.
    case complaint(ComplaintCategory?)
    /// "Where is my order?"
    case orderStatus
    /// Placing an order.
    case newOrder
    /// A question: products, prices, promotions, delivery times.
    case informationRequest
    /// Anything else.
    case other
}

/// The agent groups calls are distributed to, each competent for one kind of problem, and each in one
/// ``Department``.
public enum ServiceQueue: String, Sendable, Hashable, CaseIterable {
    /// New and changed orders.
    case sales
    /// Delivery status of orders.
    case orderTracking
    /// Complaints about missing stock and broken goods.
    case afterSales
    /// Lost-at-customs complaints, which need agents who work with the China team and the forwarder.
    case customsAndSupplier
    /// Returns: pick-up, quality check, refund of local shipping.
    case returns
    /// Questions, feedback and everything else.
    case general

    /// The department whose agents work the queue: the three teams that take contacts, which is what a contact's
    /// routing says on the wire. Order questions go to Sales; complaints, customs and supplier cases and returns to
    /// After-Sales; the general queue is customer service. The finer queue is kept in the routing reason.
    public var department: Department {
        switch self {
        case .sales, .orderTracking: .sales
        case .afterSales, .customsAndSupplier, .returns: .afterSales
        case .general: .customerService
        }
    }
}

/// The three teams that take contacts; each ``ServiceQueue`` belongs to one.
public enum Department: String, Sendable, Hashable, CaseIterable {
    /// Orders, new and under way.
    case sales
    /// Complaints and returns.
    case afterSales
    /// Questions, feedback and anything else.
    case customerService
}

extension InteractionIntent {
    /// The problem an interaction of this intent is about, so that calls and messages route alike: a complaint of no
    /// category yet, a new or changed order, a question; feedback and anything else are "another matter".
    public var problem: ProblemType {
        switch self {
        case .complaint: .complaint(nil)
        case .order: .newOrder
        case .informationRequest: .informationRequest
        case .feedback, .other: .other
        }
    }
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
        let (queue, why) = queue(for: problem, hasOpenComplaint: hasOpenComplaint)
        let priority: QueuePriority = switch tier {
        case .diamond: .vvip
        case .gold: .priority
        case .silver: .standard
        }
        let tierText = tier == .diamond ? "Diamond (VVIP), no queue" : tier == .gold ? "Gold, priority" : "Silver"
        return RoutingDecision(queue: queue, priority: priority, reason: "Call about \(why); \(tierText).")
    }

    /// The queue of an interaction (a message, a call's record) of `intent`: that of the problem it states.
    public static func queue(for intent: InteractionIntent) -> ServiceQueue {
        queue(for: intent.problem, hasOpenComplaint: false).queue
    }

    /// The queue of a problem, and the words for it in the routing reason.
    private static func queue(for problem: ProblemType?, hasOpenComplaint: Bool) -> (queue: ServiceQueue, why: String) {
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
        case .newOrder:
            (queue, why) = (.sales, "a new or changed order")
        case .informationRequest:
            (queue, why) = (.general, "a question")
        case .other:
            (queue, why) = (.general, "another matter")
        case nil:
            (queue, why) = hasOpenComplaint ? (.afterSales, "no stated problem, but an open complaint") : (.general, "no stated problem")
        }
        return (queue, why)
    }
}
