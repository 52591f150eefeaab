public import CRMDomain
public import CRMStore
import Foundation

/// A token as `crmd token create` issues it: the text, shown once, and what it grants.
public struct IssuedToken: Sendable, Hashable {
    /// The token text (`crm_…`); it is not stored anywhere and cannot be shown again.
    public let token: String
    /// What the store keeps about it.
    public let info: TokenInfo
}

/// What is known about a token, without the token: for listings and logs.
public struct TokenInfo: Sendable, Hashable {
    /// The public id: the first 12 hex digits of the token's SHA-256 digest.
    public let id: String
    /// Whom it was issued to.
    public let name: String
    /// The role it grants.
    public let role: CallerRole
    /// An agent's team.
    public let team: AgentTeamName?
    /// A customer token's customer.
    public let customerID: CustomerID?
    /// When it was issued (Unix ms).
    public let createdAt: Int64
    /// When it stops working (Unix ms), if ever.
    public let expiresAt: Int64?
    /// When it was revoked (Unix ms), if it was.
    public let revokedAt: Int64?

    /// `active`, `revoked` or `expired` at `now`.
    public func state(now: Int64) -> String {
        if revokedAt != nil { return "revoked" }
        if let expiresAt, now >= expiresAt { return "expired" }
        return "active"
    }

    /// The principal the token authenticates.
    public var principal: Principal {
        Principal(role: role, name: name, team: team, customerID: customerID)
    }
}

/// Why a token operation was refused; each says what to do instead.
public enum TokenRegistryError: Error, Sendable, Hashable, CustomStringConvertible {
    /// An agent token without a team.
    case teamRequired
    /// A team given for a role other than agent.
    case teamOnlyForAgents(CallerRole)
    /// A customer token without a customer.
    case customerRequired
    /// A customer id given for a role other than customer.
    case customerOnlyForCustomers(CallerRole)
    /// An empty or over-long name.
    case invalidName(String)
    /// A non-positive lifetime.
    case invalidLifetime(Int)
    /// No token id starts with the prefix.
    case noSuchToken(String)
    /// Several token ids start with the prefix.
    case ambiguousToken(String, matches: [String])
    /// The prefix is too short to be meant.
    case prefixTooShort(String)

    public var description: String {
        switch self {
        case .teamRequired:
            "an agent token needs --team (one of \(AgentTeamName.allCases.map(\.rawValue).joined(separator: ", ")))"
        case .teamOnlyForAgents(let role):
            "--team is for agent tokens only; drop it for a \(role.rawValue) token"
        case .customerRequired:
            "a customer token needs --customer with the id of the one customer it may see (the customer_id of their profile)"
        case .customerOnlyForCustomers(let role):
            "--customer is for customer tokens only; drop it for a \(role.rawValue) token"
        case .invalidName(let name):
            "the name \"\(name)\" is not usable; give 1 to 100 printable characters, such as the person's or adapter's name"
        case .invalidLifetime(let days):
            "--expires-in must be a positive number of days, not \(days)"
        case .noSuchToken(let prefix):
            "no token id starts with \"\(prefix)\"; `crmd token list` shows the ids"
        case .ambiguousToken(let prefix, let matches):
            "several token ids start with \"\(prefix)\" (\(matches.joined(separator: ", "))); give more of the id"
        case .prefixTooShort(let prefix):
            "\"\(prefix)\" is too short; give at least 4 hex digits of the token id (`crmd token list` shows them)"
        }
    }
}

/// Why a presented token is not accepted.
public enum TokenRejection: Error, Sendable, Hashable {
    /// No token has this digest.
    case unknown
    /// It was revoked.
    case revoked
    /// Its lifetime is over.
    case expired
    /// The store holds a role or binding this build does not know.
    case malformed
}

/// Issues, lists, revokes and checks access tokens, keeping only their digests in the store.
public struct TokenRegistry: Sendable {
    /// The store the records live in.
    public let store: any Store
    /// The clock (Unix ms).
    public let now: @Sendable () -> Int64

    /// A registry over `store`.
    public init(store: any Store, now: @escaping @Sendable () -> Int64 = unixMillisecondsNow) {
        self.store = store
        self.now = now
    }

