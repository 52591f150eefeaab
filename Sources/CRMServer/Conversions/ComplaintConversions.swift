import CRMDomain
import CRMMessages
import CRMStore

extension ActorRole {
    /// The complaint-flow role of a caller.
    ///
    /// Decision: the proto names teams (Sales, After-Sales, China team, warehouse), the domain roles in the complaint
    /// flow (sales, afterSales, chinaTeam, supervisor, customer). An agent acts as their team; a supervisor as
    /// supervisor, whatever their team. The warehouse has no role in the domain's flow (it records quality checks,
    /// not transitions): it gets nil, and the service answers PERMISSION_DENIED. Adapters and customers get nil too,
    /// though ``AccessPolicy`` already keeps them from every method that changes a complaint.
    init?(principal: Principal) {
        switch principal.role {
        case .supervisor: self = .supervisor
        case .adapter, .customer: return nil
        case .agent:
            switch principal.team {
            case .sales?: self = .sales
            case .afterSales?: self = .afterSales
            case .chinaTeam?: self = .chinaTeam
            case .warehouse?, nil: return nil
            }
        }
    }

    /// The wire actor of a domain actor.
    func actorRef(name: String) -> ActorRef {
        switch self {
        case .sales: ActorRef(role: .agent, name: name, team: .sales)
        case .afterSales: ActorRef(role: .agent, name: name, team: .afterSales)
        case .chinaTeam: ActorRef(role: .agent, name: name, team: .chinaTeam)
        case .supervisor: ActorRef(role: .supervisor, name: name)
        case .customer: ActorRef(role: .customer, name: name)
        }
    }
}

extension CRMDomain.Actor {
    var wire: ActorRef { role.actorRef(name: id) }
}

extension CRMDomain.Complaint {
    /// Open in the proto's sense: not closed and not rejected.
    var isOpenForCustomer: Bool { state.isAwaitingOutcome }

    /// Whether any service-level clock is breached at `now`.
    func slaBreached(now: Int64) -> Bool { ServiceLevelStatus(complaint: self, now: now).isBreached }
}

extension CRMMessages.ComplaintSummary {
    init(_ c: CRMDomain.Complaint, customerID: String, priority: RoutingPriority, now: Int64) {
        self.init(ComplaintDigest(c), customerID: customerID, priority: priority, now: now)
    }

    init(_ c: ComplaintDigest, customerID: String, priority: RoutingPriority, now: Int64) {
        self.init(
            complaintID: c.id.rawValue, customerID: customerID, orderNumber: c.orderNumber.rawValue, category: c.category.wire,
            state: c.state.wire, openedMs: c.openedAt, updatedMs: c.lastChangedAt, slaBreached: c.serviceLevel(now: now).isBreached,
            compensationTotalRupiah: c.compensationTotal, priority: priority)
    }
}

extension RefundReason {
    var wire: CompensationKind {
        switch self {
        case .missing: .missingQuantity
        case .broken: .brokenQuantity
        case .priceDifference: .priceDifference
        // Decision: the proto has no "returned goods" kind; goods sent back and accepted are paid at the paid unit
        // price like broken units, so they map to BROKEN_QUANTITY; the explanation says "returned".
        case .returnedGoods: .brokenQuantity
        case .returnShipping: .returnShipping
        case .goodwill: .goodwill
        }
    }
}

extension CompensationQuote {
    init(_ refund: Refund) {
        self.init(
            lines: refund.lines.map {
                CompensationLine(
                    kind: $0.reason.wire, sku: $0.sku ?? "", quantity: $0.sku == nil ? 0 : $0.quantity,
                    unitAmountRupiah: $0.sku == nil ? 0 : $0.unitAmount, amountRupiah: $0.amount, explanation: $0.explanation)
            },
            totalRupiah: refund.total)
    }
}

