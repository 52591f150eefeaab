/// A TLS failure: what kind it is, a sentence saying what went wrong and what to do, and the
/// OpenSSL errors behind it.
///
/// Match on ``kind``; show ``description`` (or ``message``) to people. ``TLSContext`` throws it
/// when a configuration cannot be loaded, and ``TLSHandler`` fires it down the pipeline
/// (`errorCaught`) before it closes a connection.
public struct TLSError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kinds of TLS failure, precise enough to act on.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        // MARK: Loading a configuration (TLSContext)

        /// The configuration is inconsistent (a server without a certificate, mTLS without a CA bundle,
        /// an empty or over-long ALPN name…).
        case invalidConfiguration
        /// The PEM certificate chain file could not be read.
        case certificateUnreadable
        /// The PEM private key file could not be read.
        case privateKeyUnreadable
        /// The private key is not the one the certificate was issued for.
        case privateKeyMismatch
        /// The CA bundle used to verify peers could not be read.
        case trustRootsUnreadable
        /// OpenSSL accepted none of the configured ciphers.
        case invalidCipherList
        /// OpenSSL failed where it normally does not (allocation, internal state).
        case openSSLFailure

        // MARK: The handshake

        /// The peer does not speak TLS: plaintext such as an HTTP request arrived.
        case notTLS
        /// No ALPN protocol in common: the client offered none, or none the server accepts.
        case noApplicationProtocol
        /// A certificate was required and not presented (the server saw none, or the client was told so).
        case certificateRequired
        /// The peer's certificate did not verify against our CA bundle (untrusted, expired, wrong use…).
        case certificateVerificationFailed
        /// The server's certificate verified, but is not for the name or IP address we expected.
        case hostnameMismatch
        /// The peer rejected our certificate (it sent an alert such as `unknown_ca` or `bad_certificate`).
        case certificateRejectedByPeer
        /// The two sides have no TLS version in common.
        case protocolVersionMismatch
        /// The handshake did not finish within the configured timeout.
        case handshakeTimedOut
        /// The connection closed before the handshake finished.
        case closedDuringHandshake
        /// Any other handshake failure; see ``TLSError/openSSLErrors``.
        case handshakeFailed

        // MARK: An established connection

        /// The peer closed the connection without a TLS `close_notify`: what it sent last may be truncated.
        case uncleanShutdown
        /// The peer did not answer our `close_notify` within the configured timeout; the connection was closed anyway.
        case closeTimedOut
        /// TLS failed on an established connection (a corrupt record, an alert from the peer…).
        case connectionFailed
    }

    /// What kind of failure this is.
    public var kind: Kind
    /// What went wrong and what to do about it, in one or two sentences.
    public var message: String
    /// The OpenSSL errors that were queued when the failure happened, oldest first.
    public var openSSLErrors: [OpenSSLError]

    /// Makes an error; `message` should say what went wrong and what to do.
    public init(_ kind: Kind, _ message: String, openSSLErrors: [OpenSSLError] = []) {
        self.kind = kind
        self.message = message
        self.openSSLErrors = openSSLErrors
    }

    /// The kind and the message; the message already quotes OpenSSL's reasons.
    public var description: String {
        "TLS \(kind.rawValue): \(message)"
    }
}
