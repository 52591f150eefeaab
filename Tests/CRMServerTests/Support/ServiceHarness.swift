import CRMDomain
import CRMMessages
import CRMRPC
import CRMServer
import CRMStore
import CRMTLS
import CRMTestSupport
import CRMWire
import Foundation
import Synchronization
import Testing

/// Who a test call runs as: each identity but ``anonymous`` calls with a real token, issued by the
/// server's ``TokenRegistry`` the first time the identity is used.
enum As: Hashable, Sendable {
    /// No credentials at all.
    case anonymous
    /// The WhatsApp channel adapter `whatsapp-gw-1`.
    case adapter
    /// Dewi, of Sales.
    case sales
    /// Budi, of After-Sales.
    case afterSales
    /// Lina, of the China team.
    case chinaTeam
    /// Wati, of the warehouse.
    case warehouse
    /// Sari, a supervisor.
    case supervisor
    /// The customer with this id (known once their first facts are stored).
    case customer(String)

    /// The role, name, team and customer binding of the identity's token.
    var grant: (role: CallerRole, name: String, team: AgentTeamName?, customer: String?)? {
        switch self {
        case .anonymous: nil
        case .adapter: (.adapter, "whatsapp-gw-1", nil, nil)
        case .sales: (.agent, "dewi", .sales, nil)
        case .afterSales: (.agent, "budi", .afterSales, nil)
        case .chinaTeam: (.agent, "lina", .chinaTeam, nil)
        case .warehouse: (.agent, "wati", .warehouse, nil)
        case .supervisor: (.supervisor, "sari", nil, nil)
        case .customer(let id): (.customer, "self-service " + id, nil, id)
        }
    }
}

/// The server time of a test, Unix ms; tests move it instead of sleeping.
final class TestClock: Sendable {
    private let value: Mutex<Int64>

    init(_ start: Int64 = ServiceHarness.now) { value = Mutex(start) }

    /// The current time.
    var now: Int64 { value.withLock { $0 } }

    /// Moves the clock forward by `milliseconds`.
    func advance(by milliseconds: Int64) { value.withLock { $0 += milliseconds } }

    /// The clock as the services take it.
    var read: @Sendable () -> Int64 { { [self] in now } }
}

/// The tokens issued for test identities, shared by a harness and its restarts (they live in the store).
final class TestTokens: Sendable {
    private let tokens = Mutex<[As: String]>([:])

    func token(for identity: As, registry: TokenRegistry) async throws -> String? {
        guard let grant = identity.grant else { return nil }
        if let token = tokens.withLock({ $0[identity] }) { return token }
        let issued = try await registry.create(
            role: grant.role, name: grant.name, team: grant.team, customerID: try grant.customer.map { try CustomerID($0) },
            actor: "test:harness")
        return tokens.withLock { tokens in
            if let earlier = tokens[identity] { return earlier }
            tokens[identity] = issued.token
            return issued.token
        }
    }
}

/// The real CRM server, as `crmd serve` assembles it: ``CRMServerApp`` with ``CRMServices``, the
/// interceptors [metrics, logging, authentication], a SQLite store in a temporary data directory and TLS
/// with the test certificates; and a client of it that authenticates with real tokens.
struct ServiceHarness: Sendable {
    let app: CRMServerApp
    let client: RPCClient
    let store: any Store
    let events: EventHub
    let directory: String
    let clock: TestClock
    let tokens: TestTokens
    /// The sweeps of the running server's services, for tests to run by hand.
    let sweeps: NoticeSweeps
    /// The fixed start time of a test's server clock, Unix ms (2024-06-01T00:00:00Z).
    static let now: Int64 = 1_717_200_000_000

