/// The rating distribution and average.
///
/// The average is `Σ stars / count` in hundredths, rounded half up. The business's table (768 reviews: 384 five, 77
/// four, 77 three, 38 two, 192 one) sums to 2,727 stars, an average of 3.5508 → **3.55**; the 3.9 the business's own study reports is the
/// Google page's figure, not what those counts give.
public struct RatingReport: Sendable, Hashable {
    /// Count per star value, index 0 for 1 star up to index 4 for 5 stars.
    public let counts: [Int64]

    /// Builds the report from ratings.
    public init(ratings: some Sequence<Rating>) {
        var counts = [Int64](repeating: 0, count: 5)
        for r in ratings { counts[r.stars - 1] += 1 }
        self.counts = counts
    }

    /// Builds the report from a table of counts per star value (for example the business's own review table).
    public init(counts table: [Int: Int64]) throws(ReportError) {
        var counts = [Int64](repeating: 0, count: 5)
        for (stars, count) in table {
            guard Rating.validStars.contains(stars) else { throw .starsOutOfRange(stars) }
            guard count >= 0 else { throw .negativeCount(stars: stars, count: count) }
            counts[stars - 1] = count
        }
        // The star sum is at most 5 × the total; refuse tables whose sum would not fit rather than trap later.
        let sum = counts.enumerated().reduce(Int128(0)) { $0 + Int128($1.offset + 1) * Int128($1.element) }
        guard sum <= Int128(Int64.max) else { throw .countsTooLarge }
        self.counts = counts
    }

    /// How many ratings.
    public var total: Int64 { counts.reduce(0, +) }
    /// The sum of all stars.
    public var starSum: Int64 { counts.enumerated().reduce(0) { $0 + Int64($1.offset + 1) * $1.element } }
    /// The average in hundredths, rounded half up; `nil` with no ratings.
    public var average: Hundredths? { Hundredths.quotient(starSum, total) }
    /// Ratings with `stars` stars (0 for an impossible value).
    public func count(stars: Int) -> Int64 { Rating.validStars.contains(stars) ? counts[stars - 1] : 0 }
    /// The share of ratings with `stars` stars.
    public func share(stars: Int) -> Ratio { Ratio(count(stars: stars), of: total) }
}

/// Why a report could not be built.
public enum ReportError: DomainError {
    /// A rating table names a star value outside 1…5.
    case starsOutOfRange(Int)
    /// A rating table has a negative count.
    case negativeCount(stars: Int, count: Int64)
    /// A rating table's counts are so large that their star sum does not fit in 64 bits.
    case countsTooLarge

    /// See ``DomainError/code``.
    public var code: String {
        switch self {
        case .starsOutOfRange: "report.stars_out_of_range"
        case .negativeCount: "report.negative_count"
        case .countsTooLarge: "report.counts_too_large"
        }
    }

    /// A sentence saying what went wrong and how to fix it.
    public var description: String {
        switch self {
        case let .starsOutOfRange(stars): "The table has a row for \(stars) stars; ratings are 1 to 5 stars."
        case let .negativeCount(stars, count): "The table counts \(count) ratings of \(stars) stars; counts are 0 or more."
        case .countsTooLarge: "The table's counts are too large to add up; check the figures."
        }
    }
}

/// One month and category of a refund recap.
public struct RefundRecapRow: Sendable, Hashable {
    /// The Jakarta month of the decisions.
    public let month: CalendarMonth
    /// The category.
    public let category: ComplaintCategory
    /// Complaints decided.
    public let complaints: Int
    /// Rupiah refunded.
    public let total: Int64
}

/// Refunds decided in a period, by month and category, like the business's "Lost at Customs, January–May 2024".
///
/// A refund counts when its decision is in force (made within the period and not undone by a reopening); it is
/// dated by the decision, the moment the business committed to pay.
public struct RefundRecap: Sendable, Hashable {
    /// The period.
    public let period: TimeRange
    /// Rows by month, then category order; only months and categories with decisions appear.
    public let rows: [RefundRecapRow]

    /// Builds the recap of `complaints` within `period`, for `categories` (all when `nil`).
    public init(complaints: some Sequence<Complaint>, period: TimeRange, categories: Set<ComplaintCategory>? = nil) {
        var cells: [CalendarMonth: [ComplaintCategory: (count: Int, total: Int64)]] = [:]
        for c in complaints {
            guard let decision = c.decision, let at = c.decidedAt, period.contains(at) else { continue }
            guard categories?.contains(c.category) ?? true else { continue }
            let month = CalendarMonth(containing: at)
            let old = cells[month]?[c.category] ?? (0, 0)
            cells[month, default: [:]][c.category] = (old.count + 1, Rupiah.saturatingAdd(old.total, decision.refund.total))
        }
        var rows: [RefundRecapRow] = []
        for month in cells.keys.sorted() {
            for category in ComplaintCategory.allCases {
                guard let cell = cells[month]?[category] else { continue }
                rows.append(RefundRecapRow(month: month, category: category, complaints: cell.count, total: cell.total))
            }
        }
        self.period = period
        self.rows = rows
    }

    /// The total refunded per category over the period, in category order (all categories, zeros included).
    public var totalsByCategory: [(category: ComplaintCategory, total: Int64)] {
        ComplaintCategory.allCases.map { cat in
            (cat, rows.filter { $0.category == cat }.reduce(0) { Rupiah.saturatingAdd($0, $1.total) })
        }
    }

