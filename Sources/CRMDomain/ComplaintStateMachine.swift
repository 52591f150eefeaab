/// Where a complaint is in the business's flow.
public enum ComplaintState: String, Sendable, Hashable, CaseIterable {
    /// Sales recorded what the customer reported.
    case opened
    /// After-Sales is checking the facts against the order system and the supplier platform (1688 / Taobao).
    case inReview
    /// After-Sales asked the China team, who asks the supplier.
    case waitingOnSupplier
    /// After-Sales decided the compensation.
    case decided
    /// After-Sales found the complaint unfounded.
    case rejected
    /// Sales told the customer the decision or the rejection.
    case customerInformed
    /// Done.
    case closed
    /// The customer disputed the outcome, or new facts appeared; the complaint goes back to review.
    case reopened
}

/// The roles that take part in a complaint.
public enum ActorRole: String, Sendable, Hashable, CaseIterable {
    /// Talks to the customer: opens complaints and tells the outcome.
    case sales
    /// Checks, consults, decides.
    case afterSales
    /// Liaises with Chinese suppliers.
    case chinaTeam
    /// Oversees; may make any legal transition to unblock a case.
    case supervisor
    /// The customer; sees status through self-service, never changes it.
    case customer
}

/// A person acting in a role.
public struct Actor: Sendable, Hashable, CustomStringConvertible {
    /// The role they act in.
    public let role: ActorRole
    /// Their user name.
    public let id: String

    /// Creates an actor, refusing a blank id (every transition must name who made it).
    public init(role: ActorRole, id: String) throws(IdentifierError) {
        self.role = role
        self.id = try Identifier.validate(id, .actor)
    }

    /// `role:id`.
    public var description: String { "\(role.rawValue):\(id)" }
}

/// What After-Sales decided: the refund and a note.
public struct ComplaintDecision: Sendable, Hashable {
    /// The computed refund (possibly ``Refund/nothing``).
    public let refund: Refund
    /// A note for Sales and the customer.
    public let note: String

    /// Creates the decision.
    public init(refund: Refund, note: String) {
        self.refund = refund
        self.note = Text.trimmed(note)
    }
}

/// A step someone takes on a complaint.
public enum ComplaintAction: Sendable, Hashable {
    /// Begin (or resume) checking the facts.
    case startReview
    /// Ask the China team / supplier; the note says what was asked.
    case askSupplier(note: String)
    /// Decide the compensation.
    case decide(ComplaintDecision)
    /// Find the complaint unfounded; the reason is required.
    case reject(reason: String)
    /// Tell the customer the outcome.
    case informCustomer
    /// Close the case.
    case close
    /// Reopen the case; the reason is required.
    case reopen(reason: String)

    /// The text the step carries: the question to the supplier, the reason of a rejection or reopening, or the
    /// decision's rationale; empty for the others.
    public var note: String {
        switch self {
        case let .askSupplier(note), let .reject(note), let .reopen(note): note
        case let .decide(decision): decision.note
        case .startReview, .informCustomer, .close: ""
        }
    }

    /// The state the action leads to.
    public var target: ComplaintState {
        switch self {
        case .startReview: .inReview
        case .askSupplier: .waitingOnSupplier
        case .decide: .decided
        case .reject: .rejected
        case .informCustomer: .customerInformed
        case .close: .closed
        case .reopen: .reopened
        }
    }
}

/// An action by an actor at a time.
public struct ComplaintTransition: Sendable, Hashable {
    /// What was done.
    public let action: ComplaintAction
    /// Who did it.
    public let actor: Actor
    /// When (Unix ms).
    public let at: Int64

    /// Creates the transition.
    public init(action: ComplaintAction, actor: Actor, at: Int64) {
        self.action = action
        self.actor = actor
        self.at = at
    }
}

/// The content of a ``FactPayload/complaintTransition(_:)`` fact: a transition whose time is the fact's time.
public struct ComplaintStep: Sendable, Hashable {
    /// The complaint.
    public let complaintID: ComplaintID
    /// What was done.
    public let action: ComplaintAction
    /// Who did it.
    public let actor: Actor

    /// Creates the step.
    public init(complaintID: ComplaintID, action: ComplaintAction, actor: Actor) {
        self.complaintID = complaintID
        self.action = action
        self.actor = actor
    }
}

/// The legal transitions and who may make them.
///
/// | from | to | roles |
/// |---|---|---|
/// | opened | inReview, rejected | afterSales |
/// | inReview | waitingOnSupplier, decided, rejected | afterSales |
/// | waitingOnSupplier | inReview | afterSales, chinaTeam (the supplier answered) |
/// | waitingOnSupplier | decided, rejected | afterSales |
/// | decided, rejected | customerInformed | sales (Sales is the voice to the customer) |
/// | customerInformed | closed | sales, afterSales |
/// | customerInformed, closed | reopened | sales (the customer came back) |
/// | reopened | inReview | afterSales |
///
/// A supervisor may make every legal transition, so no case can be stuck behind an absent colleague; the customer
/// may make none (they only see status). Opening is by Sales or a supervisor (``ComplaintOpening``).
public enum ComplaintStateMachine: Sendable {
    /// The states reachable from `state`, in declaration order.
    public static func allowedTargets(from state: ComplaintState) -> [ComplaintState] {
        switch state {
        case .opened: [.inReview, .rejected]
        case .inReview: [.waitingOnSupplier, .decided, .rejected]
        case .waitingOnSupplier: [.inReview, .decided, .rejected]
        case .decided: [.customerInformed]
        case .rejected: [.customerInformed]
        case .customerInformed: [.closed, .reopened]
        case .closed: [.reopened]
        case .reopened: [.inReview]
        }
    }

