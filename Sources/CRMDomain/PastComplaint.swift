/// A complaint handled before this system, as its records keep it (the spreadsheets of complaints, returns and refund
/// recaps the business kept), brought in with the times things happened: opened, then possibly decided or rejected,
/// the customer informed, and closed.
///
/// It becomes the same facts a live complaint leaves — the opening and one step per move — at the recorded times, so
/// reports, service levels and profiles count it exactly like a live one. Every step is the recorder's (a supervisor,
/// who may make every legal move); a decided complaint is first put in review at its decision time.
public struct PastComplaint: Sendable, Hashable {
    /// How a past complaint was settled.
    public enum Outcome: Sendable, Hashable {
        /// Decided, with the refund computed from its items and goodwill (or nothing).
        case decided(ComplaintDecision)
        /// Rejected, with the reason.
        case rejected(reason: String)
    }

    /// The opening.
    public let opening: ComplaintOpening
    /// When it was opened.
    public let openedAt: Int64
    /// The moves from opened to where the records leave it, in order, each at its recorded time.
    public let steps: [ComplaintTransition]
    /// The complaint the opening and the steps make.
    public let complaint: Complaint

    /// Checks the record and makes its steps: times in order (opened ≤ settled ≤ informed ≤ closed), informing only
    /// after a settlement, closing only after informing, and every move legal for `recordedBy`.
    public init(
        opening: ComplaintOpening, openedAt: Int64, outcome: (Outcome, at: Int64)?, informedAt: Int64?, closedAt: Int64?,
        recordedBy actor: Actor
    ) throws(PastComplaintError) {
        if informedAt != nil && outcome == nil { throw .informedWithoutOutcome(opening.id) }
        if closedAt != nil && informedAt == nil { throw .closedWithoutInforming(opening.id) }
        let times: [(String, Int64?)] = [("opened", openedAt), ("settled", outcome?.at), ("informed", informedAt), ("closed", closedAt)]
        let given = times.compactMap { name, at in at.map { (name, $0) } }
        for (earlier, later) in zip(given, given.dropFirst()) where later.1 < earlier.1 {
            throw .outOfOrder(opening.id, earlier: earlier.0, later: later.0)
        }
        var steps: [ComplaintTransition] = []
        switch outcome {
        case let (.decided(decision), at)?:
            steps.append(ComplaintTransition(action: .startReview, actor: actor, at: at))
            steps.append(ComplaintTransition(action: .decide(decision), actor: actor, at: at))
        case let (.rejected(reason), at)?:
            steps.append(ComplaintTransition(action: .reject(reason: reason), actor: actor, at: at))
        case nil:
            break
        }
        if let informedAt { steps.append(ComplaintTransition(action: .informCustomer, actor: actor, at: informedAt)) }
        if let closedAt { steps.append(ComplaintTransition(action: .close, actor: actor, at: closedAt)) }
        var complaint = Complaint(opening: opening, openedAt: openedAt)
        for step in steps {
            do {
                try complaint.apply(step)
            } catch {
                throw .step(error)
            }
        }
        self.opening = opening
        self.openedAt = openedAt
        self.steps = steps
        self.complaint = complaint
    }
}

/// Why a ``PastComplaint`` record cannot be brought in.
public enum PastComplaintError: DomainError {
    /// The customer was informed of a complaint that was never settled.
    case informedWithoutOutcome(ComplaintID)
    /// A complaint was closed before the customer was informed.
    case closedWithoutInforming(ComplaintID)
    /// Two recorded times are in the wrong order.
    case outOfOrder(ComplaintID, earlier: String, later: String)
    /// A move the state machine refuses (a decided return without its quality check, say).
    case step(ComplaintTransitionError)

    /// See ``DomainError/code``.
    public var code: String {
        switch self {
        case .informedWithoutOutcome: "past_complaint.informed_without_outcome"
        case .closedWithoutInforming: "past_complaint.closed_without_informing"
        case .outOfOrder: "past_complaint.out_of_order"
        case let .step(error): error.code
        }
    }

    /// A sentence saying what went wrong and how to fix it.
    public var description: String {
        switch self {
        case let .informedWithoutOutcome(id):
            "Complaint \(id) has a time the customer was informed but no decision or rejection; give the settlement and its time, or leave informed empty."
        case let .closedWithoutInforming(id):
            "Complaint \(id) has a closing time but no time the customer was informed; a complaint closes after the customer is told."
        case let .outOfOrder(id, earlier, later):
            "Complaint \(id) was \(later) before it was \(earlier); check the two times (opened, settled, informed and closed come in that order)."
        case let .step(error):
            error.description
        }
    }
}