    /// Issues a token and returns it; its text is shown only this once. The audit trail records
    /// `token.create` on `token:<id>` by `actor`.
    ///
    /// - Parameters:
    ///   - expiresInDays: lifetime in days; nil for a token that does not expire.
    ///   - actor: who issues it, for the audit trail.
    public func create(
        role: CallerRole, name: String, team: AgentTeamName? = nil, customerID: CustomerID? = nil, expiresInDays: Int? = nil,
        actor: String = TokenRegistry.localActor
    ) async throws -> IssuedToken {
        let trimmed = name.trimmingSpaces
        guard (1...100).contains(trimmed.count), trimmed.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F })
        else { throw TokenRegistryError.invalidName(name) }
        switch role {
        case .agent:
            guard team != nil else { throw TokenRegistryError.teamRequired }
        default:
            if team != nil { throw TokenRegistryError.teamOnlyForAgents(role) }
        }
        if role == .customer {
            guard customerID != nil else { throw TokenRegistryError.customerRequired }
        } else if customerID != nil {
            throw TokenRegistryError.customerOnlyForCustomers(role)
        }
        if let days = expiresInDays, days <= 0 { throw TokenRegistryError.invalidLifetime(days) }
        let token = try AccessToken.generate()
        let digest = AccessToken.digest(of: token)
        let createdAt = now()
        let record = AccessTokenRecord(
            digest: digest, principal: trimmed, role: role.rawValue, createdAt: createdAt,
            expiresAt: expiresInDays.map { createdAt + Int64($0) * 86_400_000 }, revokedAt: nil,
            team: team?.rawValue, customerID: customerID?.rawValue)
        try await store.saveToken(record)
        guard let info = Self.info(record) else { throw TokenRegistryError.invalidName(name) }
        var detail = "role \(role.rawValue), name \(trimmed)"
        if let team { detail += ", team \(team.rawValue)" }
        if let customerID { detail += ", customer \(customerID.rawValue)" }
        if let expiresAt = record.expiresAt { detail += ", expires at \(expiresAt)" }
        try await store.appendAudit([
            AuditEntry(at: createdAt, actor: actor, action: "token.create", subject: Self.auditSubject(info.id), detail: detail)
        ])
        return IssuedToken(token: token, info: info)
    }

    /// Every token, oldest first, revoked and expired ones included (never the token text).
    public func list() async throws -> [TokenInfo] {
        try await store.allTokens().compactMap(Self.info)
    }

    /// Revokes the token whose id starts with `idPrefix` (at least 4 hex digits); returns it as it
    /// now stands. Revoking a revoked token changes nothing. The audit trail records
    /// `token.revoke` on `token:<id>` by `actor`.
    public func revoke(idPrefix: String, actor: String = TokenRegistry.localActor) async throws -> TokenInfo {
        let prefix = idPrefix.lowercased()
        guard prefix.count >= 4 else { throw TokenRegistryError.prefixTooShort(idPrefix) }
        let matches = try await store.allTokens().filter { AccessToken.hex($0.digest).hasPrefix(prefix) }
        guard let match = matches.first else { throw TokenRegistryError.noSuchToken(idPrefix) }
        guard matches.count == 1 else {
            throw TokenRegistryError.ambiguousToken(idPrefix, matches: matches.map { AccessToken.id(ofDigest: $0.digest) })
        }
        let at = now()
        let changed = try await store.revokeToken(digest: match.digest, at: at)
        let record = try await store.token(digest: match.digest) ?? match
        guard let info = Self.info(record) else { throw TokenRegistryError.noSuchToken(idPrefix) }
        if changed, match.revokedAt == nil {
            try await store.appendAudit([
                AuditEntry(
                    at: at, actor: actor, action: "token.revoke", subject: Self.auditSubject(info.id),
                    detail: "role \(info.role.rawValue), name \(info.name)")
            ])
        }
        return info
    }

    /// The principal `token` authenticates at this moment, or why it does not.
    public func authenticate(_ token: String) async throws -> Result<Principal, TokenRejection> {
        guard AccessToken.isWellFormed(token) else { return .failure(.unknown) }
        guard let record = try await store.token(digest: AccessToken.digest(of: token)) else { return .failure(.unknown) }
        if record.revokedAt != nil { return .failure(.revoked) }
        if !record.isValid(now: now()) { return .failure(.expired) }
        guard let info = Self.info(record) else { return .failure(.malformed) }
        return .success(info.principal)
    }

    /// The audit actor of token commands run on the server's machine.
    public static let localActor = "local:crmd-token"

    /// The audit subject of a token: `token:<id>`.
    public static func auditSubject(_ id: String) -> String { "token:\(id)" }

    static func info(_ record: AccessTokenRecord) -> TokenInfo? {
        guard let role = CallerRole(rawValue: record.role) else { return nil }
        let team = record.team.flatMap(AgentTeamName.init(rawValue:))
        let customer = record.customerID.flatMap { try? CustomerID($0) }
        return TokenInfo(
            id: AccessToken.id(ofDigest: record.digest), name: record.principal, role: role, team: team, customerID: customer,
            createdAt: record.createdAt, expiresAt: record.expiresAt, revokedAt: record.revokedAt)
    }
}

/// The wall clock in Unix milliseconds.
@Sendable public func unixMillisecondsNow() -> Int64 {
    Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
}

extension String {
    var trimmingSpaces: String {
        var scalars = Substring(self)
        while scalars.first?.isWhitespace == true { scalars.removeFirst() }
        while scalars.last?.isWhitespace == true { scalars.removeLast() }
        return String(scalars)
    }
}