extension GoodwillAdjustment {
    /// A goodwill line of a decision: kind GOODWILL (or unspecified), an amount above 0 and its explanation; the
    /// other fields of a compensation line are computed, so they must be left empty.
    init(wire: CompensationLine, field: String) throws(RequestFieldError) {
        switch wire.kind {
        case .goodwill, .unspecified: break
        default:
            throw RequestFieldError("\(field).kind", "is \(wire.kind.protoName); adjustments are GOODWILL lines (the other kinds are computed from the items)")
        }
        guard wire.sku.isEmpty, wire.quantity == 0, wire.unitAmountRupiah == 0 else {
            throw RequestFieldError(field, "a goodwill line has no sku, quantity or unit amount; give amount_rupiah and explanation")
        }
        do {
            try self.init(amount: wire.amountRupiah, reason: wire.explanation)
        } catch {
            throw RequestFieldError(field, error.description)
        }
    }
}

extension ClaimLine {
    init(wire: AffectedItem, field: String) throws(RequestFieldError) {
        do {
            try self.init(
                sku: wire.sku, name: wire.name, orderedQuantity: wire.quantityOrdered, receivedQuantity: wire.quantityReceived,
                brokenQuantity: wire.quantityBroken, paidUnitPrice: wire.paidUnitPriceRupiah,
                correctUnitPrice: wire.correctUnitPriceRupiah == 0 ? nil : wire.correctUnitPriceRupiah)
        } catch {
            throw RequestFieldError(field, error.description)
        }
    }

    var wire: AffectedItem {
        AffectedItem(
            sku: sku, name: name, quantityOrdered: orderedQuantity, quantityReceived: receivedQuantity, quantityBroken: brokenQuantity,
            paidUnitPriceRupiah: paidUnitPrice, correctUnitPriceRupiah: correctUnitPrice)
    }
}

extension CRMMessages.Complaint {
    /// The wire form of a complaint. `showNotes` is false for customers: they see states, not staff notes.
    init(_ c: CRMDomain.Complaint, customerID: String, priority: RoutingPriority, now: Int64, showNotes: Bool) {
        self.init()
        complaintID = c.id.rawValue
        self.customerID = customerID
        orderNumber = c.orderNumber.rawValue
        category = c.category.wire
        state = c.state.wire
        summary = c.summary
        items = c.items.map(\.wire)
        openedBy = c.openedBy.wire
        openedMs = c.openedAt
        updatedMs = c.lastChangedAt
        transitions = c.history.map { step in
            CRMMessages.ComplaintTransition(
                factID: step.factID?.rawValue ?? "", fromState: step.from.wire, toState: step.action.target.wire,
                actor: step.actor.wire, atMs: step.at, note: showNotes ? step.action.note : "")
        }
        if let d = c.decision, let at = c.decidedAt {
            let decider = c.history.last(where: { if case .decide = $0.action { true } else { false } })?.actor
            self.decision = CRMMessages.ComplaintDecision(
                resolution: d.refund.total > 0 ? .refund : .noCompensation, compensation: CompensationQuote(d.refund),
                rationale: showNotes ? d.note : "", decidedBy: decider?.wire, decidedMs: at)
            if let r = d.refund.returnRecord {
                qualityCheck = ReturnQualityCheck(
                    complaintID: c.id.rawValue, orderNumber: r.orderNumber.rawValue,
                    items: r.items.map {
                        QualityCheckItem(sku: $0.sku, quantityReturned: $0.quantity, quantityAccepted: r.qualityCheck.outcome == .accepted ? $0.quantity : 0)
                    },
                    verdict: r.qualityCheck.outcome == .accepted ? .passed : .failed, localShippingRupiah: r.localShippingCost,
                    inspector: ActorRef(role: .agent, name: r.qualityCheck.inspectedBy, team: .warehouse),
                    checkedMs: r.qualityCheck.inspectedAt, note: showNotes ? r.qualityCheck.notes : "")
            }
        }
        let policy = ServiceLevelPolicy.standard
        let status = ServiceLevelStatus(complaint: c, now: now)
        serviceLevel = ServiceLevel(
            firstResponseDueMs: c.openedAt + policy.firstResponse,
            firstResponseAtMs: c.firstResponseAt.map { Int64Value(value: $0) },
            firstResponseBreached: status.firstResponse.isBreached,
            resolutionDueMs: c.openedAt + policy.resolutionTarget(for: c.category),
            resolvedAtMs: c.resolvedAt.map { Int64Value(value: $0) },
            resolutionBreached: status.resolution.isBreached, evaluatedAtMs: now)
        self.priority = priority
        allowedNextStates = c.allowedNextStates.map(\.wire)
    }
}
