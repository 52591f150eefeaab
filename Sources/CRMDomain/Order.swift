/// One line of an order: a product, how many, at what unit price.
public struct OrderItem: Sendable, Hashable {
    /// The product code.
    public let sku: String
    /// The product name as ordered.
    public let name: String
    /// How many units were ordered (at least 1).
    public let quantity: Int64
    /// The price paid per unit, in rupiah.
    public let unitPrice: Int64
    /// `quantity × unitPrice`.
    public let lineTotal: Int64

    /// Creates a line, refusing an empty SKU, a quantity below 1, a negative price or a total too large to hold.
    public init(sku: String, name: String, quantity: Int64, unitPrice: Int64) throws(OrderError) {
        let code = Text.trimmed(sku)
        guard !code.isEmpty else { throw .emptySKU }
        guard quantity > 0 else { throw .nonPositiveQuantity(sku: code, quantity: quantity) }
        guard unitPrice >= 0 else { throw .negativeUnitPrice(sku: code, unitPrice: unitPrice) }
        guard let total = Rupiah.multiply(quantity, unitPrice) else { throw .amountOverflow(sku: code) }
        self.sku = code
        self.name = Text.trimmed(name)
        self.quantity = quantity
        self.unitPrice = unitPrice
        self.lineTotal = total
    }
}

/// Who receives an order's goods and where, besides the city (``OrderRecord/destinationCity``, which decides the
/// free-shipping program). Every part is as the order system wrote it, trimmed; the phone, when given, must be an
/// Indonesian number (the courier calls it), and is kept as written.
public struct DeliveryDetails: Sendable, Hashable {
    /// Who receives the goods.
    public let recipient: String
    /// The recipient's phone number as written; empty when not given.
    public let phone: String
    /// Street, number, building.
    public let addressLine: String
    /// District (kecamatan) or area.
    public let area: String
    /// Province, e.g. "Jawa Barat".
    public let province: String
    /// Postal code.
    public let postalCode: String

    /// No details: only the city is known.
    public init() {
        recipient = ""
        phone = ""
        addressLine = ""
        area = ""
        province = ""
        postalCode = ""
    }

    /// Details as written, refusing a phone number that is not an Indonesian one.
    public init(recipient: String, phone: String, addressLine: String, area: String, province: String, postalCode: String) throws(HandleError) {
        let phone = Text.trimmed(phone)
        if !phone.isEmpty { _ = try PhoneNumber.normalise(phone) }
        self.recipient = Text.trimmed(recipient)
        self.phone = phone
        self.addressLine = Text.trimmed(addressLine)
        self.area = Text.trimmed(area)
        self.province = Text.trimmed(province)
        self.postalCode = Text.trimmed(postalCode)
    }
}

/// An order as the order management system describes it.
///
/// Several facts may describe the same order number (the OMS re-sends it after a correction); the profile keeps
/// the one that wins by ``FactPrecedence``. Its status is never part of this record: it is derived from the
/// set of tracking events (see ``OrderTracking``).
public struct OrderRecord: Sendable, Hashable {
    /// The order number.
    public let orderNumber: OrderNumber
    /// The customer handle the order system files it under (usually an ``HandleKind/orderSystem`` id).
    public let customer: Handle
    /// The lines, in the order given.
    public let items: [OrderItem]
    /// When the order was placed.
    public let placedAt: Int64
    /// When delivery is promised, if the order system gave an estimate; imported goods take one to three months.
    /// A revised estimate from tracking overrides it (see ``OrderView/estimatedDeliveryAt``).
    public let estimatedDeliveryAt: Int64?
    /// The delivery city, as written; decides the free-shipping program.
    public let destinationCity: String
    /// Who receives the goods and where, besides the city.
    public let delivery: DeliveryDetails
    /// Local shipping charged, before programs.
    public let shippingFee: Int64
    /// The service fee charged.
    public let serviceFee: Int64
    /// The discount given (programs, vouchers).
    public let discount: Int64
    /// What the customer has paid so far.
    public let paid: Int64
    /// Sum of line totals: the goods value, which loyalty tiers and the free-shipping minimum use.
    public let subtotal: Int64
    /// `subtotal + shippingFee + serviceFee − discount`: what the customer owes in total.
    public let total: Int64

