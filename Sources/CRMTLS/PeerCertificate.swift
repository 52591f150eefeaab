import COpenSSL

/// What a service needs to know about the certificate the peer presented, copied out of OpenSSL so
/// that it can cross threads and outlive the connection.
///
/// Only certificates that verified are ever exposed: a connection whose peer certificate fails
/// verification does not complete its handshake.
public struct PeerCertificate: Sendable, Hashable {
    /// The subject in RFC 2253 form, most specific first: `CN=adapter-whatsapp,O=CRM development`.
    public var subject: String
    /// The subject's common name (CN), if it has one: `adapter-whatsapp`.
    public var commonName: String?
    /// The issuer in RFC 2253 form.
    public var issuer: String
    /// The subject alternative names (DNS names, IP addresses, URIs, e-mail addresses).
    public var subjectAlternativeNames: [SubjectAlternativeName]
}

/// One subject alternative name of a certificate.
public enum SubjectAlternativeName: Sendable, Hashable, CustomStringConvertible {
    /// A DNS name, such as `localhost`.
    case dnsName(String)
    /// An IP address in its usual text form: `127.0.0.1`, `::1`.
    case ipAddress(String)
    /// A URI, such as a SPIFFE id.
    case uri(String)
    /// An e-mail address (rfc822Name).
    case email(String)

    /// OpenSSL's notation: `DNS:localhost`, `IP:127.0.0.1`, `URI:…`, `email:…`.
    public var description: String {
        switch self {
        case .dnsName(let name): "DNS:\(name)"
        case .ipAddress(let address): "IP:\(address)"
        case .uri(let uri): "URI:\(uri)"
        case .email(let address): "email:\(address)"
        }
    }
}

extension PeerCertificate {
    /// Copies the fields of an OpenSSL `X509 *`; does not take ownership of it.
    init(x509 certificate: OpaquePointer) {
        self.subject = X509_get_subject_name(certificate).map(Self.rfc2253) ?? ""
        self.issuer = X509_get_issuer_name(certificate).map(Self.rfc2253) ?? ""
        self.commonName = X509_get_subject_name(certificate).flatMap(Self.commonName)
        self.subjectAlternativeNames = Self.subjectAlternativeNames(certificate)
    }

    private static func rfc2253(_ name: OpaquePointer) -> String {
        guard let bio = BIO_new(BIO_s_mem()) else { return "" }
        defer { BIO_free(bio) }
        guard X509_NAME_print_ex(bio, name, 0, crm_xn_flags_rfc2253_utf8()) >= 0 else { return "" }
        var data: UnsafeMutablePointer<CChar>? = nil
        let length = crm_BIO_get_mem_data(bio, &data)
        guard let data, length > 0 else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: data, count: Int(length)), as: UTF8.self)
    }

    private static func commonName(_ name: OpaquePointer) -> String? {
        let index = X509_NAME_get_index_by_NID(name, NID_commonName, -1)
        guard index >= 0, let entry = X509_NAME_get_entry(name, index),
            let value = X509_NAME_ENTRY_get_data(entry)
        else { return nil }
        // ASN1_STRING_to_UTF8 converts whichever string type the CA used (UTF8String, PrintableString, BMPString…).
        var utf8: UnsafeMutablePointer<UInt8>? = nil
        let length = ASN1_STRING_to_UTF8(&utf8, value)
        guard length >= 0, let utf8 else { return nil }
        defer { crm_OPENSSL_free(utf8) }
        return String(decoding: UnsafeBufferPointer(start: utf8, count: Int(length)), as: UTF8.self)
    }

    private static func subjectAlternativeNames(_ certificate: OpaquePointer) -> [SubjectAlternativeName] {
        guard let raw = X509_get_ext_d2i(certificate, NID_subject_alt_name, nil, nil) else { return [] }
        let names = OpaquePointer(raw)
        defer { GENERAL_NAMES_free(names) }
        var result: [SubjectAlternativeName] = []
        for index in 0..<crm_sk_GENERAL_NAME_num(names) {
            guard let name = crm_sk_GENERAL_NAME_value(names, index),
                let string = crm_GENERAL_NAME_string(name),
                let bytes = ASN1_STRING_get0_data(string)
            else { continue }
            let value = UnsafeBufferPointer(start: bytes, count: Int(ASN1_STRING_length(string)))
            switch crm_GENERAL_NAME_type(name) {
            case GEN_DNS: result.append(.dnsName(String(decoding: value, as: UTF8.self)))
            case GEN_URI: result.append(.uri(String(decoding: value, as: UTF8.self)))
            case GEN_EMAIL: result.append(.email(String(decoding: value, as: UTF8.self)))
            case GEN_IPADD:
                if let address = IPAddressText.format(value) { result.append(.ipAddress(address)) }
            default: continue
            }
        }
        return result
    }
}

/// Text forms of the raw IP addresses certificates carry (4 or 16 bytes).
enum IPAddressText {
    /// Dotted quad for IPv4; RFC 5952 for IPv6 (lower case, longest run of zero groups as `::`).
    static func format(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
        switch bytes.count {
        case 4:
            return bytes.map(String.init).joined(separator: ".")
        case 16:
            let groups = (0..<8).map { UInt16(bytes[2 * $0]) << 8 | UInt16(bytes[2 * $0 + 1]) }
            // The longest run of two or more zero groups, the first one on a tie, is written as `::`.
            var best: Range<Int>? = nil
            var start: Int? = nil
            for index in 0...8 {
                if index < 8, groups[index] == 0 {
                    if start == nil { start = index }
                } else if let runStart = start {
                    let run = runStart..<index
                    if run.count >= 2, run.count > (best?.count ?? 0) { best = run }
                    start = nil
                }
            }
            let hex = groups.map { String($0, radix: 16) }
            guard let best else { return hex.joined(separator: ":") }
            let head = hex[..<best.lowerBound].joined(separator: ":")
            let tail = hex[best.upperBound...].joined(separator: ":")
            return "\(head)::\(tail)"
        default:
            return nil
        }
    }
}