    /// Starts a server on `directory` (a new temporary one when nil), whose shutdown lets calls in flight finish
    /// for `shutdownGracePeriod`.
    static func start(
        directory: String? = nil, clock: TestClock = TestClock(), tokens: TestTokens = TestTokens(),
        shutdownGracePeriod: Duration = .seconds(5)
    ) async throws -> ServiceHarness {
        let directory = directory ?? FileManager.default.temporaryDirectory.appendingPathComponent("crm-services-\(UUID().uuidString)").path
        let certificates = try TestCertificates.shared()
        let configuration = ServerConfiguration(
            host: "127.0.0.1", port: 0, dataDirectory: directory, certificateFile: certificates.serverCertificate,
            privateKeyFile: certificates.serverKey, clientCAFile: certificates.caFile, metricsPort: nil, logLevel: "critical",
            shutdownGracePeriod: shutdownGracePeriod)
        let events = EventHub()
        let made = Mutex<CRMServices?>(nil)
        let app = CRMServerApp(configuration: configuration, logger: quietLogger) { store in
            let services = CRMServices(store: store, events: events, now: clock.read)
            made.withLock { $0 = services }
            // The sweeper's own schedule never comes round in a test; tests run the sweeps by hand.
            return ServerComponents(services: services.all, sweeps: services.sweeps(interval: .seconds(3600)), events: events)
        }
        try await app.start()
        let port = try #require(app.port)
        let store = try #require(app.store)
        let services = try #require(made.withLock { $0 })
        let clientTLS = TLSConfiguration.client(serverName: "localhost", trustRootsFile: certificates.caFile)
        let client = try RPCClient(configuration: .init(host: "127.0.0.1", port: port, tls: clientTLS, serverName: "localhost"))
        return ServiceHarness(
            app: app, client: client, store: store, events: events, directory: directory, clock: clock, tokens: tokens,
            sweeps: services.noticeSweeps)
    }

    /// Stops the server and removes its data directory unless `keepingData`.
    func stop(keepingData: Bool = false) async {
        await client.close()
        await app.shutdown(gracePeriod: .seconds(1))
        if !keepingData { try? FileManager.default.removeItem(atPath: directory) }
    }

    /// Stops this server and starts a new one on the same data directory, clock and tokens.
    func restarted() async throws -> ServiceHarness {
        await stop(keepingData: true)
        return try await ServiceHarness.start(directory: directory, clock: clock, tokens: tokens)
    }

    /// The token of `identity` (nil for ``As/anonymous``), issued on first use.
    func token(_ identity: As) async throws -> String? {
        try await tokens.token(for: identity, registry: TokenRegistry(store: store))
    }

    /// Call options authenticating as `identity` (`authorization: Bearer <token>`).
    func options(_ identity: As) async throws -> CallOptions {
        var options = CallOptions()
        if let token = try await token(identity) { options.metadata.add("authorization", "Bearer \(token)") }
        return options
    }

    /// Calls a unary method as `identity`.
    func call<Request, Response>(_ method: WireMethod<Request, Response>, _ request: Request, as identity: As = .supervisor) async throws -> Response {
        try await client.unary(method, request, options: options(identity))
    }

    /// The status a unary call as `identity` ends with (OK when it succeeds).
    func status<Request, Response>(_ method: WireMethod<Request, Response>, _ request: Request, as identity: As) async throws -> RPCStatus {
        let options = try await options(identity)
        do {
            _ = try await client.unary(method, request, options: options)
            return .ok
        } catch let status as RPCStatus {
            return status
        }
    }

    /// Expects the call to fail with `code`; returns the status message.
    @discardableResult
    func expectFailure<Request, Response>(
        _ code: RPCStatus.Code, _ method: WireMethod<Request, Response>, _ request: Request, as identity: As = .supervisor,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> String {
        let status = try await status(method, request, as: identity)
        if status.code == .ok {
            Issue.record("expected \(code.name), the call succeeded", sourceLocation: sourceLocation)
            return ""
        }
        #expect(status.code == code, "\(status)", sourceLocation: sourceLocation)
        return status.message
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
