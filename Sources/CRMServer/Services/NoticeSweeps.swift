public import CRMDomain
public import CRMMessages
public import CRMStore

/// The proactive notices the server sends by itself, on a schedule: delay notices for orders past their estimate,
/// and service-level warnings for complaints near or past a deadline.
///
/// Each notice is recorded durably before it is published on the ``EventHub`` (for `WatchMyNotices`), and only
/// the run that recorded it publishes it, so each is sent exactly once, across restarts too: a delay notice as
/// the domain's ``FactPayload/delayNoticeSent(_:)`` fact, a service-level warning in the store's sent-notice
/// record (``Store/recordNoticeSent(_:subject:at:)``). A crash between recording and publishing loses that one
/// notice rather than sending it twice.
public struct NoticeSweeps: Sendable {
    /// The store read and written.
    public let store: any Store
    /// Where notices are published.
    public let events: EventHub
    /// The server clock (Unix ms); tests inject their own.
    public let now: @Sendable () -> Int64
    /// The service-level targets.
    public let policy: ServiceLevelPolicy
    /// At most this many overdue orders and open complaints are looked at per run.
    public let batchLimit: Int

    /// The audit actor of notices the server sends by itself.
    public static let auditActor = "system:sweeper"

    /// Sweeps over `store`, publishing on `events`.
    public init(
        store: any Store, events: EventHub, now: @escaping @Sendable () -> Int64, policy: ServiceLevelPolicy = .standard,
        batchLimit: Int = 5_000
    ) {
        self.store = store
        self.events = events
        self.now = now
        self.policy = policy
        self.batchLimit = batchLimit
    }

    /// Both sweeps as ``SweepTask``s for the server's ``Sweeper``, each every `interval`.
    public func tasks(interval: Duration = .seconds(60)) -> [SweepTask] {
        [
            SweepTask(name: "overdue-orders", interval: interval) { _ = try await sendDelayNotices() },
            SweepTask(name: "complaint-service-levels", interval: interval) { _ = try await sendServiceLevelWarnings() },
        ]
    }

    /// Sends a delay notice, once, for every order past its estimate and neither delivered nor cancelled; returns
    /// the notices this run sent.
    @discardableResult
    public func sendDelayNotices() async throws -> [ProactiveNotice] {
        let at = now()
        var sent: [ProactiveNotice] = []
        for order in try await store.overdueOrders(now: at, limit: batchLimit) {
            try Task.checkCancellation()
            guard let notice = DelayNotice.due(for: order, now: at) else { continue }
            let factID = try FactID(adapter: "sweeper", externalID: notice.id.description)
            let fact = Fact(id: factID, observedAt: at, source: .orderSystem, payload: .delayNoticeSent(notice.id))
            // The notice's fact and its audit entry in one append; a notice already recorded (another run, another
            // node) keeps its fact and is not sent again.
            let customer = try await store.customerID(for: notice.customer)?.rawValue ?? ""
            let audit = AppendAudit(
                at: at, actor: Self.auditActor, action: "SendDelayNotice", subject: .text(order.orderNumber.rawValue),
                detail: "\(notice.id), \(notice.daysLate) days late, customer \(customer)")
            guard case .inserted = try await store.append([[fact]], conflicts: .keepStored, audit: [audit]).outcomes.first else { continue }
            let message = ProactiveNotice(delay: notice, customerID: customer, now: at)
            await events.publish(.notice(message), at: at)
            sent.append(message)
        }
        return sent
    }

    /// Sends a staff warning, once per complaint, clock, deadline and threshold, for every open complaint whose
    /// first-response or resolution deadline is near (80 % of the target elapsed) or missed; returns the notices
    /// this run sent.
    @discardableResult
    public func sendServiceLevelWarnings() async throws -> [ProactiveNotice] {
        let at = now()
        let open = Set(CRMDomain.ComplaintState.allCases).subtracting([.closed])
        var sent: [ProactiveNotice] = []
        for complaint in try await store.complaints(inStates: open, openedBefore: nil, limit: batchLimit) {
            try Task.checkCancellation()
            for warning in ServiceLevelWarning.due(for: complaint, now: at, policy: policy) {
                guard try await store.recordNoticeSent(warning.id, subject: complaint.id.rawValue, at: at) else { continue }
                let customer = try await store.customerID(for: complaint.customer)?.rawValue ?? ""
                let message = ProactiveNotice(warning: warning, complaint: complaint, customerID: customer, now: at)
                try await store.appendAudit([
                    AuditEntry(at: at, actor: Self.auditActor, action: "SendServiceLevelWarning", subject: complaint.id.rawValue, detail: warning.id)
                ])
                await events.publish(.notice(message), at: at)
                sent.append(message)
            }
        }
        return sent
    }
}
