/// Fired by ``TLSHandler`` as a user inbound event once the handshake has completed and every check
/// (certificate chain, host name, ALPN) has passed, before any application data is passed on.
///
/// A server authorises a client by ``peerCertificate`` here; a client learns which protocol was chosen.
public struct TLSHandshakeCompleted: Sendable, Hashable {
    /// The ALPN protocol chosen, such as `crm/1`, or `nil` when ALPN was not used.
    public var alpn: String?
    /// The protocol version, as OpenSSL names it: `TLSv1.3`, `TLSv1.2`.
    public var protocolVersion: String
    /// The cipher suite, as OpenSSL names it: `TLS_AES_128_GCM_SHA256`.
    public var cipherSuite: String
    /// The certificate the peer presented and we verified; `nil` when it presented none (a server that
    /// does not ask clients for one, or asks and allows none).
    public var peerCertificate: PeerCertificate?

    /// The peer certificate's subject in RFC 2253 form (`CN=adapter-whatsapp,O=CRM development`).
    public var peerCertificateSubject: String? { peerCertificate?.subject }
    /// The peer certificate's subject alternative names; empty without a certificate.
    public var peerCertificateSANs: [SubjectAlternativeName] { peerCertificate?.subjectAlternativeNames ?? [] }

    /// Makes the event; ``TLSHandler`` is normally the only one to.
    public init(alpn: String?, protocolVersion: String, cipherSuite: String, peerCertificate: PeerCertificate?) {
        self.alpn = alpn
        self.protocolVersion = protocolVersion
        self.cipherSuite = cipherSuite
        self.peerCertificate = peerCertificate
    }
}

/// Fired by ``TLSHandler`` as a user inbound event when both `close_notify` alerts have been exchanged,
/// whichever side started: the TLS session ended cleanly and nothing was truncated. The handler closes
/// the channel right after.
public struct TLSShutdownCompleted: Sendable, Hashable {
    /// Makes the event.
    public init() {}
}

/// Sent to ``TLSHandler`` as a user outbound event (`triggerUserOutboundEvent`) to end the session at once:
/// `close_notify` goes out after everything flushed so far and the socket closes without waiting for the
/// peer's answer, as after a connection error, where a peer that does not answer must not hold the socket.
/// TLS allows this (RFC 8446, section 6.1: the initiator need not wait for the responding `close_notify`).
/// The event's promise completes when the channel is closed.
public struct TLSCloseWithoutWaiting: Sendable, Hashable {
    /// Makes the event.
    public init() {}
}
