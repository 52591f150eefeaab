import CRMDomain
public import CRMServer
import Synchronization

/// Who a test call runs as. Each caller but ``anonymous`` calls with a real token, issued by the server's
/// ``TokenRegistry`` the first time the caller is used: the access checks under test are the real ones, and a
/// test that never calls as someone leaves no token of theirs in the store.
public enum TestCaller: Hashable, Sendable {
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
    /// The customer with this id (a customer token names a customer the store knows, so it can be issued
    /// only once their first facts are stored).
    case customer(String)

    /// The role, name, team and customer binding of the caller's token; nil for ``anonymous``.
    public var grant: (role: CallerRole, name: String, team: AgentTeamName?, customer: String?)? {
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

/// The tokens issued to test callers, shared by a server and its restarts: they live in the store, so a restarted
/// server accepts them, and a test keeps calling as the same people.
final class IssuedTokens: Sendable {
    private let tokens = Mutex<[TestCaller: String]>([:])

    /// The token of `caller`, issued through `registry` on first use; nil for ``TestCaller/anonymous``.
    func token(for caller: TestCaller, registry: TokenRegistry) async throws -> String? {
        guard let grant = caller.grant else { return nil }
        if let token = tokens.withLock({ $0[caller] }) { return token }
        let issued = try await registry.create(
            role: grant.role, name: grant.name, team: grant.team, customerID: try grant.customer.map { try CustomerID($0) },
            actor: "test:harness")
        // Two calls racing to issue keep the first token, so every call as the caller carries the same one.
        return tokens.withLock { tokens in
            if let earlier = tokens[caller] { return earlier }
            tokens[caller] = issued.token
            return issued.token
        }
    }
}
