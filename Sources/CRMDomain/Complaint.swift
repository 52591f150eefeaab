/// The business's four after-sales complaint categories.
public enum ComplaintCategory: String, Sendable, Hashable, CaseIterable {
    /// The ordered item is not available.
    case outOfStock
    /// Goods lost or held at customs, or the supplier did not ship them all.
    case lostAtCustoms
    /// Damaged in shipping or defective.
    case broken
    /// The customer sends goods back: broken, not as ordered, or compensation refused.
    case customerReturn

    /// The business's English name ("Out of Stock", "Lost at Customs", "Broken", "Return").
    public var displayName: String {
        switch self {
        case .outOfStock: "Out of Stock"
        case .lostAtCustoms: "Lost at Customs"
        case .broken: "Broken"
        case .customerReturn: "Return"
        }
    }
}

/// The content of a ``FactPayload/complaintOpened(_:)`` fact; the opening time is the fact's time.
public struct ComplaintOpening: Sendable, Hashable {
    /// The roles that may open a complaint: Sales hears it from the customer; a supervisor can stand in.
    public static let rolesThatMayOpen: [ActorRole] = [.sales, .supervisor]

    /// The complaint's id.
    public let id: ComplaintID
    /// The customer handle it was reported under.
    public let customer: Handle
    /// The order it is about.
    public let orderNumber: OrderNumber
    /// The category.
    public let category: ComplaintCategory
    /// What the customer reported, trimmed.
    public let summary: String
    /// Who opened it.
    public let openedBy: Actor
    /// The order lines it is about, as the customer reported them; a decision with no verified items of its own
    /// computes the refund from these.
    public let items: [ClaimLine]

    /// Creates an opening, refusing an actor whose role may not open complaints or an item listed twice.
    public init(
        id: ComplaintID, customer: Handle, orderNumber: OrderNumber, category: ComplaintCategory, summary: String,
        openedBy: Actor, items: [ClaimLine] = []
    ) throws(ComplaintOpeningError) {
        guard Self.rolesThatMayOpen.contains(openedBy.role) else {
            throw .roleCannotOpen(role: openedBy.role, allowed: Self.rolesThatMayOpen)
        }
        var skus: Set<String> = []
        for item in items where !skus.insert(item.sku).inserted { throw .duplicateItem(sku: item.sku) }
        self.id = id
        self.customer = customer
        self.orderNumber = orderNumber
        self.category = category
        self.summary = Text.trimmed(summary)
        self.openedBy = openedBy
        self.items = items
    }
}

/// Why a complaint could not be opened.
public enum ComplaintOpeningError: DomainError {
    /// The role may not open complaints.
    case roleCannotOpen(role: ActorRole, allowed: [ActorRole])
    /// The same SKU is listed twice among the affected items.
    case duplicateItem(sku: String)

    /// See ``DomainError/code``.
    public var code: String {
        switch self {
        case .roleCannotOpen: "complaint.role_cannot_open"
        case .duplicateItem: "complaint.duplicate_item"
        }
    }

    /// A sentence saying what went wrong and how to fix it.
    public var description: String {
        switch self {
        case let .roleCannotOpen(role, allowed):
            let roles = allowed.map(\.rawValue).joined(separator: ", ")
            return "A \(role.rawValue) user cannot open a complaint; complaints are opened by: \(roles)."
        case let .duplicateItem(sku):
            return "SKU \(sku) is listed twice among the affected items; give one line per SKU."
        }
    }
}

/// A transition that was applied, with the state it left.
public struct AppliedTransition: Sendable, Hashable {
    /// The state before.
    public let from: ComplaintState
    /// What was done (its target is the state after).
    public let action: ComplaintAction
    /// Who did it.
    public let actor: Actor
    /// When.
    public let at: Int64
    /// The fact that recorded it, when it came from one.
    public let factID: FactID?
}

/// A transition fact the projection could not apply, kept visible rather than silently dropped.
public struct IgnoredTransition: Sendable, Hashable {
    /// The fact.
    public let factID: FactID
    /// Why it did not apply in time order.
    public let error: ComplaintTransitionError
}