    /// The roles that may move a complaint from `from` to `to`; empty when the transition is illegal.
    public static func permittedRoles(from: ComplaintState, to: ComplaintState) -> [ActorRole] {
        guard allowedTargets(from: from).contains(to) else { return [] }
        switch (from, to) {
        case (.waitingOnSupplier, .inReview): return [.afterSales, .chinaTeam, .supervisor]
        case (.customerInformed, .closed): return [.sales, .afterSales, .supervisor]
        case (_, .customerInformed), (_, .reopened): return [.sales, .supervisor]
        default: return [.afterSales, .supervisor]
        }
    }

    /// Checks that `transition` may be applied to a complaint in `state` whose last change was at `lastChangedAt`.
    public static func validate(
        _ transition: ComplaintTransition, complaintID: ComplaintID, state: ComplaintState, lastChangedAt: Int64
    ) throws(ComplaintTransitionError) {
        let target = transition.action.target
        let allowed = allowedTargets(from: state)
        guard allowed.contains(target) else {
            throw .illegalTransition(complaintID: complaintID, from: state, to: target, allowed: allowed)
        }
        let roles = permittedRoles(from: state, to: target)
        guard roles.contains(transition.actor.role) else {
            throw .roleNotPermitted(complaintID: complaintID, role: transition.actor.role, from: state, to: target, permitted: roles)
        }
        guard transition.at >= lastChangedAt else {
            throw .timeBeforeLastChange(complaintID: complaintID, at: transition.at, lastChangedAt: lastChangedAt)
        }
        switch transition.action {
        case let .reject(reason), let .reopen(reason):
            guard !Text.trimmed(reason).isEmpty else { throw .reasonRequired(complaintID: complaintID, to: target) }
        default:
            break
        }
    }
}

/// Why a complaint transition was refused.
public enum ComplaintTransitionError: DomainError {
    /// The target state cannot be reached from the current one.
    case illegalTransition(complaintID: ComplaintID, from: ComplaintState, to: ComplaintState, allowed: [ComplaintState])
    /// The actor's role may not make this transition.
    case roleNotPermitted(complaintID: ComplaintID, role: ActorRole, from: ComplaintState, to: ComplaintState, permitted: [ActorRole])
    /// The transition is dated before the complaint's last change.
    case timeBeforeLastChange(complaintID: ComplaintID, at: Int64, lastChangedAt: Int64)
    /// A rejection or reopening without a reason.
    case reasonRequired(complaintID: ComplaintID, to: ComplaintState)
    /// A decision on a Return complaint without the return's record.
    case returnRecordRequired(complaintID: ComplaintID)
    /// The decision's return record is for another order.
    case returnForOtherOrder(complaintID: ComplaintID, expected: OrderNumber, got: OrderNumber)

    /// See ``DomainError/code``.
    public var code: String {
        switch self {
        case .illegalTransition: "complaint.illegal_transition"
        case .roleNotPermitted: "complaint.role_not_permitted"
        case .timeBeforeLastChange: "complaint.time_before_last_change"
        case .reasonRequired: "complaint.reason_required"
        case .returnRecordRequired: "complaint.return_record_required"
        case .returnForOtherOrder: "complaint.return_for_other_order"
        }
    }

    /// A sentence saying what went wrong and what is possible instead.
    public var description: String {
        switch self {
        case let .illegalTransition(id, from, to, allowed):
            let next = allowed.map(\.rawValue).joined(separator: ", ")
            return "Complaint \(id) is \(from.rawValue) and cannot become \(to.rawValue); from \(from.rawValue) it can become: \(next)."
        case let .roleNotPermitted(id, role, from, to, permitted):
            let roles = permitted.map(\.rawValue).joined(separator: ", ")
            return "A \(role.rawValue) user cannot move complaint \(id) from \(from.rawValue) to \(to.rawValue); ask someone in one of these roles: \(roles)."
        case let .timeBeforeLastChange(id, at, last):
            return "The step on complaint \(id) is dated \(at), before its last change at \(last); steps must be recorded in time order."
        case let .reasonRequired(id, to):
            return "Complaint \(id) cannot become \(to.rawValue) without a reason; say why, for the customer and the report."
        case let .returnRecordRequired(id):
            return "Complaint \(id) is a Return: the decision needs the return record (goods received, quality check, local shipping cost)."
        case let .returnForOtherOrder(id, expected, got):
            return "Complaint \(id) is about order \(expected) but the return record is for order \(got); attach the return of order \(expected)."
        }
    }
}