    /// Creates an order, refusing no lines, a SKU listed twice, an estimate before the order, a negative fee,
    /// discount or payment, a discount above what is charged, or totals too large to hold.
    public init(
        orderNumber: OrderNumber, customer: Handle, items: [OrderItem], placedAt: Int64, estimatedDeliveryAt: Int64?,
        destinationCity: String, shippingFee: Int64 = 0, serviceFee: Int64 = 0, discount: Int64 = 0, paid: Int64 = 0,
        delivery: DeliveryDetails = DeliveryDetails()
    ) throws(OrderError) {
        guard !items.isEmpty else { throw .noItems(orderNumber) }
        var skus: Set<String> = []
        var subtotal: Int64 = 0
        for item in items {
            // One line per SKU keeps compensation unambiguous: "3 missing of SKU X" must name exactly one line.
            guard skus.insert(item.sku).inserted else { throw .duplicateSKU(item.sku) }
            guard let sum = Rupiah.add(subtotal, item.lineTotal) else { throw .amountOverflow(sku: nil) }
            subtotal = sum
        }
        if let estimate = estimatedDeliveryAt, estimate < placedAt {
            throw .estimateBeforePlacement(placedAt: placedAt, estimatedDeliveryAt: estimate)
        }
        guard shippingFee >= 0 else { throw .negativeShippingFee(shippingFee) }
        for (field, value) in [("service fee", serviceFee), ("discount", discount), ("paid amount", paid)] where value < 0 {
            throw .negativeAmount(field: field, value: value)
        }
        guard let charged = Rupiah.add(subtotal, shippingFee).flatMap({ Rupiah.add($0, serviceFee) }) else {
            throw .amountOverflow(sku: nil)
        }
        guard discount <= charged else { throw .discountExceedsCharges(discount: discount, charged: charged) }
        self.orderNumber = orderNumber
        self.customer = customer
        self.items = items
        self.placedAt = placedAt
        self.estimatedDeliveryAt = estimatedDeliveryAt
        self.destinationCity = Text.trimmed(destinationCity)
        self.delivery = delivery
        self.shippingFee = shippingFee
        self.serviceFee = serviceFee
        self.discount = discount
        self.paid = paid
        self.subtotal = subtotal
        self.total = charged - discount
    }

    /// `total − paid`: what is still owed (negative when overpaid).
    public var outstanding: Int64 { total - paid }
}

/// Why an order or order line could not be made.
public enum OrderError: DomainError {
    /// A line has no SKU.
    case emptySKU
    /// A line's quantity is zero or negative.
    case nonPositiveQuantity(sku: String, quantity: Int64)
    /// A line's unit price is negative.
    case negativeUnitPrice(sku: String, unitPrice: Int64)
    /// A line total or the order total does not fit in 64 bits.
    case amountOverflow(sku: String?)
    /// The order has no lines.
    case noItems(OrderNumber)
    /// The same SKU appears on two lines.
    case duplicateSKU(String)
    /// The delivery estimate lies before the order was placed.
    case estimateBeforePlacement(placedAt: Int64, estimatedDeliveryAt: Int64)
    /// The shipping fee is negative.
    case negativeShippingFee(Int64)
    /// The service fee, discount or paid amount is negative.
    case negativeAmount(field: String, value: Int64)
    /// The discount is more than the goods, shipping and fee together.
    case discountExceedsCharges(discount: Int64, charged: Int64)

    /// See ``DomainError/code``.
    public var code: String {
        switch self {
        case .emptySKU: "order.empty_sku"
        case .nonPositiveQuantity: "order.non_positive_quantity"
        case .negativeUnitPrice: "order.negative_unit_price"
        case .amountOverflow: "order.amount_overflow"
        case .noItems: "order.no_items"
        case .duplicateSKU: "order.duplicate_sku"
        case .estimateBeforePlacement: "order.estimate_before_placement"
        case .negativeShippingFee: "order.negative_shipping_fee"
        case .negativeAmount: "order.negative_amount"
        case .discountExceedsCharges: "order.discount_exceeds_charges"
        }
    }

    /// A sentence saying what went wrong and how to fix it.
    public var description: String {
        switch self {
        case .emptySKU:
            return "An order line has no SKU; give every line its product code."
        case let .nonPositiveQuantity(sku, quantity):
            return "Line \(sku) has quantity \(quantity); a line needs at least 1 unit (remove the line instead)."
        case let .negativeUnitPrice(sku, price):
            return "Line \(sku) has a negative unit price (\(price)); give the price paid per unit, 0 or more."
        case let .amountOverflow(sku):
            return "The total\(sku.map { " of line \($0)" } ?? "") is too large to represent; check the quantities and prices."
        case let .noItems(order):
            return "Order \(order) has no lines; an order needs at least one item."
        case let .duplicateSKU(sku):
            return "SKU \(sku) appears on two lines; merge them into one line with the summed quantity."
        case let .estimateBeforePlacement(placedAt, estimate):
            return "The delivery estimate (\(estimate)) is before the order was placed (\(placedAt)); give an estimate after the order time."
        case let .negativeShippingFee(fee):
            return "The shipping fee is negative (\(fee)); give 0 or more (programs waive fees, they are never negative)."
        case let .negativeAmount(field, value):
            return "The \(field) is negative (\(value)); give 0 or more."
        case let .discountExceedsCharges(discount, charged):
            return "The discount (\(discount)) is more than the goods, shipping and service fee together (\(charged)); a total is never negative."
        }
    }
}