/// A complaint and its history: the state machine's state plus everything derived from its transitions.
public struct Complaint: Sendable, Hashable {
    /// The id.
    public let id: ComplaintID
    /// The handle it was reported under.
    public let customer: Handle
    /// The order it is about.
    public let orderNumber: OrderNumber
    /// The category.
    public let category: ComplaintCategory
    /// What the customer reported.
    public let summary: String
    /// Who opened it.
    public let openedBy: Actor
    /// The affected order lines reported at opening.
    public let items: [ClaimLine]
    /// When it was opened.
    public let openedAt: Int64
    /// The current state.
    public private(set) var state: ComplaintState = .opened
    /// Every applied transition, oldest first.
    public private(set) var history: [AppliedTransition] = []
    /// The decision in force (cleared when the complaint is reopened).
    public private(set) var decision: ComplaintDecision?
    /// When the decision in force was made.
    public private(set) var decidedAt: Int64?
    /// The rejection reason in force (cleared when reopened).
    public private(set) var rejectionReason: String?
    /// The first staff action after opening: the first-response clock stops here.
    public private(set) var firstResponseAt: Int64?
    /// When the customer was last told the outcome, unless reopened since: the resolution clock stops here.
    public private(set) var resolvedAt: Int64?
    /// Transition facts that could not be applied in time order.
    public internal(set) var ignoredTransitions: [IgnoredTransition] = []

    /// A new complaint in state ``ComplaintState/opened``.
    public init(opening: ComplaintOpening, openedAt: Int64) {
        id = opening.id
        customer = opening.customer
        orderNumber = opening.orderNumber
        category = opening.category
        summary = opening.summary
        openedBy = opening.openedBy
        items = opening.items
        self.openedAt = openedAt
    }

    /// When the state last changed.
    public var lastChangedAt: Int64 { history.last?.at ?? openedAt }

    /// The complaint as it stood just after the step its fact `factID` recorded (just after opening for nil): the
    /// opening with its steps in force up to that one applied again. Nil when no step in force has that fact.
    public func asOf(step factID: FactID?) -> Complaint? {
        var past = Complaint(copyingOpeningOf: self)
        guard let factID else { return past }
        for step in history {
            // Steps in force were valid in this order once, so they are again.
            try? past.apply(ComplaintTransition(action: step.action, actor: step.actor, at: step.at), factID: step.factID)
            if step.factID == factID { return past }
        }
        return nil
    }

    /// A complaint with this one's opening and no step.
    private init(copyingOpeningOf other: Complaint) {
        id = other.id
        customer = other.customer
        orderNumber = other.orderNumber
        category = other.category
        summary = other.summary
        openedBy = other.openedBy
        items = other.items
        openedAt = other.openedAt
    }

    /// Whether the case is still open (anything but closed).
    public var isOpen: Bool { state.isOpen }

    /// The states it can move to next.
    public var allowedNextStates: [ComplaintState] { ComplaintStateMachine.allowedTargets(from: state) }

    /// Applies `transition`, or throws why it is refused, leaving the complaint unchanged.
    public mutating func apply(_ transition: ComplaintTransition, factID: FactID? = nil) throws(ComplaintTransitionError) {
        try ComplaintStateMachine.validate(transition, complaintID: id, state: state, lastChangedAt: lastChangedAt)
        if case let .decide(decision) = transition.action {
            if let record = decision.refund.returnRecord, record.orderNumber != orderNumber {
                throw .returnForOtherOrder(complaintID: id, expected: orderNumber, got: record.orderNumber)
            }
            if category == .customerReturn && decision.refund.returnRecord == nil {
                throw .returnRecordRequired(complaintID: id)
            }
        }
        history.append(AppliedTransition(from: state, action: transition.action, actor: transition.actor, at: transition.at, factID: factID))
        state = transition.action.target
        if firstResponseAt == nil { firstResponseAt = transition.at }
        switch transition.action {
        case let .decide(d):
            decision = d
            decidedAt = transition.at
        case let .reject(reason):
            rejectionReason = Text.trimmed(reason)
        case .informCustomer:
            resolvedAt = transition.at
        case .reopen:
            decision = nil
            decidedAt = nil
            rejectionReason = nil
            resolvedAt = nil
        case .startReview, .askSupplier, .close:
            break
        }
    }
}
