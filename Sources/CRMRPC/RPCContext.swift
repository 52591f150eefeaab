public import CRMTLS
public import CRMWire
public import NIOCore
import Synchronization

/// What a handler knows about the call it serves, and how it adds metadata to the answer.
///
/// One per call, made by the server before the interceptors run. Cancellation is Swift task
/// cancellation: when the client resets the stream, the deadline passes or the server shuts down,
/// the handler's task is cancelled (check `Task.isCancelled`, or let cancellable awaits throw).
public final class RPCContext: Sendable {
    /// The method called.
    public let method: WireMethodInfo
    /// When the call must be over, from the request's `timeout_ms`; nil without one.
    public let deadline: ContinuousClock.Instant?
    /// The metadata the client sent, validated, reserved `crm-` keys dropped.
    public let requestMetadata: Metadata
    /// The authority (host or host:port) the client meant to reach; may be empty.
    public let authority: String
    /// Whether the client declared the request safe to repeat.
    public let isIdempotent: Bool
    /// The certificate the client presented and the server verified (mTLS); nil without one.
    public let peerCertificate: PeerCertificate?
    /// The client's address.
    public let remoteAddress: SocketAddress?

    private struct ResponseState {
        var headers = Metadata()
        var trailers = Metadata()
        var headersSent = false
    }

    private let response = Mutex(ResponseState())

    init(
        method: WireMethodInfo, deadline: ContinuousClock.Instant?, requestMetadata: Metadata, authority: String,
        isIdempotent: Bool, peerCertificate: PeerCertificate?, remoteAddress: SocketAddress?
    ) {
        self.method = method
        self.deadline = deadline
        self.requestMetadata = requestMetadata
        self.authority = authority
        self.isIdempotent = isIdempotent
        self.peerCertificate = peerCertificate
        self.remoteAddress = remoteAddress
    }

    /// The client certificate's subject in RFC 2253 form (`CN=agent,O=CRM development`), or nil
    /// when the client presented none.
    public var peerCertificateSubject: String? { peerCertificate?.subject }

    /// Adds metadata to the response headers. They are sent with the first response message (or
    /// before the trailers), so entries added after that are refused; those of a server-streaming
    /// call are sent when its handler starts, so add them from an interceptor.
    ///
    /// - Throws: `RPCStatus` INTERNAL when the headers have already been sent; add them earlier.
    public func addResponseMetadata(_ metadata: Metadata) throws {
        try response.withLock { state throws(RPCStatus) in
            guard !state.headersSent else {
                throw RPCStatus(
                    code: .internal,
                    message: "response headers of \(method.path) were already sent; add response metadata before the first message")
            }
            state.headers.add(contentsOf: metadata)
        }
    }

    /// Adds metadata to the trailers that end the call, whatever its status.
    public func addTrailingMetadata(_ metadata: Metadata) {
        response.withLock { $0.trailers.add(contentsOf: metadata) }
    }

    /// The response headers to send now; later additions are refused.
    func takeResponseHeaders() -> Metadata {
        response.withLock { state in
            state.headersSent = true
            return state.headers
        }
    }

    /// Whether response headers were set and not yet sent.
    var hasPendingResponseHeaders: Bool {
        response.withLock { !$0.headersSent && !$0.headers.isEmpty }
    }

    /// The trailing metadata added so far.
    var trailingMetadata: Metadata {
        response.withLock { $0.trailers }
    }
}
