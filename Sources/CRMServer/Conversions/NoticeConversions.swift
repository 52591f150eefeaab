public import CRMDomain
public import CRMMessages

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

    /// The staff notice of a complaint whose service-level deadline is near or missed, as `warning` says; its id is
    /// `notice/` and the warning's id, deterministic per complaint, clock, deadline and threshold.
    public init(warning: ServiceLevelWarning, complaint: CRMDomain.Complaint, customerID: String, now: Int64) {
        let clock = warning.clock.rawValue
        self.init(
            noticeID: "notice/" + warning.id, kind: warning.breached ? .complaintPastSla : .complaintNearSla, audience: .staff,
            customerID: customerID, createdMs: now, dueMs: warning.dueAt,
            headline: "Complaint \(complaint.id): \(clock) deadline \(warning.breached ? "missed" : "near")",
            body: "\(complaint.category.displayName) complaint \(complaint.id) on order \(complaint.orderNumber) is \(complaint.state.wireName.replacingUnderscores); its \(clock) is due at \(warning.dueAt).")
        subject = .complaintID(complaint.id.rawValue)
    }
}
