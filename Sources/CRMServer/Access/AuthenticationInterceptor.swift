public import CRMRPC
import CRMWire
public import Logging

/// Establishes who is calling and whether they may call the method, then runs the handler with
/// ``Principal/current`` set.
///
/// Credentials, in order:
/// 1. `authorization: Bearer <token>` metadata: the token is looked up by its SHA-256 digest;
/// 2. without a token, a client certificate the server's CA verified (mTLS): an **adapter**
///    named by the certificate's subject CN.
///
/// Methods the ``AccessPolicy`` marks open (health, reflection) run without credentials.
/// Outcomes: no credentials, or an unknown, revoked or expired token → UNAUTHENTICATED; a role
/// the policy does not allow, or a method the policy does not list → PERMISSION_DENIED.
///
/// Repeated bad tokens from one address are answered more and more slowly and logged (``AuthenticationThrottle``);
/// the status message then says so.
public struct AuthenticationInterceptor: RPCInterceptor {
    /// The metadata key that carries the token.
    public static let metadataKey = "authorization"

    private let tokens: TokenRegistry
    private let rules: @Sendable (String) -> AccessRule?
    private let logger: Logger
    private let throttle: AuthenticationThrottle

    /// An interceptor checking tokens against `tokens` and methods against ``AccessPolicy``, slowing repeated bad
    /// tokens with `throttle`.
    public init(
        tokens: TokenRegistry, logger: Logger = Logger(label: "crm.access"),
        throttle: AuthenticationThrottle = AuthenticationThrottle()
    ) {
        self.init(tokens: tokens, rules: AccessPolicy.rule(for:), logger: logger, throttle: throttle)
    }

    /// An interceptor with its own rule table (for tests of services outside `Protos/`).
    public init(
        tokens: TokenRegistry, rules: @escaping @Sendable (String) -> AccessRule?, logger: Logger = Logger(label: "crm.access"),
        throttle: AuthenticationThrottle = AuthenticationThrottle()
    ) {
        self.tokens = tokens
        self.rules = rules
        self.logger = logger
        self.throttle = throttle
    }

    public func intercept(context: RPCContext, next: () async throws -> Void) async throws {
        let path = context.method.path
        guard let rule = rules(path) else {
            logger.error("refused a call to a method missing from the access policy", metadata: ["method": "\(path)"])
            throw RPCStatus(
                code: .permissionDenied,
                message: "\(path) is not in the server's access policy, so nobody may call it; this is a server bug, please report it")
        }
        if case .open = rule {
            try await next()
            return
        }
        let principal = try await authenticate(context)
        guard rule.allows(principal.role) else {
            throw RPCStatus(
                code: .permissionDenied,
                message: "\(path) needs the role \(rule); the credentials of \"\(principal.name)\" grant the role \(principal.role.rawValue)")
        }
        try await Principal.$current.withValue(principal) {
            try await next()
        }
    }

    /// The principal of the call's credentials.
    ///
    /// - Throws: `RPCStatus` UNAUTHENTICATED saying what is wrong and what to send.
    func authenticate(_ context: RPCContext) async throws -> Principal {
        if let header = context.requestMetadata.firstText(Self.metadataKey) {
            let address = context.remoteAddress?.ipAddress ?? "an unknown address"
            let token: String
            do {
                token = try Self.bearerToken(header)
            } catch let refusal as RPCStatus {
                throw await slowed(refusal, from: address, method: context.method.path)
            }
            let outcome: Result<Principal, TokenRejection>
            do {
                outcome = try await tokens.authenticate(token)
            } catch {
                logger.error("could not look a token up", metadata: ["error": "\(error)"])
                throw RPCStatus(code: .unavailable, message: "the server could not check the token (store unavailable); retry shortly")
            }
            let refusal: RPCStatus
            switch outcome {
            case .success(let principal):
                throttle.recordSuccess(from: address)
                return principal
            case .failure(.revoked):
                refusal = RPCStatus(code: .unauthenticated, message: "the token is revoked; create a new one with `crmd token create`")
            case .failure(.expired):
                refusal = RPCStatus(code: .unauthenticated, message: "the token is expired; create a new one with `crmd token create`")
            case .failure(.unknown), .failure(.malformed):
                refusal = RPCStatus(code: .unauthenticated, message: "the token is unknown; create one with `crmd token create`")
            }
            throw await slowed(refusal, from: address, method: context.method.path)
        }
        if let certificate = context.peerCertificate {
            let name = certificate.commonName ?? certificate.subject
            return Principal(role: .adapter, name: name.isEmpty ? "unnamed-certificate" : name)
        }
        throw RPCStatus(
            code: .unauthenticated,
            message: "\(context.method.path) needs credentials: send the metadata `authorization: Bearer <token>` "
                + "(create a token with `crmd token create`), or, for a channel adapter, a client certificate signed by the server's CA")
    }

    /// `refusal` of a bad token from `address`, answered after the throttle's delay and saying so once slowed.
    private func slowed(_ refusal: RPCStatus, from address: String, method: String) async -> RPCStatus {
        let decision = throttle.recordFailure(from: address)
        guard decision.delay > .zero else { return refusal }
        let policy = throttle.policy
        if decision.startsSlowing {
            logger.warning(
                "repeated bad tokens: answering this address slowly",
                metadata: [
                    "address": "\(address)", "failures": "\(decision.failuresInWindow)", "method": "\(method)",
                    "window_seconds": "\(policy.window.components.seconds)",
                ])
        }
        // Cancellation (the client gave up) ends the wait early; the answer is the same.
        try? await Task.sleep(for: decision.delay)
        let milliseconds = decision.delay.components.seconds * 1000 + decision.delay.components.attoseconds / 1_000_000_000_000_000
        return RPCStatus(
            code: refusal.code,
            message: refusal.message + "; answered after \(milliseconds) ms: \(decision.failuresInWindow) bad tokens from "
                + "\(address) within \(policy.window.components.seconds) s")
    }

    /// The token of an `authorization` value: `Bearer <token>` (the scheme case-insensitive).
    static func bearerToken(_ header: String) throws -> String {
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw RPCStatus(
                code: .unauthenticated, message: "the authorization metadata must be `Bearer <token>`; got a value of another form")
        }
        return String(parts[1]).trimmingSpaces
    }
}
