import CRMDomain
import CRMMessages
import CRMRPC
import CRMStore
import CRMWire

/// crm.v1.ComplaintService/ImportComplaints: past complaints brought in with their times.
extension ComplaintServiceProvider {
    /// Complaints appended together while an import's stream is still open (as for orders).
    static let importChunkSize = 500

    /// Decisions: each row becomes the opening and its steps (``PastComplaint``), all made by the importing
    /// supervisor at the recorded times, appended together so a row is stored whole or not at all; the complaint's id
    /// derives from the row's key as for a live opening, and its facts' ids from the key and the step, so a second
    /// import of the same record answers DUPLICATE. The order need not be known (history predates the order import);
    /// the customer's handle creates the customer when unknown. A decided RETURN needs its quality check, which an
    /// import cannot carry: such a row is refused.
    func importComplaints(_ requests: RequestStream<ImportComplaintsRequest>) async throws -> ImportComplaintsResponse {
        let actor = try actor()
        let now = env.now()
        var results = BulkResults<ImportComplaintRowResult>()
        var pending: [(position: Int, row: UInt64, id: ComplaintID, facts: [Fact])] = []
        var refused: [(position: Int, result: ImportComplaintRowResult)] = []
        var position = 0
        for try await row in requests {
            defer { position += 1 }
            do throws(RequestFieldError) {
                let (id, facts) = try Self.pastComplaintFacts(row, actor: actor, now: now)
                pending.append((position, row.rowNumber, id, facts))
            } catch {
                refused.append((position, ImportComplaintRowResult(rowNumber: row.rowNumber, outcome: .rejected, violations: [error.violation])))
            }
            if pending.count + refused.count == Self.importChunkSize {
                try await importChunk(pending, refused: refused, into: &results, items: position + 1)
                pending.removeAll(keepingCapacity: true)
                refused.removeAll(keepingCapacity: true)
            }
        }
        try await importChunk(pending, refused: refused, into: &results, items: position)
        var response = ImportComplaintsResponse(results: results.inStreamOrder)
        response.acceptedCount = UInt64(response.results.count { $0.outcome == .accepted })
        response.duplicateCount = UInt64(response.results.count { $0.outcome == .duplicate })
        response.rejectedCount = UInt64(response.results.count { $0.outcome == .rejected })
        return response
    }

    private func importChunk(
        _ chunk: [(position: Int, row: UInt64, id: ComplaintID, facts: [Fact])], refused: [(position: Int, result: ImportComplaintRowResult)],
        into results: inout BulkResults<ImportComplaintRowResult>, items: Int
    ) async throws {
        var chunkResults = refused
        if !chunk.isEmpty {
            let rows = Dictionary(uniqueKeysWithValues: chunk.map { ($0.position, $0.row) })
            let outcomes = try await env.writeChunk(
                chunk.map { ($0.position, $0.facts) }, audit: "ImportComplaints", subject: "complaints", "\(chunk.count) past complaints"
            ) { position in "row \(rows[position] ?? 0)" }
            for item in chunk {
                var result = ImportComplaintRowResult(rowNumber: item.row, complaintID: item.id.rawValue)
                switch outcomes[item.position]! {
                case .success(let (outcome, _)):
                    result.outcome = outcome
                case .failure(let status):
                    result.outcome = .rejected
                    result.violations = [CRMMessages.FieldViolation(field: "complaint", reason: status.message)]
                }
                chunkResults.append((item.position, result))
            }
        }
        for (position, result) in chunkResults { try results.add(result, at: position, items: items) }
    }

