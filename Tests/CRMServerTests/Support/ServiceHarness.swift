import CRMDomain
import CRMMessages
import CRMRPC
import CRMServer
import CRMStore
import CRMTLS
import CRMTestSupport
import CRMWire
import Foundation
import Testing

/// Test-only stand-in for the authentication interceptor: sets ``Principal/current`` from the
/// `x-test-principal` header (`role:name[:team[:customerID]]`). The server assembly uses the real
/// authentication interceptor instead.
struct TestPrincipalInterceptor: RPCInterceptor {
    static let header = "x-test-principal"

    func intercept(context: RPCContext, next: () async throws -> Void) async throws {
        guard let text = context.requestMetadata.firstText(Self.header) else {
            try await next()
            return
        }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 2, let role = CallerRole(rawValue: parts[0]) else {
            throw RPCStatus(code: .unauthenticated, message: "bad test principal \(text)")
        }
        let team = parts.count > 2 && !parts[2].isEmpty ? AgentTeamName(rawValue: parts[2]) : nil
        let customer = parts.count > 3 && !parts[3].isEmpty ? try CustomerID(parts[3]) : nil
        try await Principal.$current.withValue(Principal(role: role, name: parts[1], team: team, customerID: customer)) {
            try await next()
        }
    }
}

/// Who a test call runs as.
enum As {
    static let adapter = "adapter:whatsapp-gw-1"
    static let sales = "agent:dewi:sales"
    static let afterSales = "agent:budi:after-sales"
    static let warehouse = "agent:wati:warehouse"
    static let supervisor = "supervisor:sari"
    static func customer(_ id: String) -> String { "customer:self:" + ":" + id }
}

/// A started CRM server over a fresh SQLite store, and a client of it.
struct ServiceHarness: Sendable {
    let server: RPCServer
    let client: RPCClient
    let store: SQLiteStore
    let events: EventHub
    let directory: String
    /// The fixed server time of the test, Unix ms (2024-06-01T00:00:00Z).
    static let now: Int64 = 1_717_200_000_000

    static func start() async throws -> ServiceHarness {
        let directory = NSTemporaryDirectory() + "crm-services-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let store = try SQLiteStore(path: directory + "/crm.sqlite")
        let events = EventHub()
        let services = CRMServices(store: store, events: events, now: { ServiceHarness.now })
        let certificates = try TestCertificates.shared()
        let tls = TLSConfiguration.server(
            certificateChainFile: certificates.serverCertificate, privateKeyFile: certificates.serverKey,
            clientCertificateMode: .none, trustRootsFile: certificates.caFile)
        let server = try RPCServer(
            configuration: .init(host: "127.0.0.1", port: 0, tls: tls), services: services.all,
            interceptors: [TestPrincipalInterceptor()])
        try await server.start()
        let port = server.localAddress!.port!
        let clientTLS = TLSConfiguration.client(serverName: "localhost", trustRootsFile: certificates.caFile)
        let client = try RPCClient(configuration: .init(host: "127.0.0.1", port: port, tls: clientTLS, serverName: "localhost"))
        return ServiceHarness(server: server, client: client, store: store, events: events, directory: directory)
    }

    func stop() async {
        await client.close()
        await server.shutdown(gracePeriod: .seconds(1))
        try? await store.close()
        try? FileManager.default.removeItem(atPath: directory)
    }

    static func options(_ principal: String) -> CallOptions {
        var options = CallOptions()
        options.metadata.add(TestPrincipalInterceptor.header, principal)
        return options
    }

    /// Calls a unary method as `principal`.
    func call<Request, Response>(_ method: WireMethod<Request, Response>, _ request: Request, as principal: String = As.supervisor) async throws -> Response {
        try await client.unary(method, request, options: Self.options(principal))
    }

    /// Expects the call to fail with `code`; returns the status message.
    @discardableResult
    func expectFailure<Request, Response>(
        _ code: RPCStatus.Code, _ method: WireMethod<Request, Response>, _ request: Request, as principal: String = As.supervisor,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> String {
        do {
            _ = try await call(method, request, as: principal)
            Issue.record("expected \(code.name), the call succeeded", sourceLocation: sourceLocation)
            return ""
        } catch let status as RPCStatus {
            #expect(status.code == code, "\(status)", sourceLocation: sourceLocation)
            return status.message
        }
    }
}

/// Runs `body` with a started harness and stops it after.
func withServices(_ body: (ServiceHarness) async throws -> Void) async throws {
    let harness = try await ServiceHarness.start()
    do {
        try await body(harness)
    } catch {
        await harness.stop()
        throw error
    }
    await harness.stop()
}

// MARK: Fixtures

func phone(_ value: String) -> CRMMessages.Handle { CRMMessages.Handle(kind: .phone, value: value) }
func omsID(_ value: String) -> CRMMessages.Handle { CRMMessages.Handle(kind: .orderSystemID, value: value) }
func key(_ external: String, adapter: String = "test") -> IdempotencyKey { IdempotencyKey(adapterID: adapter, externalID: external) }
func byHandle(_ handle: CRMMessages.Handle) -> CustomerSelector { CustomerSelector(target: .handle(handle)) }
func byID(_ id: String) -> CustomerSelector { CustomerSelector(target: .customerID(id)) }

func interaction(_ external: String, handle: CRMMessages.Handle = phone("0812-3456-7890"), intent: Intent = .informationRequest, at: Int64 = ServiceHarness.now - 60_000, body: String = "Halo, barang saya kapan sampai?") -> CRMMessages.Interaction {
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

func order(_ number: String, customer: CRMMessages.Handle = omsID("OMS-1"), contacts: [CRMMessages.Handle] = [phone("0812-3456-7890")], quantity: Int64 = 10, price: Int64 = 45_000, placed: Int64 = ServiceHarness.now - 30 * 86_400_000) -> CRMMessages.Order {
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

extension ServiceHarness {
    /// Stores an order for OMS-1 (linked to the phone 0812-3456-7890) and returns the customer id.
    @discardableResult
    func seedOrder(_ number: String = "ORD-1", customer: CRMMessages.Handle = omsID("OMS-1"), contacts: [CRMMessages.Handle] = [phone("0812-3456-7890")]) async throws -> String {
        let response = try await call(
            CRMMessages.OrderService.upsertOrder, UpsertOrderRequest(key: key("order-\(number)", adapter: "oms"), order: order(number, customer: customer, contacts: contacts)),
            as: As.adapter)
        return response.order?.customerID ?? ""
    }

    /// Opens a complaint as Sales and returns it.
    func openComplaint(_ external: String, order: String = "ORD-1", category: CRMMessages.ComplaintCategory = .lostAtCustoms, customer: CRMMessages.Handle = phone("0812-3456-7890")) async throws -> CRMMessages.Complaint {
        var request = OpenComplaintRequest(key: key(external, adapter: "sales-tool"), customer: byHandle(customer), orderNumber: order, category: category, summary: "3 dari 10 lampu tidak sampai")
        if category == .return { request.returnReason = .broken }
        return try await call(CRMMessages.ComplaintService.openComplaint, request, as: As.sales).complaint!
    }
}
