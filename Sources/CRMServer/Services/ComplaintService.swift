import CRMDomain
import CRMMessages
import CRMRPC
import CRMStore
import CRMWire

/// crm.v1.ComplaintService: open, follow, decide and compensate complaints; watch complaints and notices.
///
/// Scoping: a `customer` principal sees only its own customer's complaints and notices; any other complaint
/// answers PERMISSION_DENIED with the same message as one that does not exist.
struct ComplaintServiceProvider: RPCService {
    let env: ServiceEnvironment

    init(env: ServiceEnvironment) { self.env = env }

    func registerMethods(with router: inout MethodRouter) {
        router.register(CRMMessages.ComplaintService.openComplaint) { request, _ in try await open(request) }
        router.register(CRMMessages.ComplaintService.getComplaint, idempotent: true) { request, _ in try await get(request) }
        router.register(CRMMessages.ComplaintService.listComplaints, idempotent: true) { request, _ in try await list(request) }
        router.register(CRMMessages.ComplaintService.transitionComplaint) { request, _ in try await transition(request) }
        router.register(CRMMessages.ComplaintService.quoteCompensation, idempotent: true) { request, _ in try await quote(request) }
        router.register(CRMMessages.ComplaintService.recordReturnQualityCheck) { request, _ in try await recordQualityCheck(request) }
        router.registerClientStreaming(CRMMessages.ComplaintService.importComplaints) { requests, _ in try await importComplaints(requests) }
        router.registerServerStreaming(CRMMessages.ComplaintService.watchComplaints, idempotent: true) { request, writer, _ in
            try await watchComplaints(request, writer)
        }
        router.registerServerStreaming(CRMMessages.ComplaintService.watchMyNotices, idempotent: true) { request, writer, _ in
            try await watchNotices(request, writer)
        }
    }

    static let hiddenMessage = "customers may only see their own complaints"

    // MARK: Reading

    /// A complaint the caller may see, with its customer; NOT_FOUND for staff, PERMISSION_DENIED for a customer
    /// whether it is someone else's or does not exist.
    func visibleComplaint(_ raw: String, field: String) async throws -> (CRMDomain.Complaint, CustomerID?) {
        let id = try validated { try Check.complaintID(raw, field) }
        let scope = try env.recordScope()
        guard let complaint = try await env.store.complaint(id) else {
            if scope != .everyone { throw RPCStatus.permissionDenied(Self.hiddenMessage) }
            throw RPCStatus.notFound("no complaint has id \(id)")
        }
        let customer = try await env.store.customerID(for: complaint.customer)
        if !scope.permits(customer) { throw RPCStatus.permissionDenied(Self.hiddenMessage) }
        return (complaint, customer)
    }

    /// The routing priority of a customer's complaints, from their tier.
    func priority(of handle: CRMDomain.Handle, now: Int64) async throws -> RoutingPriority {
        guard let summary = try await env.store.summary(for: handle) else { return .normal }
        return CallRouting.route(problem: nil, tier: summary.tier(now: now), hasOpenComplaint: false).priority.wire
    }

    /// The wire complaint, with the pending quality check when there is no decision yet.
    func wire(_ c: CRMDomain.Complaint, customer: CustomerID?, now: Int64) async throws -> CRMMessages.Complaint {
        let showNotes = try env.recordScope().showsStaffNotes
        var result = CRMMessages.Complaint(
            c, customerID: customer?.rawValue ?? "", priority: try await priority(of: c.customer, now: now), now: now, showNotes: showNotes)
        if result.qualityCheck == nil, c.category == .customerReturn, let check = try await latestQualityCheck(c.id) {
            result.qualityCheck = check.wire(complaintID: c.id.rawValue, orderNumber: c.orderNumber.rawValue, showNotes: showNotes)
        }
        return result
    }

    func get(_ request: GetComplaintRequest) async throws -> GetComplaintResponse {
        let (complaint, customer) = try await visibleComplaint(request.complaintID, field: "complaint_id")
        return GetComplaintResponse(complaint: try await wire(complaint, customer: customer, now: env.now()))
    }

