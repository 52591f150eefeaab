import CRMDomain
import CRMTestSupport
import Foundation
@testable import CRMStore

/// Opens a store on a fresh file, runs `body`, closes the store.
func withStore<T>(_ name: String = "crm.sqlite", in dir: TemporaryDirectory? = nil, _ body: (SQLiteStore) async throws -> T) async throws -> T {
    let directory = try dir ?? TemporaryDirectory()
    let store = try SQLiteStore(path: directory.file(name))
    do {
        let result = try await body(store)
        try await store.close()
        return result
    } catch {
        try? await store.close()
        throw error
    }
}

// Builders, as in the domain's tests, so the tests read as rules rather than constructions.

/// 2024-01-01 00:00 in Jakarta.
let jan2024: Int64 = 1_704_042_000_000
let hour = Milliseconds.hour
let day = Milliseconds.day

func phone(_ raw: String) throws -> Handle { try Handle.phone(raw) }
func email(_ raw: String) throws -> Handle { try Handle.email(raw) }
func oms(_ raw: String) throws -> Handle { try Handle.orderSystem(raw) }
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
    direction: Direction = .inbound, summary: String = "halo", order: String? = nil
) throws -> Fact {
    try fact(id, at: at, .interaction(Interaction(
        channel: channel, direction: direction, handle: handle, intent: intent, summary: summary,
        orderNumber: order.map { try OrderNumber($0) })))
}

func observe(_ id: String, _ handle: Handle, _ field: ProfileField, _ value: String, at: Int64, source: FactSource = .channel) throws -> Fact {
    try fact(id, at: at, source: source, .fieldObservation(FieldObservation(handle: handle, field: field, value: value)))
}

func order(
    _ id: String, _ number: String, customer: Handle, items: [(String, Int64, Int64)] = [("SKU-1", 1, 1_000_000)],
    placedAt: Int64, estimate: Int64? = nil, at: Int64? = nil
) throws -> Fact {
    let record = try OrderRecord(
        orderNumber: OrderNumber(number), customer: customer,
        items: items.map { try OrderItem(sku: $0.0, name: "Barang \($0.0)", quantity: $0.1, unitPrice: $0.2) },
        placedAt: placedAt, estimatedDeliveryAt: estimate ?? placedAt + 60 * day, destinationCity: "Bekasi")
    return try fact(id, at: at ?? placedAt, source: .orderSystem, .order(record))
}

func track(_ id: String, _ number: String, _ stage: TrackingStage, at: Int64) throws -> Fact {
    try fact(id, at: at, source: .orderSystem, .tracking(TrackingEvent(orderNumber: OrderNumber(number), stage: stage)))
}

func openComplaint(
    _ id: String, _ complaint: String, customer: Handle, order: String = "ORD-1", category: ComplaintCategory = .broken, at: Int64
) throws -> Fact {
    try fact(id, at: at, source: .agent, .complaintOpened(ComplaintOpening(
        id: ComplaintID(complaint), customer: customer, orderNumber: OrderNumber(order), category: category,
        summary: "Barang rusak", openedBy: actor(.sales, "sari"))))
}

func step(_ id: String, _ complaint: String, _ action: ComplaintAction, by role: ActorRole, at: Int64) throws -> Fact {
    try fact(id, at: at, source: .agent, .complaintTransition(ComplaintStep(complaintID: ComplaintID(complaint), action: action, actor: actor(role))))
}

func rate(_ id: String, _ handle: Handle, stars: Int, at: Int64) throws -> Fact {
    try fact(id, at: at, source: .selfService, .rating(Rating(handle: handle, stars: stars, comment: "ok")))
}

/// A decision refunding `amount` as one missing unit.
func decision(refunding amount: Int64) throws -> ComplaintDecision {
    let refund = try Compensation.compute(claims: [ClaimLine(sku: "SKU-1", name: "Barang", orderedQuantity: 1, receivedQuantity: 0, paidUnitPrice: amount)])
    return ComplaintDecision(refund: refund, note: "refund")
}
