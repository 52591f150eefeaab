/// One of a complaint's two service-level clocks.
public enum ServiceLevelClock: String, Sendable, Hashable, CaseIterable {
    /// Opening to the first staff action.
    case firstResponse = "first-response"
    /// Opening to informing the customer.
    case resolution
}

/// A warning that a complaint's service-level deadline is near or missed, for a sweeper to send once.
///
/// Its ``id`` is deterministic per complaint, clock, deadline and threshold, so a sweeper that records the ids it
/// sent can tell a warning it already sent, however often it runs.
public struct ServiceLevelWarning: Sendable, Hashable {
    /// The complaint.
    public let complaint: ComplaintID
    /// Which clock.
    public let clock: ServiceLevelClock
    /// The deadline (Unix ms): opening plus the target.
    public let dueAt: Int64
    /// Whether the deadline has passed (otherwise it is near).
    public let breached: Bool

    /// `sla/<complaint>/<clock>/<due>/near` or `…/past`.
    public var id: String { "sla/\(complaint.rawValue)/\(clock.rawValue)/\(dueAt)/\(breached ? "past" : "near")" }

    init(complaint: ComplaintID, clock: ServiceLevelClock, dueAt: Int64, breached: Bool) {
        self.complaint = complaint
        self.clock = clock
        self.dueAt = dueAt
        self.breached = breached
    }

    /// The warning whose ``id`` is `id`, read back (from a record of sent notices); nil when `id` is not one.
    public init?(id: String) {
        let parts = id.split(separator: "/", omittingEmptySubsequences: false)
        // The complaint id is between the prefix and the last three parts.
        guard parts.count >= 5, parts[0] == "sla", let clock = ServiceLevelClock(rawValue: String(parts[parts.count - 3])),
            let dueAt = Int64(parts[parts.count - 2]), ["near", "past"].contains(parts[parts.count - 1]),
            let complaint = try? ComplaintID(parts[1..<(parts.count - 3)].joined(separator: "/"))
        else { return nil }
        self.init(complaint: complaint, clock: clock, dueAt: dueAt, breached: parts[parts.count - 1] == "past")
    }

    /// The default share of the target after which a running clock is near its deadline: 80 %.
    public static let defaultNearShare = Ratio(4, of: 5)

    /// The warnings due for `complaint` at `now`: for each clock still running, `breached` once its deadline has
    /// passed, or near once `nearShare` of its target has elapsed. A clock that has stopped (the first response was
    /// given, the customer was informed) warns no more; a closed complaint warns of nothing.
    public static func due(
        for complaint: Complaint, now: Int64, policy: ServiceLevelPolicy = .standard, nearShare: Ratio = defaultNearShare
    ) -> [ServiceLevelWarning] {
        guard complaint.isOpen else { return [] }
        let clocks: [(ServiceLevelClock, Int64?, Int64)] = [
            (.firstResponse, complaint.firstResponseAt, policy.firstResponse),
            (.resolution, complaint.resolvedAt, policy.resolutionTarget(for: complaint.category)),
        ]
        var warnings: [ServiceLevelWarning] = []
        for (clock, stoppedAt, target) in clocks where stoppedAt == nil {
            let elapsed = Milliseconds.between(complaint.openedAt, now)
            let due = complaint.openedAt + target
            if elapsed > target {
                warnings.append(ServiceLevelWarning(complaint: complaint.id, clock: clock, dueAt: due, breached: true))
            } else if elapsed * nearShare.denominator >= target * nearShare.numerator {
                warnings.append(ServiceLevelWarning(complaint: complaint.id, clock: clock, dueAt: due, breached: false))
            }
        }
        return warnings
    }
}