    func list(_ request: ListComplaintsRequest) async throws -> ListComplaintsResponse {
        let (order, categories, states, opened, page) = try validated {
            let order = try request.orderNumber.map { v throws(RequestFieldError) in try Check.orderNumber(v.value, "order_number.value") }
            return (
                order, try CRMDomain.ComplaintCategory.filter(request.categories, field: "categories"),
                try CRMDomain.ComplaintState.filter(request.states, field: "states"), try Check.timeRange(request.opened, "opened"),
                try Page(request.page))
        }
        let now = env.now()
        var customer: CustomerID?
        if request.customer != nil {
            customer = try await env.resolve(request.customer, field: "customer")
        } else {
            customer = try env.recordScope().customer
        }
        let all: [CRMDomain.Complaint]
        if let customer {
            all = try await env.store.complaints(of: customer)
        } else {
            all = try await env.store.complaints(inStates: Set(CRMDomain.ComplaintState.allCases), openedBefore: nil, limit: Int(Int32.max))
        }
        let matching = all.filter { c in
            if let order, c.orderNumber != order { return false }
            if let categories, !categories.contains(c.category) { return false }
            if let states, !states.contains(c.state) { return false }
            if let opened, !opened.contains(c.openedAt) { return false }
            if let breached = request.slaBreached, c.slaBreached(now: now) != breached.value { return false }
            return true
        }.sorted { ($0.openedAt, $0.id) < ($1.openedAt, $1.id) }
        let (slice, info) = page.slice(matching)
        var response = ListComplaintsResponse(page: info)
        var owners: [CRMDomain.Handle: (String, RoutingPriority)] = [:]
        for c in slice {
            if owners[c.customer] == nil {
                let id = try await env.store.customerID(for: c.customer)?.rawValue ?? ""
                owners[c.customer] = (id, try await priority(of: c.customer, now: now))
            }
            let (id, priority) = owners[c.customer]!
            response.complaints.append(CRMMessages.ComplaintSummary(c, customerID: id, priority: priority, now: now))
        }
        return response
    }

    // MARK: Opening

    /// The caller's role in the complaint flow.
    func actor() throws -> CRMDomain.Actor {
        guard let principal = env.principal else {
            throw RPCStatus(code: .unauthenticated, message: "complaints are changed by named staff; call with credentials")
        }
        guard let role = ActorRole(principal: principal) else {
            let who = principal.role == .agent ? "a \(principal.team?.rawValue ?? "team-less") agent" : "a \(principal.role.rawValue)"
            throw RPCStatus.permissionDenied("\(who) takes no part in the complaint flow; Sales, After-Sales, the China team and supervisors do")
        }
        do {
            return try CRMDomain.Actor(role: role, id: principal.name)
        } catch {
            throw RPCStatus.permissionDenied("the credentials carry no usable name: \(error.description)")
        }
    }

    /// Decisions: the domain's opening keeps the customer's handle, the order, the category, the summary and the
    /// affected `items`; a DECIDED transition with no `decision.confirmed_items` computes the refund from them.
    /// - `return_reason` is checked (required for RETURN, absent otherwise) and written to the audit trail, but not
    ///   kept on the complaint (it reads back as unspecified).
    /// - `interaction_id` is written to the audit trail.
    /// - the complaint id is derived from the idempotency key (`cmp_` + 16 hex digits), so a retried opening names
    ///   the same complaint and answers DUPLICATE.
    func open(_ request: OpenComplaintRequest) async throws -> OpenComplaintResponse {
        let (key, order, category, summary) = try validated {
            let key = try Check.key(request.key)
            let order = try Check.orderNumber(request.orderNumber, "order_number")
            let category = try CRMDomain.ComplaintCategory(wire: request.category, field: "category")
            switch (category, request.returnReason) {
            case (.customerReturn, .unspecified):
                throw RequestFieldError("return_reason", "is required for a RETURN complaint: BROKEN, NOT_AS_ORDERED or COMPENSATION_REFUSED")
            case (.customerReturn, .unrecognized(let n)):
                throw RequestFieldError("return_reason", "is \(n), a return reason this server does not know")
            case (.customerReturn, _), (_, .unspecified): break
            default: throw RequestFieldError("return_reason", "is only for RETURN complaints; leave it unspecified")
            }
            let summary = try Check.bounded(try Check.nonBlank(request.summary, "summary"), "summary", maximum: 2_000)
            if let interaction = request.interactionID { _ = try Check.nonBlank(interaction.value, "interaction_id.value") }
            return (key, order, category, summary)
        }
        let items = try validated {
            try request.items.enumerated().map { i, item throws(RequestFieldError) in try ClaimLine(wire: item, field: "items[\(i)]") }
        }
        let actor = try actor()
        let id = try validated { try Check.complaintID(DerivedID.complaint(key), "key") }
        let now = env.now()
        if let existing = try await env.store.complaint(id) {
            let customer = try await env.store.customerID(for: existing.customer)
            return OpenComplaintResponse(outcome: .duplicate, complaint: try await wire(existing, customer: customer, now: now))
        }
        let customer = try await env.resolve(request.customer, field: "customer")
        let handle: CRMDomain.Handle
        if case .handle(let wire)? = request.customer?.target {
            handle = try validated { try CRMDomain.Handle(wire: wire, field: "customer.handle") }
        } else if let summary = try await env.store.summary(of: customer) {
            handle = summary.anchor
        } else {
            throw RPCStatus.notFound("no customer has id \(customer)")
        }
        guard let orderView = try await env.store.order(order) else {
            throw RPCStatus.notFound("no order has number \(order)")
        }
        guard try await env.store.customerID(for: orderView.record.customer) == customer else {
            throw RPCStatus.failedPrecondition("order \(order) does not belong to customer \(customer); open the complaint for the order's customer")
        }
        let opening: ComplaintOpening
        do {
            opening = try ComplaintOpening(
                id: id, customer: handle, orderNumber: order, category: category, summary: summary, openedBy: actor, items: items)
        } catch .duplicateItem(let sku) {
            throw RPCStatus.invalidArgument("items", ComplaintOpeningError.duplicateItem(sku: sku).description)
        } catch {
            throw RPCStatus.permissionDenied(error.description)
        }
        let receipt = try await env.write(
            [Fact(id: key, observedAt: now, source: .agent, payload: .complaintOpened(opening))], audit: "OpenComplaint", subject: .text(id.rawValue),
            "\(category.displayName) complaint on order \(order) for \(customer); return reason \(request.returnReason.protoName); interaction \(request.interactionID?.value ?? "-")")
        if case .conflict = receipt.outcomes[0] {
            // A retry racing the first request (its time differs, so its fact does too) finds the complaint opened.
            if let existing = try await env.store.complaint(id) {
                return OpenComplaintResponse(outcome: .duplicate, complaint: try await wire(existing, customer: customer, now: now))
            }
            throw RPCStatus.failedPrecondition("the key \(key) was already used for another fact; give this opening its own key")
        }
        let outcome = receipt.outcomes[0].wire
        guard let stored = try await env.store.complaint(id) else {
            throw RPCStatus(code: .internal, message: "complaint \(id) was stored but cannot be read back")
        }
        let result = try await wire(stored, customer: customer, now: now)
        if outcome == .accepted {
            await publishChange(.opened, stored, customer: customer, transition: nil, now: now)
        }
        return OpenComplaintResponse(outcome: outcome, complaint: result)
    }

