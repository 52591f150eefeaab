/// The service-level targets for complaints.
///
/// First response within 24 hours, as the business promises. Resolution (the customer is told the outcome) by
/// category, in calendar time, chosen from what each case needs:
/// - Out of Stock: 3 days — availability and price are checked in-house, the refund is immediate;
/// - Broken: 7 days — photos, the supplier's view, possibly a quality check;
/// - Lost at Customs: 14 days — the China team, the supplier and the forwarder must all answer;
/// - Return: 14 days — the goods must travel back and pass the quality check.
public struct ServiceLevelPolicy: Sendable, Hashable {
    /// Time allowed from opening to the first staff action.
    public let firstResponse: Int64
    /// Time allowed from opening to informing the customer, per category.
    public let resolutionTargets: [ComplaintCategory: Int64]

    /// The defaults described above.
    public static let standard = ServiceLevelPolicy(
        firstResponse: Milliseconds.hours(24),
        resolutionTargets: [
            .outOfStock: Milliseconds.days(3),
            .broken: Milliseconds.days(7),
            .lostAtCustoms: Milliseconds.days(14),
            .customerReturn: Milliseconds.days(14),
        ])

    /// Creates a policy. A category missing from `resolutionTargets` uses the longest target given.
    public init(firstResponse: Int64, resolutionTargets: [ComplaintCategory: Int64]) {
        self.firstResponse = firstResponse
        self.resolutionTargets = resolutionTargets
    }

    /// The resolution target for `category`.
    public func resolutionTarget(for category: ComplaintCategory) -> Int64 {
        resolutionTargets[category] ?? resolutionTargets.values.max() ?? Milliseconds.days(14)
    }
}

/// The state of one service-level clock.
public enum ClockOutcome: Sendable, Hashable {
    /// Stopped within the target (`elapsed ≤ target`; exactly on the target counts as met).
    case met(elapsed: Int64)
    /// Stopped after the target, or still running past it.
    case breached(elapsed: Int64, stillRunning: Bool)
    /// Still running and within the target.
    case running(elapsed: Int64, remaining: Int64)

    /// Whether the target was missed.
    public var isBreached: Bool { if case .breached = self { true } else { false } }
}

/// Both clocks of one complaint at an instant.
public struct ServiceLevelStatus: Sendable, Hashable {
    /// Opening to first staff action.
    public let firstResponse: ClockOutcome
    /// Opening to informing the customer.
    public let resolution: ClockOutcome

    /// Computes the clocks of `complaint` at `now` from its transitions; breaches are never set by hand.
    ///
    /// The resolution clock runs from the original opening even after a reopening: the customer has been waiting
    /// since then.
    public init(complaint: Complaint, now: Int64, policy: ServiceLevelPolicy = .standard) {
        self.init(
            openedAt: complaint.openedAt, firstResponseAt: complaint.firstResponseAt, resolvedAt: complaint.resolvedAt,
            category: complaint.category, now: now, policy: policy)
    }

    /// Computes the clocks at `now` of a complaint of `category` opened at `openedAt`, first answered at
    /// `firstResponseAt` and resolved at `resolvedAt` (nil while they have not happened).
    public init(
        openedAt: Int64, firstResponseAt: Int64?, resolvedAt: Int64?, category: ComplaintCategory, now: Int64,
        policy: ServiceLevelPolicy = .standard
    ) {
        firstResponse = Self.clock(start: openedAt, stop: firstResponseAt, now: now, target: policy.firstResponse)
        resolution = Self.clock(start: openedAt, stop: resolvedAt, now: now, target: policy.resolutionTarget(for: category))
    }

    /// Whether either clock missed its target.
    public var isBreached: Bool { firstResponse.isBreached || resolution.isBreached }

    static func clock(start: Int64, stop: Int64?, now: Int64, target: Int64) -> ClockOutcome {
        if let stop {
            let elapsed = Milliseconds.between(start, stop)
            return elapsed <= target ? .met(elapsed: elapsed) : .breached(elapsed: elapsed, stillRunning: false)
        }
        let elapsed = max(0, Milliseconds.between(start, now))
        return elapsed <= target ? .running(elapsed: elapsed, remaining: target - elapsed) : .breached(elapsed: elapsed, stillRunning: true)
    }
}
