/// The 8 bytes a client sends first, right after the TLS handshake: `CRM/1\r\n\0`.
///
/// ALPN already says both ends mean to speak `crm/1`; the preface catches a client that
/// negotiated the identifier but speaks something else (an HTTP client told the wrong ALPN,
/// a proxy, a port scanner) on its first bytes, before any of them is read as a frame
/// header. It costs 8 bytes once and no round trip. The server sends none: its first
/// SETTINGS frame plays that part.
public enum ConnectionPreface {
    /// `43 52 4D 2F 31 0D 0A 00`.
    public static let bytes: [UInt8] = Array("CRM/1\r\n\0".utf8)

    /// The preface's length, 8.
    public static var count: Int { bytes.count }
}