    // MARK: Transitions

    func transition(_ request: TransitionComplaintRequest) async throws -> TransitionComplaintResponse {
        let (key, target, expected, note) = try validated {
            let key = try Check.key(request.key)
            let target = try CRMDomain.ComplaintState(wire: request.toState, field: "to_state")
            let expected: CRMDomain.ComplaintState? = request.expectedState == .unspecified
                ? nil : try CRMDomain.ComplaintState(wire: request.expectedState, field: "expected_state")
            let note = try Check.bounded(request.note, "note", maximum: 2_000)
            if target == .decided && request.decision == nil {
                throw RequestFieldError("decision", "is required when to_state is DECIDED")
            }
            if target != .decided && request.decision != nil {
                throw RequestFieldError("decision", "is only for to_state DECIDED; leave it out")
            }
            return (key, target, expected, note)
        }
        let actor = try actor()
        if let claimed = request.actor {
            if !claimed.name.isEmpty && claimed.name != actor.id {
                throw RPCStatus.permissionDenied("actor.name '\(claimed.name)' is not the caller '\(actor.id)'; leave it empty or give your own name")
            }
            if claimed.role != .unspecified && claimed.role != env.actorRef.role {
                throw RPCStatus.permissionDenied("actor.role \(claimed.role.protoName) is not the caller's role; leave it unspecified")
            }
            if claimed.team != .unspecified && claimed.team != env.actorRef.team {
                throw RPCStatus.permissionDenied("actor.team \(claimed.team.protoName) is not the caller's team; leave it unspecified")
            }
        }
        let (complaint, customer) = try await visibleComplaint(request.complaintID, field: "complaint_id")
        let now = env.now()
        // A retried transition (same key) answers DUPLICATE with the step it recorded.
        if let index = complaint.history.firstIndex(where: { $0.factID == key }) {
            return TransitionComplaintResponse(
                outcome: .duplicate, transition: wireTransition(complaint.history[index], note: note),
                complaint: try await wire(complaint, customer: customer, now: now))
        }
        // Strictly after the last change, so steps made within one millisecond keep their order in the projection.
        let at = max(now, complaint.lastChangedAt + 1)
        let action: ComplaintAction
        do {
            if let expected, expected != complaint.state {
                throw RPCStatus.failedPrecondition(
                    "complaint \(complaint.id) is \(complaint.state.wireName), not the expected \(expected.wireName); reread it and decide again")
            }
            action = try await self.action(for: target, note: note, decision: request.decision, complaint: complaint)
            var trial = complaint
            do {
                try trial.apply(CRMDomain.ComplaintTransition(action: action, actor: actor, at: at), factID: key)
            } catch {
                throw status(for: error, complaint: complaint, target: target)
            }
        } catch {
            // A retry whose step is stored but not in force (or whose key named another fact) changes nothing and
            // answers DUPLICATE, as the first answer did; the key is looked up only on this refused path.
            if try await env.store.containsFact(key) {
                return TransitionComplaintResponse(outcome: .duplicate, complaint: try await wire(complaint, customer: customer, now: now))
            }
            throw error
        }
        let receipt = try await env.write(
            [Fact(id: key, observedAt: at, source: .agent, payload: .complaintTransition(ComplaintStep(complaintID: complaint.id, action: action, actor: actor)))],
            audit: "TransitionComplaint", subject: .text(complaint.id.rawValue),
            "\(complaint.state.wireName) -> \(target.wireName) by \(actor)\(note.isEmpty ? "" : ": \(note)")")
        let inserted = receipt.outcomes[0] == .inserted
        guard let stored = try await env.store.complaint(complaint.id) else {
            throw RPCStatus(code: .internal, message: "complaint \(complaint.id) cannot be read back")
        }
        if inserted && stored.ignoredTransitions.contains(where: { $0.factID == key }) {
            throw RPCStatus(code: .aborted, message: "complaint \(complaint.id) changed while this transition was recorded; reread it and try again with a new key")
        }
        guard let step = stored.history.last(where: { $0.factID == key }) else {
            guard inserted else {
                // The key's step is stored but not in force (or the key named another fact): nothing changes.
                return TransitionComplaintResponse(outcome: .duplicate, complaint: try await wire(stored, customer: customer, now: now))
            }
            throw RPCStatus(code: .internal, message: "the transition of complaint \(complaint.id) was stored but is not in its history")
        }
        let transition = wireTransition(step, note: note)
        if inserted {
            await publishChange(.transitioned, stored, customer: customer, transition: transition, now: now)
            await publishNotice(for: stored, customer: customer, step: step, now: now)
        }
        return TransitionComplaintResponse(
            outcome: inserted ? .accepted : .duplicate, transition: transition, complaint: try await wire(stored, customer: customer, now: now))
    }

