@testable import CRMDomain

// Builders that keep the tests about rules rather than about constructing values.

/// 2024-01-01 00:00 in Jakarta (WIB), a convenient origin for dates in tests.
let jan2024: Int64 = 1_704_042_000_000
let hour = Milliseconds.hour
let day = Milliseconds.day

func phone(_ raw: String) throws -> Handle { try Handle.phone(raw) }
func email(_ raw: String) throws -> Handle { try Handle.email(raw) }
func oms(_ raw: String) throws -> Handle { try Handle.orderSystem(raw) }
func orderNo(_ raw: String) throws -> OrderNumber { try OrderNumber(raw) }
func complaintNo(_ raw: String) throws -> ComplaintID { try ComplaintID(raw) }
func actor(_ role: ActorRole, _ id: String = "agent") throws -> Actor { try Actor(role: role, id: id) }

func fact(_ id: String, at: Int64, source: FactSource = .channel, _ payload: FactPayload) throws -> Fact {
    Fact(id: try FactID(id), observedAt: at, source: source, payload: payload)
}

func link(_ id: String, _ a: Handle, _ b: Handle, at: Int64, source: FactSource = .agent) throws -> Fact {
    try fact(id, at: at, source: source, .identityLink(HandlePair(a, b)))
}

func unlink(_ id: String, _ a: Handle, _ b: Handle, at: Int64, source: FactSource = .agent) throws -> Fact {
    try fact(id, at: at, source: source, .identityUnlink(HandlePair(a, b)))
}

func message(
    _ id: String, from handle: Handle, on channel: Channel, intent: InteractionIntent = .other, at: Int64,
    direction: Direction = .inbound, summary: String = "hello"
) throws -> Fact {
    try fact(id, at: at, .interaction(Interaction(channel: channel, direction: direction, handle: handle, intent: intent, summary: summary)))
}

func observe(_ id: String, _ handle: Handle, _ field: ProfileField, _ value: String, at: Int64, source: FactSource = .channel) throws -> Fact {
    try fact(id, at: at, source: source, .fieldObservation(FieldObservation(handle: handle, field: field, value: value)))
}

func orderRecord(
    _ number: String, customer: Handle, items: [(String, Int64, Int64)] = [("SKU-1", 1, 1_000_000)], placedAt: Int64,
    estimate: Int64? = nil, city: String = "Jakarta Barat", shippingFee: Int64 = 0
) throws -> OrderRecord {
    try OrderRecord(
        orderNumber: orderNo(number), customer: customer,
        items: items.map { try OrderItem(sku: $0.0, name: "Item \($0.0)", quantity: $0.1, unitPrice: $0.2) },
        placedAt: placedAt, estimatedDeliveryAt: estimate ?? placedAt + 60 * day, destinationCity: city, shippingFee: shippingFee)
}

func order(
    _ id: String, _ number: String, customer: Handle, items: [(String, Int64, Int64)] = [("SKU-1", 1, 1_000_000)],
    placedAt: Int64, estimate: Int64? = nil, at: Int64? = nil, source: FactSource = .orderSystem
) throws -> Fact {
    let record = try orderRecord(number, customer: customer, items: items, placedAt: placedAt, estimate: estimate)
    return try fact(id, at: at ?? placedAt, source: source, .order(record))
}

func track(_ id: String, _ number: String, _ stage: TrackingStage, at: Int64) throws -> Fact {
    try fact(id, at: at, source: .orderSystem, .tracking(TrackingEvent(orderNumber: orderNo(number), stage: stage)))
}

func opening(
    _ complaint: String, customer: Handle, order: String = "ORD-1", category: ComplaintCategory = .broken
) throws -> ComplaintOpening {
    try ComplaintOpening(
        id: complaintNo(complaint), customer: customer, orderNumber: orderNo(order), category: category,
        summary: "Barang rusak", openedBy: actor(.sales, "sari"))
}

func openComplaint(
    _ id: String, _ complaint: String, customer: Handle, order: String = "ORD-1", category: ComplaintCategory = .broken, at: Int64
) throws -> Fact {
    try fact(id, at: at, source: .agent, .complaintOpened(opening(complaint, customer: customer, order: order, category: category)))
}

func step(_ id: String, _ complaint: String, _ action: ComplaintAction, by role: ActorRole, at: Int64) throws -> Fact {
    try fact(id, at: at, source: .agent, .complaintTransition(ComplaintStep(complaintID: complaintNo(complaint), action: action, actor: actor(role))))
}

func rate(_ id: String, _ handle: Handle, stars: Int, at: Int64) throws -> Fact {
    try fact(id, at: at, .rating(Rating(handle: handle, stars: stars, comment: "ok")))
}

func transition(_ action: ComplaintAction, by role: ActorRole, at: Int64) throws -> ComplaintTransition {
    ComplaintTransition(action: action, actor: try actor(role), at: at)
}

/// A decision that refunds `amount` as one missing unit, for tests that only need some refund.
func decision(refunding amount: Int64, sku: String = "SKU-1") throws -> ComplaintDecision {
    let refund = try Compensation.compute(claims: [
        ClaimLine(sku: sku, name: "", orderedQuantity: 1, receivedQuantity: 0, paidUnitPrice: amount),
    ])
    return ComplaintDecision(refund: refund, note: "refund")
}

/// Captures the typed error a throwing call raises, or `nil` when it does not throw.
func thrown<E: Error, T>(_ type: E.Type = E.self, _ body: () throws(E) -> T) -> E? {
    do {
        _ = try body()
        return nil
    } catch {
        return error
    }
}