    /// The total refunded over the period.
    public var grandTotal: Int64 { rows.reduce(0) { Rupiah.saturatingAdd($0, $1.total) } }
}

/// How many complaints were opened in a period, per category.
public struct ComplaintVolume: Sendable, Hashable {
    /// The period.
    public let period: TimeRange
    /// Count per category, in category order (zeros included).
    public let byCategory: [ComplaintCategory: Int]

    /// Counts `complaints` opened within `period`.
    public init(complaints: some Sequence<Complaint>, period: TimeRange) {
        var counts = Dictionary(uniqueKeysWithValues: ComplaintCategory.allCases.map { ($0, 0) })
        for c in complaints where period.contains(c.openedAt) { counts[c.category, default: 0] += 1 }
        self.period = period
        byCategory = counts
    }

    /// All complaints opened in the period.
    public var total: Int { byCategory.values.reduce(0, +) }
}

/// Met, breached and still-running counts of one service-level clock.
public struct ComplianceCounts: Sendable, Hashable {
    /// Stopped within target.
    public var met = 0
    /// Missed (stopped late, or running past the target).
    public var breached = 0
    /// Running and still within target: not yet decided, so left out of the rate.
    public var pending = 0

    /// `met / (met + breached)`.
    public var rate: Ratio { Ratio(Int64(met), of: Int64(met + breached)) }

    mutating func add(_ outcome: ClockOutcome) {
        switch outcome {
        case .met: met += 1
        case .breached: breached += 1
        case .running: pending += 1
        }
    }
}

/// Service-level compliance of the complaints opened in a period, computed from their transitions at `now`.
public struct ServiceLevelCompliance: Sendable, Hashable {
    /// The period (by opening time).
    public let period: TimeRange
    /// First response within target.
    public let firstResponse: ComplianceCounts
    /// Resolution within the category's target.
    public let resolution: ComplianceCounts
    /// Resolution per category.
    public let resolutionByCategory: [ComplaintCategory: ComplianceCounts]

    /// Evaluates `complaints` opened within `period` at `now`.
    public init(complaints: some Sequence<Complaint>, period: TimeRange, now: Int64, policy: ServiceLevelPolicy = .standard) {
        var first = ComplianceCounts(), resolution = ComplianceCounts()
        var byCategory = Dictionary(uniqueKeysWithValues: ComplaintCategory.allCases.map { ($0, ComplianceCounts()) })
        for c in complaints where period.contains(c.openedAt) {
            let status = ServiceLevelStatus(complaint: c, now: now, policy: policy)
            first.add(status.firstResponse)
            resolution.add(status.resolution)
            byCategory[c.category, default: ComplianceCounts()].add(status.resolution)
        }
        self.period = period
        firstResponse = first
        self.resolution = resolution
        resolutionByCategory = byCategory
    }
}

/// How many buying customers are in each tier, and what they bought in the window.
///
/// Only customers with at least one non-cancelled order ever are counted: a contact who never bought is a
/// prospect, not a Silver customer.
public struct TierDistribution: Sendable, Hashable {
    /// Customers per tier.
    public let customers: [LoyaltyTier: Int]
    /// Qualifying order value per tier (the window's value, as tiers are computed).
    public let value: [LoyaltyTier: Int64]

    /// Computes the distribution of `profiles` at `now`.
    public init(profiles: some Sequence<CustomerProfile>, now: Int64, policy: LoyaltyPolicy = .standard) {
        var customers = Dictionary(uniqueKeysWithValues: LoyaltyTier.allCases.map { ($0, 0) })
        var value = Dictionary(uniqueKeysWithValues: LoyaltyTier.allCases.map { ($0, Int64(0)) })
        for p in profiles where p.counters.orders > 0 {
            let v = policy.qualifyingValue(of: p.orders, now: now)
            let tier = policy.tier(forValue: v)
            customers[tier, default: 0] += 1
            value[tier] = Rupiah.saturatingAdd(value[tier] ?? 0, v)
        }
        self.customers = customers
        self.value = value
    }

    /// All buying customers.
    public var total: Int { customers.values.reduce(0, +) }
    /// The share of buying customers in `tier`.
    public func share(_ tier: LoyaltyTier) -> Ratio { Ratio(Int64(customers[tier] ?? 0), of: Int64(total)) }
}

/// The repeat-purchase (retention) rate in a period: of the customers who ordered, how many ordered again.
public struct RepeatPurchaseReport: Sendable, Hashable {
    /// The period (by order placement).
    public let period: TimeRange
    /// Customers with at least one non-cancelled order placed in the period.
    public let buyers: Int
    /// Of those, customers with two or more.
    public let repeatBuyers: Int

    /// Computes the rate over `profiles`.
    public init(profiles: some Sequence<CustomerProfile>, period: TimeRange) {
        var buyers = 0, repeaters = 0
        for p in profiles {
            let n = p.orders.count(where: { $0.status != .cancelled && period.contains($0.record.placedAt) })
            if n >= 1 { buyers += 1 }
            if n >= 2 { repeaters += 1 }
        }
        self.period = period
        self.buyers = buyers
        repeatBuyers = repeaters
    }

    /// `repeatBuyers / buyers`.
    public var rate: Ratio { Ratio(Int64(repeatBuyers), of: Int64(buyers)) }
}