    func wireTransition(_ step: AppliedTransition, note: String) -> CRMMessages.ComplaintTransition {
        CRMMessages.ComplaintTransition(
            factID: step.factID?.rawValue ?? "", fromState: step.from.wire, toState: step.action.target.wire, actor: step.actor.wire,
            atMs: step.at, note: note)
    }

    /// The status of a refused transition: FAILED_PRECONDITION naming the current and the allowed states for an
    /// illegal move, PERMISSION_DENIED for a role that may not make it.
    func status(for error: ComplaintTransitionError, complaint: CRMDomain.Complaint, target: CRMDomain.ComplaintState) -> RPCStatus {
        switch error {
        case .illegalTransition(_, let from, let to, let allowed):
            return .failedPrecondition(
                "complaint \(complaint.id) is \(from.wireName) and cannot become \(to.wireName); from \(from.wireName) it can become: \(allowed.map(\.wireName).joined(separator: ", "))")
        case .roleNotPermitted:
            return .permissionDenied(error.description)
        case .reasonRequired:
            return .invalidArgument("note", error.description)
        case .returnRecordRequired, .returnForOtherOrder, .timeBeforeLastChange:
            return .failedPrecondition(error.description)
        }
    }

    /// The domain action that leads to `target`.
    func action(
        for target: CRMDomain.ComplaintState, note: String, decision: ComplaintDecisionInput?, complaint: CRMDomain.Complaint
    ) async throws -> ComplaintAction {
        switch target {
        case .opened:
            let allowed = complaint.allowedNextStates.map(\.wireName).joined(separator: ", ")
            throw RPCStatus.failedPrecondition(
                "complaint \(complaint.id) is \(complaint.state.wireName) and cannot become OPENED; from \(complaint.state.wireName) it can become: \(allowed)")
        case .inReview: return .startReview
        case .waitingOnSupplier: return .askSupplier(note: note)
        case .rejected: return .reject(reason: note)
        case .customerInformed: return .informCustomer
        case .closed: return .close
        case .reopened: return .reopen(reason: note)
        case .decided: return .decide(try await makeDecision(decision!, complaint: complaint))
        }
    }

