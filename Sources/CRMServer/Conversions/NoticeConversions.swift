import CRMDomain
import CRMMessages

extension ProactiveNotice {
    /// The notice of an order past its estimate, for the sweeper to publish on the ``EventHub`` (after recording
    /// the domain's `delayNoticeSent` fact, so it is emitted once).
    public init(delay: DelayNotice, customerID: String, now: Int64) {
        self.init(
            noticeID: delay.id.description, kind: .orderPastEstimate, audience: .customer, customerID: customerID, createdMs: now,
            dueMs: delay.id.estimatedDeliveryAt,
            headline: "Pesanan \(delay.id.orderNumber.rawValue) terlambat \(delay.daysLate) hari",
            body: delay.message)
        subject = .orderNumber(delay.id.orderNumber.rawValue)
    }

    /// The staff notice of a complaint whose service-level deadline is near (`breached` false) or missed (true),
    /// at the deadline `due`; its id is deterministic per complaint, clock and deadline.
    public init(complaint: CRMDomain.Complaint, customerID: String, breached: Bool, clock: String, due: Int64, now: Int64) {
        let kind: NoticeKind = breached ? .complaintPastSla : .complaintNearSla
        self.init(
            noticeID: "notice/\(breached ? "past" : "near")-sla/\(complaint.id)/\(clock)/\(due)", kind: kind, audience: .staff,
            customerID: customerID, createdMs: now, dueMs: due,
            headline: "Complaint \(complaint.id): \(clock) deadline \(breached ? "missed" : "near")",
            body: "\(complaint.category.displayName) complaint \(complaint.id) on order \(complaint.orderNumber) is \(complaint.state.wireName.replacingUnderscores); its \(clock) is due at \(due).")
        subject = .complaintID(complaint.id.rawValue)
    }
}
