/// The business's loyalty grades.
public enum LoyaltyTier: String, Sendable, Hashable, CaseIterable, Comparable {
    /// Below Rp 100,000,000 in the period; the service fee is unchanged.
    case silver
    /// Rp 100,000,000 up to and including Rp 500,000,000: special prices, lower service fee, priority service.
    case gold
    /// Above Rp 500,000,000: the VVIP; vouchers, discounts, priority delivery with no queue.
    case diamond

    /// Diamond customers are the VVIP the IVR announces.
    public var isVVIP: Bool { self == .diamond }

    /// "Loyal customers get priority service": Gold and Diamond.
    public var hasPriorityService: Bool { self != .silver }

    /// Silver < Gold < Diamond.
    public static func < (lhs: LoyaltyTier, rhs: LoyaltyTier) -> Bool {
        let rank: (LoyaltyTier) -> Int = { $0 == .silver ? 0 : $0 == .gold ? 1 : 2 }
        return rank(lhs) < rank(rhs)
    }

    /// What a customer of this tier is entitled to, in the order the business lists them: every customer gets free
    /// shipping in Jabodetabek (from the programme's minimum), the new-customer discount on their first order and the
    /// 50% instalment plan; Gold and Diamond add priority service, special prices and the lower service fee; Diamond
    /// adds free-shipping vouchers, the tier discount and priority delivery. Only the programmes
    /// (``FreeShippingProgram``, ``NewCustomerDiscount``, ``InstalmentPlan``) have amounts; the business prices none
    /// of the others.
    public func benefits(firstOrder: Bool) -> [LoyaltyBenefit] {
        var result: [LoyaltyBenefit] = [.freeShippingJabodetabek]
        if firstOrder { result.append(.newCustomerDiscount) }
        result.append(.instalment50)
        if hasPriorityService { result += [.priorityService, .specialPrice, .lowerServiceFee] }
        if self == .diamond { result += [.freeShippingVoucher, .tierDiscount, .priorityDelivery] }
        return result
    }
}

/// One thing a loyalty tier or programme entitles a customer to.
public enum LoyaltyBenefit: String, Sendable, Hashable, CaseIterable {
    case freeShippingJabodetabek, newCustomerDiscount, instalment50, priorityService, specialPrice, lowerServiceFee
    case freeShippingVoucher, tierDiscount, priorityDelivery
}

/// How tiers are computed: order value within a rolling window.
///
/// Boundaries, exactly: value `< 100,000,000` → Silver; `100,000,000 ≤ value ≤ 500,000,000` → Gold (both ends
/// inclusive, as the business's rules say "Rp 100,000,000 to Rp 500,000,000"); value `> 500,000,000` → Diamond ("more than").
///
/// The window is the `windowLength` milliseconds ending at `now`: orders placed in `(now − windowLength, now]` count.
/// The default is 365 days, a rolling "12 months" that needs no calendar. The value counted is each order's goods
/// ``OrderRecord/subtotal`` (shipping is not a purchase); cancelled orders do not count.
public struct LoyaltyPolicy: Sendable, Hashable {
    /// The smallest value that is Gold.
    public let goldMinimum: Int64
    /// The largest value that is still Gold; anything above is Diamond.
    public let goldMaximum: Int64
    /// The length of the rolling window.
    public let windowLength: Int64

    /// The business's figures over a 365-day window.
    public static let standard = LoyaltyPolicy(goldMinimum: 100_000_000, goldMaximum: 500_000_000, windowLength: Milliseconds.days(365))

    /// Creates a policy.
    public init(goldMinimum: Int64, goldMaximum: Int64, windowLength: Int64) {
        self.goldMinimum = goldMinimum
        self.goldMaximum = goldMaximum
        self.windowLength = windowLength
    }

    /// The tier for an order value within the window.
    public func tier(forValue value: Int64) -> LoyaltyTier {
        if value > goldMaximum { return .diamond }
        if value >= goldMinimum { return .gold }
        return .silver
    }

    /// The value of `orders` that counts at `now`.
    public func qualifyingValue(of orders: some Sequence<OrderView>, now: Int64) -> Int64 {
        qualifyingValue(of: orders.lazy.map(OrderDigest.init), now: now)
    }

    /// The value of the orders (as the read model keeps them) that counts at `now`.
    public func qualifyingValue(of orders: some Sequence<OrderDigest>, now: Int64) -> Int64 {
        var value: Int64 = 0
        for order in orders where order.status != .cancelled && contains(order.placedAt, now: now) {
            value = Rupiah.saturatingAdd(value, order.subtotal)
        }
        return value
    }

    /// The tier earned by `orders` at `now`.
    public func tier(for orders: some Sequence<OrderView>, now: Int64) -> LoyaltyTier {
        tier(forValue: qualifyingValue(of: orders, now: now))
    }

    /// The tier earned by `orders` (as the read model keeps them) at `now`.
    public func tier(for orders: some Sequence<OrderDigest>, now: Int64) -> LoyaltyTier {
        tier(forValue: qualifyingValue(of: orders, now: now))
    }

    /// The tier above `tier` and the order value still missing to reach it, for a customer whose qualifying value is
    /// `value`; nil for Diamond, the top.
    public func nextTier(after tier: LoyaltyTier, value: Int64) -> (tier: LoyaltyTier, missing: Int64)? {
        switch tier {
        case .silver: (.gold, goldMinimum - value)
        case .gold: (.diamond, goldMaximum + 1 - value)
        case .diamond: nil
        }
    }

    /// Whether `instant` is inside the window ending at `now`.
    public func contains(_ instant: Int64, now: Int64) -> Bool {
        instant <= now && instant > Milliseconds.between(windowLength, now)
    }
}