    /// The domain's decision from the wire's: the request's fields are validated here, the rules are the domain's
    /// (``CRMDomain/Complaint/decision(for:inspection:order:)``).
    ///
    /// Decision: the domain's decision is a computed refund and a note. REPLACEMENT and STORE_CREDIT cannot be
    /// represented and are refused; the resolution reads back as REFUND when the total is above 0, NO_COMPENSATION
    /// otherwise. Goodwill `adjustments` become goodwill lines of the refund.
    func makeDecision(_ input: ComplaintDecisionInput, complaint: CRMDomain.Complaint) async throws -> CRMDomain.ComplaintDecision {
        let request = try validated {
            let resolution: DecisionRequest.Resolution
            switch input.resolution {
            case .refund: resolution = .refund
            case .noCompensation: resolution = .noCompensation
            case .unspecified: throw RequestFieldError("decision.resolution", "is required: REFUND or NO_COMPENSATION")
            case .replacement, .storeCredit:
                throw RequestFieldError("decision.resolution", "\(input.resolution.protoName) cannot be recorded by this server; decide REFUND or NO_COMPENSATION and describe the settlement in the rationale")
            case .unrecognized(let n): throw RequestFieldError("decision.resolution", "is \(n), a resolution this server does not know")
            }
            guard input.returnShippingRupiah >= 0 else {
                throw RequestFieldError("decision.return_shipping_rupiah", "is \(input.returnShippingRupiah); give 0 or more")
            }
            let rationale = try Check.bounded(input.rationale, "decision.rationale", maximum: 4_000)
            let claims = try input.confirmedItems.enumerated().map { i, item throws(RequestFieldError) in
                try ClaimLine(wire: item, field: "decision.confirmed_items[\(i)]")
            }
            let goodwill = try input.adjustments.enumerated().map { i, line throws(RequestFieldError) in
                try GoodwillAdjustment(wire: line, field: "decision.adjustments[\(i)]")
            }
            return DecisionRequest(
                resolution: resolution, confirmedItems: claims, goodwill: goodwill, returnShipping: input.returnShippingRupiah, rationale: rationale)
        }
        var inspection: (check: ReturnInspection, at: Int64)?
        var order: OrderRecord?
        if complaint.paysThroughReturn && request.resolution == .refund {
            if let check = try await latestQualityCheck(complaint.id) {
                inspection = (try validated { try check.inspection(of: complaint.id, order: complaint.orderNumber) }, check.checkedMs)
            }
            order = try await env.store.order(complaint.orderNumber)?.record
        }
        do {
            return try complaint.decision(for: request, inspection: inspection, order: order)
        } catch {
            throw Self.status(for: error)
        }
    }

    /// The status of a decision the domain refuses: the request field to fix, or the step to take first.
    static func status(for error: DecisionError) -> RPCStatus {
        switch error {
        case .goodwillNeedsRefund: .invalidArgument("decision.adjustments", error.description)
        case .returnNeedsRefund: .invalidArgument("decision.resolution", error.description)
        case .returnShippingOnlyForReturns: .invalidArgument("decision.return_shipping_rupiah", error.description)
        case .qualityCheckMissing, .orderUnknown: .failedPrecondition(error.description)
        case .returnNotPayable: .invalidArgument("decision", "the return's quality check cannot be paid: \(error.description)")
        case .nothingToRefund, .compensation: .invalidArgument("decision.confirmed_items", error.description)
        }
    }

    // MARK: Compensation quotes

    func quote(_ request: QuoteCompensationRequest) async throws -> QuoteCompensationResponse {
        guard let subject = request.subject else { throw RPCStatus.invalidArgument("subject", "is required: a complaint_id or a what_if") }
        switch subject {
        case .complaintID(let raw):
            let (complaint, _) = try await visibleComplaint(raw, field: "complaint_id")
            if let decision = complaint.decision {
                return QuoteCompensationResponse(quote: CompensationQuote(decision.refund))
            }
            guard !complaint.items.isEmpty else {
                throw RPCStatus.failedPrecondition(
                    "complaint \(complaint.id) is \(complaint.state.wireName), not decided and was opened without items; quote a what_if with the items meanwhile")
            }
            do {
                return QuoteCompensationResponse(quote: CompensationQuote(try Compensation.compute(claims: complaint.items)))
            } catch {
                throw RPCStatus.failedPrecondition("the items complaint \(complaint.id) was opened with give no refund: \(error.description)")
            }
        case .whatIf(let input):
            let claims = try validated {
                let category = try CRMDomain.ComplaintCategory(wire: input.category, field: "what_if.category")
                guard input.returnShippingRupiah >= 0 else {
                    throw RequestFieldError("what_if.return_shipping_rupiah", "is \(input.returnShippingRupiah); give 0 or more")
                }
                if input.returnShippingRupiah > 0 && !category.paysThroughReturn {
                    throw RequestFieldError("what_if.return_shipping_rupiah", DecisionError.returnShippingOnlyForReturns.description)
                }
                if input.items.isEmpty { throw RequestFieldError("what_if.items", "is empty: give the affected items") }
                let claims = try input.items.enumerated().map { i, item throws(RequestFieldError) in
                    try ClaimLine(wire: item, field: "what_if.items[\(i)]")
                }
                return claims
            }
            do {
                return QuoteCompensationResponse(quote: CompensationQuote(try Compensation.quote(claims: claims, returnShipping: input.returnShippingRupiah)))
            } catch {
                throw RPCStatus.invalidArgument("what_if.items", error.description)
            }
        }
    }

