import COpenSSL

/// Turns what OpenSSL reports about a failed handshake, read or write into a ``TLSError`` of the most
/// precise kind, with a message that says what to do.
///
/// OpenSSL reports a failure as reason codes on its error queue. An alert received from the peer shows
/// up as `SSL_AD_REASON_OFFSET` (1000) plus the alert's number; a certificate that failed our own
/// verification as `SSL_R_CERTIFICATE_VERIFY_FAILED`, with the X.509 reason in `SSL_get_verify_result`.
struct TLSFailure {
    /// Whether the connection had finished its handshake.
    enum Phase {
        case handshake
        case established
    }

    var phase: Phase
    var role: TLSConfiguration.Role
    var errors: [OpenSSLError]
    /// `SSL_get_verify_result` when it is not `X509_V_OK`.
    var verifyResult: Int32?
    /// The peer sent `close_notify` in the middle of the handshake.
    var closeNotifyDuringHandshake: Bool = false
    var configuration: TLSConfiguration
    var expectedServerName: String?

    // TLS alert numbers (RFC 8446 §6) as OpenSSL reports them when the peer sends one.
    private static let alertOffset = Int32(SSL_AD_REASON_OFFSET)
    private static let certificateAlerts: Set<Int32> = [
        42,  // bad_certificate
        43,  // unsupported_certificate
        44,  // certificate_revoked
        45,  // certificate_expired
        46,  // certificate_unknown
        48,  // unknown_ca
    ]
    private static let protocolVersionAlert: Int32 = 70
    private static let certificateRequiredAlert: Int32 = 116
    private static let noApplicationProtocolAlert: Int32 = 120

    var error: TLSError {
        let reasons = OpenSSLErrorQueue.summary(errors)
        return TLSError(kind, "\(explanation) (\(reasons))", openSSLErrors: errors)
    }

    /// The most precise kind any queued reason allows.
    var kind: TLSError.Kind {
        if closeNotifyDuringHandshake { return .closedDuringHandshake }
        for error in errors where error.library == ERR_LIB_SSL {
            if let kind = kind(forReason: error.reason) { return kind }
        }
        switch phase {
        case .handshake: return .handshakeFailed
        case .established: return .connectionFailed
        }
    }

    private func kind(forReason reason: Int32) -> TLSError.Kind? {
        switch reason {
        case SSL_R_HTTP_REQUEST, SSL_R_HTTPS_PROXY_REQUEST, SSL_R_WRONG_VERSION_NUMBER, SSL_R_UNKNOWN_PROTOCOL:
            // The record layer found no TLS record header; after the handshake that is corruption, not a
            // plaintext client.
            return phase == .handshake ? .notTLS : nil
        case SSL_R_NO_APPLICATION_PROTOCOL, Self.alertOffset + Self.noApplicationProtocolAlert:
            return .noApplicationProtocol
        case SSL_R_CALLBACK_FAILED where role == .server && configuration.requiresApplicationProtocol:
            // Our client hello callback is the only one that can fail, and only for a missing ALPN.
            return .noApplicationProtocol
        case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE, Self.alertOffset + Self.certificateRequiredAlert:
            return .certificateRequired
        case SSL_R_CERTIFICATE_VERIFY_FAILED:
            switch verifyResult {
            case X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_IP_ADDRESS_MISMATCH: return .hostnameMismatch
            default: return .certificateVerificationFailed
            }
        case SSL_R_UNSUPPORTED_PROTOCOL, SSL_R_NO_PROTOCOLS_AVAILABLE, Self.alertOffset + Self.protocolVersionAlert:
            return .protocolVersionMismatch
        case let reason where Self.certificateAlerts.contains(reason - Self.alertOffset):
            return .certificateRejectedByPeer
        default:
            return nil
        }
    }

    /// What went wrong and what to do, for each kind; OpenSSL's reasons are appended by ``error``.
    private var explanation: String {
        let peer = role == .server ? "client" : "server"
        let protocols = configuration.applicationProtocols.joined(separator: ", ")
        switch kind {
        case .notTLS:
            return "the \(peer) did not start a TLS handshake; it is probably speaking plaintext (such as HTTP) "
                + "to a TLS port: connect with TLS"
        case .noApplicationProtocol:
            if role == .server {
                return "the client offered no ALPN protocol this server accepts (\(protocols)); "
                    + "the client must offer one of them"
            }
            if configuration.applicationProtocols.isEmpty {
                return "the server requires an ALPN protocol and this client offered none; set applicationProtocols "
                    + "(the RPC uses crm/1)"
            }
            return "the server accepted none of the ALPN protocols offered (\(protocols)); "
                + "check that it serves this protocol"
        case .certificateRequired:
            return role == .server
                ? "the client sent no certificate but this server requires one (mTLS); configure the client with a "
                    + "certificate issued by a CA in \(configuration.trustRootsFile ?? "the server's CA bundle")"
                : "the server requires a client certificate (mTLS); set certificateChainFile and privateKeyFile"
        case .certificateVerificationFailed:
            return "the \(peer)'s certificate failed verification: \(verifyText); it must be valid now and issued by "
                + "a CA in \(configuration.trustRootsFile ?? "the system trust store")"
        case .hostnameMismatch:
            return "the server's certificate is not for \"\(expectedServerName ?? "")\": \(verifyText); connect with a "
                + "name or address in its subjectAltName, or issue it one that includes this name"
        case .certificateRejectedByPeer:
            return "the \(peer) rejected our certificate; make sure it is issued by a CA the \(peer) trusts, is "
                + "valid now, and (for a server) is for the name the client connects to"
        case .protocolVersionMismatch:
            let ours =
                configuration.minimumVersion == configuration.maximumVersion
                ? "\(configuration.minimumVersion) only"
                : "\(configuration.minimumVersion) to \(configuration.maximumVersion)"
            return "the \(peer) supports no TLS version in common with ours (\(ours)); upgrade the older side"
        case .closedDuringHandshake:
            return "the \(peer) closed the TLS session during the handshake"
        case .handshakeFailed:
            return "the TLS handshake with the \(peer) failed"
        case .connectionFailed:
            return "TLS failed on the established connection with the \(peer); the connection is closed"
        case .invalidConfiguration, .certificateUnreadable, .privateKeyUnreadable, .privateKeyMismatch,
            .trustRootsUnreadable, .invalidCipherList, .openSSLFailure, .handshakeTimedOut, .uncleanShutdown,
            .closeTimedOut:
            // Not produced from OpenSSL's error queue; described where they are raised.
            return "TLS failed"
        }
    }

    private var verifyText: String {
        guard let verifyResult, let text = X509_verify_cert_error_string(Int(verifyResult)) else {
            return "no X.509 reason given"
        }
        return String(cString: text)
    }
}
