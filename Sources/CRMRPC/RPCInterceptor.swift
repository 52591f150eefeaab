/// Code that runs around every handler of a server: authentication, logging, metrics.
///
/// An interceptor sees the call's context before the handler runs and the outcome after: it
/// calls `next()` to run the rest of the chain (the later interceptors, then the handler), or
/// throws instead to end the call without running it (an `RPCStatus` such as UNAUTHENTICATED
/// becomes the call's status). Errors thrown by `next()` are the handler's; rethrow them,
/// possibly changed.
///
/// ```swift
/// struct RequireClientCertificate: RPCInterceptor {
///     func intercept(context: RPCContext, next: () async throws -> Void) async throws {
///         guard context.peerCertificateSubject != nil else {
///             throw RPCStatus(code: .unauthenticated, message: "present a client certificate")
///         }
///         try await next()
///     }
/// }
/// ```
///
/// Interceptors wrap the whole call, streams included; they do not see individual messages.
public protocol RPCInterceptor: Sendable {
    /// Runs around one call; must call `next()` at most once.
    func intercept(context: RPCContext, next: () async throws -> Void) async throws
}

/// Interceptors in the order they run: the first is outermost.
struct InterceptorChain: Sendable {
    let interceptors: [any RPCInterceptor]

    func run(context: RPCContext, handler: () async throws -> Void) async throws {
        try await run(from: 0, context: context, handler: handler)
    }

    private func run(from index: Int, context: RPCContext, handler: () async throws -> Void) async throws {
        guard index < interceptors.count else {
            try await handler()
            return
        }
        try await interceptors[index].intercept(context: context) {
            try await run(from: index + 1, context: context, handler: handler)
        }
    }
}