    // MARK: Quality checks

    /// The newest quality check of a complaint: its newest ``ReturnInspection`` fact.
    func latestQualityCheck(_ id: ComplaintID) async throws -> QualityCheckRecord? {
        try await env.store.returnInspections(of: id).last.flatMap(QualityCheckRecord.init(fact:))
    }

    func recordQualityCheck(_ request: RecordReturnQualityCheckRequest) async throws -> RecordReturnQualityCheckResponse {
        let now = env.now()
        let (key, check, complaintRaw, orderNumber) = try validated {
            let check = try Check.present(request.check, "check")
            let key = try Check.key(check.key, "check.key")
            let order = try Check.orderNumber(check.orderNumber, "check.order_number")
            let verdict = try Check.known(check.verdict, "check.verdict", unspecified: .unspecified)
            guard check.localShippingRupiah >= 0 else {
                throw RequestFieldError("check.local_shipping_rupiah", "is \(check.localShippingRupiah); give 0 or more")
            }
            if check.items.isEmpty { throw RequestFieldError("check.items", "is empty: list what came back") }
            var skus: Set<String> = []
            for (i, item) in check.items.enumerated() {
                let path = "check.items[\(i)]"
                _ = try Check.nonBlank(item.sku, path + ".sku")
                guard skus.insert(item.sku).inserted else { throw RequestFieldError(path + ".sku", "SKU \(item.sku) is listed twice") }
                guard item.quantityReturned >= 1 else { throw RequestFieldError(path + ".quantity_returned", "is \(item.quantityReturned); at least 1 unit comes back") }
                guard (0...item.quantityReturned).contains(item.quantityAccepted) else {
                    throw RequestFieldError(path + ".quantity_accepted", "is \(item.quantityAccepted); it is between 0 and quantity_returned (\(item.quantityReturned))")
                }
            }
            let received = try Check.time(check.receivedMs, "check.received_ms")
            let checked = check.checkedMs == 0 ? now : try Check.time(check.checkedMs, "check.checked_ms")
            let record = QualityCheckRecord(
                key: key.rawValue, verdict: verdict, localShipping: check.localShippingRupiah, receivedMs: received, checkedMs: checked,
                inspector: env.principal?.name ?? "anonymous", items: check.items, note: try Check.bounded(check.note, "check.note", maximum: 2_000))
            return (key, record, check.complaintID, order)
        }
        let (complaint, customer) = try await visibleComplaint(complaintRaw, field: "check.complaint_id")
        guard complaint.category == .customerReturn else {
            throw RPCStatus.failedPrecondition("complaint \(complaint.id) is \(complaint.category.displayName), not a RETURN; quality checks belong to returns")
        }
        guard complaint.orderNumber == orderNumber else {
            throw RPCStatus.failedPrecondition("complaint \(complaint.id) is about order \(complaint.orderNumber), not \(orderNumber)")
        }
        guard complaint.decision == nil else {
            throw RPCStatus.failedPrecondition("complaint \(complaint.id) is already decided; reopen it to record a new check")
        }
        guard let order = try await env.store.order(orderNumber) else { throw RPCStatus.notFound("no order has number \(orderNumber)") }
        let inspection = try validated { try check.inspection(of: complaint.id, order: orderNumber) }
        do {
            _ = try inspection.returnRecord(order: order.record, inspectedAt: check.checkedMs)
        } catch {
            throw RPCStatus.invalidArgument("check.items", error.description)
        }
        let units = check.items.map { "\($0.sku) \($0.quantityAccepted)/\($0.quantityReturned)" }.joined(separator: ", ")
        let outcome = try await env.write(
            [Fact(id: key, observedAt: check.checkedMs, source: .agent, payload: .returnInspection(inspection))], audit: QualityCheckRecord.action,
            subject: .text(complaint.id.rawValue), "\(check.verdict.protoName) on order \(orderNumber): \(units)"
        ).outcomes[0].wire
        if outcome == .accepted {
            await publishChange(.qualityCheckRecorded, complaint, customer: customer, transition: nil, now: now)
        }
        return RecordReturnQualityCheckResponse(outcome: outcome, complaint: try await wire(complaint, customer: customer, now: now))
    }

    // MARK: Events