    /// The complaint id and the facts of one imported row: the opening under the row's key, then each step under the
    /// key and the step's place (`<key>/1-review`, …), which also orders steps recorded at the same moment.
    static func pastComplaintFacts(_ row: ImportComplaintsRequest, actor: CRMDomain.Actor, now: Int64) throws(RequestFieldError) -> (ComplaintID, [Fact]) {
        let key = try Check.key(row.key)
        let wire = try Check.present(row.complaint, "complaint")
        let id = try Check.complaintID(DerivedID.complaint(key), "key")
        let handle = try CRMDomain.Handle(wire: wire.customerHandle, field: "complaint.customer_handle")
        let order = try Check.orderNumber(wire.orderNumber, "complaint.order_number")
        let category = try CRMDomain.ComplaintCategory(wire: wire.category, field: "complaint.category")
        let summary = try Check.bounded(wire.summary, "complaint.summary", maximum: 2_000)
        let items = try wire.items.enumerated().map { i, item throws(RequestFieldError) in try ClaimLine(wire: item, field: "complaint.items[\(i)]") }
        func moment(_ value: Int64, _ field: String) throws(RequestFieldError) -> Int64 {
            let at = try Check.time(value, field)
            guard at <= now else { throw RequestFieldError(field, "is in the future; a past complaint's times are before now") }
            return at
        }
        let openedAt = try moment(wire.openedMs, "complaint.opened_ms")
        guard openedAt > 0 else { throw RequestFieldError("complaint.opened_ms", "is required: when the complaint was opened") }
        let settledAt = try wire.settledMs.map { v throws(RequestFieldError) in try moment(v.value, "complaint.settled_ms.value") }
        let informedAt = try wire.informedMs.map { v throws(RequestFieldError) in try moment(v.value, "complaint.informed_ms.value") }
        let closedAt = try wire.closedMs.map { v throws(RequestFieldError) in try moment(v.value, "complaint.closed_ms.value") }
        let rationale = try Check.bounded(wire.rationale, "complaint.rationale", maximum: 4_000)
        let reason = try Check.bounded(wire.rejectionReason, "complaint.rejection_reason", maximum: 2_000)
        let goodwill = try wire.adjustments.enumerated().map { i, line throws(RequestFieldError) in
            try GoodwillAdjustment(wire: line, field: "complaint.adjustments[\(i)]")
        }

        var outcome: CRMDomain.PastComplaint.Outcome?
        switch (wire.resolution, reason.trimmingWhitespace.isEmpty) {
        case (.unspecified, true):
            if settledAt != nil { throw RequestFieldError("complaint.settled_ms", "is given but the complaint has no resolution or rejection reason") }
        case (.unspecified, false):
            outcome = .rejected(reason: reason)
        case (.refund, true), (.noCompensation, true):
            if wire.resolution == .noCompensation && !goodwill.isEmpty {
                throw RequestFieldError("complaint.adjustments", "goodwill is paid as a refund: resolution REFUND, or no adjustments")
            }
            let refund: Refund
            do {
                refund = wire.resolution == .refund ? try Compensation.compute(claims: items, goodwill: goodwill) : .nothing
            } catch {
                throw RequestFieldError("complaint.items", error.description)
            }
            if let stated = wire.statedRefund?.value, stated != refund.total {
                throw RequestFieldError(
                    "complaint.stated_refund",
                    "is \(Rupiah.format(stated)) but the items and adjustments give \(Rupiah.format(refund.total)); check the quantities and prices, or add the difference as an adjustment")
            }
            outcome = .decided(ComplaintDecision(refund: refund, note: rationale))
        case (.refund, false), (.noCompensation, false):
            throw RequestFieldError("complaint.rejection_reason", "is for a rejected complaint; leave it empty when the complaint was decided")
        case (.replacement, _), (.storeCredit, _):
            throw RequestFieldError("complaint.resolution", "\(wire.resolution.protoName) cannot be recorded by this server; REFUND or NO_COMPENSATION")
        case (.unrecognized(let n), _):
            throw RequestFieldError("complaint.resolution", "is \(n), a resolution this server does not know")
        }
        if outcome != nil && settledAt == nil {
            throw RequestFieldError("complaint.settled_ms", "is required: when the complaint was decided or rejected")
        }
        let past: CRMDomain.PastComplaint
        do {
            let opening = try ComplaintOpening(id: id, customer: handle, orderNumber: order, category: category, summary: summary, openedBy: actor, items: items)
            past = try CRMDomain.PastComplaint(
                opening: opening, openedAt: openedAt, outcome: outcome.map { ($0, settledAt!) }, informedAt: informedAt, closedAt: closedAt,
                recordedBy: actor)
        } catch let error as PastComplaintError {
            throw RequestFieldError("complaint", error.description)
        } catch {
            throw RequestFieldError("complaint", "\(error)")
        }
        var facts = [Fact(id: key, observedAt: openedAt, source: .bulkImport, payload: .complaintOpened(past.opening))]
        for (n, step) in past.steps.enumerated() {
            let name: String = switch step.action {
            case .startReview: "review"
            case .decide: "decide"
            case .reject: "reject"
            case .informCustomer: "inform"
            case .close: "close"
            case .askSupplier: "ask-supplier"
            case .reopen: "reopen"
            }
            let stepID = try Check.factID("\(key.rawValue)/\(n + 1)-\(name)", "key")
            facts.append(Fact(
                id: stepID, observedAt: step.at, source: .bulkImport,
                payload: .complaintTransition(ComplaintStep(complaintID: id, action: step.action, actor: step.actor))))
        }
        return (id, facts)
    }
}
