import CRMDomain
import CRMMessages
import CRMRPC
import CRMServer
import CRMServerTesting
import CRMWire
import Foundation
import Testing

/// Assertions on calls to a ``TestServer``.
extension TestServer {
    /// Expects the call to fail with `code`; returns the status message.
    @discardableResult
    func expectFailure<Request, Response>(
        _ code: RPCStatus.Code, _ method: WireMethod<Request, Response>, _ request: Request, as caller: TestCaller = .supervisor,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> String {
        let status = try await status(method, request, as: caller)
        if status.code == .ok {
            Issue.record("expected \(code.name), the call succeeded", sourceLocation: sourceLocation)
            return ""
        }
        #expect(status.code == code, "\(status)", sourceLocation: sourceLocation)
        return status.message
    }
}

// MARK: Fixtures

func phone(_ value: String) -> CRMMessages.Handle { CRMMessages.Handle(kind: .phone, value: value) }
func omsID(_ value: String) -> CRMMessages.Handle { CRMMessages.Handle(kind: .orderSystemID, value: value) }
func key(_ external: String, adapter: String = "test") -> IdempotencyKey { IdempotencyKey(adapterID: adapter, externalID: external) }
func byHandle(_ handle: CRMMessages.Handle) -> CustomerSelector { CustomerSelector(target: .handle(handle)) }
func byID(_ id: String) -> CustomerSelector { CustomerSelector(target: .customerID(id)) }

func interaction(_ external: String, handle: CRMMessages.Handle = phone("0812-3456-7890"), intent: Intent = .informationRequest, at: Int64 = TestServer.now - 60_000, body: String = "Halo, barang saya kapan sampai?") -> CRMMessages.Interaction {
    var i = CRMMessages.Interaction()
    i.key = key(external, adapter: "whatsapp-gw-1")
    i.channel = .whatsapp
    i.direction = .inbound
    i.handle = handle
    i.occurredMs = at
    i.body = body
    i.intent = intent
    return i
}

func order(_ number: String, customer: CRMMessages.Handle = omsID("OMS-1"), contacts: [CRMMessages.Handle] = [phone("0812-3456-7890")], quantity: Int64 = 10, price: Int64 = 45_000, placed: Int64 = TestServer.now - 30 * 86_400_000) -> CRMMessages.Order {
    var o = CRMMessages.Order()
    o.orderNumber = number
    o.customerHandle = customer
    o.contactHandles = contacts
    o.items = [CRMMessages.OrderItem(sku: "SKU-1", name: "Lampu LED", quantity: quantity, unitPriceRupiah: price)]
    o.placedMs = placed
    o.estimatedDeliveryMs = Int64Value(value: placed + 60 * 86_400_000)
    var address = DeliveryAddress()
    address.city = "Kota Bekasi"
    o.deliveryAddress = address
    return o
}

extension TestServer {
    /// Stores an order for OMS-1 (linked to the phone 0812-3456-7890) and returns the customer id.
    @discardableResult
    func seedOrder(_ number: String = "ORD-1", customer: CRMMessages.Handle = omsID("OMS-1"), contacts: [CRMMessages.Handle] = [phone("0812-3456-7890")]) async throws -> String {
        let response = try await call(
            CRMMessages.OrderService.upsertOrder, UpsertOrderRequest(key: key("order-\(number)", adapter: "oms"), order: order(number, customer: customer, contacts: contacts)),
            as: .adapter)
        return response.order?.customerID ?? ""
    }

    /// Opens a complaint as Sales and returns it.
    func openComplaint(_ external: String, order: String = "ORD-1", category: CRMMessages.ComplaintCategory = .lostAtCustoms, customer: CRMMessages.Handle = phone("0812-3456-7890")) async throws -> CRMMessages.Complaint {
        var request = OpenComplaintRequest(key: key(external, adapter: "sales-tool"), customer: byHandle(customer), orderNumber: order, category: category, summary: "3 dari 10 lampu tidak sampai")
        if category == .return { request.returnReason = .broken }
        return try await call(CRMMessages.ComplaintService.openComplaint, request, as: .sales).complaint!
    }
}
