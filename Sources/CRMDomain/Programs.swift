/// Recognises the Jabodetabek area (Jakarta, Bogor, Depok, Tangerang, Bekasi) in a written city.
///
/// Cities arrive as people type them: "Jakarta Selatan", "KOTA BEKASI", "Kab. Bogor", "Tangerang Selatan",
/// "South Jakarta", "Jaksel", "Tangsel". The text is lower-cased and split into words; it is in the area when any
/// word is one of the five city names or a common abbreviation of a Jakarta district or South Tangerang. District
/// names (Cibubur, Cikarang, …) are not recognised: the agent records the city.
public enum Jabodetabek: Sendable {
    /// The words that place a city in the area.
    public static let recognisedWords: Set<String> = [
        "jakarta", "jkt", "dki", "jakbar", "jaksel", "jaktim", "jakut", "jakpus",
        "bogor", "depok", "tangerang", "tangsel", "bekasi", "jabodetabek",
    ]

    /// Whether `city` is in Jabodetabek.
    public static func contains(city: String) -> Bool {
        var words: [String] = []
        var current = ""
        for scalar in Text.asciiLowercased(city).unicodeScalars {
            if (97...122).contains(scalar.value) || (48...57).contains(scalar.value) {
                current.unicodeScalars.append(scalar)
            } else if !current.isEmpty {
                words.append(current)
                current = ""
            }
        }
        if !current.isEmpty { words.append(current) }
        return words.contains { recognisedWords.contains($0) }
    }
}

/// A programme that can apply to an order.
public enum Program: String, Sendable, Hashable, CaseIterable {
    /// Free shipping in Jabodetabek from Rp 1,000,000, all tiers.
    case freeShipping
    /// Rp 200,000 off a new customer's first order.
    case newCustomerDiscount
    /// 50 % now, the rest when the goods arrive.
    case instalment
    /// Priority service for Gold and Diamond.
    case priorityService
    /// Priority delivery with no queue, Diamond only.
    case priorityDelivery
}

/// A programme that applies, with a sentence an agent can read out.
public struct AppliedProgram: Sendable, Hashable {
    /// Which programme.
    public let program: Program
    /// Why it applies and what it gives.
    public let explanation: String
}

/// What the programmes need to know about an order.
public struct OrderQuote: Sendable, Hashable {
    /// Goods value.
    public let subtotal: Int64
    /// Local shipping before programmes.
    public let shippingFee: Int64
    /// Delivery city as written.
    public let destinationCity: String
    /// Whether this is the customer's first (non-cancelled) order.
    public let isFirstOrder: Bool
    /// The customer's tier.
    public let tier: LoyaltyTier

    /// Creates a quote, refusing negative amounts.
    public init(subtotal: Int64, shippingFee: Int64, destinationCity: String, isFirstOrder: Bool, tier: LoyaltyTier) throws(ProgramError) {
        guard subtotal >= 0 else { throw .negativeAmount(field: "subtotal", value: subtotal) }
        guard shippingFee >= 0 else { throw .negativeAmount(field: "shippingFee", value: shippingFee) }
        self.subtotal = subtotal
        self.shippingFee = shippingFee
        self.destinationCity = destinationCity
        self.isFirstOrder = isFirstOrder
        self.tier = tier
    }

    /// The quote for `order` given the customer's other orders and tier.
    ///
    /// It is the first order when no other non-cancelled order comes before it by (placed time, order number);
    /// a cancelled order bought nothing, so it does not use up the new-customer discount.
    public init(order: OrderRecord, customerOrders: some Sequence<OrderView>, tier: LoyaltyTier) {
        let earlier = customerOrders.contains { other in
            other.orderNumber != order.orderNumber && other.status != .cancelled
                && (other.record.placedAt, other.orderNumber.rawValue) < (order.placedAt, order.orderNumber.rawValue)
        }
        // OrderRecord guarantees non-negative amounts, so the checks of the throwing initialiser cannot fail.
        subtotal = order.subtotal
        shippingFee = order.shippingFee
        destinationCity = order.destinationCity
        isFirstOrder = !earlier
        self.tier = tier
    }
}

/// Why a quote could not be made.
public enum ProgramError: DomainError {
    /// An amount is negative.
    case negativeAmount(field: String, value: Int64)