    func publishChange(
        _ kind: ComplaintChangeKind, _ c: CRMDomain.Complaint, customer: CustomerID?, transition: CRMMessages.ComplaintTransition?, now: Int64
    ) async {
        let priority = (try? await priority(of: c.customer, now: now)) ?? .normal
        let event = WatchComplaintsResponse(
            kind: kind, complaint: CRMMessages.ComplaintSummary(c, customerID: customer?.rawValue ?? "", priority: priority, now: now),
            transition: transition, changedMs: now)
        await env.events.publish(.complaint(event, customerID: customer?.rawValue ?? ""), at: now)
    }

    /// Decision: the customer hears of a complaint when it is decided, rejected, reported to them, closed or
    /// reopened (COMPLAINT_UPDATED, audience customer); review steps stay internal.
    func publishNotice(for c: CRMDomain.Complaint, customer: CustomerID?, step: AppliedTransition, now: Int64) async {
        guard let notice = Self.updateNotice(for: c, customer: customer, step: step, at: now) else { return }
        await env.events.publish(.notice(notice), at: now)
    }

    /// The customer's notice of `step` of complaint `c`, sent at `at`; nil for a step the customer does not hear of.
    static func updateNotice(for c: CRMDomain.Complaint, customer: CustomerID?, step: AppliedTransition, at: Int64) -> ProactiveNotice? {
        let target = step.action.target
        guard [.decided, .rejected, .customerInformed, .closed, .reopened].contains(target), let customer else { return nil }
        var notice = ProactiveNotice(
            noticeID: "notice/complaint-updated/\(c.id)/\(step.factID?.rawValue ?? String(step.at))", kind: .complaintUpdated,
            audience: .customer, customerID: customer.rawValue, createdMs: at, dueMs: 0,
            headline: "Complaint \(c.id) is now \(target.wireName.replacingUnderscores)",
            body: "Your \(c.category.displayName) complaint about order \(c.orderNumber) is now \(target.wireName.replacingUnderscores).")
        notice.subject = .complaintID(c.id.rawValue)
        return notice
    }

    /// Decision: `since_ms` replays from the store the openings and transitions whose time is at or after it, each
    /// with the complaint as it stood after that step (and the customer's priority now), in the order they were
    /// stored; then the stream goes live. Quality checks are not replayed.
    func watchComplaints(_ request: WatchComplaintsRequest, _ writer: ResponseWriter<WatchComplaintsResponse>) async throws {
        let (categories, states, since) = try validated {
            (
                try CRMDomain.ComplaintCategory.filter(request.categories, field: "categories"),
                try CRMDomain.ComplaintState.filter(request.states, field: "states"), try Check.time(request.sinceMs, "since_ms")
            )
        }
        let wireCategories = categories.map { Set($0.map(\.wire)) }
        let wireStates = states.map { Set($0.map(\.wire)) }
        func matches(_ event: WatchComplaintsResponse, _ customer: String) -> Bool {
            guard let summary = event.complaint else { return false }
            if let wireCategories, !wireCategories.contains(summary.category) { return false }
            if let wireStates, !wireStates.contains(summary.state) { return false }
            return true
        }
        let replay = WatchReplay(store: env.store, events: env.events)
        try await replay.run(
            since: since,
            history: { through, send in
                try await replay.facts(.complaintSteps, since: since, through: through) { positioned in
                    guard let (event, customer) = try await replayedChange(positioned.fact), matches(event, customer) else { return }
                    try await send(Self.changeID(event), .complaint(event, customerID: customer))
                }
            },
            id: { event in
                guard case .complaint(let e, _) = event else { return nil }
                return Self.changeID(e)
            },
            deliver: { event in
                if case .complaint(let e, let customer) = event, matches(e, customer) { try await writer.write(e) }
            })
    }

    /// What identifies a complaint change in a replay and live alike: the step's fact, or the opening.
    static func changeID(_ event: WatchComplaintsResponse) -> String {
        let complaint = event.complaint?.complaintID ?? ""
        switch event.kind {
        case .opened: return "opened/" + complaint
        case .transitioned: return "step/" + (event.transition?.factID ?? complaint)
        default: return "\(event.kind.protoName)/\(complaint)/\(event.changedMs)"
        }
    }

