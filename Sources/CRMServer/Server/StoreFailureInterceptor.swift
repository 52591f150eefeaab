public import CRMRPC
import CRMStore

/// Answers a store failure that reached the end of a handler with the status it means (``StoreError/rpcStatus``):
/// UNAVAILABLE for a database that cannot be reached (which clients retry), INVALID_ARGUMENT, RESOURCE_EXHAUSTED, or
/// INTERNAL, instead of the UNKNOWN the RPC runtime gives an error it does not know. Handlers map the failures they
/// expect themselves; this catches the reads and writes they pass through as they are.
public struct StoreFailureInterceptor: RPCInterceptor {
    public init() {}

    public func intercept(context: RPCContext, next: () async throws -> Void) async throws {
        do {
            try await next()
        } catch let error as StoreError {
            throw error.rpcStatus
        }
    }
}
