public import CRMDomain

/// The role a caller acts in; it decides which methods it may call (see ``AccessPolicy``).
public enum CallerRole: String, Sendable, Hashable, CaseIterable, Codable {
    /// A channel adapter: pushes interactions and order events. Authenticated by an mTLS client
    /// certificate signed by the server's CA, or by a token.
    case adapter
    /// A Sales, After-Sales, China-team or warehouse agent, by token.
    case agent
    /// A supervisor: everything an agent may do, plus reports and access management.
    case supervisor
    /// A customer through self-service, by a token bound to one customer: sees only its own
    /// complaints' status and its own notices.
    case customer
}

/// The team an agent works in; it is the role the complaint workflow knows them by.
public enum AgentTeamName: String, Sendable, Hashable, CaseIterable, Codable {
    /// Takes orders and complaints from customers and tells them outcomes.
    case sales
    /// Reviews and decides complaints.
    case afterSales = "after-sales"
    /// Checks suppliers on 1688 and Taobao.
    case chinaTeam = "china-team"
    /// Receives returns and checks their quality.
    case warehouse
}

/// Who is calling: established once per call by the authentication interceptor and read by
/// the services through ``Principal/current``.
public struct Principal: Sendable, Hashable {
    /// The role the credentials grant.
    public let role: CallerRole
    /// The name the credentials were issued to (a token's `--name`, or a certificate's subject).
    public let name: String
    /// For agents, their team; nil for other roles.
    public let team: AgentTeamName?
    /// For customers, the one customer whose data they may see; nil for other roles.
    public let customerID: CustomerID?

    /// Creates a principal.
    public init(role: CallerRole, name: String, team: AgentTeamName? = nil, customerID: CustomerID? = nil) {
        self.role = role
        self.name = name
        self.team = team
        self.customerID = customerID
    }

    /// The principal of the call running in this task; set by the authentication interceptor
    /// around the handler. Nil outside a call (and in calls to unauthenticated methods such
    /// as health checks).
    @TaskLocal public static var current: Principal?

    /// `role:name`, as written to the audit trail.
    public var auditName: String { "\(role.rawValue):\(name)" }
}