    /// A stored opening or transition as its watch event and the customer it belongs to; nil for a transition not in
    /// force.
    func replayedChange(_ fact: Fact) async throws -> (WatchComplaintsResponse, String)? {
        let now = env.now()
        switch fact.payload {
        case .complaintOpened(let opening):
            guard let c = try await env.store.complaint(opening.id)?.asOf(step: nil) else { return nil }
            let customer = try await env.store.customerID(for: c.customer)?.rawValue ?? ""
            let summary = CRMMessages.ComplaintSummary(c, customerID: customer, priority: try await priority(of: c.customer, now: now), now: now)
            return (WatchComplaintsResponse(kind: .opened, complaint: summary, transition: nil, changedMs: fact.observedAt), customer)
        case .complaintTransition(let step):
            guard let c = try await env.store.complaint(step.complaintID)?.asOf(step: fact.id), let applied = c.history.last else { return nil }
            let customer = try await env.store.customerID(for: c.customer)?.rawValue ?? ""
            let summary = CRMMessages.ComplaintSummary(c, customerID: customer, priority: try await priority(of: c.customer, now: now), now: now)
            let transition = wireTransition(applied, note: applied.action.note)
            return (WatchComplaintsResponse(kind: .transitioned, complaint: summary, transition: transition, changedMs: fact.observedAt), customer)
        default:
            return nil
        }
    }

    /// Decision: `since_ms` replays from the store the notices sent at or after it — delay notices (from their facts,
    /// with the order's status when each was sent), the customers' complaint updates (from the transitions) and
    /// service-level warnings (from the record of sent notices, with the complaint's state now) — then goes live.
    func watchNotices(_ request: WatchMyNoticesRequest, _ writer: ResponseWriter<WatchMyNoticesResponse>) async throws {
        let since = try validated { try Check.time(request.sinceMs, "since_ms") }
        var kinds: Set<NoticeKind>?
        for (i, kind) in request.kinds.enumerated() {
            if case .unrecognized(let n) = kind { throw RPCStatus.invalidArgument("kinds[\(i)]", "is \(n), a notice kind this server does not know") }
            kinds = (kinds ?? []).union([kind])
        }
        let scope = try env.recordScope()
        var customer: String? = scope.customer?.rawValue
        if request.customer != nil {
            customer = try await env.resolve(request.customer, field: "customer").rawValue
        }
        func matches(_ notice: ProactiveNotice) -> Bool {
            if let customer, notice.customerID != customer { return false }
            if scope != .everyone && notice.audience != .customer { return false }
            if let kinds, !kinds.contains(notice.kind) { return false }
            return true
        }
        let replay = WatchReplay(store: env.store, events: env.events)
        try await replay.run(
            since: since,
            history: { through, send in
                try await replay.facts([.delayNotices, .complaintSteps], since: since, through: through) { positioned in
                    guard let notice = try await replayedNotice(positioned.fact), matches(notice) else { return }
                    try await send(notice.noticeID, .notice(notice))
                }
                // Service-level warnings are recorded apart from the facts, by time.
                var after: SentNotice?
                while true {
                    let page = try await env.store.sentNotices(since: since, after: after, limit: WatchReplay.pageSize)
                    for sent in page {
                        guard let notice = try await replayedWarning(sent), matches(notice) else { continue }
                        try await send(notice.noticeID, .notice(notice))
                    }
                    guard page.count == WatchReplay.pageSize else { break }
                    after = page.last
                }
            },
            id: { event in
                guard case .notice(let notice) = event else { return nil }
                return notice.noticeID
            },
            deliver: { event in
                if case .notice(let notice) = event, matches(notice) { try await writer.write(WatchMyNoticesResponse(notice: notice)) }
            })
    }

    /// The notice a stored fact sent: a delay notice, or a customer's complaint update; nil for any other fact.
    func replayedNotice(_ fact: Fact) async throws -> ProactiveNotice? {
        switch fact.payload {
        case .delayNoticeSent(let id):
            guard let order = try await env.store.order(id.orderNumber) else { return nil }
            let notice = DelayNotice.sent(id, about: order, at: fact.observedAt)
            let customer = try await env.store.customerID(for: notice.customer)?.rawValue ?? ""
            return ProactiveNotice(delay: notice, customerID: customer, now: fact.observedAt)
        case .complaintTransition(let step):
            guard let c = try await env.store.complaint(step.complaintID)?.asOf(step: fact.id), let applied = c.history.last else { return nil }
            return Self.updateNotice(for: c, customer: try await env.store.customerID(for: c.customer), step: applied, at: fact.observedAt)
        default:
            return nil
        }
    }

    /// The service-level warning a record of sent notices names, with its complaint as it is now.
    func replayedWarning(_ sent: SentNotice) async throws -> ProactiveNotice? {
        guard let warning = ServiceLevelWarning(id: sent.id), let complaint = try await env.store.complaint(warning.complaint) else { return nil }
        let customer = try await env.store.customerID(for: complaint.customer)?.rawValue ?? ""
        return ProactiveNotice(warning: warning, complaint: complaint, customerID: customer, now: sent.at)
    }
}

extension String {
    /// `CUSTOMER_INFORMED` as `customer informed`.
    var replacingUnderscores: String { lowercased().split(separator: "_").joined(separator: " ") }
}