    /// See ``DomainError/code``.
    public var code: String { "program.negative_amount" }

    /// A sentence saying what went wrong and how to fix it.
    public var description: String {
        switch self {
        case let .negativeAmount(field, value): "The \(field) is negative (\(value)); amounts are 0 or more."
        }
    }
}

/// Paying in two parts: a down payment now and the rest on arrival.
public struct InstalmentPlan: Sendable, Hashable {
    /// Paid when ordering.
    public let downPayment: Int64
    /// Paid when the goods arrive.
    public let dueOnArrival: Int64

    /// Splits `amount` in halves; an odd rupiah goes into the down payment (the half rounded up), so the business
    /// never ships goods with more than half the price outstanding.
    public static func halves(of amount: Int64) -> InstalmentPlan {
        let rest = amount / 2
        return InstalmentPlan(downPayment: amount - rest, dueOnArrival: rest)
    }
}

/// Everything the programmes give an order.
public struct ProgramOffer: Sendable, Hashable {
    /// Shipping charged after programmes.
    public let shippingCharged: Int64
    /// The new-customer discount given (at most the subtotal, so nothing becomes negative).
    public let discount: Int64
    /// `subtotal − discount + shippingCharged`.
    public let amountDue: Int64
    /// The instalment option for ``amountDue``.
    public let instalment: InstalmentPlan
    /// Whether the customer gets priority service.
    public let priorityService: Bool
    /// Whether the goods get priority delivery with no queue.
    public let priorityDelivery: Bool
    /// The programmes that apply, in ``Program`` order.
    public let applied: [AppliedProgram]

    /// Whether `program` applies.
    public func applies(_ program: Program) -> Bool { applied.contains { $0.program == program } }
}

/// The business's programmes.
public enum Programs: Sendable {
    /// The smallest goods value shipped free in Jabodetabek (inclusive: "minimum purchase Rp 1,000,000").
    public static let freeShippingMinimum: Int64 = 1_000_000
    /// The new customer's discount on their first order.
    public static let newCustomerDiscount: Int64 = 200_000

    /// The programmes that apply to `quote`. The free-shipping minimum is judged on the goods value before the
    /// discount: the discount is a gift, not a reason to lose another.
    public static func evaluate(_ quote: OrderQuote) -> ProgramOffer {
        var applied: [AppliedProgram] = []
        let inArea = Jabodetabek.contains(city: quote.destinationCity)
        let freeShipping = inArea && quote.subtotal >= freeShippingMinimum
        if freeShipping {
            applied.append(AppliedProgram(
                program: .freeShipping,
                explanation: "Free shipping: \(quote.destinationCity) is in Jabodetabek and the goods total \(Rupiah.format(quote.subtotal)) (at least \(Rupiah.format(freeShippingMinimum)))."))
        }
        let discount = quote.isFirstOrder ? min(newCustomerDiscount, quote.subtotal) : 0
        if discount > 0 {
            applied.append(AppliedProgram(
                program: .newCustomerDiscount,
                explanation: "New customer: \(Rupiah.format(discount)) off the first order."))
        }
        let shipping = freeShipping ? 0 : quote.shippingFee
        // subtotal − discount ≥ 0 and the fee ≥ 0, so only an absurd fee could overflow; saturate rather than trap.
        let due = Rupiah.saturatingAdd(quote.subtotal - discount, shipping)
        let plan = InstalmentPlan.halves(of: due)
        applied.append(AppliedProgram(
            program: .instalment,
            explanation: "Instalment available: \(Rupiah.format(plan.downPayment)) now, \(Rupiah.format(plan.dueOnArrival)) when the goods arrive."))
        if quote.tier.hasPriorityService {
            applied.append(AppliedProgram(program: .priorityService, explanation: "Priority service for a \(quote.tier.rawValue) customer."))
        }
        if quote.tier == .diamond {
            applied.append(AppliedProgram(program: .priorityDelivery, explanation: "Priority delivery with no queue for a Diamond customer."))
        }
        return ProgramOffer(
            shippingCharged: shipping, discount: discount, amountDue: due, instalment: plan,
            priorityService: quote.tier.hasPriorityService, priorityDelivery: quote.tier == .diamond, applied: applied)
    }
}
